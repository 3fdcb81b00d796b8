//! The workload of `premap record CMD` ([`premap::Workload`]: forked and held before exec until the
//! events are set up, as perf's evlist__prepare_workload): the command checked before anything is
//! opened, and its end as a shell reports it, which becomes premap's exit status.

use super::RecordError;
use premap::Workload;

/// How the workload ended, as a shell reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl Status {
    /// The exit code a shell shows for it: the code, or 128 + the signal.
    pub fn code(self) -> u8 {
        match self {
            Status::Exited(c) => c as u8,
            Status::Signaled(s) => (128 + s) as u8,
        }
    }
}

impl From<std::process::ExitStatus> for Status {
    fn from(s: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (_, Some(sig)) => Status::Signaled(sig),
            (Some(c), None) => Status::Exited(c),
            (None, None) => Status::Exited(0),
        }
    }
}

/// Finds `prog` as execvp would (a name with a slash as is, else in $PATH), to refuse a command that
/// cannot run before anything is opened or created.
pub fn resolve(prog: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.contains('/') {
        let p = std::path::PathBuf::from(prog);
        return runnable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| runnable(p))
}

/// Forks `argv`, held before exec.
pub fn spawn(argv: &[String]) -> Result<Workload, RecordError> {
    Workload::spawn(argv).map_err(|e| RecordError::Workload(e.to_string()))
}
