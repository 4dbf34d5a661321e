//! Harness for black-box tests: starts real `mars server` processes and a
//! real etcd (Debian's `etcd-server`) on free loopback ports, each in its own
//! temporary directory, and stops them when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub mod etcd_api;
pub mod kubectl;
pub mod raft_cluster;

/// A free TCP port on 127.0.0.1 (the OS picks it; a tiny race is accepted).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The `mars` binary built alongside the tests (`target/<profile>/mars`),
/// or `$MARS_BIN`.
pub fn mars_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("MARS_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> → target/<profile>/mars
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test binary has no target directory")?;
    let mars = profile_dir.join("mars");
    if !mars.exists() {
        bail!(
            "{} not found: build it first (cargo build -p mars) or set MARS_BIN",
            mars.display()
        );
    }
    Ok(mars)
}

/// Looks a program up on PATH, with an install hint when it is missing.
pub fn require_program(name: &str, debian_package: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("{name} is not installed: apt-get install {debian_package} (the test command does this)")
}

/// Polls a TCP address until it accepts connections.
pub fn wait_for_port(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("nothing listened on 127.0.0.1:{port} within {timeout:?}")
}

/// A `mars server` process with its own data directory.
pub struct MarsServer {
    pub port: u16,
    /// Port of the Kubernetes API (HTTPS).
    pub api_port: u16,
    pub data_dir: PathBuf,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
    extra_args: Vec<String>,
    /// Whether the Kubernetes API is served (`false`: `--no-api`).
    api: bool,
}

/// Polls `done` every 200 ms until it holds; panics after `timeout`,
/// naming `what` it waited for.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: timed out after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Flags that leave out everything beside the API server: the tests of the
/// API's own semantics see only what they create.
pub const API_ONLY: &[&str] = &[
    "--controllers=",
    "--disable-scheduler",
    "--simulate-nodes=0",
];

/// Flags for the all-in-one default (what `mars server` runs without
/// flags): every controller, the scheduler and simulated nodes.
pub const ALL_IN_ONE: &[&str] = &[
    "--controllers=*",
    "--disable-scheduler=false",
    "--simulate-nodes=1",
];

impl MarsServer {
    /// Starts a server on a fresh data directory.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&[])
    }

    /// Starts a server serving only the etcd API (`--no-api`): an empty
    /// store, for tests of the store itself.
    pub fn store_only() -> anyhow::Result<Self> {
        Self::store_only_with(&[])
    }

    /// [`MarsServer::store_only`] with extra command-line flags.
    pub fn store_only_with(extra_args: &[&str]) -> anyhow::Result<Self> {
        Self::launch(extra_args, false)
    }

    /// Starts a server with extra command-line flags.
    pub fn start_with(extra_args: &[&str]) -> anyhow::Result<Self> {
        Self::launch(extra_args, true)
    }

    fn launch(extra_args: &[&str], api: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut server = Self {
            port: free_port()?,
            api_port: free_port()?,
            data_dir: dir.path().join("data"),
            child: None,
            _dir: Some(dir),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            api,
        };
        server.spawn()?;
        Ok(server)
    }

    /// `host:port` of the etcd API (etcdctl's scheme-less endpoint form).
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://host:port` of the etcd API.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process on the same data directory and port.
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut command = Command::new(mars_binary()?);
        command
            .arg("server")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--etcd-listen")
            .arg(self.endpoint());
        if self.api {
            // The API alone, unless a test asks for the controllers, the
            // scheduler or simulated nodes (later flags override these).
            command
                .arg("--api-listen")
                .arg(format!("127.0.0.1:{}", self.api_port))
                .args(API_ONLY);
        } else {
            command.arg("--no-api");
        }
        let child = command
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start mars")?;
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(30)).with_context(|| self.log_tail())?;
        if self.api {
            wait_for_port(self.api_port, Duration::from_secs(30))
                .with_context(|| self.log_tail())?;
        }
        Ok(())
    }

    /// The admin kubeconfig the server wrote on start.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("kubeconfig.yaml")
    }

    /// `https://127.0.0.1:port` of the Kubernetes API.
    pub fn api_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.api_port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir.with_file_name("mars.log")
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends a signal (`STOP`, `CONT`, ...) with `kill`.
    pub fn signal(&self, name: &str) -> anyhow::Result<()> {
        let pid = self.pid().context("server not running")?;
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()?;
        if !status.success() {
            bail!("kill -{name} {pid} failed");
        }
        Ok(())
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM, then waits for a clean exit; returns the exit status.
    pub fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("server not running")?;
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                child.kill()?;
                bail!("mars did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MarsServer {
    fn drop(&mut self) {
        let _ = self.kill();
        // A failed test's server log outlives its temporary directory when
        // MARS_E2E_LOG_DIR says where to keep it.
        if std::thread::panicking()
            && let Some(dir) = std::env::var_os("MARS_E2E_LOG_DIR")
        {
            let name = format!("mars-{}-{}.log", std::process::id(), self.api_port);
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::copy(self.log_path(), std::path::Path::new(&dir).join(name));
        }
    }
}

/// A real single-member etcd (fsync on, as by default) in a temporary directory.
pub struct EtcdServer {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl EtcdServer {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&[])
    }

    /// Starts etcd with extra command-line flags.
    pub fn start_with(extra_args: &[&str]) -> anyhow::Result<Self> {
        let etcd = require_program("etcd", "etcd-server")?;
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let peer = free_port()?;
        let client_url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log"))?;
        let child = Command::new(etcd)
            .arg("--name=default")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=default={peer_url}"))
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start etcd")?;
        let server = Self {
            port,
            child,
            _dir: dir,
        };
        wait_for_port(port, Duration::from_secs(30))?;
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
