//! The premap driver's device, `/dev/premap`, typed: create a buffer, read its geometry and counters,
//! start the in-kernel generator, read a page's memdesc, and map its ring (one consumer at a time).

use crate::error::{Error, Result};
use crate::ring::{Consume, Mode, Overwrite, Ring, RingMode};
use crate::sys;
use premap_abi::ioctl::PERF_EVENT_IOC_PAUSE_OUTPUT;
use premap_abi::uapi::{
    BufferInfo, BufferStats, CreateParams, GenerateParams, PageInfo, CREATE_OVERWRITE, DEVICE_PATH,
    IOC_CREATE, IOC_GENERATE, IOC_INFO, IOC_PAGE_INFO, IOC_STATS,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// An open file of the premap driver.
///
/// # Invariants
///
/// `fd` is a file of the premap driver (opened from a character device whose requests are the
/// driver's: see [`Device::open_path`]).
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
    ring_taken: Arc<AtomicBool>,
}

impl Device {
    /// Opens [`DEVICE_PATH`].
    pub fn open() -> Result<Self> {
        Self::open_path(Path::new(DEVICE_PATH))
    }

    /// Opens the driver's device at `path`, which must be a character device (a regular file or pipe
    /// given by mistake is refused rather than sent the driver's ioctls).
    pub fn open_path(path: &Path) -> Result<Self> {
        use std::os::unix::fs::FileTypeExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| Error::Sys {
                call: "open",
                source,
            })?;
        let meta = f.metadata().map_err(|source| Error::Sys {
            call: "fstat",
            source,
        })?;
        if !meta.file_type().is_char_device() {
            return Err(Error::NotADevice(path.to_path_buf()));
        }
        // INVARIANT: a character device; the driver's requests carry its own type byte (0xDA), which
        // another driver answers with ENOTTY.
        Ok(Self {
            fd: OwnedFd::from(f),
            ring_taken: Arc::default(),
        })
    }

    fn ioc<T: zerocopy::IntoBytes + zerocopy::FromBytes>(
        &self,
        req: u32,
        v: &mut T,
        call: &'static str,
    ) -> Result<()> {
        // SAFETY: every request passed here is one of the driver's, whose argument is exactly one `T`
        // (the size encoded in the request, checked by ioctl_ptr), and the fd is the driver's (type
        // invariant).
        unsafe { sys::ioctl_ptr(self.fd.as_fd(), req, v) }
            .map(|_| ())
            .map_err(|source| Error::Sys { call, source })
    }

    /// `PREMAP_IOC_CREATE`: configures the file's buffer (once per file).
    pub fn create(&self, params: &CreateParams) -> Result<()> {
        let mut p = *params;
        self.ioc(IOC_CREATE, &mut p, "ioctl(PREMAP_IOC_CREATE)")
    }

    /// `PREMAP_IOC_INFO`: the buffer's geometry.
    pub fn info(&self) -> Result<BufferInfo> {
        let mut i = BufferInfo::default();
        self.ioc(IOC_INFO, &mut i, "ioctl(PREMAP_IOC_INFO)")?;
        Ok(i)
    }

    /// `PREMAP_IOC_STATS`: the producer's counters.
    pub fn stats(&self) -> Result<BufferStats> {
        let mut s = BufferStats::default();
        self.ioc(IOC_STATS, &mut s, "ioctl(PREMAP_IOC_STATS)")?;
        Ok(s)
    }

    /// `PREMAP_IOC_GENERATE`: starts (count > 0) or stops the in-kernel sample generator.
    pub fn generate(&self, params: &GenerateParams) -> Result<()> {
        let mut g = *params;
        self.ioc(IOC_GENERATE, &mut g, "ioctl(PREMAP_IOC_GENERATE)")
    }

    /// `PREMAP_IOC_PAGE_INFO`: the memdesc word of page `pgoff`.
    pub fn page_type(&self, pgoff: u32) -> Result<u32> {
        Ok(self.page_info(pgoff)?.page_type)
    }

    /// `PREMAP_IOC_PAGE_INFO`: page `pgoff`'s memdesc word and reference count.
    pub fn page_info(&self, pgoff: u32) -> Result<PageInfo> {
        let mut p = PageInfo {
            pgoff,
            ..PageInfo::default()
        };
        self.ioc(IOC_PAGE_INFO, &mut p, "ioctl(PREMAP_IOC_PAGE_INFO)")?;
        Ok(p)
    }

    /// `PERF_EVENT_IOC_PAUSE_OUTPUT`, which the driver takes too.
    pub fn pause_output(&self, pause: bool) -> Result<()> {
        // SAFETY: PAUSE_OUTPUT takes an integer argument.
        unsafe {
            sys::ioctl_int(
                self.fd.as_fd(),
                PERF_EVENT_IOC_PAUSE_OUTPUT,
                u64::from(pause) as libc::c_ulong,
            )
        }
        .map(|_| ())
        .map_err(|source| Error::Sys {
            call: "ioctl(PAUSE_OUTPUT)",
            source,
        })
    }

    /// Maps the buffer's consume-mode ring (its geometry from [`Device::info`]); a buffer created
    /// with `CREATE_OVERWRITE` is [`Error::WrongMode`] here: map it with [`Device::overwrite_ring`]. A
    /// ring has one consumer: [`Error::AlreadyMapped`] while the previous one lives.
    pub fn ring(&self) -> Result<Ring<Consume>> {
        self.map_ring("Device::ring")
    }

    /// Maps the overwrite-mode ring of a buffer created with `CREATE_OVERWRITE`; otherwise
    /// [`Error::WrongMode`]. Otherwise as [`Device::ring`].
    pub fn overwrite_ring(&self) -> Result<Ring<Overwrite>> {
        self.map_ring("Device::overwrite_ring")
    }

    fn map_ring<M: RingMode>(&self, call: &'static str) -> Result<Ring<M>> {
        let info = self.info()?;
        let mode = if info.flags & CREATE_OVERWRITE != 0 {
            Mode::Overwrite
        } else {
            Mode::Consume
        };
        if mode != M::MODE {
            return Err(Error::WrongMode { call, mode });
        }
        // SAFETY: the fd is the driver's (type invariant), whose buffer cannot be truncated; every ring
        // of this value is mapped with its flag.
        unsafe { Ring::map_once(self.fd.as_fd(), info.data_pages as usize, &self.ring_taken) }
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Device {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
