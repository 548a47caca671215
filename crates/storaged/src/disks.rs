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

/// What is written at the start of a device: a file system or a partition table.
#[derive(Debug, Default)]
pub struct Signature {
    pub uuid: Option<String>,
}

/// `None` when blkid finds nothing on the device.
pub fn signature(path: &str) -> Option<Signature> {
    let out = crate::command::probe("blkid", &["-p", "-o", "export", path])?;
    let uuid = out.lines().find_map(|l| l.strip_prefix("UUID=")).map(str::to_owned);
    Some(Signature { uuid })
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

/// Whole disks only: not partitions, RAM disks or optical devices, and loop
/// devices only when asked for.
fn parse(json: &[u8], include_loop: bool) -> Result<Vec<Disk>, Error> {
    let listing: Listing = serde_json::from_slice(json)?;
    Ok(listing
        .blockdevices
        .into_iter()
        .filter(|d| {
            (d.kind == "disk" || (include_loop && d.kind == "loop"))
                && !d.path.starts_with("/dev/zram")
                && !d.path.starts_with("/dev/ram")
                && d.size.unwrap_or(0) > 0
        })
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
