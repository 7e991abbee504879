//! Starting `cafe-report serve` and talking to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `cafe-report serve`; killed when dropped.
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT` of the API.
    pub api: String,
    /// The embedded S3 endpoint.
    pub objects: String,
    /// `http://127.0.0.1:PORT` of the Step Functions API (none for a baseline binary).
    pub sfn: Option<String>,
    /// Its data directory.
    pub data: PathBuf,
    log: PathBuf,
    pub http: reqwest::Client,
    /// The bearer token requests carry: an administrator's, made before starting.
    pub token: String,
    dir: PathBuf,
}

/// Starts `command`. A binary file just written (a copy) can refuse to start for a
/// moment with ETXTBSY while another test's fork still holds its write descriptor; the
/// start is tried again then.
pub fn spawn(command: &mut Command) -> Child {
    for _ in 0..50 {
        match command.spawn() {
            Err(err) if err.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(50));
            }
            started => return started.expect("starting cafe-report"),
        }
    }
    panic!("the binary stayed busy (ETXTBSY)")
}

/// Running as an unprivileged user (`nobody`), for tests of what a file's permissions
/// refuse: these tests run as root, whom no permission stops. The binary and the
/// components are placed where that user can reach them, and the data directory is
/// given to it before each start.
pub struct Unprivileged {
    binary: PathBuf,
    components: PathBuf,
    uid: u32,
}

impl Unprivileged {
    /// Prepares `dir` (which becomes traversable) for `nobody` (65534).
    pub fn prepare(dir: &Path) -> Unprivileged {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let binary = bin.join("cafe-report");
        // A hard link shares the inode, readable through this path whatever the build
        // directory's mode; another filesystem needs a copy.
        if std::fs::hard_link(crate::common::binary(), &binary).is_err() {
            std::fs::copy(crate::common::binary(), &binary).unwrap();
        }
        let components = dir.join("components");
        std::fs::create_dir_all(&components).unwrap();
        for entry in std::fs::read_dir(components_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "wasm") {
                std::fs::copy(&path, components.join(path.file_name().unwrap())).unwrap();
            }
        }
        Unprivileged {
            binary,
            components,
            uid: 65534,
        }
    }

    /// The binary as this user, its data directory `data` made the user's first.
    fn command(&self, data: &Path) -> Command {
        use std::os::unix::process::CommandExt;
        chown_all(data, self.uid);
        let mut command = crate::common::clean_command(&self.binary);
        command.uid(self.uid).gid(self.uid).env("HOME", data);
        command
    }
}

fn chown_all(path: &Path, id: u32) {
    std::os::unix::fs::chown(path, Some(id), Some(id)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_all(&entry.unwrap().path(), id);
        }
    }
}

/// The administrator every started server has.
pub const ADMIN: (&str, &str) = ("root", "root@example.com");

/// `cafe-report users ARGS` over `dir/data`; its stdout (a token, for `add` and `token`).
pub fn users(dir: &Path, args: &[&str]) -> String {
    let output = crate::common::cafe_report()
        .current_dir(dir)
        .env("CAFE_REPORT_DATA_DIR", dir.join("data"))
        .arg("users")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "users {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

pub use crate::common::components_dir;

impl Serve {
    /// Starts the binary over `dir/data` with `env` set (and nothing from the ambient
    /// environment), and waits until it prints its addresses.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Serve {
        Self::launch(dir, env, None, None)
    }

    /// [`Serve::start`], the process running as `account`'s user (see [`Unprivileged`]).
    pub fn start_as(dir: &Path, env: &[(&str, &str)], account: Option<&Unprivileged>) -> Serve {
        Self::launch(dir, env, account, None)
    }

    /// [`Serve::start`] of another `cafe-report` binary (a benchmark's baseline).
    #[allow(dead_code)] // used by benches/load.rs, which shares this file
    pub fn start_binary(dir: &Path, env: &[(&str, &str)], binary: &Path) -> Serve {
        Self::launch(dir, env, None, Some(binary))
    }

    fn launch(
        dir: &Path,
        env: &[(&str, &str)],
        account: Option<&Unprivileged>,
        binary: Option<&Path>,
    ) -> Serve {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let token = if data.join("users.db").exists() {
            users(dir, &["token", ADMIN.0])
        } else {
            users(dir, &["add", ADMIN.0, "--email", ADMIN.1, "--admin"])
        };
        let log = dir.join(format!("serve-{}.log", crate::server::unique()));
        let mut command = match (account, binary) {
            (Some(account), _) => account.command(&data),
            (None, Some(binary)) => crate::common::clean_command(binary),
            (None, None) => crate::common::cafe_report(),
        };
        let components = account.map_or_else(components_dir, |a| a.components.clone());
        command
            .current_dir(dir)
            .env("CAFE_REPORT_DATA_DIR", &data)
            .env("CAFE_REPORT_COMPONENTS_DIR", components)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        // A baseline binary (before the Step Functions API) has no such flag.
        if binary.is_none() {
            let sfn_listen = env
                .iter()
                .find(|(name, _)| *name == "CAFE_REPORT_SFN_LISTEN")
                .map_or("127.0.0.1:0", |(_, value)| value);
            command.args(["--sfn-listen", sfn_listen]);
        }
        let mut child = spawn(&mut command);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut address = |label: &str| -> String {
            let line = lines.next().and_then(Result::ok).unwrap_or_else(|| {
                panic!(
                    "serve ended early: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
            line.strip_prefix(label)
                .unwrap_or_else(|| panic!("expected {label:?}, got {line:?}"))
                .trim()
                .to_string()
        };
        let api = address("API:");
        let objects = address("Objects:");
        let sfn = binary.is_none().then(|| address("SFN:"));
        Serve {
            child,
            api,
            objects,
            sfn,
            data,
            log,
            http: reqwest::Client::new(),
            token,
            dir: dir.to_path_buf(),
        }
    }

    /// Adds a user to this server's data directory; returns their token.
    pub fn add_user(&self, name: &str, email: &str) -> String {
        users(&self.dir, &["add", name, "--email", email])
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process ends with no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits up to `limit` for the process to end.
    pub fn terminate(mut self, limit: Duration) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within {limit:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POST /create_report with `body` as the administrator; returns the status and
    /// the JSON answer.
    pub async fn create_report(&self, query: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        self.create_report_as(&self.token, query, body).await
    }

    /// POST /create_report with `body` and `token`.
    pub async fn create_report_as(
        &self,
        token: &str,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        json_answer(self.post_report(token, query, body).await).await
    }

    /// POST /create_report with `body` and `token`: the whole response, headers and all.
    pub async fn post_report(
        &self,
        token: &str,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/create_report{query}", self.api))
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The names `GET path` (a listing) answers, in its order.
    pub async fn listed_names(&self, path: &str) -> Vec<String> {
        let (_, list) = self.get(path).await;
        list["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// GET a path of the API as the administrator; returns the status and the JSON
    /// answer.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(&self.token, path).await
    }

    /// GET a path of the API with `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.api))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        json_answer(response).await
    }

    /// Starts a report and returns its execution ARN.
    pub async fn start_report(&self, name: &str, input: Value) -> String {
        let (status, answer) = self
            .create_report(&format!("?name={name}"), input.to_string())
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["executionArn"].as_str().unwrap().to_string()
    }

    /// Polls DescribeExecution until the execution is no longer RUNNING.
    pub async fn wait_for_end(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, description) = self.get(&format!("/executions/{id}")).await;
            assert_eq!(status, 200, "{description}");
            if description["status"] != "RUNNING" {
                return description;
            }
            assert!(
                Instant::now() < deadline,
                "{id} still running: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for a successful end and returns the execution's output.
    pub async fn output_of(&self, id: &str) -> Value {
        let description = self.wait_for_end(id).await;
        assert_eq!(
            description["status"],
            "SUCCEEDED",
            "{description:#}\n{}",
            self.log()
        );
        serde_json::from_str(description["output"].as_str().unwrap()).unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn json_answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// A number unique in this test process.
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The supplier names in the embedded database a server used.
pub fn supplier_names(data: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data.join("coffee.db")).unwrap();
    let mut query = db.prepare("SELECT name FROM suppliers").unwrap();
    let names: Vec<String> = query
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(names.len() >= 5, "{names:?}");
    names
}

/// HTML text back to plain text (the entities a serializer writes).
pub fn unescape_html(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}
