//! The client proxy `shoeboxd` uses to call the service.

use crate::disks::Disk;

#[zbus::proxy(
    interface = "org.shoebox.Storage1",
    default_service = "org.shoebox.Storage1",
    default_path = "/org/shoebox/Storage1",
    gen_blocking = false
)]
pub trait Storage1 {
    fn list_disks(&self) -> zbus::Result<Vec<Disk>>;

    #[zbus(property)]
    fn version(&self) -> zbus::Result<u32>;
}
