//! The real service on a private dbus-daemon that loads the project's own
//! bus policy: root may call it, any other user is refused by the bus.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use shoebox_storaged::disks::Disk;
use shoebox_storaged::private_bus::PrivateBus;
use shoebox_storaged::service::{BUS_NAME, OBJECT_PATH};

#[tokio::test]
async fn root_lists_disks_and_other_users_are_refused_by_the_bus() {
    if !shoebox_storaged::testing::is_root() {
        eprintln!("SKIPPED: needs root (the project's bus policy lets only root own {BUS_NAME})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    let bus = PrivateBus::start(dir.path(), &policy).expect("dbus-daemon is missing: run ci/install-test-deps.sh");
    let address = bus.address.clone();
    let _service = bus.run_service(Path::new(env!("CARGO_BIN_EXE_shoebox-storaged")), &[]).unwrap();

    let connection = zbus::connection::Builder::address(address.as_str()).unwrap().build().await.unwrap();
    let reply = connection
        .call_method(Some(BUS_NAME), OBJECT_PATH, Some(BUS_NAME), "ListDisks", &())
        .await
        .unwrap();
    let disks: Vec<Disk> = reply.body().deserialize().unwrap();
    assert_eq!(
        disks,
        shoebox_storaged::disks::list(&Default::default()).unwrap(),
        "the service reports what lsblk reports"
    );

    // User "nobody": the bus refuses the call before the service sees it.
    let refused = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "busctl"])
        .arg(format!("--address={address}"))
        .args(["call", BUS_NAME, OBJECT_PATH, BUS_NAME, "ListDisks"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("Access denied") || message.contains("AccessDenied"), "{message}");
}
