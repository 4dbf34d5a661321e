//! The server side of `mars bench api`: a `mars server` it starts on a fresh
//! data directory (timing process start to `/readyz` answering 200), and the
//! resident memory of any server process, read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use http::{Method, StatusCode};

use super::client::{Api, Choice};

/// How long a start may take before the benchmark gives up.
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long a stop may take before the process is killed.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// Between two readiness probes.
const PROBE_EVERY: Duration = Duration::from_millis(2);

/// A `mars server` this benchmark started and owns.
pub struct Spawned {
    binary: PathBuf,
    /// `mars server` flags beyond the data directory and the ports.
    flags: Vec<String>,
    /// Holds `data/` and `server.log`; removed by [`Spawned::finish`].
    work: PathBuf,
    keep: bool,
    child: Option<tokio::process::Child>,
    pub pid: u32,
}

impl Spawned {
    /// Creates a fresh work directory under `base` and starts the server
    /// with `flags`; returns once `/readyz` answers 200, with the time that
    /// took.
    pub async fn start(
        binary: &Path,
        base: &Path,
        keep: bool,
        flags: &[&str],
    ) -> anyhow::Result<(Self, Duration)> {
        ensure!(
            binary.is_file(),
            "--spawn-mars {}: no such file",
            binary.display()
        );
        let work = base.join(format!("mars-bench-api-{:08x}", super::random_u64() as u32));
        std::fs::create_dir_all(work.join("data"))
            .with_context(|| format!("cannot create {}", work.display()))?;
        let mut spawned = Self {
            binary: binary.to_owned(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            work,
            keep,
            child: None,
            pid: 0,
        };
        let ready = spawned.launch().await?;
        Ok((spawned, ready))
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.work.join("data").join("kubeconfig.yaml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.work.join("data")
    }

    fn log(&self) -> PathBuf {
        self.work.join("server.log")
    }

    /// Starts the process (free ports: the kubeconfig it writes names the
    /// API's) and waits for `/readyz`.
    async fn launch(&mut self) -> anyhow::Result<Duration> {
        // A kubeconfig left by an earlier run names an earlier port.
        let kubeconfig = self.kubeconfig();
        match std::fs::remove_file(&kubeconfig) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error).context("cannot remove the old kubeconfig"),
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .context("cannot open the server log")?;
        let started = Instant::now();
        let child = tokio::process::Command::new(&self.binary)
            .arg("server")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args([
                "--etcd-listen",
                "127.0.0.1:0",
                "--api-listen",
                "127.0.0.1:0",
            ])
            .args(&self.flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.pid = child.id().context("the server exited at once")?;
        let child = self.child.insert(child);

        let mut api: Option<Api> = None;
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited ({status}) before it was ready; its log:\n{}",
                    tail(&self.work.join("server.log"))
                );
            }
            if started.elapsed() > START_LIMIT {
                bail!(
                    "the server was not ready after {START_LIMIT:?}; its log:\n{}",
                    tail(&self.work.join("server.log"))
                );
            }
            // The kubeconfig appears (maybe half written) before the API serves.
            if api.is_none() && kubeconfig.is_file() {
                api = Api::from_kubeconfig(&kubeconfig, None, 1, Choice::Kube)
                    .await
                    .ok();
            }
            if let Some(api) = &api {
                let probe = api.send(0, Method::GET, "/readyz", None);
                if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_secs(5), probe).await
                    && reply.status == StatusCode::OK
                {
                    return Ok(started.elapsed());
                }
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after [`STOP_LIMIT`]).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_none() {
            // The workspace forbids `unsafe`, so no `libc::kill`: ask kill(1).
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &self.pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(STOP_LIMIT, child.wait())
                .await
                .is_err()
            {
                eprintln!("   the server did not stop within {STOP_LIMIT:?}; killing it");
                child.kill().await?;
            }
        }
        Ok(())
    }

    /// Stops the server and starts it again on the same data; returns the
    /// time from the new process's start to ready.
    pub async fn restart(&mut self) -> anyhow::Result<Duration> {
        self.stop().await?;
        self.launch().await
    }

    /// Stops the server and removes its data (unless asked to keep it).
    pub async fn finish(mut self) -> anyhow::Result<()> {
        self.stop().await?;
        if self.keep {
            eprintln!(
                "   kept the server's data and log in {}",
                self.work.display()
            );
        } else {
            std::fs::remove_dir_all(&self.work)
                .with_context(|| format!("cannot remove {}", self.work.display()))?;
        }
        Ok(())
    }
}

/// A benchmark that stops early still kills its server and removes its data.
impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.work);
        }
    }
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A process's memory, from `/proc/PID/status`, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the most ever resident.
    pub peak: u64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_memory(&status).with_context(|| format!("no VmRSS/VmHWM in {path}"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// CPU time (user + system, all threads) a process has used so far.
pub fn cpu(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_cpu(&stat).with_context(|| format!("no utime/stime in {path}"))
}

/// `/proc/PID/stat` counts in USER_HZ ticks, 100 a second on Linux.
fn parse_cpu(stat: &str) -> Option<Duration> {
    // Fields after the ")" that ends the command name: state is the first,
    // utime the 12th, stime the 13th.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_comes_from_proc_status_lines() {
        let status = "Name:\tmars\nVmHWM:\t   81234 kB\nVmRSS:\t   40960 kB\nThreads:\t5\n";
        let memory = parse_memory(status);
        assert_eq!(
            memory.map(|m| (m.rss, m.peak)),
            Some((40960 * 1024, 81234 * 1024))
        );
        assert!(parse_memory("Name:\tmars\n").is_none());
    }

    #[test]
    fn cpu_time_is_utime_plus_stime() {
        let stat = "4242 (mars server) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 9 0";
        assert_eq!(parse_cpu(stat), Some(Duration::from_millis(3800)));
        assert!(parse_cpu("4242 (mars) S 1").is_none());
    }

    #[test]
    fn this_process_has_a_resident_size() -> anyhow::Result<()> {
        let memory = memory(std::process::id())?;
        assert!(memory.rss > 0 && memory.peak >= memory.rss);
        Ok(())
    }
}
