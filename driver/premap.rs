// SPDX-License-Identifier: GPL-2.0

//! premap: a perf-style ring buffer whose pages are all mapped at mmap time ("perf: map pages in
//! advance", LKML, November 2024), as a misc device `/dev/premap` for Linux 6.12.
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
//! The shared layouts come from premap-abi's source (`../abi/src`), compiled into this module.

use core::ffi::{c_int, c_uint, c_void};

/// The kernel's `unsigned long` and `long` (the `ffi` crate maps them to `usize`/`isize`).
#[allow(non_camel_case_types)]
type c_ulong = usize;
#[allow(non_camel_case_types)]
type c_long = isize;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::uaccess::UserSlice;

#[allow(unused_attributes, dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../abi/src/lib.rs"]
mod premap_abi;
// premap-abi's modules name each other through `crate::`; re-exporting them at this crate's root makes
// those paths resolve to the very same source here as in the cargo build.
#[allow(unused_imports)]
pub(crate) use premap_abi::*;

mod glue;

use glue::{Kthread, NewVma, OwnedPage, VmOps, WaitQueue, PAGE_SIZE};
use premap_abi::control::{ControlPage, ControlPtr};
use premap_abi::ioctl as abi_ioctl;
use premap_abi::memdesc::BufferLayout;
use premap_abi::produce::{DataArea, Producer};
use premap_abi::ring::RingGeometry;

module! {
    type: PremapModule,
    name: "premap",
    author: "premap developers",
    description: "perf-style ring buffer with every page mapped in advance",
    license: "GPL",
}

/// The producer's state, under `Buffer::state`.
struct State {
    producer: Producer,
    wakeups: u64,
}

/// One ring buffer: its pages, the producer and the poll wait queue. Mappings and the file each hold a
/// reference.
#[pin_data]
struct Buffer {
    #[pin]
    state: Mutex<State>,
    wq: WaitQueue,
    pages: KVec<OwnedPage>,
    layout: BufferLayout,
    geom: Option<RingGeometry>,
    flags: u32,
    watermark: u64,
    inject_mmap_fault_at: u32,
    mappings: AtomicU64,
}


struct DataPages<'a>(&'a [OwnedPage]);

impl DataArea for DataPages<'_> {
    fn write_at(&mut self, mut offset: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Some(page) = self.0.get(offset / PAGE_SIZE) else { return };
            let in_page = offset % PAGE_SIZE;
            let n = bytes.len().min(PAGE_SIZE - in_page);
            let (now, rest) = bytes.split_at(n);
            page.write(in_page, now);
            bytes = rest;
            offset += n;
        }
    }
}

impl Buffer {
    fn control(&self) -> Option<ControlPtr> {
        let page = self.pages.first()?;
        let ptr = core::ptr::NonNull::new(page.addr().cast::<ControlPage>())?;
        // SAFETY: the control page is a whole, page-aligned page the buffer owns for its lifetime.
        Some(unsafe { ControlPtr::new(ptr) })
    }

    fn data_pages(&self) -> &[OwnedPage] {
        let n = self.layout.data_pages as usize;
        self.pages.get(1..1 + n).unwrap_or(&[])
    }

    /// Publishes records (already validated) and wakes pollers past the watermark.
    fn produce<'a>(&self, records: impl Iterator<Item = &'a [u8]>) -> usize {
        let (Some(ctl), Some(geom)) = (self.control(), self.geom) else { return 0 };
        let mut st = self.state.lock();
        let mut area = DataPages(self.data_pages());
        let written = records.filter(|r| st.producer.emit(&mut area, &ctl, r)).count();
        let readable = geom.readable(st.producer.head(), ctl.load_data_tail()).unwrap_or(geom.data_size());
        let wake = written > 0 && (self.layout.overwrite || readable >= self.watermark);
        if wake {
            st.wakeups += 1;
        }
        drop(st);
        if wake {
            self.wq.wake_all();
        }
        written
    }

    fn readable(&self) -> bool {
        let (Some(ctl), Some(geom)) = (self.control(), self.geom) else { return false };
        let head = ctl.load_data_head();
        if self.layout.overwrite {
            return self.state.lock().producer.stats().records > 0;
        }
        geom.readable(head, ctl.load_data_tail()).map_or(true, |n| n >= self.watermark.min(geom.data_size()))
    }

    fn new(params: &abi_ioctl::CreateParams) -> Result<Arc<Self>> {
        let (layout, watermark) = params.validate(PAGE_SIZE as u64).map_err(|_| EINVAL)?;
        let total = layout.total_pages() as usize;
        let mut pages = KVec::with_capacity(total, GFP_KERNEL)?;
        for pgoff in 0..total {
            let page = OwnedPage::alloc()?;
            if let Some(word) = layout.page_desc(pgoff as u64).and_then(|d| d.encode()) {
                page.set_type(word);
            }
            pages.push(page, GFP_KERNEL)?;
        }
        let geom = if layout.data_pages > 0 {
            Some(RingGeometry::for_pages(u64::from(layout.data_pages), PAGE_SIZE as u64).map_err(|_| EINVAL)?)
        } else {
            None
        };
        let producer = Producer::new(
            geom.unwrap_or(RingGeometry::for_pages(1, PAGE_SIZE as u64).map_err(|_| EINVAL)?),
            layout.overwrite,
            0,
        );
        let buf = Arc::pin_init(
            pin_init!(Buffer {
                state <- kernel::new_mutex!(State { producer, wakeups: 0 }, "premap_buffer"),
                wq: WaitQueue::uninit(),
                pages,
                layout,
                geom,
                flags: params.flags,
                watermark,
                inject_mmap_fault_at: params.inject_mmap_fault_at,
                mappings: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        buf.wq.init();
        if let Some(ctl) = buf.control() {
            let data_size = geom.map_or(0, |g| g.data_size());
            let mut page0 = ControlPage::new_for_ring(PAGE_SIZE as u64, data_size);
            if layout.aux_pages > 0 {
                page0.aux_offset = (1 + u64::from(layout.data_pages)) * PAGE_SIZE as u64;
                page0.aux_size = u64::from(layout.aux_pages) * PAGE_SIZE as u64;
            }
            // SAFETY: the buffer is not yet visible to anyone else (no mapping, no other reference).
            unsafe { ctl.init(&page0) };
        }
        Ok(buf)
    }
}

/// Context of the generator thread, owned by the file until the thread is stopped.
struct GenCtx {
    buffer: Arc<Buffer>,
    params: abi_ioctl::GenerateParams,
    pid: u32,
}

struct Generator {
    // Field order matters: the thread is stopped (dropped) before its context is freed.
    _thread: Kthread,
    _ctx: KBox<GenCtx>,
}

unsafe extern "C" fn generator_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `GenCtx` the file keeps alive until after kthread_stop returns.
    let ctx = unsafe { &*data.cast::<GenCtx>() };
    let p = ctx.params;
    if let Ok(mut sample) = KVec::from_elem(0u8, p.sample_size as usize, GFP_KERNEL) {
        let h = premap_abi::EventHeader {
            r#type: premap_abi::header::RECORD_SAMPLE,
            misc: premap_abi::header::RECORD_MISC_KERNEL,
            size: p.sample_size as u16,
        };
        sample[..8].copy_from_slice(&h.to_bytes());
        sample[8..16].copy_from_slice(&1u64.to_ne_bytes()); // IDENTIFIER
        sample[16..20].copy_from_slice(&ctx.pid.to_ne_bytes());
        sample[20..24].copy_from_slice(&ctx.pid.to_ne_bytes());
        let mut seq = 0u64;
        while seq < p.count && !glue::kthread_should_stop() {
            let batch_end = (seq + u64::from(p.batch)).min(p.count);
            while seq < batch_end {
                sample[24..32].copy_from_slice(&glue::ktime_ns().to_ne_bytes());
                sample[32..40].copy_from_slice(&seq.to_ne_bytes());
                ctx.buffer.produce(core::iter::once(&sample[..]));
                seq += 1;
            }
            if p.period_ns > 0 {
                glue::sleep_us(p.period_ns.div_ceil(1000));
            } else {
                glue::cond_resched();
            }
        }
    }
    // Stay until asked to stop, so kthread_stop always finds a live task.
    while !glue::kthread_should_stop() {
        glue::sleep_jiffies(10);
    }
    0
}

/// What an open file holds.
struct FileInner {
    buffer: Option<Arc<Buffer>>,
    generator: Option<Generator>,
}

#[pin_data]
struct FileState {
    #[pin]
    inner: Mutex<FileInner>,
}

static VM_OPS: VmOps = VmOps(bindings::vm_operations_struct {
    open: Some(vma_open),
    close: Some(vma_close),
    may_split: Some(vma_may_split),
    pfn_mkwrite: Some(vma_pfn_mkwrite),
    // SAFETY: all-zero is a valid vm_operations_struct (every other callback absent).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// Takes another reference to the buffer behind a VMA (fork with MADV_DOFORK is refused, so this runs
/// for mremap's copy of a moved VMA).
unsafe extern "C" fn vma_open(vma: *mut bindings::vm_area_struct) {
    // SAFETY: the mm passes one of our VMAs, whose private data is an `Arc<Buffer>` raw pointer.
    let raw = unsafe { glue::vma_private(vma) }.cast::<Buffer>();
    // SAFETY: the VMA's reference keeps the Arc alive; we take one more for the new VMA.
    let arc = unsafe { Arc::from_raw(raw) };
    let extra = arc.clone();
    arc.mappings.fetch_add(1, Ordering::Relaxed);
    let _ = arc.into_raw();
    let _ = extra.into_raw();
}

unsafe extern "C" fn vma_close(vma: *mut bindings::vm_area_struct) {
    // SAFETY: as in vma_open; this VMA's reference is given back.
    let arc = unsafe { Arc::from_raw(glue::vma_private(vma).cast::<Buffer>()) };
    arc.mappings.fetch_sub(1, Ordering::Relaxed);
    drop(arc);
}

unsafe extern "C" fn vma_may_split(_vma: *mut bindings::vm_area_struct, _addr: c_ulong) -> c_int {
    // One VMA for the buffer's whole life: partial munmap/mprotect/mremap fail.
    EINVAL.to_errno()
}

unsafe extern "C" fn vma_pfn_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: the mm passes a valid vm_fault for one of our VMAs.
    let pgoff = unsafe { glue::fault_pgoff(vmf) };
    // Only the control page (consume mode; overwrite mappings cannot be writable) may be written.
    if pgoff == 0 {
        0
    } else {
        glue::VM_FAULT_SIGBUS
    }
}

fn state_of(file: *mut bindings::file) -> &'static FileState {
    // SAFETY: private_data is the FileState we installed in open(), alive until release().
    unsafe { &*glue::file_private(file).cast::<FileState>() }
}

unsafe extern "C" fn premap_open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    let st = match Arc::pin_init(
        pin_init!(FileState { inner <- kernel::new_mutex!(FileInner { buffer: None, generator: None }, "premap_file") }),
        GFP_KERNEL,
    ) {
        Ok(s) => s,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: the VFS passes our fresh file; nobody else uses private_data yet.
    unsafe { glue::set_file_private(file, st.into_raw().cast_mut().cast()) };
    0
}

unsafe extern "C" fn premap_release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: private_data is our FileState; release is the last call for this file.
    let st = unsafe { Arc::from_raw(glue::file_private(file).cast::<FileState>()) };
    let generator = st.inner.lock().generator.take();
    drop(generator); // stops the thread before its context goes
    drop(st); // the buffer lives on while mappings hold it
    0
}

fn copy_in<const N: usize>(arg: c_ulong) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    UserSlice::new(arg as usize, N).reader().read_slice(&mut b)?;
    Ok(b)
}

fn copy_out(arg: c_ulong, bytes: &[u8]) -> Result {
    UserSlice::new(arg as usize, bytes.len()).writer().write_slice(bytes)
}

fn ioctl(file: *mut bindings::file, cmd: u32, arg: c_ulong) -> Result<c_long> {
    let st = state_of(file);
    match cmd {
        abi_ioctl::IOC_CREATE => {
            let params = abi_ioctl::CreateParams::from_bytes(&copy_in::<32>(arg)?);
            let mut inner = st.inner.lock();
            if inner.buffer.is_some() {
                return Err(EBUSY);
            }
            inner.buffer = Some(Buffer::new(&params)?);
            Ok(0)
        }
        abi_ioctl::IOC_INFO => {
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            let info = abi_ioctl::BufferInfo {
                flags: buf.flags,
                page_size: PAGE_SIZE as u32,
                data_pages: buf.layout.data_pages,
                aux_pages: buf.layout.aux_pages,
                mmap_len: (1 + u64::from(buf.layout.data_pages)) * PAGE_SIZE as u64,
                aux_offset: if buf.layout.aux_pages > 0 { (1 + u64::from(buf.layout.data_pages)) * PAGE_SIZE as u64 } else { 0 },
            };
            copy_out(arg, &info.to_bytes())?;
            Ok(0)
        }
        abi_ioctl::IOC_STATS => {
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            let s = buf.state.lock();
            let p = s.producer.stats();
            let stats = abi_ioctl::BufferStats {
                records: p.records,
                bytes: p.bytes,
                lost: p.lost,
                lost_records: p.lost_records,
                wakeups: s.wakeups,
                mappings: buf.mappings.load(Ordering::Relaxed),
            };
            drop(s);
            copy_out(arg, &stats.to_bytes())?;
            Ok(0)
        }
        abi_ioctl::IOC_GENERATE => {
            let params = abi_ioctl::GenerateParams::from_bytes(&copy_in::<24>(arg)?);
            let mut inner = st.inner.lock();
            let buf = inner.buffer.clone().ok_or(ENODEV)?;
            inner.generator = None; // stop a running one first
            if params.count == 0 {
                return Ok(0);
            }
            if !params.validate() || buf.geom.is_none() {
                return Err(EINVAL);
            }
            let ctx = KBox::new(GenCtx { buffer: buf, params, pid: kernel::current!().pid() as u32 }, GFP_KERNEL)?;
            let data = (&*ctx as *const GenCtx).cast_mut().cast::<c_void>();
            // SAFETY: `ctx` is stored next to the thread in `Generator`, whose field order stops the thread
            // before the context is freed.
            let thread = unsafe { Kthread::spawn(generator_thread, data) }?;
            inner.generator = Some(Generator { _thread: thread, _ctx: ctx });
            Ok(0)
        }
        abi_ioctl::IOC_PAGE_INFO => {
            let b = copy_in::<8>(arg)?;
            let pgoff = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            let page = buf.pages.get(pgoff as usize).ok_or(EINVAL)?;
            let info = abi_ioctl::PageInfo { pgoff, page_type: page.page_type() };
            let mut out = [0u8; 8];
            out[..4].copy_from_slice(&info.pgoff.to_ne_bytes());
            out[4..].copy_from_slice(&info.page_type.to_ne_bytes());
            copy_out(arg, &out)?;
            Ok(0)
        }
        abi_ioctl::PERF_EVENT_IOC_PAUSE_OUTPUT => {
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            buf.state.lock().producer.set_paused(arg != 0);
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

unsafe extern "C" fn premap_ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    match ioctl(file, cmd, arg) {
        Ok(v) => v,
        Err(e) => e.to_errno() as c_long,
    }
}

unsafe extern "C" fn premap_write(
    file: *mut bindings::file,
    ubuf: *const u8,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    let res = (|| -> Result<isize> {
        let buf = state_of(file).inner.lock().buffer.clone().ok_or(ENODEV)?;
        let geom = buf.geom.ok_or(EINVAL)?;
        if count == 0 {
            return Ok(0);
        }
        if count as u64 > geom.data_size() {
            return Err(EINVAL);
        }
        // Copy the user's bytes once, validate the copy, then publish: nothing is half written.
        let mut bytes = KVec::new();
        UserSlice::new(ubuf as usize, count).read_all(&mut bytes, GFP_KERNEL)?;
        premap_abi::produce::validate_records(&bytes, geom.data_size() as usize).map_err(|_| EINVAL)?;
        let records = premap_abi::ring::RecordIter::new(premap_abi::RawData::Single(&bytes))
            .filter_map(|r| r.ok())
            .filter_map(|r| r.bytes.as_single());
        buf.produce(records);
        Ok(count as isize)
    })();
    match res {
        Ok(n) => n,
        Err(e) => e.to_errno() as isize,
    }
}

unsafe extern "C" fn premap_poll(file: *mut bindings::file, pt: *mut bindings::poll_table_struct) -> bindings::__poll_t {
    let Some(buf) = state_of(file).inner.lock().buffer.clone() else {
        return 0;
    };
    // SAFETY: the VFS's own arguments; the file holds the buffer, which owns the wait queue.
    unsafe { buf.wq.poll_wait(file, pt) };
    if buf.readable() {
        bindings::EPOLLIN | bindings::EPOLLRDNORM
    } else {
        0
    }
}

fn mmap(file: *mut bindings::file, vma: &NewVma) -> Result {
    let buf = state_of(file).inner.lock().buffer.clone().ok_or(ENODEV)?;
    let flags = vma.flags();
    if flags & bindings::VM_SHARED as c_ulong == 0 {
        return Err(EINVAL); // MAP_PRIVATE
    }
    let nr = vma.pages();
    let data = u64::from(buf.layout.data_pages);
    let first = match vma.pgoff() {
        0 if nr == 1 || nr == 1 + data => 0,
        p if buf.layout.aux_pages > 0 && p == 1 + data && nr == u64::from(buf.layout.aux_pages) => p,
        _ => return Err(EINVAL),
    };
    let writable = flags & bindings::VM_WRITE as c_ulong != 0;
    if buf.layout.overwrite {
        // Overwrite mode is read-only, now and after any mprotect.
        if writable {
            return Err(EACCES);
        }
        vma.clear_flags(bindings::VM_MAYWRITE as c_ulong);
    } else if first == 0 && !writable {
        // Consume mode: the reader must be able to publish data_tail.
        return Err(EACCES);
    }
    vma.set_flags((bindings::VM_DONTCOPY | bindings::VM_DONTEXPAND | bindings::VM_DONTDUMP) as c_ulong);
    let prot = vma.readonly_prot();
    let start = vma.start();
    for i in 0..nr {
        let addr = start + (i as c_ulong) * PAGE_SIZE as c_ulong;
        let page = buf.pages.get((first + i) as usize).ok_or(EINVAL);
        let r = match page {
            Ok(_) if buf.inject_mmap_fault_at as u64 == i + 1 => Err(ENOMEM),
            Ok(p) => vma.remap_page(addr, p.pfn(), prot),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            // Nothing stays half mapped: remove what this call mapped so far.
            vma.zap(start, (i as c_ulong) * PAGE_SIZE as c_ulong);
            return Err(e);
        }
    }
    buf.mappings.fetch_add(1, Ordering::Relaxed);
    vma.install(&VM_OPS, buf.into_raw().cast());
    Ok(())
}

unsafe extern "C" fn premap_mmap(file: *mut bindings::file, vma: *mut bindings::vm_area_struct) -> c_int {
    // SAFETY: the VFS passes the VMA being created, write-locked, for this call only.
    let vma = unsafe { NewVma::from_raw(vma) };
    match mmap(file, &vma) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

struct PremapModule {
    _reg: core::pin::Pin<KBox<glue::MiscRegistration>>,
}

impl kernel::Module for PremapModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let fops = bindings::file_operations {
            owner: module.as_ptr(),
            open: Some(premap_open),
            release: Some(premap_release),
            unlocked_ioctl: Some(premap_ioctl),
            compat_ioctl: Some(premap_ioctl),
            write: Some(premap_write),
            poll: Some(premap_poll),
            mmap: Some(premap_mmap),
            // SAFETY: all-zero is a valid file_operations (every other operation absent).
            ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
        };
        let reg = glue::MiscRegistration::register(c"premap", fops)?;
        pr_info!("/dev/premap ready (page size {})\n", PAGE_SIZE);
        Ok(Self { _reg: reg })
    }
}

impl Drop for PremapModule {
    fn drop(&mut self) {
        let live = glue::LIVE_PAGES.load(Ordering::Relaxed);
        if live == 0 {
            pr_info!("unloaded, 0 pages held\n");
        } else {
            pr_err!("LEAK: {} pages still held at unload\n", live);
        }
    }
}
