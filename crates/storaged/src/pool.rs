//! The btrfs pool: created on blank (or planned) disks, single or RAID1 for
//! data and metadata, with one subvolume each for the originals (`library`),
//! the catalog (`db`) and derived files (`cache`): the layout of shoeboxd's
//! data folder, so the pool's top level is mounted as that folder.
//! Read-only snapshots live beside them in `.snapshots`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

use crate::command::{self, run};

pub const SUBVOLUMES: [&str; 3] = ["library", "db", "cache"];
pub const SNAPSHOT_DIR: &str = ".snapshots";
/// Left in the data folder under the pool's mount (see [`Pool::create`]).
pub const NOT_MOUNTED: &str = "POOL-NOT-MOUNTED";
const LABEL: &str = "shoebox-pool";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Command(#[from] command::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("a pool already exists ({0}); add or replace disks instead")]
    Exists(String),
    #[error("there is no pool yet: create one first")]
    Missing,
    #[error("something is already mounted on {0}: unmount it first")]
    MountBusy(String),
    #[error("profile must be \"single\" or \"raid1\", not {0:?}")]
    Profile(String),
    #[error("RAID1 needs at least two disks")]
    TooFewDisks,
    #[error("a snapshot trigger is up to 32 lowercase letters, digits and dashes, not {0:?}")]
    Trigger(String),
    #[error("the pool's state file {0} is unreadable: {1}")]
    State(String, serde_json::Error),
}

/// How data and metadata are spread over the disks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Single,
    Raid1,
}

impl Profile {
    pub fn parse(name: &str, disks: usize) -> Result<Profile, Error> {
        let profile = match name {
            "single" => Profile::Single,
            "raid1" => Profile::Raid1,
            _ => return Err(Error::Profile(name.to_owned())),
        };
        if profile == Profile::Raid1 && disks < 2 {
            return Err(Error::TooFewDisks);
        }
        Ok(profile)
    }

    fn btrfs_name(self) -> &'static str {
        match self {
            Profile::Single => "single",
            Profile::Raid1 => "raid1",
        }
    }

    /// Metadata is duplicated even on one disk: a flipped bit there loses
    /// whole directories, and it costs little space.
    fn metadata_name(self) -> &'static str {
        match self {
            Profile::Single => "dup",
            Profile::Raid1 => "raid1",
        }
    }
}

/// What storaged remembers about the pool between starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub uuid: String,
    pub profile: Profile,
}

/// One member disk, as the health page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Device {
    pub devid: u64,
    /// "" when the disk is missing.
    pub path: String,
    pub size_bytes: u64,
    pub missing: bool,
    /// Read, write, flush, checksum and generation errors since creation.
    pub errors: u64,
}

/// The last scrub, as `btrfs scrub status` tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct Scrub {
    /// "never", "running", "finished", "aborted" or "interrupted".
    pub state: String,
    pub started: String,
    pub errors: u64,
    pub corrected: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct Status {
    pub present: bool,
    pub uuid: String,
    pub mount: String,
    pub mounted: bool,
    /// A member is missing: the pool runs without redundancy until replaced.
    pub degraded: bool,
    /// "raid1", "single", or e.g. "raid1+single" while chunks written during
    /// a degraded spell are not yet converted back.
    pub data_profile: String,
    pub metadata_profile: String,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub devices: Vec<Device>,
    pub scrub: Scrub,
    /// A long operation in progress ("replacing devid 2 with /dev/sdc"), or "".
    pub activity: String,
    /// Why the last long operation failed, or "".
    pub last_error: String,
}

/// Where the pool is mounted and where storaged keeps its record of it.
#[derive(Debug, Clone)]
pub struct Pool {
    pub mount: PathBuf,
    pub state_file: PathBuf,
}

impl Pool {
    pub fn recorded(&self) -> Result<Option<Recorded>, Error> {
        match std::fs::read(&self.state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::State(self.state_file.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.state_file, e)),
        }
    }

    fn record(&self, recorded: &Recorded) -> Result<(), Error> {
        let dir = self.state_file.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let tmp = self.state_file.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(recorded).expect("plain struct")).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &self.state_file).map_err(|e| io(&self.state_file, e))
    }

    pub fn mount_str(&self) -> &str {
        self.mount.to_str().unwrap_or_default()
    }

    /// Makes the file system and its subvolumes, moves what the data folder
    /// holds onto it (the catalog made by the setup wizard), mounts it there
    /// and records it. The disks have been checked (blank or planned) by the
    /// caller; the server must not be writing to the folder meanwhile.
    pub fn create(&self, disks: &[String], profile: Profile) -> Result<Recorded, Error> {
        if let Some(existing) = self.recorded()? {
            return Err(Error::Exists(existing.uuid));
        }
        std::fs::create_dir_all(&self.mount).map_err(|e| io(&self.mount, e))?;
        if self.is_mounted()? {
            return Err(Error::MountBusy(self.mount.display().to_string()));
        }
        for disk in disks {
            run("wipefs", &["--all", "--quiet", disk])?;
        }
        let mut args = vec!["-q", "-f", "-L", LABEL, "-d", profile.btrfs_name(), "-m", profile.metadata_name()];
        args.extend(disks.iter().map(String::as_str));
        run("mkfs.btrfs", &args)?;
        let uuid = crate::disks::signature(&disks[0])
            .and_then(|s| s.uuid)
            .ok_or_else(|| Error::Io(disks[0].clone(), std::io::Error::other("no file system after mkfs.btrfs")))?;
        let recorded = Recorded { uuid, profile };
        let staging = self.state_file.with_file_name("staging");
        std::fs::create_dir_all(&staging).map_err(|e| io(&staging, e))?;
        self.mount_at(&recorded, &staging)?;
        let filled = self.fill(&staging);
        run("umount", &[path(&staging)])?;
        filled?;
        self.empty_folder()?;
        self.mount_at(&recorded, &self.mount)?;
        self.record(&recorded)?;
        Ok(recorded)
    }

    /// The pool's layout on `staging`, with the data folder's contents
    /// copied in and its owner (the shoebox user on the appliance).
    fn fill(&self, staging: &Path) -> Result<(), Error> {
        let owner = std::fs::metadata(&self.mount).map_err(|e| io(&self.mount, e))?;
        let (uid, gid) = (Some(owner.uid()), Some(owner.gid()));
        std::os::unix::fs::chown(staging, uid, gid).map_err(|e| io(staging, e))?;
        for name in SUBVOLUMES {
            let subvolume = staging.join(name);
            run("btrfs", &["subvolume", "create", path(&subvolume)])?;
            std::os::unix::fs::chown(&subvolume, uid, gid).map_err(|e| io(&subvolume, e))?;
        }
        for entry in std::fs::read_dir(&self.mount).map_err(|e| io(&self.mount, e))?.flatten() {
            let (from, to) = (entry.path(), staging.join(entry.file_name()));
            if SUBVOLUMES.iter().any(|s| entry.file_name() == *s) {
                run("cp", &["-a", "--reflink=auto", &format!("{}/.", path(&from)), path(&to)])?;
            } else if entry.file_name() != NOT_MOUNTED {
                run("cp", &["-a", "--reflink=auto", path(&from), path(&to)])?;
            }
        }
        let snapshots = staging.join(SNAPSHOT_DIR);
        std::fs::create_dir_all(&snapshots).map_err(|e| io(&snapshots, e))
    }

    /// Clears the folder the pool is mounted over and leaves a marker: if
    /// the pool ever fails to mount, shoeboxd finds the marker instead of
    /// an empty library and refuses to start on it.
    fn empty_folder(&self) -> Result<(), Error> {
        for entry in std::fs::read_dir(&self.mount).map_err(|e| io(&self.mount, e))?.flatten() {
            let result = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(entry.path())
            } else {
                std::fs::remove_file(entry.path())
            };
            result.map_err(|e| io(&entry.path(), e))?;
        }
        let marker = self.mount.join(NOT_MOUNTED);
        std::fs::write(&marker, "The Shoebox pool is mounted here; this folder is empty when it is not.\n").map_err(|e| io(&marker, e))
    }

    /// Mounts the recorded pool if it is not mounted yet; with a member
    /// missing it mounts degraded, so the library stays readable.
    pub fn ensure_mounted(&self) -> Result<(), Error> {
        match self.recorded()? {
            Some(recorded) if !self.is_mounted()? => self.mount_recorded(&recorded),
            _ => Ok(()),
        }
    }

    fn mount_recorded(&self, recorded: &Recorded) -> Result<(), Error> {
        self.mount_at(recorded, &self.mount)
    }

    fn mount_at(&self, recorded: &Recorded, target: &Path) -> Result<(), Error> {
        // Register the members present now: udev may not have told the
        // kernel (early boot, containers). Not `--forget` first: it would
        // drop other unmounted file systems' members mid-mount.
        run("btrfs", &["device", "scan"])?;
        let source = format!("UUID={}", recorded.uuid);
        let target = path(target);
        match run("mount", &["-t", "btrfs", "-o", "noatime", &source, target]) {
            Ok(_) => Ok(()),
            Err(whole) => {
                tracing::warn!(error = %whole, "pool does not mount whole; mounting degraded");
                let degraded = ["-t", "btrfs", "-o", "noatime,degraded", &source, target];
                if let Err(e) = run("mount", &degraded) {
                    // The kernel may still list a pulled member under a
                    // device name another disk has taken since: start its
                    // list afresh and try once more.
                    tracing::warn!(error = %e, "degraded mount failed; rescanning devices");
                    run("btrfs", &["device", "scan", "--forget"])?;
                    run("btrfs", &["device", "scan"])?;
                    run("mount", &degraded)?;
                }
                Ok(())
            }
        }
    }

    pub fn is_mounted(&self) -> Result<bool, Error> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| io(Path::new("/proc/self/mountinfo"), e))?;
        let target = self.mount_str();
        Ok(mountinfo
            .lines()
            .any(|line| line.split(' ').nth(4).map(unescape).as_deref() == Some(target)))
    }

    pub fn status(&self) -> Result<Status, Error> {
        let Some(recorded) = self.recorded()? else {
            return Ok(Status {
                mount: self.mount_str().to_owned(),
                ..Status::default()
            });
        };
        let mut status = Status {
            present: true,
            uuid: recorded.uuid.clone(),
            mount: self.mount_str().to_owned(),
            mounted: self.is_mounted()?,
            ..Status::default()
        };
        if !status.mounted {
            return Ok(status);
        }
        let target = self.mount_str();
        status.devices = parse_show(&run("btrfs", &["filesystem", "show", "--raw", target])?);
        let stats: serde_json::Value = serde_json::from_str(&run("btrfs", &["--format", "json", "device", "stats", target])?)
            .map_err(|e| Error::Io("btrfs device stats".into(), std::io::Error::other(e)))?;
        add_error_counts(&mut status.devices, &stats);
        status.degraded = status.devices.iter().any(|d| d.missing);
        (status.data_profile, status.metadata_profile) = parse_df(&run("btrfs", &["filesystem", "df", "-b", target])?);
        (status.size_bytes, status.used_bytes) = parse_usage(&run("btrfs", &["filesystem", "usage", "-b", target])?);
        status.scrub = parse_scrub(&run("btrfs", &["scrub", "status", "-R", target])?);
        Ok(status)
    }

    /// Starts a scrub in the background; its progress is in [`Pool::status`].
    pub fn start_scrub(&self) -> Result<(), Error> {
        self.require_mounted()?;
        run("btrfs", &["scrub", "start", self.mount_str()])?;
        Ok(())
    }

    /// Adds a disk and, for RAID1, spreads existing data onto it. Blocks for
    /// as long as the balance takes.
    pub fn add_disk(&self, disk: &str) -> Result<(), Error> {
        let recorded = self.require_mounted()?;
        run("wipefs", &["--all", "--quiet", disk])?;
        run("btrfs", &["device", "add", "-f", disk, self.mount_str()])?;
        self.restore_profile(recorded.profile)
    }

    /// Rebuilds a member (missing or failing) onto `disk`, then converts
    /// chunks written while degraded back to the pool's profile. Blocks.
    pub fn replace(&self, devid: u64, disk: &str) -> Result<(), Error> {
        let recorded = self.require_mounted()?;
        run("wipefs", &["--all", "--quiet", disk])?;
        run(
            "btrfs",
            &["replace", "start", "-B", "-f", &devid.to_string(), disk, self.mount_str()],
        )?;
        self.restore_profile(recorded.profile)
    }

    fn restore_profile(&self, profile: Profile) -> Result<(), Error> {
        let data = format!("-dconvert={},soft", profile.btrfs_name());
        let metadata = format!("-mconvert={},soft", profile.metadata_name());
        run("btrfs", &["balance", "start", &data, &metadata, self.mount_str()])?;
        Ok(())
    }

    fn require_mounted(&self) -> Result<Recorded, Error> {
        let recorded = self.recorded()?.ok_or(Error::Missing)?;
        self.ensure_mounted()?;
        Ok(recorded)
    }
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(path.display().to_string(), e)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// `devid 1 size 314572800 used 109051904 path /dev/loop0`, or
/// `devid 2 size 0 used 0 path  MISSING` for a member that is gone.
fn parse_show(text: &str) -> Vec<Device> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() != Some(&"devid") {
                return None;
            }
            let field = |name: &str| words.iter().position(|w| *w == name).and_then(|i| words.get(i + 1)).copied();
            let path = field("path").unwrap_or("MISSING");
            let missing = path == "MISSING" || line.contains("MISSING");
            Some(Device {
                devid: field("devid")?.parse().ok()?,
                path: if missing { String::new() } else { path.to_owned() },
                size_bytes: field("size").and_then(|s| s.parse().ok()).unwrap_or(0),
                missing,
                errors: 0,
            })
        })
        .collect()
}

fn add_error_counts(devices: &mut [Device], stats: &serde_json::Value) {
    for entry in stats["device-stats"].as_array().into_iter().flatten() {
        let devid: Option<u64> = entry["devid"].as_str().and_then(|s| s.parse().ok());
        let errors: u64 = [
            "write_io_errs",
            "read_io_errs",
            "flush_io_errs",
            "corruption_errs",
            "generation_errs",
        ]
        .iter()
        .filter_map(|k| entry[*k].as_str().and_then(|s| s.parse::<u64>().ok()))
        .sum();
        if let Some(device) = devices.iter_mut().find(|d| Some(d.devid) == devid) {
            device.errors = errors;
        }
    }
}

/// `Data, RAID1: total=..., used=...` lines: the profiles in use per kind.
fn parse_df(text: &str) -> (String, String) {
    let profiles = |kind: &str| {
        let mut found: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix(kind)?.strip_prefix(", ")?.split(':').next())
            .map(|p| p.trim().to_lowercase())
            .collect();
        found.dedup();
        found.join("+")
    };
    (profiles("Data"), profiles("Metadata"))
}

/// `Device size:` and `Used:` from `btrfs filesystem usage -b`.
fn parse_usage(text: &str) -> (u64, u64) {
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (value("Device size:"), value("Used:"))
}

/// `btrfs scrub status -R`: `Status: finished` plus raw counters.
fn parse_scrub(text: &str) -> Scrub {
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    };
    let count = |name: &str| value(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let Some(state) = value("Status") else {
        return Scrub {
            state: "never".into(),
            ..Scrub::default()
        };
    };
    Scrub {
        state,
        started: value("Scrub started").unwrap_or_default(),
        errors: [
            "read_errors",
            "csum_errors",
            "verify_errors",
            "super_errors",
            "uncorrectable_errors",
        ]
        .iter()
        .map(|k| count(k))
        .sum(),
        corrected: count("corrected_errors"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_member_is_read_from_filesystem_show() {
        let show = "Label: 'shoebox-pool'  uuid: 1eee\n\tTotal devices 2 FS bytes used 163840\n\
                    \tdevid    1 size 314572800 used 142606336 path /dev/loop0\n\
                    \tdevid    2 size 0 used 0 path  MISSING\n";
        let devices = parse_show(show);
        assert_eq!(devices.len(), 2);
        assert_eq!(
            (devices[0].devid, devices[0].path.as_str(), devices[0].missing),
            (1, "/dev/loop0", false)
        );
        assert_eq!((devices[1].devid, devices[1].path.as_str(), devices[1].missing), (2, "", true));
    }

    #[test]
    fn mixed_profiles_after_a_degraded_spell_are_reported() {
        let df = "Data, single: total=33554432, used=0\nData, RAID1: total=67108864, used=0\n\
                  System, RAID1: total=75497472, used=16384\nMetadata, RAID1: total=33554432, used=147456\n\
                  GlobalReserve, single: total=5767168, used=16384\n";
        assert_eq!(parse_df(df), ("single+raid1".into(), "raid1".into()));
    }

    #[test]
    fn scrub_counters_add_up_and_a_pool_never_scrubbed_says_so() {
        let status = "UUID: 1eee\nScrub started:    Wed Nov 25 09:29:29 2026\nStatus:           finished\n\
                      Duration:         0:00:00\n\tread_errors: 1\n\tcsum_errors: 2\n\tverify_errors: 0\n\
                      \tsuper_errors: 0\n\tuncorrectable_errors: 0\n\tcorrected_errors: 3\n";
        let scrub = parse_scrub(status);
        assert_eq!((scrub.state.as_str(), scrub.errors, scrub.corrected), ("finished", 3, 3));
        assert_eq!(scrub.started, "Wed Nov 25 09:29:29 2026");
        assert_eq!(parse_scrub("UUID: 1eee\n\tno stats available\n").state, "never");
    }

    #[test]
    fn raid1_needs_two_disks_and_unknown_profiles_are_refused() {
        assert!(matches!(Profile::parse("raid1", 1), Err(Error::TooFewDisks)));
        assert!(matches!(Profile::parse("raid5", 3), Err(Error::Profile(_))));
        assert_eq!(Profile::parse("single", 1).unwrap(), Profile::Single);
    }
}
