//! The output side of a recording: the file's writer (or pipe mode), its header facts, rotating an
//! old file to FILE.old, naming switched-out files, and finishing a file (record__finish_output).

use super::{buildid, output_error, tracing, write_error, Options, Output, RecordError};
use premap::abi::attr::TYPE_TRACEPOINT;
use premap_perfdata::features::{EventDesc, Facts};
use premap_perfdata::writer::Writer;
use std::os::fd::AsFd;
use std::path::PathBuf;

/// `FILE.YYYYmmddHHMMSScc` (centiseconds: perf's `fetch_current_timestamp`), perf's name for a
/// switched-out file.
pub(super) fn timestamped(path: &std::path::Path) -> PathBuf {
    // Two switches within one centisecond would name the same file: the second waits for the next
    // centisecond rather than overwrite the first.
    loop {
        let name = timestamp_name(path);
        if !name.exists() {
            return name;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn timestamp_name(path: &std::path::Path) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r fills the struct we pass from a valid time_t.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".{:04}{:02}{:02}{:02}{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis() / 10
    ));
    PathBuf::from(name)
}

/// Keeps an existing output as FILE.old, as perf does; returns what to restore if recording fails.
pub(super) fn rotate(o: &Options) -> Option<(PathBuf, PathBuf)> {
    let Output::File(path) = &o.output else {
        return None;
    };
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    let mut old = path.clone().into_os_string();
    old.push(".old");
    let old = PathBuf::from(old);
    std::fs::rename(path, &old).ok()?;
    Some((path.clone(), old))
}

/// What finishing a file needs besides its writer: the header's facts, and what the build-id scan
/// of the recorded samples looks for.
pub(super) struct Finish<'a> {
    pub(super) facts: Facts,
    pub(super) sample_type: u64,
    pub(super) modules: &'a [buildid::ModuleRange],
    pub(super) build_ids: bool,
}

impl Finish<'_> {
    /// record__finish_output: the build ids and sample times of what was recorded (from the
    /// compressor's scan, or by reading the data back), then the header.
    pub(super) fn write(
        mut self,
        writer: Writer,
        output: &Output,
        zstd: Option<(Vec<u8>, buildid::Hits)>,
    ) -> Result<(), RecordError> {
        use premap::abi::perf_file::{HEADER_BUILD_ID, HEADER_COMPRESSED, HEADER_SAMPLE_TIME};

        let scan = self.build_ids;
        let hits = match zstd {
            Some((feature, hits)) => {
                self.facts.extra.push((HEADER_COMPRESSED, feature));
                Some(hits)
            }
            None if !scan => None,
            None => writer
                .read_data()
                .map(|data| {
                    data.map(|data| {
                        let mut scan = buildid::Scanner::new(self.sample_type, self.modules);
                        scan.feed(&data);
                        scan.finish()
                    })
                })
                .transpose()
                .map_err(|e| output_error("reading back", &output.to_string(), e))?,
        };
        if let Some(hits) = hits.filter(|_| scan) {
            let ids = buildid::feature(&hits);
            if !ids.is_empty() {
                self.facts.extra.push((HEADER_BUILD_ID, ids));
            }
            if let Some((first, last)) = hits.time_range {
                let mut t = first.to_ne_bytes().to_vec();
                t.extend_from_slice(&last.to_ne_bytes());
                self.facts.extra.push((HEADER_SAMPLE_TIME, t));
            }
        }
        writer
            .finish(&self.facts)
            .map_err(|e| write_error(output, e))?;
        Ok(())
    }
}

/// The header's facts: this machine's, and the tracepoints' formats (TRACING_DATA) when any are
/// recorded.
pub(super) fn machine_facts(opts: &Options) -> Facts {
    let mut facts = Facts::of_this_machine(opts.cmdline.clone());
    let tracepoints: Vec<u64> = opts
        .events
        .iter()
        .filter(|e| e.r#type == TYPE_TRACEPOINT)
        .map(|e| e.config)
        .collect();
    if !tracepoints.is_empty() {
        if let Some(t) = tracing::feature(&tracepoints) {
            facts
                .extra
                .push((premap::abi::perf_file::HEADER_TRACING_DATA, t));
        }
    }
    // Groups of more than one event (`-e '{a,b}'`): perf report and perf evlist show them as groups.
    let groups: Vec<(&str, u32, u32)> = opts
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.leader)
        .map(|(i, e)| {
            let members = opts.events.iter().filter(|m| m.group == e.group).count();
            ("{anon_group}", i as u32, members as u32)
        })
        .filter(|&(_, _, members)| members > 1)
        .collect();
    if !groups.is_empty() {
        facts.extra.push((
            premap::abi::perf_file::HEADER_GROUP_DESC,
            premap_perfdata::features::group_desc(&groups),
        ));
    }
    facts
}

/// The output's writer: a perf.data file, or pipe mode on standard output (whose header carries the
/// facts up front).
pub(super) fn create_output(
    opts: &Options,
    descs: Vec<EventDesc>,
    facts: &Facts,
) -> Result<Writer, RecordError> {
    let created = match &opts.output {
        Output::File(path) => Writer::create(path, descs),
        Output::Stdout => std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .and_then(|fd| Writer::create_pipe(std::fs::File::from(fd), descs, facts)),
    };
    created.map_err(|e| output_error("creating", &opts.output.to_string(), e))
}
