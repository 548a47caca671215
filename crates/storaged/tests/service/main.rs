//! The real shoebox-storaged on a private dbus-daemon with the project's
//! bus policy, driven over D-Bus. Most of it needs root (owning the bus
//! name, loop devices, btrfs) and says SKIPPED otherwise. One test binary.

mod common;

mod backup;
mod bus;
mod pool;
