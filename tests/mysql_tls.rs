//! MySQL over TLS: a private MariaDB server that requires secure transport, with a CA and
//! a server certificate made here by openssl, serves the query component with
//! `ssl-mode=REQUIRED` and `VERIFY_IDENTITY` (against that CA), and refuses plaintext.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cafe_report_capabilities::sql::MysqlBackend;
use cafe_report_tests::{FIXED_NOW, Harness, Options};
use serde_json::json;

fn run(command: &mut Command) {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA, and a server certificate it signs for 127.0.0.1 and localhost.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=cafe-report test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
}

/// A MariaDB server of its own, stopped when dropped.
struct PrivateMariaDb {
    child: Child,
    port: u16,
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_mariadb_requiring_tls(dir: &Path) -> PrivateMariaDb {
    let data = dir.join("data");
    let socket = dir.join("mariadb.sock");
    let as_root = nix_is_root();
    let mut install = Command::new("mariadb-install-db");
    install.args([
        "--no-defaults",
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
    ]);
    install.arg(format!("--datadir={}", data.display()));
    if as_root {
        install.arg("--user=root");
    }
    run(&mut install);
    let port = free_port();
    let mut server = Command::new("mariadbd");
    server
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
        .arg(format!("--log-error={}", dir.join("error.log").display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--ssl-ca={}", dir.join("ca.pem").display()))
        .arg(format!("--ssl-cert={}", dir.join("server.pem").display()))
        .arg(format!(
            "--ssl-key={}",
            dir.join("server-key.pem").display()
        ))
        .arg("--require-secure-transport=ON")
        .arg("--innodb-buffer-pool-size=16M")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if as_root {
        server.arg("--user=root");
    }
    let server = PrivateMariaDb {
        child: server.spawn().expect("mariadbd starts"),
        port,
    };
    let started = Instant::now();
    while !socket.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "mariadbd did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The socket is secure transport: make the test's user and database through it.
    run(Command::new("mariadb")
        .arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        .args(["-u", "root", "-e"])
        .arg(
            "CREATE DATABASE COFFEE CHARACTER SET utf8mb4; \
             CREATE USER 'cafe'@'127.0.0.1' IDENTIFIED BY 'tls-test'; \
             GRANT ALL ON COFFEE.* TO 'cafe'@'127.0.0.1';",
        ));
    server
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_requiring_tls_serves_query_over_tls_and_refuses_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let server = start_mariadb_requiring_tls(dir.path());
    let base = format!("mysql://cafe:tls-test@127.0.0.1:{}/COFFEE", server.port);
    let ca = dir.path().join("ca.pem");

    let required = format!("{base}?ssl-mode=REQUIRED");
    MysqlBackend::new(&required)
        .unwrap()
        .reset_and_seed()
        .await
        .expect("seeding over TLS");
    let verified = format!("{base}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca.display());
    for url in [required, verified] {
        let h = Harness::with(Options {
            sql_url: Some(url.clone()),
            now: Some(FIXED_NOW),
            ..Options::default()
        })
        .await;
        let inventory = h.run("query", &json!({})).await.unwrap();
        assert_eq!(inventory["totals"]["beans"], 18, "{url}");
    }

    // Plaintext over TCP: the server refuses (on loopback, no ssl-mode means plaintext;
    // prefer_socket=false keeps mysql_async from moving to the Unix socket, which is
    // secure transport).
    let err = MysqlBackend::new(&format!("{base}?prefer_socket=false"))
        .unwrap()
        .reset_and_seed()
        .await
        .unwrap_err();
    // MariaDB 10.11 answers an insecure login under require_secure_transport as a failed
    // one (1045); the same user and password succeeded above over TLS.
    assert!(
        format!("{err:#}").contains("ERROR 1045 (28000): Access denied for user 'cafe'"),
        "{err:#}"
    );
    // Verifying against the public roots: this CA is not one of them.
    let err = MysqlBackend::new(&format!("{base}?ssl-mode=VERIFY_CA"))
        .unwrap()
        .reset_and_seed()
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").to_lowercase().contains("certificate"),
        "{err:#}"
    );
}
