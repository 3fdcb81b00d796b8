// SPDX-License-Identifier: GPL-2.0

//! premap: a perf-style ring buffer whose pages are all mapped at mmap time ("perf: map pages in
//! advance", LKML, November 2024), as a misc device `/dev/premap` for Linux 6.12 LTS and mainline.
//!
//! An open file is configured with `PREMAP_IOC_CREATE`; mmap then maps every page at once with
//! `remap_pfn_range` (VM_IO | VM_PFNMAP, read-only PTEs, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
//! `pfn_mkwrite` lets the first write through only on the control page; `may_split` refuses partial
//! munmap/mprotect/mremap; the mappings hold references to the buffer, so closing the fd keeps the pages
//! until the last munmap. Records come from `write()` (validated user records) or an in-kernel generator
//! thread, through premap-abi's producer (the kernel's protocol).
//!
//! Why `remap_pfn_range` and not `vm_insert_pages`: the thread's preferred future is a page type
//! (memdesc) for driver-owned ring pages that `vm_insert_pages` maps without touching refcount or
//! mapcount and that `vm_normal_page()`/GUP refuse. In 6.12 `validate_page_before_insert()` rejects any
//! page with a type, and untyped pages inserted with `vm_insert_pages` are refcounted and reachable by
//! GUP (O_DIRECT, vmsplice would pin ring pages), and need `page_mkwrite` plus a reverse map to make one
//! page writable. A PFN map is what perf itself chose (6.14): no fault handler, GUP refused by
//! `check_vma_flags()`, `write()` from the mapping still works (uaccess copy), and the lifetime is the
//! buffer's own refcount in `vm_ops->open/close`. Each page still carries premap's memdesc word in
//! `page->page_type` (the mm never interprets it for a PFN map), so the layout the thread proposes is
//! visible through `PREMAP_IOC_PAGE_INFO`; errors part-way zap what was mapped (79a61cc3fc04).
//!
//! The device is open to every local user, so everything a user asks for is bounded and accounted
//! (see limits.rs and the UAPI comments in premap-abi's uapi.rs): pinned pages are charged to
//! the creating user against RLIMIT_MEMLOCK plus the `mlock_kb` allowance (CAP_IPC_LOCK bypasses it, as
//! for perf), allocated with `__GFP_ACCOUNT | __GFP_NORETRY` (memcg sees them; the OOM killer is never
//! woken for them), and every long loop (allocation, mapping, freeing, generating) reschedules and
//! stops on a fatal signal or a stop request.
//!
//! The shared layouts come from premap-abi's source (`../abi/src`), compiled into this module.
//!
//! | file | holds |
//! |---|---|
//! | premap.rs | the module, its parameter, the device (`MiscDevice`: open, release, ioctl, write, poll, mmap) |
//! | limits.rs | what each user holds (pinned pages, generators) and the charges against the limits |
//! | buffer.rs | a ring buffer: its pages, the producer, the wait queue, mapping it by either strategy |
//! | generator.rs | the in-kernel generator thread |
//! | vma.rs | the VMAs' operations, a `VmOperations` (open/close, may_split, pfn_mkwrite, fault) |
//! | glue.rs | the calls into the kernel's C API that the kernel crate has no abstraction for yet, each behind a small safe wrapper |

use core::ffi::c_void;
use core::pin::Pin;
use core::sync::atomic::Ordering;
use kernel::bindings;
use kernel::fs::{File, Kiocb};
use kernel::iov::IovIterSource;
use kernel::miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration};
use kernel::mm::virt::{flags as vm, PgProt, VmaNew};
use kernel::prelude::*;
use kernel::sync::poll::PollTable;
use kernel::sync::{Arc, Mutex};
use kernel::uaccess::{UserPtr, UserSlice};

#[allow(
    unused_attributes,
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::all
)]
#[path = "../abi/src/lib.rs"]
mod premap_abi;
// premap-abi's modules name each other through `crate::`; re-exporting them at this crate's root makes
// those paths resolve to the very same source here as in the cargo build.
#[allow(unused_imports)]
pub(crate) use premap_abi::*;

mod buffer;
mod generator;
mod glue;
mod limits;
mod vma;

use buffer::Buffer;
use generator::{generator_thread, GenCtx, Generator};
use glue::{c_ulong, Kthread, PAGE_SIZE};
use limits::{GeneratorSlot, Users, MLOCK_KB, USERS};
use premap_abi::ioctl::{ioc_size, PERF_EVENT_IOC_PAUSE_OUTPUT};
use premap_abi::uapi::{self, BufferInfo, BufferStats, CreateParams, GenerateParams, PageInfo};
use vma::{readonly_prot, RingVma};

module! {
    type: PremapModule,
    name: "premap",
    description: "perf-style ring buffer with every page mapped in advance",
    license: "GPL",
}

/// What an open file holds.
struct FileInner {
    buffer: Option<Arc<Buffer>>,
    generator: Option<Generator>,
}

/// An open file of the device: its buffer (once created) and its generator (while one runs).
#[pin_data]
struct FileState {
    #[pin]
    inner: Mutex<FileInner>,
}

impl FileState {
    /// The file's buffer, or ENODEV before `PREMAP_IOC_CREATE`.
    fn buffer(&self) -> Result<Arc<Buffer>> {
        self.inner.lock().buffer.clone().ok_or(ENODEV)
    }
}

#[vtable]
impl MiscDevice for FileState {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(FileState { inner <- kernel::new_mutex!(FileInner { buffer: None, generator: None }, "premap_file") }),
            GFP_KERNEL,
        )
    }

    fn release(device: Pin<KBox<Self>>, _file: &File) {
        let generator = device.inner.lock().generator.take();
        drop(generator); // stops the thread before its context goes
        drop(device); // the buffer lives on while mappings hold it
    }

    fn ioctl(device: Pin<&Self>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        device.dispatch_ioctl(cmd, arg)
    }

    /// Publishes the records of one `write()`: all of them (and the whole count is returned) or none
    /// (EINVAL for a malformed record or more than the ring holds, EFAULT for an unreadable buffer).
    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let buf = kiocb.file().buffer()?;
        let geom = buf.geom.ok_or(EINVAL)?;
        let count = iov.len();
        if count == 0 {
            return Ok(0);
        }
        if count as u64 > geom.data_size() {
            return Err(EINVAL);
        }
        // Copy the user's bytes once (kvmalloc: a write may be as large as the ring, which was charged),
        // validate the copy, then publish: no record of a refused write is published.
        let mut bytes = KVVec::from_elem(0u8, count, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
        if iov.copy_from_iter(&mut bytes) != count {
            return Err(EFAULT);
        }
        premap_abi::produce::validate_records(&bytes, geom.data_size() as usize)
            .map_err(|_| EINVAL)?;
        let records = premap_abi::ring::RecordIter::new(premap_abi::RawData::Single(&bytes))
            .filter_map(|r| r.ok())
            .filter_map(|r| r.bytes.as_single());
        buf.produce(records);
        Ok(count)
    }

    fn poll(device: Pin<&Self>, file: &File, table: PollTable<'_>) -> Result<u32> {
        let Ok(buf) = device.buffer() else {
            return Ok(0);
        };
        // The file holds the buffer (and so its wait queue) until release, after which nothing polls
        // it; PollCondVar's drop detaches any epoll entry left.
        table.register_wait(file, &buf.wq);
        Ok(if buf.poll_readable() {
            bindings::EPOLLIN | bindings::EPOLLRDNORM
        } else {
            0
        })
    }

    fn mmap(device: Pin<&Self>, _file: &File, vma: &VmaNew) -> Result {
        mmap(&device, vma)
    }
}

// Each argument's size is the one its request number encodes (`_IOC_SIZE`); the decoders take arrays of
// their structure's size, so a request number and a structure that disagree do not compile.
const CREATE: usize = ioc_size(uapi::IOC_CREATE);
const GENERATE: usize = ioc_size(uapi::IOC_GENERATE);
const PAGE_INFO: usize = ioc_size(uapi::IOC_PAGE_INFO);

/// Reads an ioctl's argument: `N` bytes at user address `arg`.
fn copy_in<const N: usize>(arg: c_ulong) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    UserSlice::new(UserPtr::from_addr(arg), N)
        .reader()
        .read_slice(&mut b)?;
    Ok(b)
}

/// Writes an ioctl's result to user address `arg`.
fn copy_out(arg: c_ulong, bytes: &[u8]) -> Result {
    UserSlice::new(UserPtr::from_addr(arg), bytes.len())
        .writer()
        .write_slice(bytes)
}

impl FileState {
    /// Dispatches one ioctl to the method that serves it.
    fn dispatch_ioctl(&self, cmd: u32, arg: c_ulong) -> Result<isize> {
        match cmd {
            uapi::IOC_CREATE => self.create(&CreateParams::from_bytes(&copy_in::<CREATE>(arg)?)),
            uapi::IOC_INFO => copy_out(arg, &self.info()?.to_bytes()),
            uapi::IOC_STATS => copy_out(arg, &self.stats()?.to_bytes()),
            uapi::IOC_GENERATE => {
                self.generate(GenerateParams::from_bytes(&copy_in::<GENERATE>(arg)?))
            }
            uapi::IOC_PAGE_INFO => {
                let req = PageInfo::from_bytes(&copy_in::<PAGE_INFO>(arg)?);
                copy_out(arg, &self.page_info(&req)?.to_bytes())
            }
            PERF_EVENT_IOC_PAUSE_OUTPUT => self.pause(arg != 0),
            _ => Err(ENOTTY),
        }
        .map(|()| 0)
    }

    /// `PREMAP_IOC_CREATE`: allocates, types and charges the file's one buffer (EBUSY if it has one).
    fn create(&self, params: &CreateParams) -> Result {
        if self.inner.lock().buffer.is_some() {
            return Err(EBUSY);
        }
        // Allocated without the file's lock (it may take a while); a racing create loses.
        let buffer = Buffer::new(params)?;
        let mut inner = self.inner.lock();
        if inner.buffer.is_some() {
            return Err(EBUSY);
        }
        inner.buffer = Some(buffer);
        Ok(())
    }

    /// `PREMAP_IOC_INFO`: the buffer's geometry and where each area maps.
    fn info(&self) -> Result<BufferInfo> {
        let buf = self.buffer()?;
        let page = PAGE_SIZE as u64;
        Ok(BufferInfo {
            flags: buf.flags,
            page_size: PAGE_SIZE as u32,
            data_pages: buf.layout.data_pages,
            aux_pages: buf.layout.aux_pages,
            mmap_len: buf.layout.ring_len(page),
            aux_offset: buf.layout.aux_offset(page),
        })
    }

    /// `PREMAP_IOC_STATS`: the producer's counters.
    fn stats(&self) -> Result<BufferStats> {
        let buf = self.buffer()?;
        let s = buf.state.lock();
        let p = s.producer.stats();
        Ok(BufferStats {
            records: p.records,
            bytes: p.bytes,
            lost: p.lost,
            lost_records: p.lost_records,
            wakeups: s.wakeups,
            mappings: buf.mappings.load(Ordering::Relaxed),
        })
    }

    /// `PREMAP_IOC_GENERATE`: stops the file's generator, then starts one with `params` (none for a
    /// count of 0).
    fn generate(&self, params: GenerateParams) -> Result {
        let buf = self.buffer()?;
        // Stop a running generator first, without holding the file's lock while it stops.
        let old = self.inner.lock().generator.take();
        drop(old);
        if params.count == 0 {
            return Ok(());
        }
        params.validate().map_err(|_| EINVAL)?;
        if buf.geom.is_none() {
            return Err(EINVAL);
        }
        let slot = GeneratorSlot::new()?;
        let ctx = KBox::new(
            GenCtx {
                buffer: buf,
                params,
                pid: kernel::current!().pid() as u32,
            },
            GFP_KERNEL,
        )?;
        let data = core::ptr::from_ref::<GenCtx>(&ctx)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: `ctx` is stored next to the thread in `Generator`, whose field order stops the thread
        // before the context is freed.
        let thread = unsafe { Kthread::spawn(generator_thread, data) }?;
        let gen = Generator {
            _thread: thread,
            _ctx: ctx,
            _slot: slot,
        };
        // A generator started meanwhile by another thread of this file is replaced (and stopped
        // after the lock is released).
        let replaced = self.inner.lock().generator.replace(gen);
        drop(replaced);
        Ok(())
    }

    /// `PREMAP_IOC_PAGE_INFO`: one page's type and reference count.
    fn page_info(&self, req: &PageInfo) -> Result<PageInfo> {
        if req.reserved != 0 {
            return Err(EINVAL);
        }
        let buf = self.buffer()?;
        let page = buf.pages.0.get(req.pgoff as usize).ok_or(EINVAL)?;
        Ok(PageInfo {
            pgoff: req.pgoff,
            page_type: page.page_type(),
            refcount: page.refcount(),
            reserved: 0,
        })
    }

    /// `PERF_EVENT_IOC_PAUSE_OUTPUT`: pauses or resumes the producer.
    fn pause(&self, paused: bool) -> Result {
        self.buffer()?.state.lock().producer.set_paused(paused);
        Ok(())
    }
}

/// Maps the whole buffer (control page and data area) or the whole AUX area, as perf: any other size or
/// offset is EINVAL, MAP_PRIVATE is EINVAL, PROT_EXEC is EPERM (and VM_MAYEXEC is dropped), a
/// consume-mode ring must be writable and an overwrite-mode ring must not be (EACCES).
fn mmap(st: &FileState, vma: &VmaNew) -> Result {
    let buf = st.buffer()?;
    if vma.flags() & vm::SHARED == 0 {
        return Err(EINVAL); // MAP_PRIVATE
    }
    if vma.executable() {
        return Err(EPERM);
    }
    let nr = ((vma.end() - vma.start()) / PAGE_SIZE) as u64;
    let first = vma.pgoff() as u64;
    if !buf.layout.is_whole_area(first, nr) {
        return Err(EINVAL);
    }
    let writable = vma.writable();
    if buf.layout.overwrite {
        // Overwrite mode is read-only, now and after any mprotect.
        vma.try_clear_maywrite().map_err(|_| EACCES)?;
    } else if first == 0 && !writable {
        // Consume mode: the reader must be able to publish data_tail.
        return Err(EACCES);
    }
    vma.try_clear_mayexec()?;
    vma.set_dontcopy();
    vma.set_dontexpand();
    vma.set_dontdump();
    let start = vma.start();
    if !buf.typed() {
        map_pfn(&buf, vma, start, first, nr)?;
    } else {
        map_typed(&buf, vma, start, first, nr, writable)?;
    }
    // The VMA keeps a reference to the buffer from here on, and each copy of it one more. (set_ops
    // fails only if something else set the VMA's private data: not reached, and nothing stays mapped
    // regardless.)
    vma.set_ops::<RingVma>(Arc::clone(&buf))
        .inspect_err(|_| vma.zap_vma_range(start, vma.end() - start))?;
    buf.mappings.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The PFN map: one `remap_pfn_range` per page (VM_IO | VM_PFNMAP), every PTE read-only (a write to
/// the control page goes through `pfn_mkwrite`). Nothing stays mapped on failure.
fn map_pfn(buf: &Buffer, vma: &VmaNew, start: c_ulong, first: u64, nr: u64) -> Result {
    let prot = readonly_prot(vma.flags());
    for i in 0..nr {
        let addr = start + (i as c_ulong) * PAGE_SIZE as c_ulong;
        let r = if i % 512 == 511 && glue::fatal_signal_pending() {
            Err(EINTR)
        } else {
            match buf.pages.0.get((first + i) as usize) {
                // SAFETY: the page belongs to `buf`, a reference to which this VMA gets (set_ops, by the
                // caller; or the page is zapped on failure) and every copy of it takes, so the page
                // lives as long as any PTE to it; the PFN-map strategy never calls `set_mixedmap`.
                Some(p) => unsafe { vma.remap_pfn_range(addr, p.pfn(), PAGE_SIZE, prot) },
                None => Err(EINVAL),
            }
        };
        if let Err(e) = r {
            // Nothing stays half mapped: remove what this call mapped so far.
            vma.zap_vma_range(start, i as usize * PAGE_SIZE);
            return Err(e);
        }
        if i % 512 == 511 {
            glue::cond_resched();
        }
    }
    Ok(())
}

/// The typed insert: `vm_insert_pages_prot` per 512 pages (a page table each), no reference and no
/// mapcount taken, VM_MIXEDMAP. The control page of a writable mapping is mapped writable at once (no
/// write fault later); every other page read-only. Nothing stays mapped on failure.
fn map_typed(
    buf: &Buffer,
    vma: &VmaNew,
    start: c_ulong,
    first: u64,
    nr: u64,
    writable: bool,
) -> Result {
    const CHUNK: u64 = 512;
    let first = usize::try_from(first).map_err(|_| EINVAL)?;
    let nr = usize::try_from(nr).map_err(|_| EINVAL)?;
    let ptrs = first
        .checked_add(nr)
        .and_then(|end| buf.page_ptrs.get(first..end))
        .ok_or(EINVAL)?;
    let ro = readonly_prot(vma.flags());
    let own = PgProt::for_vm_flags(vma.flags());
    // The typed strategy never calls `remap_pfn_range`, so the VMA may become VM_MIXEDMAP.
    let vma = vma.set_mixedmap();
    let mut done = 0usize;
    let mut addr = start;
    let mut result = Ok(());
    while done < nr {
        if done > 0 {
            glue::cond_resched();
            if glue::fatal_signal_pending() {
                result = Err(EINTR);
                break;
            }
        }
        // The control page alone when it is writable, then up to a page table's worth at a time.
        let (n, prot) = if first + done == 0 && writable {
            (1, own)
        } else {
            ((nr - done).min(CHUNK as usize), ro)
        };
        let chunk = glue::PagePtr::slice(&ptrs[done..done + n]);
        // SAFETY: the pages belong to `buf`, a reference to which this VMA gets (set_ops, by the caller;
        // or the pages are zapped on failure) and every copy of it takes.
        if let Err(e) = unsafe { vma.insert_user_ring_pages(addr, chunk, prot) } {
            result = Err(e);
            break;
        }
        done += n;
        addr += (n * PAGE_SIZE) as c_ulong;
    }
    if result.is_err() {
        // vm_insert_pages_prot unmapped its own part; remove the chunks mapped before it.
        vma.zap_vma_range(start, done * PAGE_SIZE);
    }
    result
}

struct PremapModule {
    // Field order: the device goes before the accounting table it uses.
    _reg: Pin<KBox<MiscDeviceRegistration<FileState>>>,
    users: Arc<Users>,
}

impl kernel::Module for PremapModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let users = Arc::pin_init(
            pin_init!(Users { table <- kernel::new_mutex!(KVec::new(), "premap_users") }),
            GFP_KERNEL,
        )?;
        USERS.store(
            core::ptr::from_ref::<Users>(&users).cast_mut(),
            Ordering::Release,
        );
        let options = MiscDeviceOptions {
            name: kernel::c_str!("premap"),
            // Every local user may open it (everything a user does is bounded and charged).
            mode: 0o666,
        };
        let reg = match KBox::pin_init(MiscDeviceRegistration::register(options), GFP_KERNEL) {
            Ok(r) => r,
            Err(e) => {
                USERS.store(core::ptr::null_mut(), Ordering::Release);
                return Err(e);
            }
        };
        pr_info!(
            "/dev/premap ready (page size {}, mlock_kb {})\n",
            PAGE_SIZE,
            MLOCK_KB.get()
        );
        Ok(Self { _reg: reg, users })
    }
}

impl Drop for PremapModule {
    fn drop(&mut self) {
        // Runs before the fields drop: no file is open (each pins the module), so nothing uses USERS.
        USERS.store(core::ptr::null_mut(), Ordering::Release);
        let held = self
            .users
            .table
            .lock()
            .iter()
            .filter(|u| !u.is_free())
            .count();
        if held != 0 {
            pr_err!("LEAK: {} users still charged at unload\n", held);
        }
        let live = glue::LIVE_PAGES.load(Ordering::Relaxed);
        if live == 0 {
            pr_info!("unloaded, 0 pages held\n");
        } else {
            pr_err!("LEAK: {} pages still held at unload\n", live);
        }
    }
}
