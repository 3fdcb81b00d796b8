//! Tracepoint formats and samples: the TRACING_DATA section's format files ([`mod@format`]), each
//! field's value in a sample ([`field`]), and the sample printed as `perf script` prints it: through
//! the event's `print fmt` when every argument is one it can evaluate ([`print`], [`expr`]),
//! otherwise as `name=value` for each field (what libtraceevent prints when it cannot evaluate a
//! format).

use std::fmt::Write as _;

pub mod expr;
pub mod field;
pub mod format;
mod kallsyms;
mod print;

pub use field::{field_value, Field, FieldKind, TraceValue};
pub use format::{parse_format, EventFormat, TraceFormats, TracingError, MAX_FIELDS, MAX_FORMATS};
pub use print::Print;

/// The event's own (non-common) fields with their values, in format order.
pub fn fields<'f, 'a>(ev: &'f EventFormat, raw: &'a [u8]) -> Vec<(&'f str, TraceValue<'a>)> {
    ev.fields
        .iter()
        .filter(|f| !f.is_common())
        .filter_map(|f| Some((f.name.as_str(), field_value(f, raw)?)))
        .collect()
}

/// The sample as `perf script` prints its tracepoint part: through the print format when it can be,
/// otherwise `name=value` per field.
pub fn text(ev: &EventFormat, raw: &[u8]) -> String {
    if let Some(s) = ev.print.as_ref().and_then(|p| p.render(&ev.fields, raw)) {
        return s;
    }
    let mut out = String::new();
    for (i, (name, v)) in fields(ev, raw).iter().enumerate() {
        let _ = write!(out, "{}{name}={v}", if i > 0 { " " } else { "" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAKEUP: &str = "name: sched_wakeup\nID: 374\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;\n\nprint fmt: \"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu\n";
    const EXEC: &str = "name: sched_process_exec\nID: 365\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n\nprint fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, REC->old_pid\n";
    const OPENAT: &str = "name: sys_enter_openat\nID: 700\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\nprint fmt: \"dfd: 0x%08lx, filename: 0x%08lx\", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename))\n";

    fn put(raw: &mut Vec<u8>, at: usize, b: &[u8]) {
        if raw.len() < at + b.len() {
            raw.resize(at + b.len(), 0);
        }
        raw[at..at + b.len()].copy_from_slice(b);
    }

    #[test]
    fn a_plain_print_format_prints_as_perf_script_does() {
        let ev = parse_format("sched", WAKEUP, 8).unwrap();
        let mut raw = vec![0u8; 40];
        put(&mut raw, 0, &374u16.to_ne_bytes());
        put(&mut raw, 8, b"kworker/0:1\0");
        put(&mut raw, 24, &4242i32.to_ne_bytes());
        put(&mut raw, 28, &120i32.to_ne_bytes());
        put(&mut raw, 32, &1i32.to_ne_bytes());
        assert_eq!(
            text(&ev, &raw),
            "comm=kworker/0:1 pid=4242 prio=120 target_cpu=001"
        );
    }

    #[test]
    fn dynamic_strings_and_casts_print_through_the_format() {
        let ev = parse_format("sched", EXEC, 8).unwrap();
        let mut raw = vec![0u8; 20];
        put(&mut raw, 0, &365u16.to_ne_bytes());
        put(&mut raw, 8, &((9u32 << 16) | 20).to_ne_bytes());
        put(&mut raw, 12, &77i32.to_ne_bytes());
        put(&mut raw, 16, &(-1i32).to_ne_bytes());
        put(&mut raw, 20, b"/bin/tru\0");
        assert_eq!(text(&ev, &raw), "filename=/bin/tru pid=77 old_pid=-1");
        let ev = parse_format("syscalls", OPENAT, 8).unwrap();
        let mut raw = vec![0u8; 32];
        put(&mut raw, 16, &(-100i64).to_ne_bytes());
        put(&mut raw, 24, &0x7ffc1234u64.to_ne_bytes());
        assert_eq!(
            text(&ev, &raw),
            "dfd: 0xffffffffffffff9c, filename: 0x7ffc1234"
        );
    }

    #[test]
    fn a_format_with_expressions_falls_back_to_every_field() {
        let f = WAKEUP.replace("REC->prio,", "__print_hex(REC->comm, 4),");
        let ev = parse_format("sched", &f, 8).unwrap();
        assert!(ev.print.is_none());
        let mut raw = vec![0u8; 36];
        put(&mut raw, 8, b"sh\0");
        put(&mut raw, 24, &(-5i32).to_ne_bytes());
        assert_eq!(text(&ev, &raw), "comm=sh pid=-5 prio=0 target_cpu=0");
    }

    #[test]
    fn conditionals_flags_and_symbols_evaluate_as_libtraceevent_does() {
        let f = WAKEUP.replace(
            "\"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu",
            "\"s=%s%s p=%s c=%d\", (REC->pid & 3) ? __print_flags(REC->pid & 3, \"|\", { 0x1, \"S\" }, { 0x2, \"D\" }) : \"R\", REC->pid & 4 ? \"+\" : \"\", __print_symbolic(REC->prio, { 0, \"zero\" }, { 120, \"normal\" }), ((REC->target_cpu << 2) + 1) * -1",
        );
        let ev = parse_format("sched", &f, 8).unwrap();
        assert!(ev.print.is_some(), "{:?}", ev.print_fmt);
        let mut raw = vec![0u8; 36];
        for (pid, prio, cpu, want) in [
            (0i32, 0i32, 0i32, "s=R p=zero c=-1"),
            (7, 120, 1, "s=S|D+ p=normal c=-5"),
            (2, 99, 2, "s=D p=0x63 c=-9"),
        ] {
            put(&mut raw, 24, &pid.to_ne_bytes());
            put(&mut raw, 28, &prio.to_ne_bytes());
            put(&mut raw, 32, &cpu.to_ne_bytes());
            assert_eq!(text(&ev, &raw), want);
        }
    }

    #[test]
    fn hostile_print_formats_compile_to_nothing_or_print_without_panicking() {
        let deep = format!(
            "\"%d\", {}REC->pid{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        for p in [
            deep.as_str(),
            "\"%d\", REC->pid / 0",
            "\"%d\", REC->pid % 0",
            "\"%d\", REC->pid << 99999999999",
            "\"%d\", REC->pid >> 200",
            "\"%s\", __print_flags(REC->pid, \"|\", { 0, \"none\" }",
            "\"%d %d\", REC->pid",
            "\"%d\", REC->pid, REC->pid",
            "\"%*d\", 3, REC->pid",
            "\"%99999999999999d\", REC->pid",
            "\"\\",
            "\"%",
        ] {
            let f = WAKEUP.replace(
                "\"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu",
                p,
            );
            let ev = parse_format("sched", &f, 8).unwrap();
            let _ = text(&ev, &[0xff; 36]);
        }
    }

    #[test]
    fn fuzz_regression_an_escaped_multibyte_character_in_a_string_literal() {
        // fuzz/regressions/trace_format/crash-212b431b: `"\\` then a replacement character inside
        // an argument's string literal; the tokenizer stepped one byte into it and panicked.
        let data = include_bytes!(
            "../../../fuzz/regressions/trace_format/crash-212b431bfc4780a733d62627eea3ddf9f3298a44"
        );
        let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
        let text = String::from_utf8_lossy(&data[..cut]);
        let raw = data.get(cut + 1..).unwrap_or_default();
        if let Some(ev) = parse_format("fuzz", &text, 8) {
            let _ = super::text(&ev, raw);
        }
        assert!(super::expr::compile("__print_symbolic(1, { 1, \"\\\u{fffd}\" })", &[]).is_some());
    }

    #[test]
    fn raw_data_shorter_than_the_format_or_lying_locations_never_panic() {
        for f in [WAKEUP, EXEC, OPENAT] {
            let ev = parse_format("x", f, 8).unwrap();
            for n in 0..48 {
                let raw = vec![0xffu8; n];
                let _ = text(&ev, &raw);
                let _ = fields(&ev, &raw);
            }
        }
    }
}
