//! shoebox-storaged: the privileged half of Shoebox. A root service on the
//! D-Bus system bus with narrow verbs (list disks; pools, snapshots and
//! backup to come), so the web-facing `shoeboxd` never runs as root.

#![forbid(unsafe_code)]

pub mod client;
pub mod disks;
pub mod private_bus;
pub mod service;
