//! The real service on a private dbus-daemon that loads the project's own
//! bus policy: root may call it, any other user is refused by the bus.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use shoebox_storaged::disks::Disk;
use shoebox_storaged::service::{BUS_NAME, OBJECT_PATH};

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A bus whose only policies are a permissive base and the project's file.
fn private_bus(dir: &Path) -> (Running, String) {
    let policy_dir = dir.join("system.d");
    std::fs::create_dir_all(&policy_dir).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    std::fs::copy(&policy, policy_dir.join("org.shoebox.Storage1.conf")).unwrap();
    let config = dir.join("bus.conf");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  <includedir>{}</includedir>
</busconfig>"#,
            dir.display(),
            policy_dir.display()
        ),
    )
    .unwrap();
    let mut daemon = Command::new("dbus-daemon")
        .args(["--nofork", "--print-address"])
        .arg(format!("--config-file={}", config.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon is missing: run ci/install-test-deps.sh");
    let mut address = String::new();
    BufReader::new(daemon.stdout.take().unwrap()).read_line(&mut address).unwrap();
    (Running(daemon), address.trim().to_owned())
}

fn start_service(address: &str) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoebox-storaged"))
        .args(["--bus-address", address])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("shoebox-storaged exited before serving").unwrap();
        if line.contains("serving") {
            break;
        }
    }
    // Keep reading its log so it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Running(child)
}

#[tokio::test]
async fn root_lists_disks_and_other_users_are_refused_by_the_bus() {
    if !is_root() {
        eprintln!("SKIPPED: needs root (the project's bus policy lets only root own {BUS_NAME})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_bus, address) = private_bus(dir.path());
    let _service = start_service(&address);

    let connection = zbus::connection::Builder::address(address.as_str()).unwrap().build().await.unwrap();
    let reply = connection
        .call_method(Some(BUS_NAME), OBJECT_PATH, Some(BUS_NAME), "ListDisks", &())
        .await
        .unwrap();
    let disks: Vec<Disk> = reply.body().deserialize().unwrap();
    assert_eq!(
        disks,
        shoebox_storaged::disks::list().unwrap(),
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
