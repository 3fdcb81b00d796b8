//! The arguments of a tracepoint's `print fmt`: C expressions over the event's fields, as the kernel's
//! TP_printk writes them and libtraceevent evaluates them: integer arithmetic and comparisons,
//! `?:`, casts, `REC->field`, `__get_str(field)`, `__print_flags(...)` and `__print_symbolic(...)`.
//! Anything else (helper calls such as `__print_hex` or `__get_dynamic_array`) is not compiled, and the
//! caller falls back to printing every field.

use super::field::{field_value, Field, TraceValue};

/// The deepest nesting compiled, counted per parser call (guards the recursive parser against
/// hostile format files; the kernel's gfp flag tables nest about 30 parentheses, 3 calls each).
const MAX_DEPTH: u32 = 512;

/// A compiled expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A number.
    Num(u64),
    /// A string literal.
    Str(String),
    /// A field's value (`REC->name` or `__get_str(name)`), by index.
    Field(usize),
    /// `op x`.
    Unary(u8, Box<Expr>),
    /// `x op y`; a two-character operator is its two bytes, the first in the high byte.
    Binary(u16, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `__print_flags(value, delimiter, {flag, name}...)`.
    Flags(Box<Expr>, String, Vec<(u64, String)>),
    /// `__print_symbolic(value, {value, name}...)`.
    Symbolic(Box<Expr>, Vec<(u64, String)>),
}

/// What an expression evaluates to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// An integer (two's complement; `signed` says how to print it).
    Int {
        /// The bits.
        v: u64,
        /// Whether it came from a signed field or a negative result.
        signed: bool,
    },
    /// A string.
    Str(String),
}

impl Val {
    fn int(&self) -> u64 {
        match self {
            Val::Int { v, .. } => *v,
            Val::Str(s) => u64::from(!s.is_empty()),
        }
    }
}

const fn op2(a: u8, b: u8) -> u16 {
    ((a as u16) << 8) | b as u16
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(u64),
    Str(String),
    Ident(String),
    Op(u16),
}

fn tokens(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let t = s[start..i].trim_end_matches(['u', 'U', 'l', 'L']);
            let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok()?,
                None if t.len() > 1 && t.starts_with('0') => {
                    u64::from_str_radix(&t[1..], 8).ok()?
                }
                None => t.parse().ok()?,
            };
            out.push(Tok::Num(v));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
        } else if c == b'"' {
            let mut t = String::new();
            i += 1;
            loop {
                match *b.get(i)? {
                    b'"' => break,
                    b'\\' => {
                        i += 1;
                        // `i` follows an ASCII backslash, so it starts a character.
                        let ch = s.get(i..)?.chars().next()?;
                        t.push(match ch {
                            'n' => '\n',
                            't' => '\t',
                            c => c,
                        });
                        i += ch.len_utf8() - 1;
                    }
                    _ => {
                        let ch = s.get(i..)?.chars().next()?;
                        t.push(ch);
                        i += ch.len_utf8() - 1;
                    }
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(t));
        } else if c == b'\'' {
            // A character constant: 'x'.
            let v = *b.get(i + 1)?;
            if b.get(i + 2) != Some(&b'\'') {
                return None;
            }
            out.push(Tok::Num(v.into()));
            i += 3;
        } else {
            let two = b.get(i + 1).map(|&d| op2(c, d));
            const TWO: [u16; 10] = [
                op2(b'-', b'>'),
                op2(b'<', b'<'),
                op2(b'>', b'>'),
                op2(b'<', b'='),
                op2(b'>', b'='),
                op2(b'=', b'='),
                op2(b'!', b'='),
                op2(b'&', b'&'),
                op2(b'|', b'|'),
                op2(b'#', b'#'),
            ];
            if let Some(t) = two.filter(|t| TWO.contains(t)) {
                out.push(Tok::Op(t));
                i += 2;
            } else if b"()[]{},?:+-*/%&|^~!<>".contains(&c) {
                out.push(Tok::Op(c.into()));
                i += 1;
            } else {
                return None;
            }
        }
    }
    Some(out)
}

/// Words that make a parenthesised token list a type name (a cast).
const TYPE_WORDS: &[&str] = &[
    "unsigned",
    "signed",
    "long",
    "int",
    "short",
    "char",
    "void",
    "const",
    "bool",
    "_Bool",
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s16",
    "s32",
    "s64",
    "size_t",
    "pid_t",
    "gfp_t",
    "__u8",
    "__u16",
    "__u32",
    "__u64",
    "__s8",
    "__s16",
    "__s32",
    "__s64",
    "uintptr_t",
    "struct",
];

struct Parser<'a> {
    t: Vec<Tok>,
    pos: usize,
    fields: &'a [Field],
    depth: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.pos)
    }
    fn op(&mut self, o: u16) -> bool {
        if self.peek() == Some(&Tok::Op(o)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, o: u16) -> Option<()> {
        self.op(o).then_some(())
    }
    /// Skips to the next top-level comma (not consuming it).
    fn skip_to_comma(&mut self) -> Option<()> {
        let mut depth = 0i32;
        while let Some(t) = self.peek() {
            match t {
                Tok::Op(o) if *o == u16::from(b',') && depth == 0 => return Some(()),
                Tok::Op(o) if [b'(', b'{', b'['].map(u16::from).contains(o) => depth += 1,
                Tok::Op(o) if [b')', b'}', b']'].map(u16::from).contains(o) => {
                    depth -= 1;
                    if depth < 0 {
                        return None;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        None
    }

    fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    fn expr(&mut self) -> Option<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let c = self.binary(0)?;
        let e = if self.op(b'?'.into()) {
            let a = self.expr()?;
            self.expect(b':'.into())?;
            let b = self.expr()?;
            Expr::Cond(Box::new(c), Box::new(a), Box::new(b))
        } else {
            c
        };
        self.depth -= 1;
        Some(e)
    }

    fn binary(&mut self, min: u8) -> Option<Expr> {
        let mut lhs = self.unary()?;
        loop {
            let Some(Tok::Op(o)) = self.peek().cloned() else {
                return Some(lhs);
            };
            let Some(p) = precedence(o).filter(|&p| p >= min) else {
                return Some(lhs);
            };
            self.pos += 1;
            let rhs = self.binary(p + 1)?;
            lhs = Expr::Binary(o, Box::new(lhs), Box::new(rhs));
        }
    }

    fn unary(&mut self) -> Option<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }

    fn unary_inner(&mut self) -> Option<Expr> {
        match self.peek()?.clone() {
            Tok::Op(o) if o == u16::from(b'-') || o == u16::from(b'~') || o == u16::from(b'!') => {
                self.pos += 1;
                Some(Expr::Unary(o as u8, Box::new(self.unary()?)))
            }
            Tok::Op(o) if o == u16::from(b'+') => {
                self.pos += 1;
                self.unary()
            }
            Tok::Op(o) if o == u16::from(b'(') => {
                self.pos += 1;
                // A cast when the parentheses hold only type words and stars.
                let mut j = self.pos;
                while let Some(t) = self.t.get(j) {
                    match t {
                        Tok::Ident(w) if TYPE_WORDS.contains(&w.as_str()) || w.ends_with("_t") => {}
                        Tok::Ident(_) if matches!(self.t.get(j.wrapping_sub(1)), Some(Tok::Ident(s)) if s == "struct") =>
                            {}
                        Tok::Op(o) if *o == u16::from(b'*') => {}
                        _ => break,
                    }
                    j += 1;
                }
                if j > self.pos && self.t.get(j) == Some(&Tok::Op(b')'.into())) {
                    self.pos = j + 1;
                    return self.unary();
                }
                let e = self.expr()?;
                self.expect(b')'.into())?;
                Some(e)
            }
            Tok::Num(v) => {
                self.pos += 1;
                Some(Expr::Num(v))
            }
            Tok::Str(s) => {
                self.pos += 1;
                Some(Expr::Str(s))
            }
            Tok::Ident(w) => {
                self.pos += 1;
                self.ident(&w)
            }
            Tok::Op(_) => None,
        }
    }

    fn ident(&mut self, w: &str) -> Option<Expr> {
        match w {
            "REC" => {
                self.expect(op2(b'-', b'>'))?;
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return None;
                };
                self.pos += 1;
                Some(Expr::Field(self.field(&name)?))
            }
            "__get_str" | "__get_rel_str" => {
                self.expect(b'('.into())?;
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return None;
                };
                self.pos += 1;
                self.expect(b')'.into())?;
                Some(Expr::Field(self.field(&name)?))
            }
            "__print_flags" | "__print_symbolic" => {
                self.expect(b'('.into())?;
                let value = self.expr()?;
                let delim = if w == "__print_flags" {
                    self.expect(b','.into())?;
                    let Some(Tok::Str(d)) = self.peek().cloned() else {
                        return None;
                    };
                    self.pos += 1;
                    Some(d)
                } else {
                    None
                };
                let mut table = Vec::new();
                let mut resolved = true;
                while self.op(b','.into()) {
                    self.expect(b'{'.into())?;
                    // A key naming a kernel constant the format file does not define (enum
                    // values): libtraceevent then prints the value in hex, and so does this.
                    let start = self.pos;
                    let v = match self.expr() {
                        Some(v) if self.peek() == Some(&Tok::Op(b','.into())) => v,
                        _ => {
                            self.pos = start;
                            self.skip_to_comma()?;
                            resolved = false;
                            Expr::Num(0)
                        }
                    };
                    self.expect(b','.into())?;
                    let name = match self.peek().cloned() {
                        Some(Tok::Str(name)) => {
                            self.pos += 1;
                            Some(name)
                        }
                        // `{ 0, NULL }` (spelled `((void *)0)`) ends some tables: no entry.
                        _ => {
                            self.expr()?;
                            None
                        }
                    };
                    self.expect(b'}'.into())?;
                    let Some(name) = name else {
                        continue;
                    };
                    table.push((const_eval(&v)?, name));
                    if table.len() > 4096 {
                        return None;
                    }
                }
                self.expect(b')'.into())?;
                if !resolved {
                    table.clear();
                }
                Some(match delim {
                    Some(d) => Expr::Flags(Box::new(value), d, table),
                    None => Expr::Symbolic(Box::new(value), table),
                })
            }
            _ => None,
        }
    }
}

fn precedence(o: u16) -> Option<u8> {
    const OR: u16 = op2(b'|', b'|');
    const AND: u16 = op2(b'&', b'&');
    const EQ: u16 = op2(b'=', b'=');
    const NE: u16 = op2(b'!', b'=');
    const LE: u16 = op2(b'<', b'=');
    const GE: u16 = op2(b'>', b'=');
    const SHL: u16 = op2(b'<', b'<');
    const SHR: u16 = op2(b'>', b'>');
    Some(match o {
        OR => 1,
        AND => 2,
        _ if o == u16::from(b'|') => 3,
        _ if o == u16::from(b'^') => 4,
        _ if o == u16::from(b'&') => 5,
        EQ | NE => 6,
        LE | GE => 7,
        _ if o == u16::from(b'<') || o == u16::from(b'>') => 7,
        SHL | SHR => 8,
        _ if o == u16::from(b'+') || o == u16::from(b'-') => 9,
        _ if o == u16::from(b'*') || o == u16::from(b'/') || o == u16::from(b'%') => 10,
        _ => return None,
    })
}

/// A constant expression's value (the tables of `__print_flags`/`__print_symbolic`).
fn const_eval(e: &Expr) -> Option<u64> {
    match eval(e, &[], &[])? {
        Val::Int { v, .. } => Some(v),
        Val::Str(_) => None,
    }
}

/// Compiles one argument; `None` when it uses anything this evaluator does not know.
pub fn compile(arg: &str, fields: &[Field]) -> Option<Expr> {
    let mut p = Parser {
        t: tokens(arg)?,
        pos: 0,
        fields,
        depth: 0,
    };
    let e = p.expr()?;
    (p.pos == p.t.len()).then_some(e)
}

/// Evaluates `e` over a sample's raw data; `None` when a field lies outside it.
pub fn eval(e: &Expr, fields: &[Field], raw: &[u8]) -> Option<Val> {
    Some(match e {
        Expr::Num(v) => Val::Int {
            v: *v,
            signed: false,
        },
        Expr::Str(s) => Val::Str(s.clone()),
        Expr::Field(i) => match field_value(fields.get(*i)?, raw)? {
            TraceValue::Int(v) => Val::Int {
                v: v as u64,
                signed: true,
            },
            TraceValue::UInt(v) | TraceValue::Hex(v) => Val::Int { v, signed: false },
            TraceValue::Str(s) => Val::Str(String::from_utf8_lossy(s).into_owned()),
            other => Val::Str(other.to_string()),
        },
        Expr::Unary(o, x) => {
            let v = eval(x, fields, raw)?.int();
            let v = match o {
                b'-' => v.wrapping_neg(),
                b'~' => !v,
                _ => u64::from(v == 0),
            };
            Val::Int {
                v,
                signed: *o == b'-',
            }
        }
        Expr::Binary(o, a, b) => {
            let a = eval(a, fields, raw)?;
            let b = eval(b, fields, raw)?;
            let signed = matches!(a, Val::Int { signed: true, .. })
                || matches!(b, Val::Int { signed: true, .. });
            let (x, y) = (a.int(), b.int());
            let v = binary(*o, x, y, signed)?;
            Val::Int { v, signed }
        }
        Expr::Cond(c, a, b) => {
            if eval(c, fields, raw)?.int() != 0 {
                eval(a, fields, raw)?
            } else {
                eval(b, fields, raw)?
            }
        }
        Expr::Flags(x, delim, table) => {
            let mut v = eval(x, fields, raw)?.int();
            let mut out = String::new();
            // As libtraceevent: each flag set in full, in table order, then what is left in hex.
            for (flag, name) in table {
                if v == 0 && *flag == 0 && out.is_empty() {
                    out.push_str(name);
                    break;
                }
                if *flag != 0 && v & flag == *flag {
                    if !out.is_empty() {
                        out.push_str(delim);
                    }
                    out.push_str(name);
                    v &= !flag;
                }
            }
            if v != 0 {
                if !out.is_empty() {
                    out.push_str(delim);
                }
                out.push_str(&format!("0x{v:x}"));
            }
            Val::Str(out)
        }
        Expr::Symbolic(x, table) => {
            let v = eval(x, fields, raw)?.int();
            match table.iter().find(|(k, _)| *k == v) {
                Some((_, name)) => Val::Str(name.clone()),
                None => Val::Str(format!("0x{v:x}")),
            }
        }
    })
}

fn binary(o: u16, x: u64, y: u64, signed: bool) -> Option<u64> {
    let (sx, sy) = (x as i64, y as i64);
    let b = |c: bool| u64::from(c);
    Some(match o {
        _ if o == u16::from(b'+') => x.wrapping_add(y),
        _ if o == u16::from(b'-') => x.wrapping_sub(y),
        _ if o == u16::from(b'*') => x.wrapping_mul(y),
        _ if o == u16::from(b'/') => {
            if signed {
                sx.checked_div(sy)? as u64
            } else {
                x.checked_div(y)?
            }
        }
        _ if o == u16::from(b'%') => {
            if signed {
                sx.checked_rem(sy)? as u64
            } else {
                x.checked_rem(y)?
            }
        }
        _ if o == u16::from(b'&') => x & y,
        _ if o == u16::from(b'|') => x | y,
        _ if o == u16::from(b'^') => x ^ y,
        _ if o == u16::from(b'<') => b(if signed { sx < sy } else { x < y }),
        _ if o == u16::from(b'>') => b(if signed { sx > sy } else { x > y }),
        _ if o == op2(b'<', b'<') => x.checked_shl(u32::try_from(y).ok()?).unwrap_or(0),
        _ if o == op2(b'>', b'>') => {
            let s = u32::try_from(y).ok().filter(|&s| s < 64).unwrap_or(63);
            if signed {
                (sx >> s) as u64
            } else {
                x.checked_shr(u32::try_from(y).ok()?).unwrap_or(0)
            }
        }
        _ if o == op2(b'<', b'=') => b(if signed { sx <= sy } else { x <= y }),
        _ if o == op2(b'>', b'=') => b(if signed { sx >= sy } else { x >= y }),
        _ if o == op2(b'=', b'=') => b(x == y),
        _ if o == op2(b'!', b'=') => b(x != y),
        _ if o == op2(b'&', b'&') => b(x != 0 && y != 0),
        _ if o == op2(b'|', b'|') => b(x != 0 || y != 0),
        _ => return None,
    })
}
