//! /sys/devices/system/cpu: the CPU lists glibc (get_nprocs,
//! get_nprocs_conf), nproc and Python's os.cpu_count() read. Every CPU the
//! sandbox shows is online, possible and present, with one `cpuN`
//! directory each, matching sched_getaffinity, /proc/cpuinfo and /proc/stat.

use std::sync::Arc;

use super::Inos;
use crate::vfs::inode::Inode;
use crate::vfs::synthetic::GenFile;

/// Linux's CPU list format: "0" for one CPU, "0-3" for four.
fn cpu_list(ncpus: usize) -> Vec<u8> {
    match ncpus {
        0 | 1 => b"0\n".to_vec(),
        n => format!("0-{}\n", n - 1).into_bytes(),
    }
}

/// A read-only file (0444) with fixed contents.
fn file(inos: &Inos, data: Vec<u8>) -> Arc<dyn Inode> {
    GenFile::new(
        inos.node(libc::S_IFREG | 0o444),
        Box::new(move |_| Ok(data.clone())),
    )
}

/// The `cpu` directory for `ncpus` CPUs.
pub(super) fn dir(inos: &Inos, ncpus: usize) -> Arc<dyn Inode> {
    let ncpus = ncpus.max(1);
    let list = cpu_list(ncpus);
    let names: Vec<Vec<u8>> = (0..ncpus).map(|i| format!("cpu{i}").into_bytes()).collect();
    let mut entries: Vec<(&[u8], Arc<dyn Inode>)> = vec![
        (b"online", file(inos, list.clone())),
        (b"possible", file(inos, list.clone())),
        (b"present", file(inos, list)),
        (b"offline", file(inos, b"\n".to_vec())),
        (b"kernel_max", file(inos, b"8191\n".to_vec())),
    ];
    for (i, name) in names.iter().enumerate() {
        // As on x86 Linux, the boot CPU has no `online` switch.
        let kids: Vec<(&[u8], Arc<dyn Inode>)> = if i == 0 {
            Vec::new()
        } else {
            vec![(b"online", file(inos, b"1\n".to_vec()))]
        };
        entries.push((name, inos.dir(kids)));
    }
    inos.dir(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_use_linux_range_format() {
        assert_eq!(cpu_list(1), b"0\n");
        assert_eq!(cpu_list(2), b"0-1\n");
        assert_eq!(cpu_list(64), b"0-63\n");
    }
}
