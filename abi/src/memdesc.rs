//! The page-type memdesc: what each page of a ring mapping is, and its encoding in a `page_type` word.
//!
//! The LKML thread proposes that driver-owned ring pages carry a distinct page type, so that
//! `vm_insert_pages()` need not touch their refcount or mapcount and `vm_normal_page()`/GUP refuse them.
//! Linux keeps `page->page_type` as a type in the top byte (`PGTY_*`; 0xff for "no type") and leaves the
//! low 24 bits to the owner. premap's kernel series (driver/kernel/*/, the mm patches) adds the type the thread asks
//! for, `PGTY_user_ring` (0xf9, the first slot mainline 7.3 leaves free), whose pages
//! `vm_insert_pages_prot()` maps without refcount or mapcount and `vm_normal_page()`/GUP refuse. Every
//! page of a premap buffer carries it, whichever strategy maps it ([`crate::uapi::CREATE_TYPED_PAGES`]);
//! premap's memdesc lives in the owner bits: which area the page belongs to, whether user space may
//! write it, and its index there:
//!
//! ```text
//!  31        24 23  22 21 20                     0
//! +------------+------+--+------------------------+
//! | PGTY byte  | kind |W |   index in its area    |
//! +------------+------+--+------------------------+
//! ```

/// Shift of the type byte in a `page_type` word (6.12 `PAGE_TYPE_SHIFT`).
pub const PAGE_TYPE_SHIFT: u32 = 24;
/// 6.12 `PGTY_buddy`.
pub const PGTY_BUDDY: u8 = 0xf0;
/// 6.12 `PGTY_offline`.
pub const PGTY_OFFLINE: u8 = 0xf1;
/// 6.12 `PGTY_table`.
pub const PGTY_TABLE: u8 = 0xf2;
/// 6.12 `PGTY_guard`.
pub const PGTY_GUARD: u8 = 0xf3;
/// 6.12 `PGTY_hugetlb`.
pub const PGTY_HUGETLB: u8 = 0xf4;
/// 6.12 `PGTY_slab`.
pub const PGTY_SLAB: u8 = 0xf5;
/// 6.12 `PGTY_zsmalloc`.
pub const PGTY_ZSMALLOC: u8 = 0xf6;
/// 6.12 `PGTY_unaccepted`.
pub const PGTY_UNACCEPTED: u8 = 0xf7;
/// mainline's `PGTY_large_kmalloc` (7.x).
pub const PGTY_LARGE_KMALLOC: u8 = 0xf8;
/// 6.12 `PGTY_mapcount_underflow`: a `page_type` of `0xff......` means "no type".
pub const PGTY_NONE: u8 = 0xff;
/// The kernel's `PGTY_user_ring` type byte as premap's kernel series defines it (one name on both sides)
/// (`PageUserRing()`, named `user_ring` by `dump_page()`, `KPF_USER_RING` in `/proc/kpageflags`).
pub const PGTY_USER_RING: u8 = 0xf9;
/// The `/proc/kpageflags` bit premap's kernel series adds for `PGTY_user_ring` pages
/// (`KPF_USER_RING`).
pub const KPF_USER_RING: u32 = 27;

/// Shift of the 2-bit area kind in the owner bits.
pub const MEMDESC_KIND_SHIFT: u32 = 22;
/// Bit set when user space may write the page.
pub const MEMDESC_USER_WRITABLE: u32 = 1 << 21;
/// Mask of the page's index in its area.
pub const MEMDESC_INDEX_MASK: u32 = (1 << 21) - 1;
/// The largest number of pages one area may have (the index must fit in 21 bits).
pub const MEMDESC_MAX_AREA_PAGES: u32 = 1 << 21;

/// Which area of a ring mapping a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PageKind {
    /// Page 0: the control page (`perf_event_mmap_page`).
    Control = 1,
    /// A data-area page.
    Data = 2,
    /// An AUX-area page.
    Aux = 3,
}

impl PageKind {
    /// Decodes the 2-bit kind; 0 is not a kind.
    pub const fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            1 => Some(Self::Control),
            2 => Some(Self::Data),
            3 => Some(Self::Aux),
            _ => None,
        }
    }
}

/// The memdesc of one page: its area, its index there, and whether user space may write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageDesc {
    /// The area.
    pub kind: PageKind,
    /// Index of the page within its area (0 for the control page).
    pub index: u32,
    /// Whether user space may write the page: only the control page of a consume-mode buffer.
    pub user_writable: bool,
}

impl PageDesc {
    /// The `page_type` word: [`PGTY_USER_RING`] in the top byte, the owner bits below. `None` when the
    /// index does not fit in 21 bits.
    pub const fn encode(&self) -> Option<u32> {
        if self.index > MEMDESC_INDEX_MASK {
            return None;
        }
        let w = if self.user_writable {
            MEMDESC_USER_WRITABLE
        } else {
            0
        };
        Some(
            ((PGTY_USER_RING as u32) << PAGE_TYPE_SHIFT)
                | ((self.kind as u32) << MEMDESC_KIND_SHIFT)
                | w
                | self.index,
        )
    }

    /// Decodes a `page_type` word; `None` when it is not a premap ring page.
    pub const fn decode(word: u32) -> Option<Self> {
        if (word >> PAGE_TYPE_SHIFT) as u8 != PGTY_USER_RING {
            return None;
        }
        let kind = match PageKind::from_bits((word >> MEMDESC_KIND_SHIFT) & 3) {
            Some(k) => k,
            None => return None,
        };
        Some(Self {
            kind,
            index: word & MEMDESC_INDEX_MASK,
            user_writable: word & MEMDESC_USER_WRITABLE != 0,
        })
    }
}

/// The shape of a buffer, as far as its pages are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLayout {
    /// Data pages (0 or a power of two).
    pub data_pages: u32,
    /// AUX pages (0 or a power of two); they follow the data pages in the file's page offsets.
    pub aux_pages: u32,
    /// Overwrite mode: the control page is read-only to user space too.
    pub overwrite: bool,
}

impl BufferLayout {
    /// Total pages: 1 control page, the data pages, the AUX pages.
    pub const fn total_pages(&self) -> u64 {
        1 + self.data_pages as u64 + self.aux_pages as u64
    }

    /// Page offset of the AUX area: the page after the last data page.
    pub const fn aux_pgoff(&self) -> u64 {
        1 + self.data_pages as u64
    }

    /// Length in bytes of the ring's mapping (the control page and the data pages), the only length
    /// an `mmap` at offset 0 may ask for.
    pub const fn ring_len(&self, page_size: u64) -> u64 {
        self.aux_pgoff() * page_size
    }

    /// File offset of the AUX area (as `perf_event_mmap_page::aux_offset`), 0 when there is none.
    pub const fn aux_offset(&self, page_size: u64) -> u64 {
        if self.aux_pages > 0 {
            self.aux_pgoff() * page_size
        } else {
            0
        }
    }

    /// Whether an `mmap` of `pages` pages at page offset `pgoff` maps one whole area: the ring (offset
    /// 0, the control page and every data page) or the AUX area (at [`BufferLayout::aux_pgoff`], every
    /// AUX page). perf maps nothing else, and neither does the driver.
    pub const fn is_whole_area(&self, pgoff: u64, pages: u64) -> bool {
        (pgoff == 0 && pages == self.aux_pgoff())
            || (self.aux_pages > 0 && pgoff == self.aux_pgoff() && pages == self.aux_pages as u64)
    }

    /// The memdesc of page `pgoff` (the page's offset in the file, as mmap's `vm_pgoff` counts it), or
    /// `None` past the last page or for an area too large to encode.
    pub const fn page_desc(&self, pgoff: u64) -> Option<PageDesc> {
        if self.data_pages >= MEMDESC_MAX_AREA_PAGES || self.aux_pages >= MEMDESC_MAX_AREA_PAGES {
            return None;
        }
        let data = self.data_pages as u64;
        let (kind, index) = if pgoff == 0 {
            (PageKind::Control, 0)
        } else if pgoff <= data {
            (PageKind::Data, pgoff - 1)
        } else if pgoff < self.total_pages() {
            (PageKind::Aux, pgoff - 1 - data)
        } else {
            return None;
        };
        Some(PageDesc {
            kind,
            index: index as u32,
            user_writable: matches!(kind, PageKind::Control) && !self.overwrite,
        })
    }

    /// The memdesc of every page, in page-offset order.
    pub fn pages(&self) -> impl Iterator<Item = PageDesc> + '_ {
        (0..self.total_pages()).map_while(|p| self.page_desc(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_whole_areas() {
        let l = BufferLayout {
            data_pages: 8,
            aux_pages: 4,
            overwrite: false,
        };
        assert_eq!(l.aux_pgoff(), 9);
        assert_eq!(l.ring_len(4096), 9 * 4096);
        assert_eq!(l.aux_offset(4096), 9 * 4096);
        assert!(l.is_whole_area(0, 9));
        assert!(l.is_whole_area(9, 4));
        for (pgoff, pages) in [
            (0, 8),
            (0, 10),
            (0, 13),
            (1, 8),
            (9, 3),
            (9, 5),
            (10, 3),
            (8, 4),
        ] {
            assert!(!l.is_whole_area(pgoff, pages), "{pgoff} {pages}");
        }
        let no_aux = BufferLayout { aux_pages: 0, ..l };
        assert_eq!(no_aux.aux_offset(4096), 0);
        assert!(!no_aux.is_whole_area(9, 0));
        assert!(no_aux.is_whole_area(0, 9));
    }

    #[test]
    fn every_page_round_trips_through_its_page_type_word() {
        let layout = BufferLayout {
            data_pages: 8,
            aux_pages: 4,
            overwrite: false,
        };
        let descs: [Option<PageDesc>; 14] = core::array::from_fn(|p| layout.page_desc(p as u64));
        assert_eq!(descs[13], None);
        for (p, d) in descs.iter().take(13).enumerate() {
            let d = d.unwrap();
            let word = d.encode().unwrap();
            assert_eq!(word >> 24, 0xf9);
            assert_eq!(PageDesc::decode(word), Some(d));
            match p {
                0 => assert_eq!(
                    (d.kind, d.index, d.user_writable),
                    (PageKind::Control, 0, true)
                ),
                1..=8 => assert_eq!(
                    (d.kind, d.index, d.user_writable),
                    (PageKind::Data, p as u32 - 1, false)
                ),
                _ => assert_eq!(
                    (d.kind, d.index, d.user_writable),
                    (PageKind::Aux, p as u32 - 9, false)
                ),
            }
        }
        assert_eq!(layout.pages().count(), 13);
        let ro = BufferLayout {
            overwrite: true,
            ..layout
        };
        assert!(!ro.page_desc(0).unwrap().user_writable);
    }

    #[test]
    fn foreign_page_types_are_not_ours() {
        assert_eq!(PageDesc::decode(0xffff_ffff), None);
        assert_eq!(PageDesc::decode((PGTY_SLAB as u32) << 24), None);
        assert_eq!(PageDesc::decode((PGTY_USER_RING as u32) << 24), None);
    }
}
