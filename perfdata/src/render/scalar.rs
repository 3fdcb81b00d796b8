//! Numbers and strings written into a line, as text or JSON.

/// Appends `v` in decimal.
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `v` in hex with a `0x` prefix.
pub fn put_hex(out: &mut Vec<u8>, v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 18];
    let mut i = buf.len();
    let mut x = v;
    loop {
        i -= 1;
        buf[i] = DIGITS[(x & 15) as usize];
        x >>= 4;
        if x == 0 {
            break;
        }
    }
    out.extend_from_slice(b"0x");
    out.extend_from_slice(&buf[i..]);
}

/// Appends `s` as a JSON string (escaped; invalid UTF-8 replaced).
pub fn json_string(out: &mut Vec<u8>, s: &str) {
    put_json_str(out, s.bytes());
}

/// Appends the bytes as a JSON string (escaped; invalid UTF-8 replaced).
pub fn put_json_str(out: &mut Vec<u8>, s: impl Iterator<Item = u8> + Clone) {
    // Fast path: plain ASCII needs no escaping and no UTF-8 decoding.
    if s.clone()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push(b'"');
        out.extend(s);
        out.push(b'"');
        return;
    }
    // Anything else: serde_json escapes it (invalid UTF-8 becomes U+FFFD first, so the line stays
    // valid JSON whatever the bytes were).
    let utf8: Vec<u8> = s.collect();
    serde_json::to_writer(&mut *out, &*String::from_utf8_lossy(&utf8)).ok();
}
