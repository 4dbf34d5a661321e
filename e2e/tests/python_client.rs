//! The official Python `kubernetes` client (PyPI, 33.x) against real
//! `mars server` processes.
//!
//! The client is installed once into a virtualenv under the Cargo target
//! directory (`<target>/python-venv`, reused while it imports), with
//! `python3 -m venv` and `pip install`. CI reaches PyPI, so a failed install
//! fails the test, loudly: nothing here skips.
//!
//! The scenarios live in `tests/python/client_suite.py`, which asserts what
//! a real kube-apiserver answers and exits non-zero with what differed. Each
//! test below runs some of them against a fresh server with `KUBECONFIG`
//! pointing at the admin kubeconfig the server wrote.
//!
//! The script can ask the harness for things a client cannot do: on a line
//! `@@MARS compact-restart` this harness compacts the store's history (as
//! kube-apiserver's compactor does) and restarts the server, then answers
//! `ok` on the script's stdin.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mars_e2e::{MarsServer, require_program};

/// What pip installs: the client generated for Kubernetes 1.33.
const CLIENT_REQUIREMENT: &str = "kubernetes>=33,<34";

/// No suite run may take longer than this.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The Cargo target directory this test binary was built into
/// (`<target>/<profile>/deps/<test>`).
fn target_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .context("test binary is not inside a target directory")
}

fn run_logged(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("{what} failed ({}):\n{stdout}\n{stderr}", output.status);
    }
    Ok(stdout)
}

/// The virtualenv's python, with the `kubernetes` client installed: made
/// once per target directory, under a lock so concurrent tests share it.
fn python_with_client() -> anyhow::Result<PathBuf> {
    let target = target_dir()?;
    std::fs::create_dir_all(&target)?;
    let lock = File::create(target.join("python-venv.lock"))?;
    lock.lock().context("cannot lock the python venv")?;

    let venv = target.join("python-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join("mars-client-ready");
    let imports = |python: &Path| {
        Command::new(python)
            .args(["-c", "import kubernetes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready.exists() && imports(&python) {
        return Ok(python);
    }

    let python3 = require_program("python3", "python3 python3-venv")?;
    eprintln!(
        "creating {} and installing {CLIENT_REQUIREMENT}",
        venv.display()
    );
    run_logged(
        Command::new(&python3)
            .arg("-m")
            .arg("venv")
            .arg("--clear")
            .arg(&venv),
        "python3 -m venv (Debian: apt-get install python3-venv)",
    )?;
    let pip = |requirement: &str| {
        run_logged(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
                .arg(requirement),
            &format!("pip install {requirement}"),
        )
    };
    if let Err(pinned) = pip(CLIENT_REQUIREMENT) {
        // Newer Pythons may have no 33.x wheel: take the newest client.
        pip("kubernetes").map_err(|newest| {
            anyhow::anyhow!(
                "pip could not install the Python kubernetes client (this test needs PyPI and does \
                 not skip):\n{pinned:#}\n{newest:#}"
            )
        })?;
    }
    let version = run_logged(
        Command::new(&python).args(["-c", "import kubernetes; print(kubernetes.__version__)"]),
        "import kubernetes",
    )?;
    std::fs::write(&ready, version.trim())?;
    eprintln!("installed kubernetes {}", version.trim());
    Ok(python)
}

fn suite_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client_suite.py")
}

/// What the harness does for the script's `@@MARS compact-restart`:
/// compact the store to its current revision, then restart the server on
/// the same data directory and ports.
fn compact_and_restart(server: &mut MarsServer) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let endpoint = server.endpoint();
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([endpoint], None).await?;
        let revision = client
            .status()
            .await?
            .header()
            .context("status without a header")?
            .revision();
        client
            .compact(
                revision,
                Some(etcd_client::CompactionOptions::new().with_physical()),
            )
            .await?;
        anyhow::Ok(())
    })?;
    // Closes the etcd connection, which would otherwise hold up the drain.
    drop(runtime);
    let status = server.terminate()?;
    if !status.success() {
        bail!(
            "mars exited with {status} on SIGTERM\n{}",
            server.log_tail()
        );
    }
    server.spawn()
}

/// Waits for the server's admin kubeconfig: the API port accepts
/// connections a moment before the file is written.
fn wait_for_kubeconfig(server: &MarsServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(server.kubeconfig()).unwrap_or_default();
        if text.contains("client-key-data") && text.contains("current-context") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no admin kubeconfig at {} within 30 s\n{}",
            server.kubeconfig().display(),
            server.log_tail()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the suite's `scenarios` against `server`; fails with the script's
/// transcript, its stderr and the server's log when it fails.
fn run_suite(server: &mut MarsServer, scenarios: &[&str], env: &[(&str, &str)]) {
    let python = python_with_client().unwrap();
    wait_for_kubeconfig(server);
    let mut child = Command::new(&python)
        .arg("-u")
        .arg(suite_script())
        .args(scenarios)
        .env("KUBECONFIG", server.kubeconfig())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start python");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let deadline = Instant::now() + RUN_LIMIT;
    let mut transcript = String::new();
    let mut harness_error = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                println!("{line}");
                transcript.push_str(&line);
                transcript.push('\n');
                if line == "@@MARS compact-restart" {
                    let reply = match compact_and_restart(server) {
                        Ok(()) => "ok".to_string(),
                        Err(error) => {
                            let message = format!("{error:#}");
                            harness_error = Some(message.clone());
                            format!("failed: {}", message.replace('\n', " "))
                        }
                    };
                    let _ = writeln!(stdin, "{reply}");
                    let _ = stdin.flush();
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the python suite {scenarios:?} did not finish within {RUN_LIMIT:?}\n\
                     {transcript}\n--- server log ---\n{}",
                    server.log_tail()
                );
            }
        }
    }
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap_or_default();
    if let Some(error) = harness_error {
        panic!("the harness could not compact and restart the server: {error}\n{transcript}");
    }
    assert!(
        status.success(),
        "the python kubernetes client suite {scenarios:?} failed ({status}):\n{transcript}\n\
         --- stderr ---\n{stderr}\n--- server log ---\n{}",
        server.log_tail()
    );
}

#[test]
fn python_client_version_and_crud() {
    let mut server = MarsServer::start().unwrap();
    run_suite(
        &mut server,
        &[
            "version",
            "configmap-crud",
            "deployment-crud",
            "deployment-defaults",
        ],
        &[],
    );
}

#[test]
fn python_client_selectors_and_pagination() {
    let mut server = MarsServer::start().unwrap();
    run_suite(&mut server, &["selectors", "pagination"], &[]);
}

#[test]
fn python_client_watch_resume_and_gone() {
    // A short bookmark interval, so an idle watch gets a bookmark in time.
    let mut server = MarsServer::start_with(&["--watch-bookmark-interval", "1s"]).unwrap();
    run_suite(&mut server, &["watch", "gone"], &[("MARS_BOOKMARKS", "1")]);
}
