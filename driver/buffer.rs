// SPDX-License-Identifier: GPL-2.0

//! One ring buffer: its pages (allocated, typed and charged at create), the producer's state, the
//! poll wait queue, and mapping it into a VMA by either strategy (PFN map or typed pages).

use crate::glue::{self, OwnedPage, PAGE_SIZE};
use crate::limits::PageCharge;
use crate::premap_abi::control::{ControlMut, ControlPage, ControlPtr};
use crate::premap_abi::memdesc::BufferLayout;
use crate::premap_abi::produce::{DataArea, Producer};
use crate::premap_abi::ring::RingGeometry;
use crate::premap_abi::uapi::{CreateParams, CREATE_TYPED_PAGES};
use core::sync::atomic::AtomicU64;
use kernel::prelude::*;
use kernel::sync::poll::PollCondVar;
use kernel::sync::{Arc, Mutex};

/// The pages of a buffer; freed in batches with a reschedule between them (a buffer may hold 2^21).
pub(crate) struct Pages(pub(crate) KVVec<OwnedPage>);

impl Drop for Pages {
    fn drop(&mut self) {
        let pages = core::mem::take(&mut self.0);
        for (i, page) in pages.into_iter().enumerate() {
            drop(page);
            if i % 1024 == 1023 {
                glue::cond_resched();
            }
        }
    }
}

/// The producer's state, under `Buffer::state`.
pub(crate) struct State {
    pub(crate) producer: Producer,
    pub(crate) wakeups: u64,
    /// Overwrite mode: bytes published since poll last reported the buffer readable.
    pub(crate) unreported: u64,
}

/// One ring buffer: its pages, the producer and the poll wait queue. Mappings and the file each hold a
/// reference.
#[pin_data]
pub(crate) struct Buffer {
    #[pin]
    pub(crate) state: Mutex<State>,
    /// Poll and epoll wait here (woken by `notify_all` when the ring becomes readable).
    #[pin]
    pub(crate) wq: PollCondVar,
    pub(crate) pages: Pages,
    /// The typed strategy (`CREATE_TYPED_PAGES`): every page's `struct page` pointer, in file order, for
    /// `vm_insert_pages_prot`. Empty for the PFN map.
    pub(crate) page_ptrs: KVVec<glue::PagePtr>,
    pub(crate) layout: BufferLayout,
    pub(crate) geom: Option<RingGeometry>,
    pub(crate) flags: u32,
    pub(crate) watermark: u64,
    pub(crate) mappings: AtomicU64,
    pub(crate) _charge: PageCharge,
}

pub(crate) struct DataPages<'a>(&'a [OwnedPage]);

impl DataArea for DataPages<'_> {
    fn write_at(&mut self, mut offset: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Some(page) = self.0.get(offset / PAGE_SIZE) else {
                return;
            };
            let in_page = offset % PAGE_SIZE;
            let n = bytes.len().min(PAGE_SIZE - in_page);
            let (now, rest) = bytes.split_at(n);
            // SAFETY: `DataPages` is built only under the buffer's state mutex (`Buffer::produce`), the
            // one place that writes data pages.
            unsafe { page.write(in_page, now) };
            bytes = rest;
            offset += n;
        }
    }
}

impl Buffer {
    /// Whether the buffer is mapped with the typed-page strategy (`CREATE_TYPED_PAGES`).
    pub(crate) fn typed(&self) -> bool {
        self.flags & CREATE_TYPED_PAGES != 0
    }

    /// The control page.
    ///
    /// # Safety
    ///
    /// The pointer (and its copies) must not be used after `self` is dropped: it points into a page
    /// the buffer owns.
    pub(crate) unsafe fn control(&self) -> Option<ControlMut> {
        let page = self.pages.0.first()?;
        let ptr = core::ptr::NonNull::new(page.addr().cast::<ControlPage>())?;
        // SAFETY: the control page is a whole, page-aligned, writable (kernel direct map) page the
        // buffer owns for its lifetime, which bounds every use (the caller's contract).
        Some(unsafe { ControlMut::new(ptr) })
    }

    pub(crate) fn data_pages(&self) -> &[OwnedPage] {
        let n = self.layout.data_pages as usize;
        self.pages.0.get(1..1 + n).unwrap_or(&[])
    }

    /// Publishes records (already validated), at most 1024 under one hold of the producer's lock, and
    /// wakes pollers: consume mode once the readable bytes reach the watermark, overwrite mode once
    /// the watermark's worth was written since poll last reported it.
    pub(crate) fn produce<'a>(&self, records: impl Iterator<Item = &'a [u8]>) -> usize {
        // SAFETY: `ctl` is used only within this call, while `self` lives.
        let (Some(ctl), Some(geom)) = (unsafe { self.control() }, self.geom) else {
            return 0;
        };
        let mut records = records.peekable();
        let mut written = 0;
        while records.peek().is_some() {
            let mut st = self.state.lock();
            let mut area = DataPages(self.data_pages());
            let before = st.producer.stats().bytes;
            let n = records
                .by_ref()
                .take(1024)
                .filter(|r| st.producer.emit(&mut area, &ctl, r))
                .count();
            let bytes = st.producer.stats().bytes - before;
            st.unreported = st.unreported.saturating_add(bytes);
            let wake = n > 0 && self.ready(&st, &ctl, geom);
            if wake {
                st.wakeups += 1;
            }
            drop(st);
            if wake {
                self.wq.notify_all();
            }
            written += n;
            if records.peek().is_some() {
                glue::cond_resched();
            }
        }
        written
    }

    /// Whether a reader should be told: from the producer's own state (its head, what it wrote since
    /// the last report), never from `data_head`, which user space can write. `data_tail` is the
    /// reader's by protocol; an impossible one counts as readable.
    pub(crate) fn ready(&self, st: &State, ctl: &ControlPtr, geom: RingGeometry) -> bool {
        let watermark = self.watermark.min(geom.data_size()).max(1);
        if self.layout.overwrite {
            return st.unreported >= watermark;
        }
        geom.readable(st.producer.head(), ctl.load_data_tail())
            .map_or(true, |n| n >= watermark)
    }

    /// poll's answer. Overwrite mode reports each watermark's worth once (as perf's ring), so an epoll
    /// loop does not spin on an old record.
    pub(crate) fn poll_readable(&self) -> bool {
        // SAFETY: `ctl` is used only within this call, while `self` lives.
        let (Some(ctl), Some(geom)) = (unsafe { self.control() }, self.geom) else {
            return false;
        };
        let mut st = self.state.lock();
        let ready = self.ready(&st, &ctl, geom);
        if ready && self.layout.overwrite {
            st.unreported = 0;
        }
        ready
    }

    /// Allocates a buffer, its pages charged to the current user.
    pub(crate) fn new(params: &CreateParams) -> Result<Arc<Self>> {
        let (layout, watermark) = params.validate(PAGE_SIZE as u64).map_err(|_| EINVAL)?;
        let total = layout.total_pages();
        // Never more than half of RAM, whoever asks: such a request could only end in the OOM killer.
        if total > glue::totalram_pages() / 2 {
            return Err(ENOMEM);
        }
        let charge = PageCharge::new(total)?;
        let total = usize::try_from(total).map_err(|_| ENOMEM)?;
        let mut pages = KVVec::with_capacity(total, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
        for pgoff in 0..total {
            if pgoff % 256 == 255 {
                if glue::fatal_signal_pending() {
                    return Err(EINTR);
                }
                glue::cond_resched();
            }
            let mut page = OwnedPage::alloc()?;
            if let Some(word) = layout.page_desc(pgoff as u64).and_then(|d| d.encode()) {
                page.set_type(word);
            }
            pages.push(page, GFP_KERNEL)?;
        }
        let pages = Pages(pages);
        let mut page_ptrs = KVVec::new();
        if params.flags & CREATE_TYPED_PAGES != 0 {
            page_ptrs = KVVec::with_capacity(total, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
            for p in pages.0.iter() {
                page_ptrs.push(glue::PagePtr::of(p), GFP_KERNEL)?;
            }
        }
        let geom = if layout.data_pages > 0 {
            Some(
                RingGeometry::for_pages(u64::from(layout.data_pages), PAGE_SIZE as u64)
                    .map_err(|_| EINVAL)?,
            )
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
                state <- kernel::new_mutex!(State { producer, wakeups: 0, unreported: 0 }, "premap_buffer"),
                wq <- kernel::new_poll_condvar!("premap_buffer_poll"),
                pages,
                page_ptrs,
                layout,
                geom,
                flags: params.flags,
                watermark,
                mappings: AtomicU64::new(0),
                _charge: charge,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `ctl` is used only below, while `buf` lives.
        if let Some(ctl) = unsafe { buf.control() } {
            let data_size = geom.map_or(0, |g| g.data_size());
            let mut page0 = ControlPage::new_for_ring(PAGE_SIZE as u64, data_size);
            if layout.aux_pages > 0 {
                page0.aux_offset = layout.aux_offset(PAGE_SIZE as u64);
                page0.aux_size = u64::from(layout.aux_pages) * PAGE_SIZE as u64;
            }
            // SAFETY: the buffer is not yet visible to anyone else (no mapping, no other reference).
            unsafe { ctl.init(&page0) };
        }
        Ok(buf)
    }
}
