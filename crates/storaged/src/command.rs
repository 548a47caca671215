//! Running the system tools storaged is built on (btrfs-progs, util-linux,
//! smartmontools), with their complaint kept for the caller.

use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not run {program} (is it installed?): {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} failed: {stderr}")]
    Failed { program: String, stderr: String },
}

/// Runs `program` with `args`; its stdout on success, its stderr as the error.
pub fn run(program: &str, args: &[&str]) -> Result<String, Error> {
    let out = Command::new(program).args(args).output().map_err(|source| Error::Spawn {
        program: program.to_owned(),
        source,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let stderr = if stderr.is_empty() {
            format!("exit status {}", out.status)
        } else {
            stderr
        };
        return Err(Error::Failed {
            program: program.to_owned(),
            stderr,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Like [`run`], for tools whose non-zero exit means "nothing found" rather
/// than failure (blkid's 2, smartctl's bit mask): `None` instead of an error.
pub fn probe(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
