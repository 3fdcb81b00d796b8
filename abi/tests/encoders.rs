//! Every wire struct that has hand-written encoders (for the kernel build, which has no zerocopy) is
//! laid out once: these check, for arbitrary contents, that the encoders produce and read exactly the
//! bytes zerocopy sees in the `#[repr(C)]` struct.
#![cfg(feature = "zerocopy")]

use premap_abi::attr::{PerfEventAttr, ATTR_SIZE_VER8};
use premap_abi::header::EventHeader;
use premap_abi::perf_file::FileHeader;
use premap_abi::uapi::{BufferInfo, BufferStats, CreateParams, GenerateParams, PageInfo};
use proptest::prelude::*;
use zerocopy::{FromBytes, IntoBytes};

fn bytes(n: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), n)
}

proptest! {
    #[test]
    fn event_header(b in bytes(8)) {
        let v = EventHeader::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
        prop_assert_eq!(EventHeader::from_bytes(v.to_bytes()), v);
    }

    #[test]
    fn perf_event_attr(mut b in bytes(ATTR_SIZE_VER8 as usize)) {
        // attr.size (offset 4) must name the size read.
        b[4..8].copy_from_slice(&ATTR_SIZE_VER8.to_ne_bytes());
        let v = PerfEventAttr::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
        prop_assert_eq!(PerfEventAttr::from_bytes(&b).unwrap(), v);
    }

    #[test]
    fn create_params(b in bytes(32)) {
        let v = CreateParams::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
        prop_assert_eq!(CreateParams::from_bytes(&v.to_bytes()), v);
    }

    #[test]
    fn buffer_info(b in bytes(32)) {
        let v = BufferInfo::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
    }

    #[test]
    fn buffer_stats(b in bytes(48)) {
        let v = BufferStats::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
    }

    #[test]
    fn generate_params(b in bytes(24)) {
        let v = GenerateParams::read_from_bytes(&b).unwrap();
        let arr: [u8; 24] = b.as_slice().try_into().unwrap();
        prop_assert_eq!(GenerateParams::from_bytes(&arr), v);
    }

    #[test]
    fn page_info(b in bytes(16)) {
        let v = PageInfo::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
        prop_assert_eq!(PageInfo::from_bytes(&v.to_bytes()), v);
    }

    #[test]
    fn file_header(b in bytes(std::mem::size_of::<FileHeader>())) {
        let v = FileHeader::read_from_bytes(&b).unwrap();
        prop_assert_eq!(&v.to_bytes()[..], v.as_bytes());
    }
}
