//! Alerts, provoked for real: a nearly full disk (a small tmpfs) and a
//! failing off-site backup (the real shoebox-storaged on a loop-device
//! pool) reach the admins' notifications, an SMTP server (Debian's
//! aiosmtpd, started here, writing a Maildir) and a webhook receiver
//! started here; so does a RAID1 pool on loop devices that comes up with a
//! disk missing, and a restore drill of a backup whose pack file was
//! damaged. A SMART failure cannot be provoked here (loop devices have
//! no SMART): its rule is a unit test of `alerts`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;

use crate::backup::{Box, one_disk_box, run_backup};
use crate::common::schema;
use crate::common::{Server, eventually, send};
use serde_json::{Value, json};
use shoebox_storaged::testing::{LoopDisk, Unmount, can_make_pools, is_root};

/// Debian's aiosmtpd, delivering into a Maildir.
struct MailServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl MailServer {
    fn start(dir: &Path) -> MailServer {
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .spawn()
            .expect("python3: run ci/install-test-deps.sh (python3-aiosmtpd)");
        eventually("aiosmtpd to listen", || TcpStream::connect(("127.0.0.1", port)).is_ok());
        MailServer { child, port, maildir }
    }

    /// The messages delivered so far, as text.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries.flatten().map(|e| std::fs::read_to_string(e.path()).unwrap()).collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Answers every POST with 204 and hands its JSON body over.
struct Webhook {
    url: String,
    bodies: mpsc::Receiver<Value>,
}

impl Webhook {
    fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, bodies) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(body) = read_post(stream) {
                    let _ = tx.send(body);
                }
            }
        });
        Webhook { url, bodies }
    }

    /// Every body received by now: a delivery has finished when the check
    /// or test call that made it has answered.
    fn received(&self) -> Vec<Value> {
        self.bodies.try_iter().collect()
    }
}

fn read_post(mut stream: TcpStream) -> Option<Value> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n").ok()?;
    serde_json::from_slice(&body).ok()
}

fn deliver_to(s: &Server, admin: &str, mail: &MailServer, hook: &Webhook) {
    let settings = json!({
        "email": {
            "host": "127.0.0.1", "port": mail.port, "security": "none",
            "username": "", "password": "",
            "from": "Shoebox <box@example.org>", "to": "owner@example.org",
        },
        "webhook": { "url": hook.url },
    });
    let (status, body) = send(s.put("/api/shoebox/alerts/delivery").bearer_auth(admin).json(&settings));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn alert_channels_are_set_up_tested_and_refused_when_they_could_never_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let (mail, hook) = (MailServer::start(dir.path()), Webhook::start());
    let s = Server::start(&dir.path().join("data"));
    let admin = s.admin();
    deliver_to(&s, &admin, &mail, &hook);

    let (status, sent) = send(s.post("/api/shoebox/alerts/test").bearer_auth(&admin));
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["email"]["ok"], true, "{sent}");
    assert_eq!(sent["webhook"]["ok"], true, "{sent}");
    let messages = mail.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("Subject: [shoebox] Test alert"), "{}", messages[0]);
    assert!(messages[0].contains("To: owner@example.org"), "{}", messages[0]);
    let bodies = hook.received();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["alert"]["key"], "test");
    assert!(
        bodies[0]["text"].as_str().unwrap().starts_with("[shoebox] Test alert"),
        "{}",
        bodies[0]
    );

    // A password is kept, never shown, and kept again when the form sends it empty.
    let mut settings = send(s.get("/api/shoebox/alerts/delivery").bearer_auth(&admin)).1;
    assert_eq!(settings["email"]["passwordSet"], false);
    settings["email"]["username"] = json!("box");
    settings["email"]["password"] = json!("secret");
    settings["email"].as_object_mut().unwrap().remove("passwordSet");
    let (status, shown) = send(s.put("/api/shoebox/alerts/delivery").bearer_auth(&admin).json(&settings));
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (shown["email"]["password"].as_str(), shown["email"]["passwordSet"].as_bool()),
        (Some(""), Some(true))
    );
    settings["email"]["password"] = json!("");
    let (_, shown) = send(s.put("/api/shoebox/alerts/delivery").bearer_auth(&admin).json(&settings));
    assert_eq!(shown["email"]["passwordSet"], true, "an empty password keeps the stored one");

    let bad = json!({ "email": null, "webhook": { "url": "mailto:me@example.org" } });
    let (status, body) = send(s.put("/api/shoebox/alerts/delivery").bearer_auth(&admin).json(&bad));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("http://"), "{body}");

    // A receiver that is gone: the test says so, per channel.
    let closed = json!({ "email": null, "webhook": { "url": format!("http://127.0.0.1:{}/", free_port()) } });
    send(s.put("/api/shoebox/alerts/delivery").bearer_auth(&admin).json(&closed));
    let (_, sent) = send(s.post("/api/shoebox/alerts/test").bearer_auth(&admin));
    assert_eq!(sent["webhook"]["ok"], false, "{sent}");
    assert!(sent["webhook"]["error"].as_str().unwrap().contains("did not answer"), "{sent}");
    assert_eq!(sent["email"]["configured"], false, "{sent}");

    let member = s.user(&admin, "member@example.com");
    for path in ["/api/shoebox/alerts", "/api/shoebox/alerts/delivery"] {
        assert_eq!(s.get(path).bearer_auth(&member).send().unwrap().status(), 403, "{path}");
    }
}

fn open_alerts(s: &Server, admin: &str) -> Vec<Value> {
    let (status, open) = send(s.post("/api/shoebox/alerts/check").bearer_auth(admin));
    assert_eq!(status, 200, "{open}");
    open.as_array().unwrap().clone()
}

fn notifications(s: &Server, token: &str, query: &str) -> Vec<Value> {
    let (status, list) = send(s.get(&format!("/api/notifications{query}")).bearer_auth(token));
    assert_eq!(status, 200, "{list}");
    schema::check("get", "/notifications", 200, &list);
    list.as_array().unwrap().clone()
}

#[test]
fn a_nearly_full_disk_alerts_the_admins_once_and_clears_when_space_is_back() {
    if !is_root() {
        eprintln!("SKIPPED: the full-disk alert mounts a small tmpfs and needs root; run the suite as root to exercise it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mail, hook) = (MailServer::start(dir.path()), Webhook::start());
    let data = dir.path().join("small");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32m", "tmpfs", data.to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(mounted, "mounting a tmpfs failed");
    let _unmount = Unmount(data.clone());

    let s = Server::start(&data);
    let admin = s.admin();
    let member = s.user(&admin, "member@example.com");
    deliver_to(&s, &admin, &mail, &hook);
    assert!(open_alerts(&s, &admin).is_empty(), "an empty disk raises nothing");

    // Leave 2% of it free.
    let filler = data.join("filler");
    let (total, free) = space(&data);
    std::fs::write(&filler, vec![7u8; (free - total / 50) as usize]).unwrap();
    let open = open_alerts(&s, &admin);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["key"].as_str(), open[0]["level"].as_str()),
        (Some("storage-full"), Some("error"))
    );
    assert!(open[0]["message"].as_str().unwrap().contains("% used"), "{}", open[0]);
    assert_eq!(
        send(s.get("/api/shoebox/alerts").bearer_auth(&admin)).1.as_array().unwrap().len(),
        1
    );

    let mine = notifications(&s, &admin, "");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (mine[0]["title"].as_str(), mine[0]["type"].as_str()),
        (Some("Storage nearly full"), Some("SystemMessage"))
    );
    assert_eq!(mine[0]["data"]["alert"], "storage-full");
    assert!(notifications(&s, &member, "").is_empty(), "members are not told about the box");
    let messages = mail.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("Storage nearly full"), "{}", messages[0]);
    let bodies = hook.received();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["alert"]["key"], "storage-full");

    // Seen again: still one alert, no second email.
    assert_eq!(open_alerts(&s, &admin).len(), 1);
    assert_eq!(
        (mail.messages().len(), hook.received().len(), notifications(&s, &admin, "").len()),
        (1, 0, 1)
    );

    // Read, then space comes back: the alert clears, the notification stays.
    let id = mine[0]["id"].as_str().unwrap();
    let (status, read) = send(
        s.put(&format!("/api/notifications/{id}"))
            .bearer_auth(&admin)
            .json(&json!({ "readAt": "2026-12-03T10:00:00.000Z" })),
    );
    assert_eq!(status, 200, "{read}");
    schema::check("put", "/notifications/{id}", 200, &read);
    assert_eq!(read["readAt"], "2026-12-03T10:00:00.000Z");
    assert!(notifications(&s, &admin, "?unread=true").is_empty());
    assert_eq!(
        s.get(&format!("/api/notifications/{id}"))
            .bearer_auth(&member)
            .send()
            .unwrap()
            .status(),
        400
    );
    std::fs::remove_file(&filler).unwrap();
    assert!(open_alerts(&s, &admin).is_empty(), "space is back");
    assert_eq!(notifications(&s, &admin, "").len(), 1);
    let status = s
        .delete("/api/notifications")
        .bearer_auth(&admin)
        .json(&json!({ "ids": [id] }))
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 204);
    assert!(notifications(&s, &admin, "").is_empty());
}

fn space(path: &Path) -> (u64, u64) {
    let stat = nix::sys::statvfs::statvfs(path).unwrap();
    (stat.blocks() * stat.fragment_size(), stat.blocks_available() * stat.fragment_size())
}

#[test]
fn a_failed_off_site_backup_alerts_the_admins() {
    if !can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    let (mail, hook) = (MailServer::start(dir.path()), Webhook::start());
    let (storage, _unmount, _disk) = one_disk_box(dir.path());
    let s = storage.server();
    let admin = s.admin();
    deliver_to(&s, &admin, &mail, &hook);

    // The backup disk is set up, then unplugged.
    let repository = dir.path().join("usb-disk/backup");
    let target = json!({ "repository": repository, "password": "the kit's key" });
    let (status, body) = send(s.put("/api/shoebox/storage/backup").bearer_auth(&admin).json(&target));
    assert_eq!(status, 200, "{body}");
    std::fs::remove_dir_all(dir.path().join("usb-disk")).unwrap();
    let last = run_backup(&s, &admin);
    assert_eq!(last["last"]["ok"], false, "{last}");

    let open = open_alerts(&s, &admin);
    let backup: Vec<&Value> = open.iter().filter(|a| a["key"] == "backup").collect();
    assert_eq!(backup.len(), 1, "{open:?}");
    assert!(backup[0]["message"].as_str().unwrap().contains("usb-disk/backup"), "{}", backup[0]);
    let mine = notifications(&s, &admin, "?type=BackupFailed");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["level"], "error");
    assert!(
        mail.messages().iter().any(|m| m.contains("Off-site backup failed")),
        "{:?}",
        mail.messages()
    );
    assert!(hook.received().iter().any(|b| b["alert"]["key"] == "backup"));
}

#[test]
fn a_pool_that_lost_a_disk_alerts_the_admins() {
    if !can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (a, mut b) = (LoopDisk::new(dir.path(), "a.img"), LoopDisk::new(dir.path(), "b.img"));
    let _unmount = Unmount(dir.path().join("box"));
    let hook = Webhook::start();
    let mut storage = Box::with_pool(dir.path(), "box", &[&a, &b], "raid1");
    let s = storage.server();
    let admin = s.admin();
    let settings = json!({ "email": null, "webhook": { "url": hook.url } });
    send(s.put("/api/shoebox/alerts/delivery").bearer_auth(&admin).json(&settings));
    assert!(
        !open_alerts(&s, &admin).iter().any(|a| a["key"] == "pool:degraded"),
        "a healthy pool"
    );
    s.stop();

    storage.pull_disk(&mut b);
    let s = storage.server();
    let open = open_alerts(&s, &admin);
    let degraded: Vec<&Value> = open.iter().filter(|a| a["key"] == "pool:degraded").collect();
    assert_eq!(degraded.len(), 1, "{open:?}");
    assert!(
        degraded[0]["message"].as_str().unwrap().contains("1 of 2 disks answer"),
        "{}",
        degraded[0]
    );
    let mine = notifications(&s, &admin, "?level=error");
    assert!(mine.iter().any(|n| n["title"] == "A disk of the pool is missing"), "{mine:?}");
    assert!(hook.received().iter().any(|b| b["alert"]["key"] == "pool:degraded"));
}

/// Starts a restore drill and waits for its result.
fn drill(s: &Server, admin: &str) -> Value {
    let (status, body) = send(s.post("/api/shoebox/storage/backup/drill").bearer_auth(admin));
    assert_eq!(status, 202, "{body}");
    let mut now = Value::Null;
    eventually("the drill to finish", || {
        now = send(s.get("/api/shoebox/storage/backup/drill").bearer_auth(admin)).1;
        now["running"] == false
    });
    now["last"].clone()
}

#[test]
fn a_restore_drill_passes_on_a_healthy_backup_and_fails_with_an_alert_on_a_damaged_one() {
    if !can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    let hook = Webhook::start();
    let (storage, _unmount, _disk) = one_disk_box(dir.path());
    let s = storage.server();
    let admin = s.admin();
    let settings = json!({ "email": null, "webhook": { "url": hook.url } });
    send(s.put("/api/shoebox/alerts/delivery").bearer_auth(&admin).json(&settings));
    for name in ["NikonD70.jpg", "GPS.jpg"] {
        s.created(&admin, name, crate::common::fixture(name));
    }
    let repository = dir.path().join("usb-disk/backup");
    let target = json!({ "repository": repository, "password": "the kit's key" });
    let (status, body) = send(s.put("/api/shoebox/storage/backup").bearer_auth(&admin).json(&target));
    assert_eq!(status, 200, "{body}");
    assert_eq!(run_backup(&s, &admin)["last"]["ok"], true);
    let (_, schedule) = send(s.get("/api/shoebox/storage/backup/drill").bearer_auth(&admin));
    assert_eq!(
        (&schedule["everyDays"], &schedule["last"]),
        (&json!(30), &Value::Null),
        "monthly by default: {schedule}"
    );

    let healthy = drill(&s, &admin);
    assert_eq!(healthy["ok"], true, "{healthy}");
    assert_eq!((&healthy["assets"], &healthy["problemCount"]), (&json!(2), &json!(0)), "{healthy}");
    assert!(healthy["bytes"].as_u64().unwrap() > 0, "{healthy}");
    assert!(!storage.mount().join(".drill/library").exists(), "the scratch copy is removed");
    assert!(!open_alerts(&s, &admin).iter().any(|a| a["key"] == "backup:drill"));

    crate::backup::damage_a_pack(&repository);
    let failed = drill(&s, &admin);
    assert_eq!(failed["ok"], false, "{failed}");
    assert_ne!(failed["startedAt"], healthy["startedAt"], "a new drill");
    assert!(
        failed["error"].as_str().unwrap().contains("repository is damaged"),
        "it says what is wrong: {failed}"
    );
    let open = open_alerts(&s, &admin);
    let alert: Vec<&Value> = open.iter().filter(|a| a["key"] == "backup:drill").collect();
    assert_eq!(alert.len(), 1, "{open:?}");
    assert_eq!(alert[0]["title"], "Restore drill failed");
    assert!(
        notifications(&s, &admin, "?type=BackupFailed")
            .iter()
            .any(|n| n["title"] == "Restore drill failed")
    );
    assert!(hook.received().iter().any(|b| b["alert"]["key"] == "backup:drill"));

    let (status, schedule) = send(
        s.put("/api/shoebox/storage/backup/drill")
            .bearer_auth(&admin)
            .json(&json!({"everyDays": 7})),
    );
    assert_eq!((status, &schedule["everyDays"]), (200, &json!(7)), "{schedule}");
    let (status, _) = send(
        s.put("/api/shoebox/storage/backup/drill")
            .bearer_auth(&admin)
            .json(&json!({"everyDays": 0})),
    );
    assert_eq!(status, 400);
}
