//! A private dbus-daemon that loads the project's own bus policy, for
//! running the service (and testing it) without touching the system bus.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The running daemon; dropping it stops the daemon.
pub struct PrivateBus {
    pub address: String,
    daemon: Child,
}

impl PrivateBus {
    /// Starts a bus listening in `dir`, with a permissive base policy and
    /// `policy_file` (the project's `org.shoebox.Storage1.conf`) on top.
    pub fn start(dir: &Path, policy_file: &Path) -> std::io::Result<PrivateBus> {
        let policy_dir = dir.join("system.d");
        std::fs::create_dir_all(&policy_dir)?;
        std::fs::copy(policy_file, policy_dir.join("org.shoebox.Storage1.conf"))?;
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
        )?;
        let mut daemon = Command::new("dbus-daemon")
            .args(["--nofork", "--nosyslog", "--print-address"])
            .arg(format!("--config-file={}", config.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout is piped")).read_line(&mut address)?;
        if address.trim().is_empty() {
            let _ = daemon.kill();
            return Err(std::io::Error::other("dbus-daemon did not start: check its configuration"));
        }
        Ok(PrivateBus {
            address: address.trim().to_owned(),
            daemon,
        })
    }
}

impl PrivateBus {
    /// Runs `binary` (shoebox-storaged) on this bus with `args` added;
    /// returns once it serves.
    pub fn run_service(&self, binary: &Path, args: &[&str]) -> std::io::Result<Service> {
        let mut child = Command::new(binary)
            .args(["--bus-address", &self.address])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let service = Service(child);
        loop {
            let line = lines
                .next()
                .ok_or_else(|| std::io::Error::other("shoebox-storaged exited before serving"))??;
            if line.contains("serving") {
                break;
            }
        }
        // Keep reading its log so it never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(service)
    }
}

/// A running service; dropping it stops the service.
pub struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
