//! The real `kubectl` driven as a subprocess against `mars server`.
//!
//! [`Kubectl`] runs one client binary with one kubeconfig, in a private
//! `HOME` and discovery cache so runs never share state with the user's
//! `~/.kube` or with another server that reused the same port. Commands are
//! written as on a shell (`kubectl.run("-n shop get cm -l 'tier in (a,b)'")`,
//! split by [`words`]) so a failure names the exact command to reproduce.
//! [`Run`] is what one invocation printed; [`Stream`] is a long-running one
//! (`get -w`, `wait`) read line by line.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{MarsServer, require_program};

/// No single kubectl run may take longer than this.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// The `kubectl` on PATH (on this project's machines a dispatcher that runs
/// the `kubectl.1.NN` matching the server's minor version).
pub fn default_kubectl() -> anyhow::Result<PathBuf> {
    require_program("kubectl", "kubernetes-client")
}

/// A pinned client `kubectl.1.<minor>` installed beside the default
/// `kubectl` (after resolving symlinks), if there is one.
pub fn pinned_kubectl(minor: u32) -> Option<PathBuf> {
    let default = default_kubectl().ok()?;
    let dir = std::fs::canonicalize(default).ok()?.parent()?.to_path_buf();
    let pinned = dir.join(format!("kubectl.1.{minor}"));
    pinned.is_file().then_some(pinned)
}

/// One kubectl binary bound to one kubeconfig.
pub struct Kubectl {
    program: PathBuf,
    kubeconfig: PathBuf,
    /// `HOME`, the discovery cache and scratch files live here.
    home: tempfile::TempDir,
}

impl Kubectl {
    pub fn new(
        program: impl Into<PathBuf>,
        kubeconfig: impl Into<PathBuf>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            program: program.into(),
            kubeconfig: kubeconfig.into(),
            home: tempfile::tempdir()?,
        })
    }

    /// The same binary with another kubeconfig (and its own cache).
    pub fn with_kubeconfig(&self, kubeconfig: impl Into<PathBuf>) -> anyhow::Result<Self> {
        Self::new(self.program.clone(), kubeconfig)
    }

    /// Writes a scratch file (a manifest, a kubeconfig) and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> anyhow::Result<PathBuf> {
        let path = self.home.path().join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// A kubectl command with this binary's kubeconfig and home, and none
    /// of the variables that change kubectl's behaviour leaking in from the
    /// test's own environment (tests set them with [`Kubectl::run_env`]).
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .env("KUBECACHEDIR", self.home.path().join("cache"))
            .env("SHELL", "/bin/sh");
        for name in [
            "KUBECTL_KUBERC",
            "KUBERC",
            "KUBE_EDITOR",
            "EDITOR",
            "KUBECTL_EXTERNAL_DIFF",
            "KUBECTL_APPLYSET",
        ] {
            command.env_remove(name);
        }
        command.args(args);
        command
    }

    /// Runs `kubectl <line>` with stdin closed.
    pub fn run(&self, line: &str) -> Run {
        self.run_with_stdin(line, None)
    }

    /// How many objects `kubectl get <what> -o name` lists (it must succeed).
    pub fn count(&self, what: &str) -> usize {
        self.run(&format!("get {what} -o name"))
            .ok()
            .stdout
            .lines()
            .count()
    }

    /// Runs `kubectl <line>` feeding `stdin` (for `-f -`).
    pub fn run_stdin(&self, line: &str, stdin: &str) -> Run {
        self.run_with_stdin(line, Some(stdin))
    }

    /// Runs `kubectl <line>` with environment variables set (`KUBE_EDITOR`
    /// for `edit`, `KUBECTL_APPLYSET` for `--applyset`).
    pub fn run_env(&self, env: &[(&str, &str)], line: &str) -> Run {
        match self.try_run(line, None, env) {
            Ok(run) => run,
            Err(error) => panic!("{env:?} kubectl {line}: {error:#}"),
        }
    }

    fn run_with_stdin(&self, line: &str, stdin: Option<&str>) -> Run {
        match self.try_run(line, stdin, &[]) {
            Ok(run) => run,
            Err(error) => panic!("kubectl {line}: {error:#}"),
        }
    }

    fn try_run(
        &self,
        line: &str,
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Run> {
        let mut child = self
            .command(&words(line))
            .envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let writer = match (stdin, child.stdin.take()) {
            (Some(text), Some(mut pipe)) => {
                let text = text.to_owned();
                Some(thread::spawn(move || {
                    let _ = pipe.write_all(text.as_bytes());
                }))
            }
            _ => None,
        };
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let deadline = Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("did not finish within {RUN_LIMIT:?}");
            }
            thread::sleep(Duration::from_millis(5));
        };
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        let shown: String = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
        Ok(Run {
            command: format!("{shown}kubectl {line}"),
            code: status.code(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// Starts `kubectl <line>` in the background (a watch, a wait); its
    /// stdout and stderr lines arrive as they are printed. Killed when dropped.
    pub fn stream(&self, line: &str) -> anyhow::Result<Stream> {
        let mut child = self
            .command(&words(line))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let (sender, lines) = mpsc::channel();
        forward_lines(child.stdout.take().context("no stdout")?, sender.clone());
        forward_lines(child.stderr.take().context("no stderr")?, sender);
        Ok(Stream {
            command: format!("kubectl {line}"),
            child,
            lines,
            seen: Vec::new(),
        })
    }
}

/// Splits a command line into words the way a POSIX shell does for the
/// simple lines tests write: blanks separate words, and '...' or "..." quote
/// (no escapes, no expansions).
pub fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_default().push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            None if c.is_whitespace() => words.extend(word.take()),
            None => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// Sends each line of a pipe down a channel, on a thread.
fn forward_lines(pipe: impl Read + Send + 'static, sender: mpsc::Sender<String>) {
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
}

/// Reads a pipe to its end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What one kubectl run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Asserts the run succeeded; the panic shows what kubectl said.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(
            self.success(),
            "`{}` failed (exit {:?})\nstderr:\n{}\nstdout:\n{}",
            self.command,
            self.code,
            self.stderr,
            self.stdout
        );
        self
    }

    /// Asserts the run failed (exit code 1, as kubectl exits on errors).
    #[track_caller]
    pub fn fails(self) -> Self {
        assert_eq!(
            self.code,
            Some(1),
            "`{}` should have failed with exit 1\nstderr:\n{}\nstdout:\n{}",
            self.command,
            self.stderr,
            self.stdout
        );
        self
    }

    /// Asserts stdout contains `needle` (after squashing runs of blanks, as
    /// [`squash`] does to both).
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            squash(&self.stdout).contains(&squash(needle)),
            "`{}`: stdout lacks {needle:?}\nstdout:\n{}\nstderr:\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts stderr contains `needle` (blanks squashed as in [`squash`]).
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            squash(&self.stderr).contains(&squash(needle)),
            "`{}`: stderr lacks {needle:?}\nstderr:\n{}\nstdout:\n{}",
            self.command,
            self.stderr,
            self.stdout
        );
        self
    }

    /// The whitespace-split fields of each stdout line (a table's rows,
    /// header included).
    pub fn rows(&self) -> Vec<Vec<&str>> {
        self.stdout
            .lines()
            .map(|line| line.split_whitespace().collect())
            .filter(|row: &Vec<&str>| !row.is_empty())
            .collect()
    }

    /// The table row whose first `key.len()` fields are `key`; panics
    /// with the table when there is none.
    #[track_caller]
    pub fn row(&self, key: &[&str]) -> Vec<&str> {
        self.rows()
            .into_iter()
            .find(|row| row.len() >= key.len() && row[..key.len()] == *key)
            .unwrap_or_else(|| {
                panic!(
                    "`{}`: no row starting {key:?}\n{}",
                    self.command, self.stdout
                )
            })
    }

    /// The first field of every row but the header (the NAME column).
    pub fn names(&self) -> Vec<&str> {
        self.rows().into_iter().skip(1).map(|row| row[0]).collect()
    }
}

/// Every run of spaces and tabs as one space, line by line: kubectl pads
/// its columns to the widest value, which tests should not depend on.
pub fn squash(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A kubectl process still running, its output arriving line by line
/// (stdout and stderr interleaved).
pub struct Stream {
    command: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Stream {
    /// Waits until a line, blanks squashed, equals `expected` or starts with
    /// it and a blank (a table row and its trailing AGE column).
    pub fn expect_line(&mut self, expected: &str, timeout: Duration) -> Result<(), String> {
        let expected = squash(expected);
        self.expect(&format!("a line {expected:?}"), timeout, |line| {
            let line = squash(line);
            line == expected || line.starts_with(&format!("{expected} "))
        })
    }

    /// Waits until a line contains `needle`.
    pub fn expect_containing(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        self.expect(&format!("{needle:?}"), timeout, |line| {
            line.contains(needle)
        })
    }

    fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        if self.seen.iter().any(|line| matches(line)) {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let found = matches(&line);
            self.seen.push(line);
            if found {
                return Ok(());
            }
        }
        let _ = self.child.kill();
        Err(format!(
            "`{}` did not print {what} within {timeout:?}; it printed:\n{}",
            self.command,
            self.seen.join("\n")
        ))
    }

    /// Waits for the process to exit by itself; returns its exit code and
    /// everything it printed.
    pub fn finish(&mut self, timeout: Duration) -> Result<(Option<i32>, String), String> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    return Err(format!(
                        "`{}` did not exit within {timeout:?}; it printed:\n{}",
                        self.command,
                        self.seen.join("\n")
                    ));
                }
            }
        };
        // The pipes close when the process exits: read them to their end.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        Ok((status.code(), self.seen.join("\n")))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `mars server` with an admin `kubectl`, ready to serve the API.
pub struct Cluster {
    pub server: MarsServer,
    pub kubectl: Kubectl,
}

impl Cluster {
    /// Starts a server and waits until `kubectl get --raw /readyz` answers.
    pub fn start(program: &Path) -> anyhow::Result<Self> {
        Self::ready(program, MarsServer::start()?)
    }

    /// The all-in-one default (controllers, scheduler) with `nodes`
    /// simulated nodes and `flags` on top, driven by the default kubectl;
    /// returns once the API answers and every node is registered.
    pub fn all_in_one(nodes: usize, flags: &[&str]) -> anyhow::Result<Self> {
        let nodes_flag = format!("--simulate-nodes={nodes}");
        let mut args = crate::ALL_IN_ONE.to_vec();
        args.push(&nodes_flag);
        args.extend_from_slice(flags);
        let cluster = Self::ready(&default_kubectl()?, MarsServer::start_with(&args)?)?;
        crate::wait_until(Duration::from_secs(60), "every node registered", || {
            cluster
                .kubectl
                .run("get nodes -o name")
                .stdout
                .lines()
                .count()
                == nodes
        });
        Ok(cluster)
    }

    fn ready(program: &Path, server: MarsServer) -> anyhow::Result<Self> {
        let kubectl = Kubectl::new(program, server.kubeconfig())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let kubeconfig_written = server.kubeconfig().exists()
                && server.data_dir.join("kubeconfig-readonly.yaml").exists();
            if kubeconfig_written {
                let run = kubectl.try_run("get --raw /readyz", None, &[])?;
                if run.success() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "the API never became ready: {}\n{}",
                        run.stderr,
                        server.log_tail()
                    );
                }
            } else if Instant::now() > deadline {
                bail!("no kubeconfig was written\n{}", server.log_tail());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { server, kubectl })
    }

    /// The read-only kubeconfig the server wrote (user `mars-viewer`).
    pub fn readonly_kubeconfig(&self) -> PathBuf {
        self.server.data_dir.join("kubeconfig-readonly.yaml")
    }

    /// A kubeconfig for this server (its CA trusted) whose user is `user`,
    /// a YAML flow mapping such as `{token: bogus}`.
    pub fn kubeconfig_for_user(&self, name: &str, user: &str) -> anyhow::Result<PathBuf> {
        let admin = std::fs::read_to_string(self.server.kubeconfig())?;
        let ca = admin
            .lines()
            .find_map(|line| line.trim().strip_prefix("certificate-authority-data:"))
            .context("the admin kubeconfig has no certificate-authority-data")?
            .trim();
        let config = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: mars\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
             users:\n\
             - name: {name}\n  user: {user}\n\
             contexts:\n\
             - name: {name}\n  context: {{cluster: mars, user: {name}}}\n\
             current-context: {name}\n",
            server = self.server.api_url(),
        );
        self.kubectl
            .write_file(&format!("{name}.kubeconfig"), &config)
    }
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            words(r#"-n shop get cm -l 'tier in (a,b)' -p '{"a":"b"}' --x="y z" ''"#),
            [
                "-n",
                "shop",
                "get",
                "cm",
                "-l",
                "tier in (a,b)",
                "-p",
                r#"{"a":"b"}"#,
                "--x=y z",
                ""
            ]
        );
    }
}
