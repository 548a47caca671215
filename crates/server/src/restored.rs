//! A backup the storage service restored into folders on the pool, for
//! the setup wizard's restore or a restore drill: its catalog, and the
//! check that every original it names is there with the bytes it was
//! stored with. A backup is treated as untrusted input: a path in its
//! catalog that would leave its library folder is a problem, not a file.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use shoebox_catalog::{Catalog, Original};
use shoebox_media::Layout;

use crate::error::{ApiError, ApiResult};

/// At most this many problems are listed; the rest are counted.
const LISTED_PROBLEMS: usize = 50;

/// A restored backup: its catalog (opened, and so migrated, in place) and
/// the folder its `library/` went to.
pub struct RestoredBackup {
    pub catalog: Catalog,
    db_file: PathBuf,
    library: PathBuf,
}

/// What checking a restored backup found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    /// Originals checked, and their bytes.
    pub assets: u64,
    pub bytes: u64,
    /// What is wrong, one line each (the first `LISTED_PROBLEMS`).
    pub problems: Vec<String>,
    pub problem_count: u64,
}

impl Findings {
    pub fn ok(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, line: String) {
        self.problem_count += 1;
        if self.problems.len() < LISTED_PROBLEMS {
            self.problems.push(line);
        }
    }
}

/// Originals checked so far out of all, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

impl RestoredBackup {
    /// The backup whose `db/` was restored into `db_dir` and `library/` into `library_dir`.
    pub fn open(db_dir: &Path, library_dir: &Path) -> ApiResult<RestoredBackup> {
        let name = Layout::new("").db_file().file_name().map(PathBuf::from).unwrap_or_default();
        let db_file = db_dir.join(name);
        if !db_file.is_file() {
            return Err(ApiError::bad_request(
                "The backup holds no Shoebox catalog: check the repository address names a Shoebox backup",
            ));
        }
        let catalog = Catalog::open(&db_file).map_err(|e| ApiError::bad_request(format!("The backup's catalog cannot be read: {e}")))?;
        Ok(RestoredBackup {
            catalog,
            db_file,
            library: library_dir.to_path_buf(),
        })
    }

    pub fn db_file(&self) -> &Path {
        &self.db_file
    }

    /// Reads every original the backup's catalog names and compares its
    /// SHA-1 with the one recorded when it was uploaded.
    pub fn check_files(&self, progress: &Progress) -> ApiResult<Findings> {
        let originals = self.catalog.originals()?;
        progress.total.store(originals.len() as u64, Ordering::Relaxed);
        let mut findings = Findings::default();
        for original in &originals {
            match self.check_one(original) {
                Ok(bytes) => findings.bytes += bytes,
                Err(why) => findings.problem(format!("{} ({}): {why}", original.original_file_name, original.id)),
            }
            findings.assets += 1;
            progress.done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(findings)
    }

    fn check_one(&self, original: &Original) -> Result<u64, String> {
        let path = inside(&self.library, &original.path).ok_or("its path in the catalog leaves the library folder")?;
        let (sha1, bytes) = sha1_of(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "its file is missing from the backup".to_owned(),
            _ => format!("its file cannot be read: {e}"),
        })?;
        if sha1.as_slice() != original.checksum.as_slice() {
            return Err("its file does not match its checksum".into());
        }
        Ok(bytes)
    }

    /// Compares the backup with the live library: every user and asset the
    /// library had when the backup was taken must be in it, with the same
    /// checksum. "When it was taken" is the newest asset the backup holds,
    /// so photos uploaded since are not counted as missing.
    pub fn compare_with(&self, live: &Catalog, findings: &mut Findings) -> ApiResult<()> {
        let backed_up = self.catalog.originals()?;
        let taken = backed_up.iter().map(|o| o.created_at).max().unwrap_or(0);
        let by_id: std::collections::HashMap<&str, &Original> = backed_up.iter().map(|o| (o.id.as_str(), o)).collect();
        for asset in live.originals()?.iter().filter(|a| a.created_at <= taken) {
            match by_id.get(asset.id.as_str()) {
                None => findings.problem(format!(
                    "{} ({}): in the library but not in the backup",
                    asset.original_file_name, asset.id
                )),
                Some(b) if b.checksum != asset.checksum => findings.problem(format!(
                    "{} ({}): the backup holds other bytes than the library",
                    asset.original_file_name, asset.id
                )),
                Some(_) => {}
            }
        }
        let users: std::collections::HashSet<String> = self.catalog.user_ids()?.into_iter().map(|(id, _)| id).collect();
        for (id, _) in live.user_ids()?.into_iter().filter(|(_, created)| *created <= taken) {
            if !users.contains(&id) {
                findings.problem(format!("user {id}: in the library but not in the backup"));
            }
        }
        Ok(())
    }
}

/// Where `relative` (a catalog path, `library/...`) was restored to, if
/// it stays inside the restored `library` folder.
fn inside(library: &Path, relative: &str) -> Option<PathBuf> {
    let rest = Path::new(relative).strip_prefix("library").ok()?;
    let plain = rest.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && rest.components().next().is_some()).then(|| library.join(rest))
}

fn sha1_of(path: &Path) -> std::io::Result<([u8; 20], u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha1::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hasher.finalize().into(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_path_resolves_inside_the_restored_library_only() {
        let library = Path::new("/pool/.drill/library");
        assert_eq!(
            inside(library, "library/u1/ab/abc.jpg"),
            Some(PathBuf::from("/pool/.drill/library/u1/ab/abc.jpg"))
        );
        for hostile in [
            "library/../db/shoebox.db",
            "/etc/passwd",
            "library//etc/passwd/..",
            "cache/thumbs/x.webp",
            "library",
            "",
        ] {
            assert_eq!(inside(library, hostile), None, "{hostile}");
        }
    }
}
