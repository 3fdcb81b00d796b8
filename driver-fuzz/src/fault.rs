//! The kernel's fault injection (Documentation/fault-injection/fault-injection.rst) as the driver's
//! tests use it: `/proc/thread-self/fail-nth` makes the N-th allocation of this thread fail, whatever
//! code path it is on.
//!
//! The file is opened once and then read and written at offset 0: opening it allocates, and an open
//! while a fault is armed would take the fault meant for the driver.

use std::fs::File;
use std::os::unix::fs::FileExt;

const DEBUGFS: &str = "/sys/kernel/debug";

/// This thread's fail-nth control, disarmed on drop.
#[derive(Debug)]
pub struct FailNth {
    file: File,
}

impl FailNth {
    /// Makes the page allocator and the slab allocators count for fail-nth (sleeping allocations
    /// included, quietly) and opens this thread's control. Errors name what is missing (a kernel without
    /// CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAILSLAB or a mounted debugfs).
    pub fn open() -> Result<Self, String> {
        for site in ["fail_page_alloc", "failslab"] {
            for (knob, v) in [("ignore-gfp-wait", "N"), ("verbose", "0")] {
                let path = format!("{DEBUGFS}/{site}/{knob}");
                std::fs::write(&path, v).map_err(|e| format!("{path}: {e}"))?;
            }
        }
        let _ = std::fs::write(format!("{DEBUGFS}/fail_page_alloc/min-order"), "0");
        let path = "/proc/thread-self/fail-nth";
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| format!("{path}: {e}"))?;
        let f = Self { file };
        f.arm(0).map_err(|e| format!("{path}: {e}"))?;
        Ok(f)
    }

    /// Arms the `n`-th allocation of this thread to fail (0 disarms). Only this thread's allocations
    /// count, so an instance must stay on the thread that opened it.
    pub fn arm(&self, n: u32) -> std::io::Result<()> {
        self.file.write_at(n.to_string().as_bytes(), 0).map(|_| ())
    }

    /// Disarms, and says whether the armed fault fired (its counter had reached 0).
    pub fn disarm(&self) -> bool {
        let mut buf = [0u8; 24];
        let n = self.file.read_at(&mut buf, 0).unwrap_or(0);
        let left = std::str::from_utf8(&buf[..n])
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let _ = self.arm(0);
        left == 0
    }
}

impl Drop for FailNth {
    fn drop(&mut self) {
        let _ = self.arm(0);
    }
}
