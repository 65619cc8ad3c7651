//! tmpfs's mount options (pure): "size=", "nr_blocks=", "nr_inodes=",
//! "mode=", "uid=", "gid=", the ones accepted and ignored ("huge=",
//! "mpol=", "inode32", "inode64", "noswap", quotas), and the generic
//! superblock flags ("ro", "rw", "sync", …). Anything else is EINVAL, as
//! Linux's "tmpfs: Unknown parameter".

use crate::errno::Errno;

const PAGE: u64 = 4096;

/// What a tmpfs mount asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TmpfsOpts {
    /// Bytes (rounded up to pages); 0 is no limit.
    pub size: Option<u64>,
    pub nr_inodes: Option<u64>,
    /// The root's permission bits.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// "ro" among the options.
    pub read_only: bool,
}

impl TmpfsOpts {
    /// The file-system options /proc/PID/mounts shows after the mount's.
    pub fn shown(&self) -> String {
        let mut v = Vec::new();
        if let Some(s) = self.size {
            v.push(format!("size={}k", s / 1024));
        }
        if let Some(n) = self.nr_inodes {
            v.push(format!("nr_inodes={n}"));
        }
        if let Some(m) = self.mode.filter(|&m| m != 0o1777) {
            v.push(format!("mode={m:03o}"));
        }
        if let Some(u) = self.uid.filter(|&u| u != 0) {
            v.push(format!("uid={u}"));
        }
        if let Some(g) = self.gid.filter(|&g| g != 0) {
            v.push(format!("gid={g}"));
        }
        v.join(",")
    }
}

/// Linux's memparse: a number (decimal, 0x hex or 0 octal) with an
/// optional K, M, G, T, P or E suffix.
fn memparse(v: &str) -> Option<u64> {
    let split = v
        .find(|c: char| !c.is_ascii_alphanumeric() || "kKmMgGtTpPeE".contains(c))
        .unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let n = parse_int(num)?;
    let shift = match suffix {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

fn parse_int(v: &str) -> Option<u64> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') {
        u64::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    }
}

fn id(v: &str) -> Result<u32, Errno> {
    match v.parse::<u32>() {
        Ok(u32::MAX) | Err(_) => Err(Errno::EINVAL),
        Ok(n) => Ok(n),
    }
}

/// Parses tmpfs mount `data`; `ram` is the host's memory for "size=N%".
pub fn parse(data: &[u8], ram: u64) -> Result<TmpfsOpts, Errno> {
    let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let mut o = TmpfsOpts::default();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (key, val) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        match (key, val) {
            ("size", Some(v)) => {
                let bytes = match v.strip_suffix('%') {
                    Some(p) => {
                        ram.checked_mul(parse_int(p).ok_or(Errno::EINVAL)?)
                            .ok_or(Errno::EINVAL)?
                            / 100
                    }
                    None => memparse(v).ok_or(Errno::EINVAL)?,
                };
                o.size = Some(bytes.div_ceil(PAGE) * PAGE);
            }
            ("nr_blocks", Some(v)) => {
                let blocks = memparse(v).ok_or(Errno::EINVAL)?;
                o.size = Some(blocks.checked_mul(PAGE).ok_or(Errno::EINVAL)?);
            }
            ("nr_inodes", Some(v)) => o.nr_inodes = Some(memparse(v).ok_or(Errno::EINVAL)?),
            ("mode", Some(v)) => {
                let m = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)?;
                o.mode = Some(m & 0o7777);
            }
            ("uid", Some(v)) => o.uid = Some(id(v)?),
            ("gid", Some(v)) => o.gid = Some(id(v)?),
            ("huge" | "mpol" | "source", Some(_)) => {}
            ("inode32" | "inode64" | "noswap" | "quota" | "usrquota" | "grpquota", None) => {}
            ("ro", None) => o.read_only = true,
            ("rw", None) => o.read_only = false,
            ("sync" | "dirsync" | "lazytime" | "nolazytime" | "mand" | "nomand", None) => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_suffixes_and_percentages() {
        assert_eq!(parse(b"size=1m", 0).unwrap().size, Some(1 << 20));
        assert_eq!(parse(b"size=5000", 0).unwrap().size, Some(8192));
        assert_eq!(parse(b"size=50%", 1 << 30).unwrap().size, Some(1 << 29));
        assert_eq!(parse(b"nr_blocks=2", 0).unwrap().size, Some(8192));
        assert_eq!(parse(b"size=1q", 0), Err(Errno::EINVAL));
    }

    #[test]
    fn mode_is_octal_and_ids_decimal() {
        let o = parse(b"mode=0700,uid=5,gid=6", 0).unwrap();
        assert_eq!((o.mode, o.uid, o.gid), (Some(0o700), Some(5), Some(6)));
        assert_eq!(parse(b"mode=9", 0), Err(Errno::EINVAL));
        assert_eq!(parse(b"uid=-1", 0), Err(Errno::EINVAL));
    }

    #[test]
    fn unknown_options_are_einval_and_flags_are_read() {
        assert_eq!(parse(b"bogus", 0), Err(Errno::EINVAL));
        assert_eq!(parse(b"size", 0), Err(Errno::EINVAL));
        assert!(parse(b"ro,inode64", 0).unwrap().read_only);
        assert_eq!(parse(b"", 0).unwrap(), TmpfsOpts::default());
    }

    #[test]
    fn shown_options_skip_defaults() {
        let o = parse(b"size=1m,mode=1777", 0).unwrap();
        assert_eq!(o.shown(), "size=1024k");
    }
}
