//! shoebox-storaged: the privileged half of Shoebox. A root service on the
//! D-Bus system bus with narrow verbs (disks, the btrfs pool, snapshots;
//! off-site backup to come), so the web-facing `shoeboxd` never runs as root.

#![forbid(unsafe_code)]

pub mod backup;
pub mod backup_disks;
pub mod client;
pub mod command;
pub mod disks;
pub mod plans;
pub mod pool;
pub mod private_bus;
pub mod service;
pub mod snapshots;
pub mod testing;
