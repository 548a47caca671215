//! The machine's disks as `lsblk` reports them, and which of them the
//! storage service may offer: never the one the system runs from.
//! Blankness and pool membership are probed on the device itself (blkid),
//! not taken from udev's cache, which may be stale or absent.

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not run lsblk (util-linux): {0}")]
    Lsblk(std::io::Error),
    #[error("lsblk failed: {0}")]
    LsblkFailed(String),
    #[error("lsblk gave unreadable output: {0}")]
    Parse(#[from] serde_json::Error),
}

/// One whole disk, as the web UI's disk picker shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Disk {
    /// e.g. "/dev/sda"
    pub path: String,
    pub model: String,
    pub serial: String,
    pub size_bytes: u64,
    /// "usb", "sata", "nvme", ... or "" when the kernel does not say.
    pub transport: String,
    /// No partitions and no file system: safe to make part of a pool.
    pub blank: bool,
    /// Holds the running system (its root or boot file system): never offered.
    pub system: bool,
    /// A member of the Shoebox pool.
    pub in_pool: bool,
    /// SMART overall health: "passed", "failing", or "" where smartctl is
    /// missing or the disk does not report it.
    pub smart: String,
}

/// Which devices count as disks, and which file system is the pool's.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Offer loop devices too: disk images for tests and for trying a pool out.
    pub include_loop: bool,
    /// The pool's btrfs UUID, when there is a pool.
    pub pool_uuid: Option<String>,
}

#[derive(Deserialize)]
struct Listing {
    blockdevices: Vec<Device>,
}

#[derive(Deserialize)]
struct Device {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    size: Option<u64>,
    model: Option<String>,
    serial: Option<String>,
    fstype: Option<String>,
    #[serde(default)]
    mountpoints: Vec<Option<String>>,
    tran: Option<String>,
    #[serde(default)]
    children: Vec<Device>,
}

impl Device {
    fn mounted(&self) -> bool {
        self.mountpoints.iter().flatten().next().is_some() || self.children.iter().any(Device::mounted)
    }

    fn has_system_mount(&self) -> bool {
        self.mountpoints
            .iter()
            .flatten()
            .any(|m| matches!(m.as_str(), "/" | "/boot" | "/boot/efi" | "/usr"))
            || self.children.iter().any(Device::has_system_mount)
    }
}

/// Every disk in `scope`, with its blankness, pool membership and health probed.
pub fn list(scope: &Scope) -> Result<Vec<Disk>, Error> {
    let mut disks = parse(&lsblk()?, scope.include_loop)?;
    for disk in &mut disks {
        let signature = signature(&disk.path);
        disk.blank &= signature.is_none();
        disk.in_pool = scope.pool_uuid.is_some() && signature.and_then(|s| s.uuid) == scope.pool_uuid;
        disk.smart = smart_health(&disk.path);
    }
    Ok(disks)
}

/// Bytes free for new files on the file system that holds `path`.
pub fn free_bytes(path: &std::path::Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path)?;
    Ok(stat.blocks_available() * stat.fragment_size())
}

/// What is written at the start of a device: a file system or a partition table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Signature {
    pub uuid: Option<String>,
    /// The file system's type (`ext4`), when it is one.
    pub fstype: Option<String>,
    pub label: Option<String>,
}

/// `None` when blkid finds nothing on the device.
pub fn signature(path: &str) -> Option<Signature> {
    let out = crate::command::probe("blkid", &["-p", "-o", "export", path])?;
    let field = |name: &str| out.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix('=')).map(str::to_owned);
    Some(Signature {
        uuid: field("UUID"),
        fstype: field("TYPE"),
        label: field("LABEL"),
    })
}

fn smart_health(path: &str) -> String {
    // smartctl's exit status is a bit mask that is non-zero for a failing
    // disk too, so the JSON is read whatever the status.
    match std::process::Command::new("smartctl").args(["-H", "-j", path]).output() {
        Ok(out) => smart_verdict(&out.stdout),
        Err(_) => String::new(),
    }
}

/// "passed", "failing", or "" from `smartctl -H -j`'s JSON.
fn smart_verdict(json: &[u8]) -> String {
    let passed = serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v["smart_status"]["passed"].as_bool());
    match passed {
        Some(true) => "passed".into(),
        Some(false) => "failing".into(),
        None => String::new(),
    }
}

fn lsblk() -> Result<Vec<u8>, Error> {
    let out = std::process::Command::new("lsblk")
        .args([
            "--json",
            "--bytes",
            "--tree",
            "-o",
            "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,FSTYPE,MOUNTPOINTS,TRAN",
        ])
        .output()
        .map_err(Error::Lsblk)?;
    if !out.status.success() {
        return Err(Error::LsblkFailed(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(out.stdout)
}

/// A file system on a disk that is neither the system's nor the pool's:
/// where a backup can be, or go (a USB disk plugged into the box).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Volume {
    /// The partition, or the whole disk when it holds the file system itself.
    pub path: String,
    pub uuid: String,
    pub label: String,
    pub fstype: String,
    pub size_bytes: u64,
    /// The disk it is on.
    pub model: String,
    pub transport: String,
    /// Where it is mounted now.
    pub mountpoints: Vec<String>,
}

/// File systems a backup disk may carry: Linux's own, and what disks come
/// formatted with.
const VOLUME_TYPES: [&str; 7] = ["ext4", "ext3", "ext2", "btrfs", "xfs", "exfat", "vfat"];

/// Every volume in `scope` outside the pool, each probed on the device.
pub fn volumes(scope: &Scope) -> Result<Vec<Volume>, Error> {
    parse_volumes(&lsblk()?, scope, signature)
}

fn parse_volumes(json: &[u8], scope: &Scope, probe: impl Fn(&str) -> Option<Signature>) -> Result<Vec<Volume>, Error> {
    let listing: Listing = serde_json::from_slice(json)?;
    let mut found = Vec::new();
    for disk in listing
        .blockdevices
        .iter()
        .filter(|d| offered(d, scope.include_loop) && !d.has_system_mount())
    {
        let holders = if disk.children.is_empty() {
            std::slice::from_ref(disk)
        } else {
            &disk.children[..]
        };
        for part in holders {
            let Some(Signature {
                uuid: Some(uuid),
                fstype: Some(fstype),
                label,
            }) = probe(&part.path)
            else {
                continue;
            };
            if !VOLUME_TYPES.contains(&fstype.as_str()) || scope.pool_uuid.as_ref() == Some(&uuid) {
                continue;
            }
            found.push(Volume {
                path: part.path.clone(),
                uuid,
                label: label.unwrap_or_default(),
                fstype,
                size_bytes: part.size.unwrap_or(0),
                model: disk.model.clone().unwrap_or_default().trim().to_owned(),
                transport: disk.tran.clone().unwrap_or_default(),
                mountpoints: part.mountpoints.iter().flatten().cloned().collect(),
            });
        }
    }
    Ok(found)
}

/// Whole disks, not RAM disks or optical devices; loop devices only when asked for.
fn offered(d: &Device, include_loop: bool) -> bool {
    (d.kind == "disk" || (include_loop && d.kind == "loop"))
        && !d.path.starts_with("/dev/zram")
        && !d.path.starts_with("/dev/ram")
        && d.size.unwrap_or(0) > 0
}

/// Whole disks only: not partitions, RAM disks or optical devices, and loop
/// devices only when asked for.
fn parse(json: &[u8], include_loop: bool) -> Result<Vec<Disk>, Error> {
    let listing: Listing = serde_json::from_slice(json)?;
    Ok(listing
        .blockdevices
        .into_iter()
        .filter(|d| offered(d, include_loop))
        .map(|d| Disk {
            system: d.has_system_mount(),
            blank: d.children.is_empty() && d.fstype.is_none() && !d.mounted(),
            path: d.path,
            model: d.model.unwrap_or_default().trim().to_owned(),
            serial: d.serial.unwrap_or_default().trim().to_owned(),
            size_bytes: d.size.unwrap_or(0),
            transport: d.tran.unwrap_or_default(),
            in_pool: false,
            smart: String::new(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_disk_is_marked_and_blank_disks_are_told_apart() {
        let json = br#"{"blockdevices":[
          {"name":"mmcblk0","path":"/dev/mmcblk0","type":"disk","size":31914983424,"model":null,"serial":"0x1234","fstype":null,
           "mountpoints":[null],"tran":null,"children":[
             {"name":"mmcblk0p1","path":"/dev/mmcblk0p1","type":"part","size":268435456,"fstype":"vfat","mountpoints":["/boot/efi"]},
             {"name":"mmcblk0p2","path":"/dev/mmcblk0p2","type":"part","size":4294967296,"fstype":"ext4","mountpoints":["/"]}]},
          {"name":"sda","path":"/dev/sda","type":"disk","size":4000787030016,"model":"WDC WD40EFRX-68N ","serial":"WD-1","fstype":null,
           "mountpoints":[null],"tran":"usb"},
          {"name":"sdb","path":"/dev/sdb","type":"disk","size":2000398934016,"model":"ST2000","serial":"Z1","fstype":null,
           "mountpoints":[null],"tran":"sata","children":[{"name":"sdb1","path":"/dev/sdb1","type":"part","size":2000397885440,"fstype":"ntfs","mountpoints":[null]}]},
          {"name":"zram0","path":"/dev/zram0","type":"disk","size":1073741824,"mountpoints":["[SWAP]"]},
          {"name":"sr0","path":"/dev/sr0","type":"rom","size":1073741312,"mountpoints":[null]}
        ]}"#;
        let disks = parse(json, false).unwrap();
        let paths: Vec<&str> = disks.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/dev/mmcblk0", "/dev/sda", "/dev/sdb"]);
        assert!(disks[0].system && !disks[0].blank);
        assert!(!disks[1].system && disks[1].blank);
        assert_eq!((disks[1].model.as_str(), disks[1].transport.as_str()), ("WDC WD40EFRX-68N", "usb"));
        assert!(!disks[2].blank, "a disk with a partition holds data");
        let whole = br#"{"blockdevices":[{"name":"vda","path":"/dev/vda","type":"disk","size":1000,"fstype":null,"mountpoints":["/"]}]}"#;
        let vda = &parse(whole, false).unwrap()[0];
        assert!(vda.system && !vda.blank, "a disk mounted whole is neither free nor blank");
    }

    #[test]
    fn volumes_are_file_systems_outside_the_system_and_the_pool() {
        // What blkid finds on each device; udev's cache (lsblk's FSTYPE) may be absent.
        let probe = |path: &str| {
            let (uuid, fstype, label) = match path {
                "/dev/vda1" => ("B007", "vfat", ""),
                "/dev/vda2" => ("r00t", "ext4", ""),
                "/dev/sda1" => ("64B1-0F3A", "exfat", "PHOTOS"),
                "/dev/sda2" => ("5wap", "swap", ""),
                "/dev/sdb" => ("p00l", "btrfs", ""),
                "/dev/sdc" => ("wh0le", "ext4", ""),
                _ => return None,
            };
            Some(Signature {
                uuid: Some(uuid.into()),
                fstype: Some(fstype.into()),
                label: (!label.is_empty()).then(|| label.into()),
            })
        };
        let json = br#"{"blockdevices":[
          {"name":"vda","path":"/dev/vda","type":"disk","size":9000,"children":[
             {"name":"vda1","path":"/dev/vda1","type":"part","size":100,"mountpoints":["/boot"]},
             {"name":"vda2","path":"/dev/vda2","type":"part","size":8000,"mountpoints":["/"]}]},
          {"name":"sda","path":"/dev/sda","type":"disk","size":5000,"model":"Elements ","tran":"usb","mountpoints":[null],"children":[
             {"name":"sda1","path":"/dev/sda1","type":"part","size":4000,"mountpoints":[null]},
             {"name":"sda2","path":"/dev/sda2","type":"part","size":900,"mountpoints":[null]},
             {"name":"sda3","path":"/dev/sda3","type":"part","size":100,"mountpoints":[null]}]},
          {"name":"sdb","path":"/dev/sdb","type":"disk","size":7000,"tran":"sata","mountpoints":["/data/shoebox"]},
          {"name":"sdc","path":"/dev/sdc","type":"disk","size":3000,"tran":"usb","mountpoints":[null]}
        ]}"#;
        let scope = Scope {
            include_loop: false,
            pool_uuid: Some("p00l".into()),
        };
        let volumes = parse_volumes(json, &scope, probe).unwrap();
        let found: Vec<(&str, &str, &str)> = volumes
            .iter()
            .map(|v| (v.path.as_str(), v.uuid.as_str(), v.fstype.as_str()))
            .collect();
        assert_eq!(found, [("/dev/sda1", "64B1-0F3A", "exfat"), ("/dev/sdc", "wh0le", "ext4")]);
        assert_eq!(
            (volumes[0].label.as_str(), volumes[0].model.as_str(), volumes[0].transport.as_str()),
            ("PHOTOS", "Elements", "usb")
        );
        assert!(volumes[0].mountpoints.is_empty());
    }

    #[test]
    fn smart_health_is_read_from_smartctl_json() {
        let passing = br#"{"smartctl":{"exit_status":0},"device":{"name":"/dev/sda"},"smart_status":{"passed":true}}"#;
        let failing = br#"{"smartctl":{"exit_status":8},"smart_status":{"passed":false}}"#;
        let unsupported = br#"{"smartctl":{"exit_status":4,"messages":[{"string":"Unable to detect device type"}]}}"#;
        assert_eq!(smart_verdict(passing), "passed");
        assert_eq!(smart_verdict(failing), "failing");
        assert_eq!(smart_verdict(unsupported), "");
        assert_eq!(smart_verdict(b"not json"), "");
    }

    #[test]
    fn this_machine_lists_and_its_system_disk_is_found() {
        let disks = list(&Scope::default()).unwrap();
        assert!(disks.iter().filter(|d| d.system).count() <= disks.len());
    }
}
