//! The client proxy `shoeboxd` uses to call the service.

use crate::backup;
use crate::backup_disks::BackupDisk;
use crate::disks::Disk;
use crate::pool::Status;
use crate::service::Plan;
use crate::snapshots::Snapshot;

#[zbus::proxy(
    interface = "org.shoebox.Storage1",
    default_service = "org.shoebox.Storage1",
    default_path = "/org/shoebox/Storage1",
    gen_blocking = false
)]
pub trait Storage1 {
    fn list_disks(&self) -> zbus::Result<Vec<Disk>>;
    fn list_backup_disks(&self) -> zbus::Result<Vec<BackupDisk>>;
    fn plan_pool(&self, disks: &[&str], profile: &str) -> zbus::Result<Plan>;
    fn create_pool(&self, disks: &[&str], profile: &str, token: &str) -> zbus::Result<()>;
    fn pool_status(&self) -> zbus::Result<Status>;
    fn start_scrub(&self) -> zbus::Result<()>;
    fn plan_add_disk(&self, disk: &str) -> zbus::Result<Plan>;
    fn add_disk(&self, disk: &str, token: &str) -> zbus::Result<()>;
    fn plan_replace(&self, devid: u64, disk: &str) -> zbus::Result<Plan>;
    fn replace_disk(&self, devid: u64, disk: &str, token: &str) -> zbus::Result<()>;
    fn snapshot_now(&self, trigger: &str) -> zbus::Result<String>;
    fn list_snapshots(&self) -> zbus::Result<Vec<Snapshot>>;
    fn configure_backup(&self, repository: &str, password: &str) -> zbus::Result<String>;
    fn change_backup_key(&self) -> zbus::Result<String>;
    fn backup_now(&self, trigger: &str) -> zbus::Result<String>;
    fn backup_status(&self) -> zbus::Result<backup::Status>;
    fn stage_restore(&self, repository: &str, password: &str, parts: &[&str]) -> zbus::Result<backup::Latest>;
    fn drill_restore(&self) -> zbus::Result<backup::Latest>;
    fn reboot(&self) -> zbus::Result<()>;

    #[zbus(signal)]
    fn backup_progress(&self, done_bytes: u64, total_bytes: u64) -> zbus::Result<()>;
    #[zbus(signal)]
    fn backup_finished(&self, outcome: backup::Outcome) -> zbus::Result<()>;

    #[zbus(property)]
    fn version(&self) -> zbus::Result<u32>;
}
