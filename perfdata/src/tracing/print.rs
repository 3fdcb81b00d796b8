//! `print fmt` compiled once per event: the format string cut into literals and printf conversions,
//! each conversion with its argument compiled to an [`Expr`], then printed per sample.

use super::expr::{self, Expr, Val};
use super::field::{sign_extend, Field};

/// One printf conversion: `%[flags][width][.precision][length]conv`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Spec {
    left: bool,
    zero: bool,
    alt: bool,
    plus: bool,
    width: usize,
    precision: Option<usize>,
    /// Bytes of the C type the length modifier names (`hh` 1, `h` 2, none 4, `l`/`ll`/`z` 8).
    bits: u32,
    conv: u8,
}

/// What a conversion prints.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Conv(Spec, Expr),
}

/// A compiled print format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Print {
    pieces: Vec<Piece>,
}

/// Splits `s` at top-level commas (outside parentheses, braces and string literals).
fn split_args(s: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut escape, mut start) = (0i32, false, false, 0);
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            _ if escape => escape = false,
            '\\' if quote => escape = true,
            '"' => quote = !quote,
            '(' | '{' | '[' if !quote => depth += 1,
            ')' | '}' | ']' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

/// The format string between the first pair of unescaped quotes, unescaped, and what follows.
fn format_string(p: &str) -> Option<(String, &str)> {
    let body = p.trim_start().strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

impl Print {
    /// Compiles `print fmt` text against the fields; `None` when an argument is more than a field.
    pub fn compile(print_fmt: &str, fields: &[Field]) -> Option<Print> {
        let (fmt, rest) = format_string(print_fmt)?;
        let args: Vec<&str> = match rest.trim().strip_prefix(',') {
            Some(a) => split_args(a),
            None if rest.trim().is_empty() => Vec::new(),
            None => return None,
        };
        let mut args = args.into_iter();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let b = fmt.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                let next = fmt[i..].find('%').map_or(b.len(), |n| i + n);
                lit.push_str(&fmt[i..next]);
                i = next;
                continue;
            }
            i += 1;
            if b.get(i) == Some(&b'%') {
                lit.push('%');
                i += 1;
                continue;
            }
            let mut spec = Spec {
                left: false,
                zero: false,
                alt: false,
                plus: false,
                width: 0,
                precision: None,
                bits: 4,
                conv: 0,
            };
            while let Some(&c) = b.get(i) {
                match c {
                    b'-' => spec.left = true,
                    b'0' => spec.zero = true,
                    b'#' => spec.alt = true,
                    b'+' => spec.plus = true,
                    b' ' => {}
                    _ => break,
                }
                i += 1;
            }
            while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
                spec.width = (spec.width * 10 + usize::from(d - b'0')).min(4096);
                i += 1;
            }
            if b.get(i) == Some(&b'.') {
                i += 1;
                let mut p = 0usize;
                while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
                    p = (p * 10 + usize::from(d - b'0')).min(4096);
                    i += 1;
                }
                spec.precision = Some(p);
            }
            loop {
                match b.get(i) {
                    Some(b'h') => spec.bits = if spec.bits == 2 { 1 } else { 2 },
                    Some(b'l' | b'z' | b'L' | b'j' | b't') => spec.bits = 8,
                    _ => break,
                }
                i += 1;
            }
            spec.conv = *b.get(i)?;
            i += 1;
            // %p with extensions (%pS, %pI4, ...) prints through kernel helpers: not plain.
            // %pS/%pF (symbol+offset) and %ps/%pf (symbol) print a kernel address as a symbol; other
            // extensions (%pI4, %pU, %pM, ...) print through kernel helpers: not plain.
            if spec.conv == b'p' && b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                spec.conv = match b[i] {
                    b'S' | b'F' | b'B' => b'S',
                    b's' | b'f' => b'y',
                    _ => return None,
                };
                i += 1;
            }
            if !b"diuxXopscSy".contains(&spec.conv) {
                return None;
            }
            let arg = expr::compile(args.next()?, fields)?;
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Conv(spec, arg));
        }
        if args.next().is_some() {
            return None;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Some(Print { pieces })
    }

    /// Prints `raw` through this format; `None` when a field is out of the raw data's range or a
    /// conversion does not fit the field's kind.
    pub fn render(&self, fields: &[Field], raw: &[u8]) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Conv(spec, e) => {
                    let v = expr::eval(e, fields, raw)?;
                    conv(&mut out, spec, &v)?;
                }
            }
        }
        Some(out)
    }
}

fn conv(out: &mut String, s: &Spec, v: &Val) -> Option<()> {
    let raw = match v {
        Val::Int { v, .. } => *v,
        Val::Str(t) if s.conv == b's' => {
            let mut t = t.clone();
            if let Some(p) = s.precision {
                t = t.chars().take(p).collect();
            }
            pad(out, s, &t);
            return Some(());
        }
        _ => return None,
    };
    // The argument as the C type the length modifier names.
    let mask = if s.bits >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * s.bits)) - 1
    };
    let u = raw & mask;
    let body = match s.conv {
        b'd' | b'i' => {
            let x = sign_extend(u, s.bits as usize);
            let mut t = x.unsigned_abs().to_string();
            if let Some(p) = s.precision {
                t = format!("{t:0>p$}");
            }
            let sign = if x < 0 {
                "-"
            } else if s.plus {
                "+"
            } else {
                ""
            };
            return {
                pad_number(out, s, sign, &t);
                Some(())
            };
        }
        b'u' => u.to_string(),
        b'x' => format!("{}{u:x}", if s.alt && u != 0 { "0x" } else { "" }),
        b'X' => format!("{}{u:X}", if s.alt && u != 0 { "0X" } else { "" }),
        b'o' => format!("{}{u:o}", if s.alt { "0" } else { "" }),
        // glibc's %p, as libtraceevent prints through it.
        b'p' if raw == 0 => "(nil)".to_string(),
        b'p' => format!("{raw:#x}"),
        b'S' | b'y' => match super::kallsyms::symbol(raw) {
            Some((name, off)) if s.conv == b'S' => format!("{name}+{off:#x}"),
            Some((name, _)) => name.to_string(),
            None => format!("{raw:#x}"),
        },
        b'c' => char::from(u as u8).to_string(),
        b's' => u.to_string(),
        _ => return None,
    };
    let (prefix, digits) = match body.get(..2) {
        Some("0x" | "0X") => body.split_at(2),
        _ => ("", body.as_str()),
    };
    pad_number(out, s, prefix, digits);
    Some(())
}

/// Pads a number to the width: zeros after the sign or prefix with `0`, spaces otherwise.
fn pad_number(out: &mut String, s: &Spec, prefix: &str, digits: &str) {
    let len = prefix.len() + digits.len();
    if s.zero && !s.left && s.precision.is_none() && len < s.width {
        out.push_str(prefix);
        out.extend(std::iter::repeat('0').take(s.width - len));
        out.push_str(digits);
    } else {
        pad(out, s, &format!("{prefix}{digits}"));
    }
}

/// Pads `t` to the width with spaces, on the left unless `-`.
fn pad(out: &mut String, s: &Spec, t: &str) {
    let n = t.chars().count();
    let fill = s.width.saturating_sub(n);
    if !s.left {
        out.extend(std::iter::repeat(' ').take(fill));
    }
    out.push_str(t);
    if s.left {
        out.extend(std::iter::repeat(' ').take(fill));
    }
}
