//! `premap dump` over the perf.data files other projects keep as test data (../shared/perfdata-corpus
//! beside the clone, or `PREMAP_PERFDATA_CORPUS`; the files are not copied into this repository):
//! perf 6.1 is the judge where it reads a file (`perf report --stats` for the tables, `perf script -D`
//! for every sample's pid, tid, ip and time), and no file may make premap panic, hang, or allocate more
//! than a few times what the file holds.

mod common;
use common::*;
use std::path::PathBuf;
use std::time::Duration;

/// Files where perf 6.1's table differs from premap's for a reason this test states (none: the two
/// pipe files whose EVENT_UPDATE names the event `cycles:u` are named from the attr, `cycles:uH`, as
/// perf report --stats names a pipe's events).
const KNOWN: &[(&str, &str)] = &[];

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PREMAP_PERFDATA_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/perfdata-corpus")
        });
    dir.is_dir().then_some(dir)
}

fn table(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One sample as both tools print it: file offset, pid, tid, ip, time (perf's when it prints one).
type Sampled = (u64, i64, i64, u64, Option<u64>);

/// The samples of `perf script -D` (in the order perf delivers them): from each `[CPU] [TIME] 0xOFFSET [0xSIZE]:
/// PERF_RECORD_SAMPLE(IP, 0xMISC): PID/TID: 0xIP period: ...` line (the time is the token before the
/// offset, when there is one).
fn perf_dump_samples(f: &std::path::Path) -> Vec<Sampled> {
    let out = run(perf().args(["script", "-D", "-i"]).arg(f));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(": PERF_RECORD_SAMPLE(")?;
            let toks: Vec<&str> = left.split_whitespace().collect();
            let n = toks.len();
            let offset =
                u64::from_str_radix(toks.get(n.checked_sub(2)?)?.strip_prefix("0x")?, 16).ok()?;
            let time = n.checked_sub(3).and_then(|i| toks[i].parse::<u64>().ok());
            let rest = right.split_once("): ")?.1;
            let (ids, rest) = rest.split_once(": ")?;
            let (pid, tid) = ids.split_once('/')?;
            let ip = rest.split_whitespace().next()?.strip_prefix("0x")?;
            Some((
                offset,
                pid.parse().ok()?,
                tid.parse().ok()?,
                u64::from_str_radix(ip, 16).ok()?,
                time,
            ))
        })
        .collect()
}

/// The samples of `premap dump --json`, in file order.
fn premap_dump_samples(f: &std::path::Path) -> Vec<Sampled> {
    let out = run(premap().args(["dump", "--json"]).arg(f));
    let num = |l: &str, key: &str| -> Option<String> {
        let v = l.split(&format!("\"{key}\":")).nth(1)?;
        Some(
            v.trim_start_matches('"')
                .split([',', '"', '}'])
                .next()?
                .to_string(),
        )
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"type\":\"SAMPLE\""))
        .map(|l| {
            let int = |k| num(l, k).and_then(|v| v.parse::<u64>().ok());
            // perf prints pid and tid as signed 32-bit numbers.
            let signed = |k| int(k).map_or(-1, |v| i64::from(v as u32 as i32));
            let ip = num(l, "ip")
                .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            (
                int("offset").unwrap_or(0),
                signed("pid"),
                signed("tid"),
                ip,
                int("time"),
            )
        })
        .collect()
}

#[test]
fn dump_stats_equals_perf_report_stats_over_the_shared_corpus_and_nothing_panics() {
    let Some(dir) = corpus() else {
        eprintln!(
            "SKIPPED: no perf.data corpus at ../shared/perfdata-corpus (set PREMAP_PERFDATA_CORPUS)"
        );
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let (mut compared, mut mismatches) = (0, Vec::new());
    let (mut samples_compared, mut sample_mismatches) = (0, Vec::new());
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        // Every output format, bounded in time; a panic would exit 101.
        for args in [&["--stats"][..], &[][..], &["--json"][..]] {
            let out = premap_test_support::run_for(
                premap().arg("dump").args(args).arg(f),
                Duration::from_secs(60),
            );
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 1)),
                "{name} {args:?}: exit {code:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Memory: bounded by what the file holds, never by what its counts claim.
        for args in [&["--stats"][..], &[][..], &["--json"][..]] {
            let cap = memory_bound(f);
            let code = run_with_data_cap(premap().arg("dump").args(args).arg(f), cap);
            assert!(
                matches!(code, Some(0 | 1)),
                "{name} {args:?}: exit {code:?} with its data capped at {} KiB",
                cap >> 10
            );
        }
        let theirs = run(perf().args(["report", "--stats", "-i"]).arg(f));
        let theirs = table(&String::from_utf8_lossy(&theirs.stdout));
        if !theirs.contains("Aggregated stats") || KNOWN.iter().any(|(k, _)| *k == name) {
            continue;
        }
        let ours = run(premap().args(["dump", "--stats"]).arg(f));
        compared += 1;
        if table(&String::from_utf8_lossy(&ours.stdout)) != theirs {
            mismatches.push(name.clone());
        }
        // Sample by sample, as perf script -D dumps them: pid, tid, ip, and the time where perf
        // prints one.
        let (mut theirs, mut ours) = (perf_dump_samples(f), premap_dump_samples(f));
        // By file offset where both tools number the records alike; else in time order (perf's
        // offsets in a pipe or in inflated data are its own).
        let by_offset = {
            let keys = |v: &[Sampled]| {
                v.iter()
                    .map(|x| x.0)
                    .collect::<std::collections::BTreeSet<_>>()
            };
            keys(&theirs) == keys(&ours)
        };
        if by_offset {
            theirs.sort_by_key(|x| x.0);
            ours.sort_by_key(|x| x.0);
        } else {
            for v in [&mut theirs, &mut ours] {
                for x in v.iter_mut() {
                    x.0 = 0;
                }
            }
            theirs.sort_by_key(|x| (x.4, x.1, x.2, x.3));
            ours.sort_by_key(|x| (x.4, x.1, x.2, x.3));
        }
        let same = theirs.len() == ours.len()
            && theirs.iter().zip(&ours).all(|(t, o)| {
                (t.0, t.1, t.2, t.3) == (o.0, o.1, o.2, o.3) && (t.4.is_none() || t.4 == o.4)
            });
        if same {
            samples_compared += ours.len();
        } else {
            let first = theirs.iter().zip(&ours).find(|(t, o)| {
                (t.0, t.1, t.2, t.3) != (o.0, o.1, o.2, o.3) || t.4.is_some() && t.4 != o.4
            });
            sample_mismatches.push(format!(
                "{name}: perf {} samples, premap {}, first difference at {first:?}",
                theirs.len(),
                ours.len()
            ));
        }
    }
    eprintln!(
        "corpus: {} files, {compared} compared with perf 6.1 ({samples_compared} samples)",
        files.len(),
    );
    assert!(
        mismatches.is_empty(),
        "dump --stats differs from perf report --stats: {mismatches:?}"
    );
    assert!(
        samples_compared > 1000,
        "{samples_compared} samples compared"
    );
    assert!(
        sample_mismatches.is_empty(),
        "samples differ from perf script -D: {sample_mismatches:?}"
    );
}
