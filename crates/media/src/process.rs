//! The one way this crate runs an external program: a time limit, bounded
//! output, and an error that names the tool and what it printed.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use crate::{Error, Result};

/// Most of a tool's stderr we keep for an error message.
const STDERR_LIMIT: u64 = 4096;
/// Most of a tool's stdout we read (ffprobe's JSON is a few kilobytes).
const STDOUT_LIMIT: u64 = 1 << 20;

/// What becomes of a tool's stdout.
enum Stdout<'a> {
    Discard,
    Capture,
    /// Each line as it comes (ffmpeg's `-progress`), on the caller's thread.
    Lines(&'a mut dyn FnMut(&str)),
}

/// Runs `program` with `args`, expecting success within `timeout`. Output
/// goes to files the caller names in `args`; stdout is discarded.
pub(crate) fn run(program: &str, args: &[&OsStr], timeout: Duration, package: &str) -> Result<()> {
    execute(program, args, timeout, package, Stdout::Discard).map(drop)
}

/// Like [`run`], returning what the program printed on stdout.
pub(crate) fn output(program: &str, args: &[&OsStr], timeout: Duration, package: &str) -> Result<Vec<u8>> {
    execute(program, args, timeout, package, Stdout::Capture)
}

/// Like [`run`], handing each line the program prints on stdout to `line` as it comes.
pub(crate) fn run_reading_lines(
    program: &str,
    args: &[&OsStr],
    timeout: Duration,
    package: &str,
    line: &mut dyn FnMut(&str),
) -> Result<()> {
    execute(program, args, timeout, package, Stdout::Lines(line)).map(drop)
}

fn execute(program: &str, args: &[&OsStr], timeout: Duration, package: &str, mut stdout_to: Stdout) -> Result<Vec<u8>> {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(if matches!(stdout_to, Stdout::Discard) {
            Stdio::null()
        } else {
            Stdio::piped()
        })
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
    let mut captured = None;
    if let Some(out) = child.stdout.take() {
        match &mut stdout_to {
            Stdout::Lines(line) => {
                let (send, lines) = mpsc::channel();
                std::thread::spawn(move || {
                    for l in BufReader::new(out).lines().map_while(std::io::Result::ok) {
                        if send.send(l).is_err() {
                            return;
                        }
                    }
                });
                // Ends when the tool closes stdout (it exited) or the time is up.
                while let Some(left) = timeout.checked_sub(started.elapsed()) {
                    match lines.recv_timeout(left) {
                        Ok(l) => line(&l),
                        Err(_) => break,
                    }
                }
            }
            _ => {
                captured = Some(std::thread::spawn(move || {
                    let mut bytes = Vec::new();
                    let _ = out.take(STDOUT_LIMIT).read_to_end(&mut bytes);
                    bytes
                }))
            }
        }
    }
    let left = timeout.saturating_sub(started.elapsed());
    let status = match child.wait_timeout(left).map_err(|e| Error::Tool {
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
    let stdout = captured.map(|r| r.join().unwrap_or_default()).unwrap_or_default();
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

    #[test]
    fn lines_reach_the_caller_as_they_come_and_a_silent_tool_is_still_stopped() {
        let mut lines = Vec::new();
        run_reading_lines(
            "sh",
            &[OsStr::new("-c"), OsStr::new("echo out_time_us=1; echo progress=end")],
            Duration::from_secs(5),
            "dash",
            &mut |l| lines.push(l.to_owned()),
        )
        .unwrap();
        assert_eq!(lines, ["out_time_us=1", "progress=end"]);
        let err = run_reading_lines("sleep", &[OsStr::new("30")], Duration::from_millis(200), "coreutils", &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("no result within"), "{err}");
    }
}
