//! perf's option grammar for `premap record` (tools/lib/subcmd/parse-options.c), in front of clap.
//!
//! clap parses the options; what it cannot be configured to do the way perf does is decided here, on
//! the raw arguments, and handed to clap in one canonical form (`--long` and `--long=value`, then
//! `--` and the command). Why not clap alone: the command is a trailing list whose words may start
//! with `-` (`premap record ls -l`), and clap, told to allow that, takes any word it does not know at
//! first sight (`-F99`, `-ecpu-clock`, `--bogus-opt`) as the start of the command. perf's rules:
//!
//! - options end at the first word that is not an option (it and everything after it are the
//!   command), or at `--`;
//! - a short option's value may be attached (`-F99`, `-F=99`, `-oFILE`) or the next word (`-F 99`);
//!   short flags bundle (`-ag`), and a value-taking option in a bundle takes the rest (`-am8`);
//! - a short option with an optional value (`-z`) takes only an attached number (`-z3`): `-zg` is
//!   `-z -g`;
//! - a long option's value is `--opt=value` or the next word; an optional value only with `=`; a
//!   long name may be abbreviated to any unambiguous prefix; `--no-FLAG` turns a flag off;
//! - an option given twice: the last wins (clap: `args_override_self`), but `-e` accumulates;
//! - an unknown option is an error in perf's words, followed by the usage (exit 129).
//!
//! The option table is clap's own (`clap::Command::get_arguments`), so the two cannot disagree.

use clap::{Arg, ArgAction, Command};

/// How an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Takes {
    /// A flag.
    Nothing,
    /// A value, always.
    Value,
    /// A value only when attached (`-z3`, `--compression-level=3`).
    Optional,
}

/// One option of the command, from clap's definition.
#[derive(Clone, Debug)]
struct Opt {
    short: Option<char>,
    long: Option<String>,
    takes: Takes,
}

impl Opt {
    /// How clap is given this option: `--long`, or `-c` for a short-only one.
    fn canonical(&self) -> String {
        match (&self.long, self.short) {
            (Some(l), _) => format!("--{l}"),
            (None, Some(c)) => format!("-{c}"),
            (None, None) => String::new(),
        }
    }

    fn long_is(&self, name: &str) -> bool {
        self.long.as_deref() == Some(name)
    }

    fn long_starts_with(&self, prefix: &str) -> bool {
        self.long.as_deref().is_some_and(|l| l.starts_with(prefix))
    }
}

fn opts(cmd: &Command) -> Vec<Opt> {
    cmd.get_arguments()
        .filter(|a| !a.is_positional())
        .map(|a: &Arg| {
            let long = a.get_long().map(str::to_string);
            let takes = match a.get_action() {
                ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count => Takes::Nothing,
                ArgAction::Help | ArgAction::Version => Takes::Nothing,
                _ => match a.get_num_args() {
                    Some(r) if r.min_values() == 0 && r.max_values() > 0 => Takes::Optional,
                    Some(r) if r.max_values() == 0 => Takes::Nothing,
                    _ => Takes::Value,
                },
            };
            Opt {
                short: a.get_short(),
                long,
                takes,
            }
        })
        .collect()
}

/// Why the arguments are not perf's grammar: perf's message (the usage follows it).
#[derive(Debug, PartialEq, Eq)]
pub struct ArgvError(pub String);

/// perf's usage lines for `record`.
pub const USAGE: &str = " Usage: premap record [<options>] [<command>]\n    or: premap record [<options>] -- <command> [<options>]";

/// Rewrites `record`'s arguments (without the subcommand word) into the canonical form clap parses.
pub fn canonical(cmd: &Command, args: &[String]) -> Result<Vec<String>, ArgvError> {
    let table = opts(cmd);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    let value_of = |i: &mut usize, name: &str| -> Result<String, ArgvError> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| ArgvError(format!("option `{name}' requires a value")))
    };
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            // `--no-FLAG` turns a flag off, unless `no-...` is an option's own name.
            if let Some(flag) = name.strip_prefix("no-") {
                if !table.iter().any(|o| o.long_starts_with(name)) {
                    let o = find_long(&table, flag)?;
                    if o.takes != Takes::Nothing {
                        return Err(ArgvError(format!("option `{name}' isn't available")));
                    }
                    let on = o.canonical();
                    out.retain(|x| *x != on);
                    i += 1;
                    continue;
                }
            }
            let o = find_long(&table, name)?;
            let canon = o.canonical();
            let long = o.long.clone().unwrap_or_default();
            match (o.takes, attached) {
                (Takes::Nothing, Some(_)) => {
                    return Err(ArgvError(format!("option `{long}' takes no value")))
                }
                (Takes::Nothing, None) | (Takes::Optional, None) => out.push(canon),
                (_, Some(v)) => out.push(format!("{canon}={v}")),
                (Takes::Value, None) => {
                    let v = value_of(&mut i, &long)?;
                    out.push(format!("{canon}={v}"));
                }
            }
            i += 1;
            continue;
        }
        if a.len() > 1 && a.starts_with('-') {
            // A bundle of short options.
            let chars: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                let o = table
                    .iter()
                    .find(|o| o.short == Some(c))
                    .ok_or_else(|| ArgvError(format!("unknown switch `{c}'")))?;
                let rest: String = chars[k + 1..].iter().collect();
                let rest = rest.strip_prefix('=').map(str::to_string).unwrap_or(rest);
                let canon = o.canonical();
                match o.takes {
                    Takes::Nothing => {
                        out.push(canon);
                        k += 1;
                    }
                    Takes::Value => {
                        let v = if rest.is_empty() {
                            value_of(&mut i, &c.to_string())?
                        } else {
                            rest
                        };
                        out.push(format!("{canon}={v}"));
                        k = chars.len();
                    }
                    Takes::Optional => {
                        // Only an attached number is the value: `-z3`; `-zg` is `-z -g`.
                        let digits: String = chars[k + 1..]
                            .iter()
                            .take_while(|c| c.is_ascii_digit())
                            .collect();
                        if digits.is_empty() {
                            out.push(canon);
                            k += 1;
                        } else {
                            out.push(format!("{canon}={digits}"));
                            k += 1 + digits.len();
                        }
                    }
                }
            }
            i += 1;
            continue;
        }
        // The first word that is not an option: the command starts here.
        break;
    }
    out.push("--".into());
    out.extend(args[i..].iter().cloned());
    Ok(out)
}

/// The option named by `name`: its full long name, or an unambiguous prefix of one (as perf).
fn find_long<'a>(table: &'a [Opt], name: &str) -> Result<&'a Opt, ArgvError> {
    if let Some(o) = table.iter().find(|o| o.long_is(name)) {
        return Ok(o);
    }
    let mut matches = table
        .iter()
        .filter(|o| !name.is_empty() && o.long_starts_with(name));
    match (matches.next(), matches.next()) {
        (Some(o), None) => Ok(o),
        (Some(a), Some(b)) => Err(ArgvError(format!(
            "Ambiguous option: {name} (could be {} or {})",
            a.canonical(),
            b.canonical()
        ))),
        _ => Err(ArgvError(format!("unknown option `{name}'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn record_cmd() -> Command {
        crate::cli::Cli::command()
            .find_subcommand("record")
            .expect("record")
            .clone()
    }

    fn canon(s: &str) -> Result<String, String> {
        let args: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        canonical(&record_cmd(), &args)
            .map(|v| v.join(" "))
            .map_err(|e| e.0)
    }

    /// perf's grammar, case by case: what a perf user types, and what clap is given.
    #[test]
    fn perf_s_option_grammar() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("-F99 true", Ok("--freq=99 -- true")),
            ("-F 99 true", Ok("--freq=99 -- true")),
            ("-F=99 true", Ok("--freq=99 -- true")),
            ("--freq=99 true", Ok("--freq=99 -- true")),
            ("--freq 99 true", Ok("--freq=99 -- true")),
            ("-c1 true", Ok("--count=1 -- true")),
            ("-ecpu-clock true", Ok("--event=cpu-clock -- true")),
            (
                "-e cpu-clock -e page-faults true",
                Ok("--event=cpu-clock --event=page-faults -- true"),
            ),
            ("-m8 true", Ok("--mmap-pages=8 -- true")),
            ("-o/tmp/x.data true", Ok("--output=/tmp/x.data -- true")),
            // Bundles, and a value-taking option at the end of one.
            ("-ag sleep 1", Ok("--all-cpus -g -- sleep 1")),
            ("-agF99 sleep 1", Ok("--all-cpus -g --freq=99 -- sleep 1")),
            // -z's level is attached digits only.
            ("-zg true", Ok("--compression-level -g -- true")),
            ("-z3 true", Ok("--compression-level=3 -- true")),
            ("-z3g true", Ok("--compression-level=3 -g -- true")),
            (
                "--compression-level=5 true",
                Ok("--compression-level=5 -- true"),
            ),
            // The first word that is not an option starts the command; its options are its own.
            ("ls -l -F99", Ok("-- ls -l -F99")),
            ("-q -- ls -l", Ok("--quiet -- ls -l")),
            ("-q", Ok("--quiet --")),
            // Abbreviations and negations.
            ("--fre 99 true", Ok("--freq=99 -- true")),
            ("-s --no-stat true", Ok("-- true")),
            // Errors in perf's words.
            ("--bogus-opt true", Err("unknown option `bogus-opt'")),
            ("-Y true", Err("unknown switch `Y'")),
            ("-F", Err("option `F' requires a value")),
            ("--quiet=1 true", Err("option `quiet' takes no value")),
        ];
        for (args, want) in table {
            let got = canon(args);
            let want = want.map(str::to_string).map_err(str::to_string);
            assert_eq!(got, want, "premap record {args}");
        }
    }

    /// Every option clap knows is reachable by its short and long name (the table is clap's).
    #[test]
    fn every_option_of_record_is_in_the_table() {
        let cmd = record_cmd();
        let t = opts(&cmd);
        for a in cmd.get_arguments().filter(|a| !a.is_positional()) {
            if let Some(l) = a.get_long() {
                assert!(t.iter().any(|o| o.long_is(l)), "--{l}");
            }
            if let Some(c) = a.get_short() {
                assert!(t.iter().any(|o| o.short == Some(c)), "-{c}");
            }
        }
    }
}
