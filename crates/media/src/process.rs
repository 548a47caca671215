//! The one way this crate runs an external program: a time limit, bounded
//! output, and an error that names the tool and what it printed.

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

use crate::{Error, Result};

/// Most of a tool's stderr we keep for an error message.
const STDERR_LIMIT: u64 = 4096;
/// Most of a tool's stdout we read (ffprobe's JSON is a few kilobytes).
const STDOUT_LIMIT: u64 = 1 << 20;

/// Runs `program` with `args`, expecting success within `timeout`. Output
/// goes to files the caller names in `args`; stdout is discarded.
pub(crate) fn run(program: &str, args: &[&OsStr], timeout: Duration, package: &str) -> Result<()> {
    execute(program, args, timeout, package, false).map(drop)
}

/// Like [`run`], returning what the program printed on stdout.
pub(crate) fn output(program: &str, args: &[&OsStr], timeout: Duration, package: &str) -> Result<Vec<u8>> {
    execute(program, args, timeout, package, true)
}

fn execute(program: &str, args: &[&OsStr], timeout: Duration, package: &str, capture: bool) -> Result<Vec<u8>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(if capture { Stdio::piped() } else { Stdio::null() })
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingTool {
                tool: program.to_string(),
                package: package.to_string(),
            },
            _ => Error::Tool {
                tool: program.to_string(),
                message: e.to_string(),
            },
        })?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.take(STDERR_LIMIT).read_to_string(&mut text);
        text
    });
    // Read on its own thread too, so a chatty tool never blocks on a full pipe.
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.take(STDOUT_LIMIT).read_to_end(&mut bytes);
            bytes
        })
    });
    let status = match child.wait_timeout(timeout).map_err(|e| Error::Tool {
        tool: program.to_string(),
        message: e.to_string(),
    })? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Tool {
                tool: program.to_string(),
                message: format!("gave no result within {} s", timeout.as_secs()),
            });
        }
    };
    let stderr = reader.join().unwrap_or_default();
    let stdout = stdout.map(|r| r.join().unwrap_or_default()).unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        Err(Error::Tool {
            tool: program.to_string(),
            message: format!("{status}: {}", stderr.trim()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_the_package_that_provides_it() {
        let err = run("shoebox-no-such-tool", &[], Duration::from_secs(1), "some-package").unwrap_err();
        assert!(err.to_string().contains("some-package"), "{err}");
    }

    #[test]
    fn a_failing_tool_reports_its_stderr_and_a_slow_one_is_stopped() {
        let err = run(
            "sh",
            &[OsStr::new("-c"), OsStr::new("echo broken input >&2; exit 3")],
            Duration::from_secs(5),
            "dash",
        )
        .unwrap_err();
        assert!(err.to_string().contains("broken input"), "{err}");
        let err = run("sleep", &[OsStr::new("30")], Duration::from_millis(200), "coreutils").unwrap_err();
        assert!(err.to_string().contains("no result within"), "{err}");
    }
}
