//! The sandbox's one network interface as the SIOCGIF* ioctls show it (on
//! a socket of any family, as Linux answers them): `lo`, index 1,
//! 127.0.0.1/8, UP|LOOPBACK|RUNNING, MTU 65536. Nothing else exists.

use crate::errno::{Errno, SysResult};
use crate::kernel::task::Task;

/// sizeof(struct ifreq): a 16-byte name and a 24-byte union.
const IFREQ: usize = 40;
const IFNAMSIZ: usize = 16;
const LO_INDEX: i32 = 1;
const LO_MTU: i32 = 65_536;
/// ARPHRD_LOOPBACK: SIOCGIFHWADDR's family for lo.
const ARPHRD_LOOPBACK: u16 = 772;

/// The ifreq for lo with `value` in its union.
fn ifreq_with(value: &[u8]) -> [u8; IFREQ] {
    let mut r = [0u8; IFREQ];
    r[..2].copy_from_slice(b"lo");
    r[IFNAMSIZ..IFNAMSIZ + value.len()].copy_from_slice(value);
    r
}

/// sockaddr_in of `ip`, port 0.
fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    s[4..8].copy_from_slice(&ip);
    s
}

/// Answers an interface ioctl, or None when `cmd` is not one.
pub fn ioctl(task: &Task, cmd: u64, arg: u64) -> Option<SysResult> {
    let answer = match cmd {
        libc::SIOCGIFCONF => ifconf(task, arg),
        libc::SIOCGIFNAME => ifname(task, arg),
        libc::SIOCGIFFLAGS
        | libc::SIOCGIFINDEX
        | libc::SIOCGIFADDR
        | libc::SIOCGIFNETMASK
        | libc::SIOCGIFMTU
        | libc::SIOCGIFHWADDR => by_name(task, cmd, arg),
        _ => return None,
    };
    Some(answer)
}

/// SIOCGIFCONF: lo's ifreq if it fits; with no buffer, the length needed.
fn ifconf(task: &Task, arg: u64) -> SysResult {
    let (len, buf): (i32, u64) = {
        let raw: [u64; 2] = task.read_struct(arg)?;
        (raw[0] as u32 as i32, raw[1])
    };
    let written = if buf == 0 {
        IFREQ
    } else if len >= IFREQ as i32 {
        let r = ifreq_with(&sockaddr_in([127, 0, 0, 1]));
        task.mm.copy_out(buf, &r)?;
        IFREQ
    } else {
        0
    };
    task.write_struct(arg, &(written as i32))?;
    Ok(0)
}

/// SIOCGIFNAME: the name of interface index ifr_ifindex (ENODEV but 1).
fn ifname(task: &Task, arg: u64) -> SysResult {
    let mut r = [0u8; IFREQ];
    task.mm.copy_in(arg, &mut r)?;
    let index = i32::from_ne_bytes([r[16], r[17], r[18], r[19]]);
    if index != LO_INDEX {
        return Err(Errno::ENODEV);
    }
    task.mm.copy_out(arg, b"lo\0")?;
    Ok(0)
}

/// The ioctls that name an interface: ENODEV for any name but lo.
fn by_name(task: &Task, cmd: u64, arg: u64) -> SysResult {
    let mut r = [0u8; IFREQ];
    task.mm.copy_in(arg, &mut r)?;
    let end = r[..IFNAMSIZ]
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(IFNAMSIZ);
    if &r[..end] != b"lo" {
        return Err(Errno::ENODEV);
    }
    let flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as u16;
    let value: Vec<u8> = match cmd {
        libc::SIOCGIFFLAGS => flags.to_ne_bytes().to_vec(),
        libc::SIOCGIFINDEX => LO_INDEX.to_ne_bytes().to_vec(),
        libc::SIOCGIFADDR => sockaddr_in([127, 0, 0, 1]).to_vec(),
        libc::SIOCGIFNETMASK => sockaddr_in([255, 0, 0, 0]).to_vec(),
        libc::SIOCGIFMTU => LO_MTU.to_ne_bytes().to_vec(),
        _ => {
            let mut v = ARPHRD_LOOPBACK.to_ne_bytes().to_vec();
            v.resize(16, 0);
            v
        }
    };
    task.mm
        .copy_out(arg + IFNAMSIZ as u64, &value)
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}
