//! Starts the real `shoeboxd` binary on a temporary data folder and talks
//! HTTP to it, as a client on the network would.

pub mod schema;
pub mod sync;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder, Response, multipart};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";

pub struct Server {
    pub child: Child,
    pub url: String,
    pub client: Client,
}

impl Server {
    /// Starts a server on `data_dir` listening on a free loopback port.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shoeboxd"))
            .args([
                "--data-dir",
                data_dir.to_str().unwrap(),
                "--port",
                "0",
                "--listen",
                "127.0.0.1",
                "--log-format",
                "json",
            ])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("shoeboxd starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines.next().expect("shoeboxd exited before listening").unwrap();
            let entry: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if let Some(addr) = entry["fields"]["address"].as_str() {
                break addr.to_string();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            url: format!("http://{address}"),
            client: Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.client.put(format!("{}{path}", self.url))
    }
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.client.patch(format!("{}{path}", self.url))
    }
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(format!("{}{path}", self.url))
    }

    /// Creates the first admin and returns a session token.
    pub fn admin(&self) -> String {
        let r = self
            .post("/api/auth/admin-sign-up")
            .json(&json!({"email": "admin@example.com", "name": "Admin", "password": PASSWORD}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
        self.login("admin@example.com", PASSWORD)
    }

    /// A login attempt: (status, body).
    pub fn try_login(&self, email: &str, password: &str) -> (u16, Value) {
        send(self.post("/api/auth/login").json(&json!({"email": email, "password": password})))
    }

    pub fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self.try_login(email, password);
        assert_eq!(status, 201, "{body}");
        body["accessToken"].as_str().unwrap().to_string()
    }

    /// Creates a user (as the admin with `admin_token`) and logs in as them.
    pub fn user(&self, admin_token: &str, email: &str) -> String {
        let r = self
            .post("/api/admin/users")
            .bearer_auth(admin_token)
            .json(&json!({"email": email, "name": email, "password": PASSWORD}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap());
        self.login(email, PASSWORD)
    }

    /// Uploads `bytes` as `name` and returns (status, response body).
    pub fn upload(&self, token: &str, name: &str, bytes: Vec<u8>) -> (u16, Value) {
        let form = multipart::Form::new()
            .text("deviceAssetId", format!("{name}-id"))
            .text("deviceId", "test")
            .text("fileCreatedAt", "2001-02-03T04:05:06.000Z")
            .text("fileModifiedAt", "2001-02-03T04:05:06.000Z")
            .part("assetData", multipart::Part::bytes(bytes).file_name(name.to_string()));
        let r = self.post("/api/assets").bearer_auth(token).multipart(form).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Uploads `bytes` as `name`, expecting a new asset; returns its id.
    pub fn created(&self, token: &str, name: &str, bytes: Vec<u8>) -> String {
        let (status, body) = self.upload(token, name, bytes);
        assert_eq!((status, body["status"].as_str()), (201, Some("created")), "{name}: {body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// A small generated photo, different for each seed, uploaded; returns its id.
    pub fn photo(&self, token: &str, seed: u8) -> String {
        self.created(token, &format!("p{seed}.jpg"), jpeg(64, 48, seed))
    }

    /// The id of the user the token belongs to.
    pub fn user_id(&self, token: &str) -> String {
        send(self.get("/api/users/me").bearer_auth(token)).1["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn asset(&self, token: &str, id: &str) -> Value {
        let r = self.get(&format!("/api/assets/{id}")).bearer_auth(token).send().unwrap();
        assert_eq!(r.status(), 200);
        r.json().unwrap()
    }

    /// The ids a metadata search finds, its answer checked against the spec.
    pub fn found(&self, token: &str, filter: Value) -> Vec<String> {
        let (status, body) = send(self.post("/api/search/metadata").bearer_auth(token).json(&filter));
        schema::check("post", "/search/metadata", status, &body);
        body["assets"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits (server-side) until every background job has finished.
    pub fn wait_idle(&self, token: &str) {
        let (status, body) = send(self.get("/api/shoebox/jobs/wait-idle?timeoutSeconds=120").bearer_auth(token));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["idle"], true, "jobs did not finish: {body}");
    }

    /// The asset once its background jobs are done.
    pub fn settled(&self, token: &str, id: &str) -> Value {
        self.wait_idle(token);
        self.asset(token, id)
    }

    /// Failed jobs of one asset, with their errors.
    pub fn failures(&self, token: &str, id: &str) -> Vec<Value> {
        let (status, body) = send(self.get(&format!("/api/shoebox/assets/failures?assetId={id}")).bearer_auth(token));
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        signal(&self.child, "TERM");
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }

    /// Waits for the server to exit by itself.
    pub fn wait(mut self) -> std::process::ExitStatus {
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "could not signal shoeboxd");
}

/// A real camera image from ExifTool's test set (see ci/fetch-fixtures.sh).
pub fn fixture(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("SHOEBOX_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures/photos"));
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing ({e}): run ci/fetch-fixtures.sh first", path.display()))
}

/// A JPEG made in the test, large enough for real thumbnails.
pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, seed]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

pub fn send(r: RequestBuilder) -> (u16, Value) {
    let r: Response = r.send().unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Files under a folder, recursively (for "nothing left behind" checks).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_under(&path))
            } else {
                out.push(path)
            }
        }
    }
    out
}

/// Starts a multipart upload of `total` bytes over a raw socket and sends
/// only the first `sent` bytes of the file.
pub fn partial_upload(s: &Server, token: &str, total: usize, sent: usize) -> TcpStream {
    let boundary = "XBOUNDARYX";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"fileCreatedAt\"\r\n\r\n2020-01-01T00:00:00.000Z\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"assetData\"; filename=\"big.jpg\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() + total + tail.len();
    let addr = s.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/assets HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    )
    .unwrap();
    stream.write_all(&vec![0xAB; sent]).unwrap();
    stream.flush().unwrap();
    stream
}

/// Blocks until `cond` holds; the deadline only turns a hang into a failure.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
