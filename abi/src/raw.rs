//! Byte views that may be split in two at the end of a ring, a cursor that reads native-endian
//! integers across the split, and a small writer for encoding.
//!
//! A record that straddles the end of a ring's data area is described, not copied: [`RawData::Split`]
//! holds the part before the end and the part from the start of the area. Every reader here handles the
//! seam, so parsing a wrapped record needs no allocation and no bounce buffer.

use crate::ParseError;
use core::fmt;

/// Bytes that are either one slice or two slices that logically follow each other.
#[derive(Clone, Copy)]
pub enum RawData<'a> {
    /// One contiguous slice.
    Single(&'a [u8]),
    /// Two slices: the first ends at the ring's end, the second continues at its start.
    Split(&'a [u8], &'a [u8]),
}

impl<'a> RawData<'a> {
    /// An empty view.
    pub const EMPTY: RawData<'static> = RawData::Single(&[]);

    /// Builds a view from two parts, collapsing to [`RawData::Single`] when either is empty.
    pub fn from_parts(first: &'a [u8], second: &'a [u8]) -> Self {
        if second.is_empty() {
            Self::Single(first)
        } else if first.is_empty() {
            Self::Single(second)
        } else {
            Self::Split(first, second)
        }
    }

    /// Total length in bytes.
    pub fn len(&self) -> usize {
        match *self {
            Self::Single(a) => a.len(),
            Self::Split(a, b) => a.len() + b.len(),
        }
    }

    /// Whether the view holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The two parts (the second is empty for a single slice).
    pub fn parts(&self) -> (&'a [u8], &'a [u8]) {
        match *self {
            Self::Single(a) => (a, &[]),
            Self::Split(a, b) => (a, b),
        }
    }

    /// The bytes as one slice when they are contiguous.
    pub fn as_single(&self) -> Option<&'a [u8]> {
        match *self {
            Self::Single(a) => Some(a),
            Self::Split(..) => None,
        }
    }

    /// Splits at `mid`: the first `mid` bytes and the rest, or `None` if `mid > len()`.
    pub fn split_at(&self, mid: usize) -> Option<(RawData<'a>, RawData<'a>)> {
        let (a, b) = self.parts();
        if mid <= a.len() {
            let (a1, a2) = a.split_at(mid);
            Some((RawData::Single(a1), RawData::from_parts(a2, b)))
        } else {
            let (b1, b2) = b.split_at_checked(mid - a.len())?;
            Some((RawData::from_parts(a, b1), RawData::Single(b2)))
        }
    }

    /// The byte at `index`, if any.
    pub fn get(&self, index: usize) -> Option<u8> {
        let (a, b) = self.parts();
        match a.get(index) {
            Some(&x) => Some(x),
            None => b.get(index - a.len()).copied(),
        }
    }

    /// Iterates over the bytes.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + Clone + 'a {
        let (a, b) = self.parts();
        Iterator::chain(a.iter(), b.iter()).copied()
    }

    /// Copies `dst.len()` bytes from the start of the view into `dst`; `None` if the view is shorter.
    pub fn copy_prefix_to(&self, dst: &mut [u8]) -> Option<()> {
        let (a, b) = self.parts();
        let n = dst.len();
        if n > a.len() + b.len() {
            return None;
        }
        let from_a = if n < a.len() { n } else { a.len() };
        let (d1, d2) = dst.split_at_mut(from_a);
        d1.copy_from_slice(a.get(..from_a)?);
        d2.copy_from_slice(b.get(..n - from_a)?);
        Some(())
    }

    /// The prefix up to (not including) the first NUL byte, or the whole view when there is none: the
    /// string in a NUL-padded `char[]` field such as COMM's `comm` or MMAP's `filename`.
    pub fn until_nul(&self) -> RawData<'a> {
        let n = self.bytes().position(|b| b == 0).unwrap_or(self.len());
        match self.split_at(n) {
            Some((head, _)) => head,
            None => *self,
        }
    }

    /// Whether the bytes equal `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        let (a, b) = self.parts();
        other.len() == a.len() + b.len()
            && other.get(..a.len()) == Some(a)
            && other.get(a.len()..) == Some(b)
    }
}

impl PartialEq for RawData<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.bytes().eq(other.bytes())
    }
}

impl Eq for RawData<'_> {}

impl fmt::Debug for RawData<'_> {
    /// Printable ASCII as a byte string, anything else as hex; long views are cut after 64 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        let printable = self.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
        f.write_str(if printable { "b\"" } else { "hex:" })?;
        for b in self.bytes().take(SHOWN) {
            if printable {
                if b == b'"' || b == b'\\' {
                    write!(f, "\\{}", b as char)?;
                } else {
                    write!(f, "{}", b as char)?;
                }
            } else {
                write!(f, "{b:02x}")?;
            }
        }
        if printable {
            f.write_str("\"")?;
        }
        if self.len() > SHOWN {
            write!(f, "..({} bytes)", self.len())?;
        }
        Ok(())
    }
}

/// A read position in a [`RawData`]; every read checks the remaining length and names the field it
/// was reading when it fails.
#[derive(Clone, Copy, Debug)]
pub struct Cursor<'a> {
    rest: RawData<'a>,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: RawData<'a>) -> Self {
        Self { rest: data }
    }

    /// The bytes not yet read.
    pub fn rest(&self) -> RawData<'a> {
        self.rest
    }

    /// Number of bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn truncated(&self, field: &'static str, needed: usize) -> ParseError {
        ParseError::Truncated {
            field,
            needed: needed as u64,
            available: self.rest.len() as u64,
        }
    }

    /// Takes the next `n` bytes as a view.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<RawData<'a>, ParseError> {
        let (head, tail) = self
            .rest
            .split_at(n)
            .ok_or_else(|| self.truncated(field, n))?;
        self.rest = tail;
        Ok(head)
    }

    /// Takes `count` items of `item_size` bytes, failing cleanly when `count * item_size` overflows or
    /// exceeds what is left.
    pub fn take_array(
        &mut self,
        count: u64,
        item_size: usize,
        field: &'static str,
    ) -> Result<RawData<'a>, ParseError> {
        let too_large = ParseError::CountTooLarge { field, count };
        let n = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(item_size))
            .ok_or(too_large)?;
        if n > self.rest.len() {
            return Err(too_large);
        }
        self.take(n, field)
    }

    #[inline(always)]
    fn read_array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ParseError> {
        // Fast path: contiguous bytes (every record that does not straddle the ring's end).
        if let RawData::Single(s) = self.rest {
            if let Some((head, tail)) = s.split_first_chunk::<N>() {
                self.rest = RawData::Single(tail);
                return Ok(*head);
            }
        }
        self.read_array_split(field)
    }

    /// `read_array` across a split, or at the end of the data: out of line, so that the fast path
    /// inlines into every parser.
    #[cold]
    #[inline(never)]
    fn read_array_split<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], ParseError> {
        let mut out = [0u8; N];
        self.take(N, field)?
            .copy_prefix_to(&mut out)
            .ok_or_else(|| self.truncated(field, N))?;
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn read_u8(&mut self, field: &'static str) -> Result<u8, ParseError> {
        Ok(self.read_array::<1>(field)?[0])
    }

    /// Reads a native-endian `u16`.
    pub fn read_u16(&mut self, field: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_ne_bytes(self.read_array(field)?))
    }

    /// Reads a native-endian `u32`.
    #[inline(always)]
    pub fn read_u32(&mut self, field: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_ne_bytes(self.read_array(field)?))
    }

    /// Reads a native-endian `u64`.
    #[inline(always)]
    pub fn read_u64(&mut self, field: &'static str) -> Result<u64, ParseError> {
        Ok(u64::from_ne_bytes(self.read_array(field)?))
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), ParseError> {
        self.take(n, field).map(|_| ())
    }
}

/// A view of native-endian `u64` words (a callchain, a register dump, a branch counter list).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct U64Array<'a>(RawData<'a>);

impl<'a> U64Array<'a> {
    /// Wraps `data`; its length should be a multiple of 8 (a trailing partial word is ignored).
    pub fn new(data: RawData<'a>) -> Self {
        Self(data)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Word `i`, if present.
    pub fn get(&self, i: usize) -> Option<u64> {
        let (_, rest) = self.0.split_at(i.checked_mul(8)?)?;
        Cursor::new(rest).read_u64("u64 array").ok()
    }

    /// Iterates over the words.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        let mut c = Cursor::new(self.0);
        core::iter::from_fn(move || c.read_u64("u64 array").ok())
    }

    /// The underlying bytes.
    pub fn raw(&self) -> RawData<'a> {
        self.0
    }
}

/// A word that `Debug` prints in hex (the crate's `Debug` output of addresses and masks).
pub(crate) struct Hex(pub(crate) u64);

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Debug for U64Array<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Hex)).finish()
    }
}

/// Writes native-endian integers into a fixed buffer; writes past the end are dropped and counted in
/// [`Writer::overflowed`], so encoding never panics.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
    overflowed: bool,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            overflowed: false,
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether any write did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.pos += b.len();
            }
            None => self.overflowed = true,
        }
    }

    /// Appends a `u16`.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_ne_bytes())
    }

    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_ne_bytes())
    }

    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_ne_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_reads_across_the_seam_at_every_split() {
        let whole: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        for cut in 0..=whole.len() {
            let (a, b) = whole.split_at(cut);
            let mut c = Cursor::new(RawData::from_parts(a, b));
            assert_eq!(
                c.read_u64("x").unwrap(),
                u64::from_ne_bytes([1, 2, 3, 4, 5, 6, 7, 8])
            );
            assert_eq!(
                c.read_u32("y").unwrap(),
                u32::from_ne_bytes([9, 10, 11, 12])
            );
            assert_eq!(c.read_u16("z").unwrap(), u16::from_ne_bytes([13, 14]));
            assert_eq!(c.read_u8("w").unwrap(), 15);
            assert_eq!(c.remaining(), 1);
            assert!(matches!(
                c.read_u16("v"),
                Err(ParseError::Truncated {
                    field: "v",
                    needed: 2,
                    available: 1
                })
            ));
        }
    }

    #[test]
    fn take_array_rejects_overflowing_counts() {
        let data = [0u8; 16];
        let mut c = Cursor::new(RawData::Single(&data));
        assert!(matches!(
            c.take_array(u64::MAX, 8, "ips"),
            Err(ParseError::CountTooLarge { .. })
        ));
        assert!(matches!(
            c.take_array(3, 8, "ips"),
            Err(ParseError::CountTooLarge { .. })
        ));
        assert_eq!(c.take_array(2, 8, "ips").unwrap().len(), 16);
    }

    #[test]
    fn until_nul_and_eq_bytes_span_the_seam() {
        let a = b"perf-to";
        let b = b"ol\0\0\0\0\0";
        let d = RawData::from_parts(a, b);
        assert!(d.until_nul().eq_bytes(b"perf-tool"));
        assert!(!d.until_nul().eq_bytes(b"perf-too"));
        assert_eq!(std::format!("{:?}", d.until_nul()), "b\"perf-tool\"");
    }

    #[test]
    fn writer_never_panics_on_overflow() {
        let mut buf = [0u8; 6];
        let mut w = Writer::new(&mut buf);
        w.u32(7);
        w.u32(8);
        assert!(w.overflowed());
        assert_eq!(w.position(), 4);
    }
}
