//! Captures a small record stream from this machine's kernel into a fixture file for premap-abi's
//! snapshot tests: `cargo run -p premap-abi --example capture_fixture -- abi/tests/fixtures/exec-true.bin`.
//!
//! It forks a child that waits, opens a `page-faults` sampling event on it (`-c 1`, enable_on_exec, with
//! COMM/MMAP2/task records and `sample_id_all`), lets the child exec `/bin/true`, and copies the ring's
//! `[tail, head)` bytes out. File format: `b"PMAPCAP1"`, u64 attr size, the attr, u64 data length, the
//! records as the kernel wrote them (unwrapped).

use premap_abi::attr::*;
use premap_abi::control::ControlPtr;
use std::io::Write;
use std::ptr::NonNull;

fn main() {
    let out = std::env::args().nth(1).expect("usage: capture_fixture OUT");
    let mut attr = PerfEventAttr {
        r#type: TYPE_SOFTWARE,
        size: ATTR_SIZE_VER8,
        config: COUNT_SW_PAGE_FAULTS,
        sample_period: 1,
        sample_type: SAMPLE_IDENTIFIER
            | SAMPLE_IP
            | SAMPLE_TID
            | SAMPLE_TIME
            | SAMPLE_ADDR
            | SAMPLE_CPU
            | SAMPLE_PERIOD,
        ..Default::default()
    };
    for f in [
        ATTR_FLAG_DISABLED,
        ATTR_FLAG_ENABLE_ON_EXEC,
        ATTR_FLAG_COMM,
        ATTR_FLAG_COMM_EXEC,
        ATTR_FLAG_MMAP,
        ATTR_FLAG_MMAP2,
        ATTR_FLAG_MMAP_DATA,
        ATTR_FLAG_TASK,
        ATTR_FLAG_SAMPLE_ID_ALL,
        ATTR_FLAG_EXCLUDE_KERNEL,
    ] {
        attr.set_flag(f, true);
    }
    let mut go = [0i32; 2];
    // SAFETY: `go` has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
    // SAFETY: the child only calls async-signal-safe functions (read, execv, _exit) before exec.
    let child = unsafe { libc::fork() };
    if child == 0 {
        let mut b = [0u8; 1];
        // SAFETY: plain syscalls on valid buffers and NUL-terminated strings.
        unsafe {
            libc::read(go[0], b.as_mut_ptr().cast(), 1);
            let path = c"/bin/true";
            let argv = [path.as_ptr(), std::ptr::null()];
            libc::execv(path.as_ptr(), argv.as_ptr());
            libc::_exit(127);
        }
    }
    let bytes = attr.to_bytes();
    // SAFETY: perf_event_open reads `size` bytes of the attr, which `bytes` holds.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            bytes.as_ptr(),
            child,
            -1,
            -1,
            8u64, /* PERF_FLAG_FD_CLOEXEC */
        )
    } as i32;
    assert!(
        fd >= 0,
        "perf_event_open: {}",
        std::io::Error::last_os_error()
    );
    let page = 4096usize;
    let len = page * 17;
    // SAFETY: a fresh shared mapping of the event fd; checked for MAP_FAILED below.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    // SAFETY: writes one byte to the pipe, then waits for the child.
    unsafe {
        libc::write(go[1], b"g".as_ptr().cast(), 1);
        let mut status = 0;
        libc::waitpid(child, &mut status, 0);
    }
    // SAFETY: the mapping is live, page-aligned and at least one control page long until munmap below.
    let ctl = unsafe { ControlPtr::new(NonNull::new(base.cast()).unwrap()) };
    let head = ctl.load_data_head();
    let tail = ctl.load_data_tail();
    assert!(
        head - tail <= (16 * page) as u64,
        "ring wrapped; use a bigger ring"
    );
    // SAFETY: [tail, head) lies inside the data area, which the kernel does not write until we move the
    // tail; we copy it out.
    let data = unsafe {
        std::slice::from_raw_parts(
            (base as *const u8).add(page + tail as usize),
            (head - tail) as usize,
        )
    }
    .to_vec();
    let mut f = std::fs::File::create(&out).unwrap();
    f.write_all(b"PMAPCAP1").unwrap();
    f.write_all(&(bytes.len() as u64).to_ne_bytes()).unwrap();
    f.write_all(&bytes).unwrap();
    f.write_all(&(data.len() as u64).to_ne_bytes()).unwrap();
    f.write_all(&data).unwrap();
    eprintln!("wrote {} bytes of records to {out}", data.len());
}
