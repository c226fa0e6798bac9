//! This process's resident memory (where the benchmark's workers run).

/// `VmRSS` of `/proc/self/status` in bytes; `None` where there is no such file
/// (any system but Linux) or it has no readable `VmRSS` line.
pub(crate) fn resident_bytes() -> Option<u64> {
    vm_rss_of(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The `VmRSS:  1234 kB` line of a `/proc/PID/status` text, in bytes.
fn vm_rss_of(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\troutemq\nVmHWM:\t   20480 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(vm_rss_of(status), Some(12_345 * 1024));
        assert_eq!(vm_rss_of("Name:\tx\n"), None);
        assert_eq!(vm_rss_of("VmRSS:\t12 MB\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_resident_size_on_linux() {
        assert!(resident_bytes().is_some_and(|b| b > 0));
    }
}
