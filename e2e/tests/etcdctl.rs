//! The real `etcdctl` (3.4, Debian's `etcd-client`) driven as a subprocess
//! against `mars server`, asserting on its output and exit codes.
//!
//! Where the output is deterministic the same command sequence also runs
//! against a real etcd and the transcripts, with cluster/member ids and raft
//! terms blanked out, must be identical: where etcd and Mars differ, Mars is
//! wrong. Every scenario's own assertions also hold on etcd, which keeps the
//! expectations honest.
//!
//! Endpoints are given scheme-less (`127.0.0.1:PORT`), except in
//! `http_endpoints_work_like_etcd`: with an `http://` endpoint etcdctl 3.4's
//! `endpoint status|health` send the whole URL as the HTTP/2 `:authority`,
//! which Mars repairs before its HTTP/2 stack sees it.

#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mars_e2e::{EtcdServer, MarsServer, mars_binary, require_program};

/// No etcdctl run may take longer than this (its own timeouts are 2 s to dial
/// and 5 s per command).
const RUN_LIMIT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ etcdctl

/// What one etcdctl run printed and how it exited.
#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Output {
    fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr without the client library's JSON log lines (timestamps,
    /// random client ids): what etcdctl itself says, e.g. `Error: ...`.
    fn errors(&self) -> String {
        self.stderr
            .lines()
            .filter(|line| !line.starts_with('{'))
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

fn etcdctl_command(endpoint: &str, args: &[&str]) -> Command {
    let program = require_program("etcdctl", "etcd-client").unwrap();
    let mut command = Command::new(program);
    command
        .env("ETCDCTL_API", "3")
        .env_remove("ETCDCTL_ENDPOINTS")
        .arg(format!("--endpoints={endpoint}"))
        .arg("--command-timeout=5s")
        .args(args);
    command
}

/// Reads a pipe to its end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    let mut pipe = pipe.unwrap();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for a child, killing it (and failing) after `limit`.
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `etcdctl --endpoints=<endpoint> --command-timeout=5s <args>`,
/// feeding `stdin` if given.
fn etcdctl(endpoint: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = etcdctl_command(endpoint, args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = stdin.map(|text| {
        let mut pipe = child.stdin.take().unwrap();
        let text = text.to_owned();
        thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        })
    });
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let code = wait_bounded(&mut child, RUN_LIMIT, &format!("etcdctl {args:?}"));
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    Output {
        code,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Blanks the number after each `"field":` (ids and terms differ between
/// any two clusters).
fn normalize(text: &str) -> String {
    let mut text = text.to_owned();
    for field in ["cluster_id", "member_id", "raft_term"] {
        let marker = format!("\"{field}\":");
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&marker) {
            out.push_str(&rest[..at + marker.len()]);
            rest = &rest[at + marker.len()..];
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            out.push('N');
            rest = &rest[digits..];
        }
        out.push_str(rest);
        text = out;
    }
    text
}

/// etcdctl pointed at one server, keeping a normalized transcript of every
/// command so two servers' runs can be compared.
struct Ctl {
    target: &'static str,
    endpoint: String,
    transcript: RefCell<Vec<String>>,
}

impl Ctl {
    fn new(target: &'static str, endpoint: String) -> Self {
        wait_ready(&endpoint);
        Self {
            target,
            endpoint,
            transcript: RefCell::new(Vec::new()),
        }
    }

    fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let out = etcdctl(&self.endpoint, args, stdin);
        let input = match stdin {
            Some(text) if text.len() > 4096 => format!(" <<< ({} bytes)", text.len()),
            Some(text) => format!(" <<<\n{text}"),
            None => String::new(),
        };
        self.transcript.borrow_mut().push(format!(
            "$ etcdctl {}{input}\n[exit {:?}]\n{}{}",
            args.iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(" "),
            out.code,
            normalize(&out.stdout),
            out.errors(),
        ));
        out
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, None)
    }

    fn ok_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run_stdin(args, stdin);
        assert!(
            out.success(),
            "[{}] etcdctl {args:?} failed: {out:?}",
            self.target
        );
        out.stdout
    }

    /// Runs a command that must fail; returns what it said on stderr.
    fn fails(&self, args: &[&str]) -> String {
        self.fails_stdin(args, None)
    }

    fn fails_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run_stdin(args, stdin);
        assert!(
            !out.success(),
            "[{}] etcdctl {args:?} should have failed: {out:?}",
            self.target
        );
        out.errors()
    }

    fn json(&self, args: &[&str]) -> Json {
        let mut args = args.to_vec();
        args.extend(["-w", "json"]);
        Json::parse(&self.ok(&args))
    }

    /// `get KEY` as (key, value) pairs; empty when absent.
    fn get(&self, args: &[&str]) -> Vec<(String, String)> {
        let mut args = args.to_vec();
        args.insert(0, "get");
        let out = self.ok(&args);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.chunks_exact(2).remainder().is_empty(),
            "odd get output: {out:?}"
        );
        lines
            .chunks(2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect()
    }

    fn watch(&self, args: &[&str]) -> Watch {
        Watch::start(&self.endpoint, args)
    }
}

/// Until the server answers a linearizable read (a fresh etcd has to elect
/// itself first).
fn wait_ready(endpoint: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = etcdctl(endpoint, &["get", "ready-probe"], None);
        if out.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{endpoint} never got ready: {out:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs `scenario` against a fresh etcd and a fresh Mars; both must pass its
/// assertions and print the same (normalized) transcript.
fn against_etcd_and_mars(scenario: fn(&Ctl)) {
    let etcd = EtcdServer::start().unwrap();
    let mars = MarsServer::store_only().unwrap();
    let on_etcd = Ctl::new("etcd", etcd.endpoint());
    scenario(&on_etcd);
    let on_mars = Ctl::new("mars", mars.endpoint());
    scenario(&on_mars);
    let expected = on_etcd.transcript.into_inner();
    let actual = on_mars.transcript.into_inner();
    assert_eq!(expected.len(), actual.len(), "transcripts differ in length");
    let differences: Vec<String> = expected
        .iter()
        .zip(&actual)
        .filter(|(e, m)| e != m)
        .map(|(e, m)| format!("--- etcd:\n{e}--- mars:\n{m}"))
        .collect();
    assert!(
        differences.is_empty(),
        "Mars and etcd printed different output for {} command(s):\n{}\nmars log:\n{}",
        differences.len(),
        differences.join("\n"),
        mars.log_tail()
    );
}

/// Runs `scenario` against a fresh etcd and a fresh Mars, assertions only
/// (the output holds lease ids, remaining TTLs and the like).
fn on_etcd_and_mars(scenario: fn(&Ctl, &str)) {
    let etcd = EtcdServer::start().unwrap();
    let mars = MarsServer::store_only().unwrap();
    scenario(&Ctl::new("etcd", etcd.endpoint()), &etcd.url());
    scenario(&Ctl::new("mars", mars.endpoint()), &mars.url());
}

// ------------------------------------------------------------------ watch

/// A running `etcdctl watch`; its stdout lines arrive on a channel.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Watch {
    fn start(endpoint: &str, args: &[&str]) -> Self {
        let mut args = args.to_vec();
        args.insert(0, "watch");
        let mut child = etcdctl_command(endpoint, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Some(drain(child.stderr.take()));
        Self {
            child,
            lines,
            stderr,
        }
    }

    /// The next `n` lines, within 10 s.
    fn next_lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => got.push(line),
                Err(_) => panic!("watch printed only {got:?} of {n} lines within 10 s"),
            }
        }
        got
    }

    /// Nothing more is printed for a while.
    fn assert_quiet(&self, wait: Duration) {
        if let Ok(line) = self.lines.recv_timeout(wait) {
            panic!("watch printed an unexpected line {line:?}");
        }
    }

    /// Kills the watch; returns what it wrote on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().unwrap().join().unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------------ JSON

/// etcdctl's `-w json`, read the way its Go structs were written: absent
/// fields (Go's `omitempty`) read as zero, empty or false.
type Json = serde_json::Value;

trait JsonExt {
    fn parse(text: &str) -> Json;
    fn i64(&self) -> i64;
    fn u64(&self) -> u64;
    fn str(&self) -> &str;
    fn bool(&self) -> bool;
    fn arr(&self) -> &[Json];
    fn has(&self, key: &str) -> bool;
    /// A base64 field decoded to text.
    fn b64(&self) -> String;
}

impl JsonExt for Json {
    fn parse(text: &str) -> Json {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
    }

    fn i64(&self) -> i64 {
        if self.is_null() {
            return 0;
        }
        self.as_i64()
            .unwrap_or_else(|| panic!("not an i64: {self:?}"))
    }

    fn u64(&self) -> u64 {
        if self.is_null() {
            return 0;
        }
        self.as_u64()
            .unwrap_or_else(|| panic!("not a u64: {self:?}"))
    }

    fn str(&self) -> &str {
        if self.is_null() {
            return "";
        }
        self.as_str()
            .unwrap_or_else(|| panic!("not a string: {self:?}"))
    }

    fn bool(&self) -> bool {
        if self.is_null() {
            return false;
        }
        self.as_bool()
            .unwrap_or_else(|| panic!("not a bool: {self:?}"))
    }

    fn arr(&self) -> &[Json] {
        if self.is_null() {
            return &[];
        }
        self.as_array()
            .unwrap_or_else(|| panic!("not an array: {self:?}"))
    }

    fn has(&self, key: &str) -> bool {
        self.as_object()
            .is_some_and(|fields| fields.contains_key(key))
    }

    fn b64(&self) -> String {
        base64_decode(self.str())
    }
}

fn base64_decode(text: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text:?} is not base64: {e}"));
    String::from_utf8(bytes).unwrap()
}

#[test]
fn json_helpers_work() {
    let value = Json::parse(
        r#"{"a":[1,{"b":"x\"\u003c\n"}],"c":true,"d":null,"e":18446744073709551615,"f":-3}"#,
    );
    assert_eq!(value["a"][0].i64(), 1);
    assert_eq!(value["a"][1]["b"].str(), "x\"<\n");
    assert!(value["c"].bool());
    assert!(value.has("d") && !value.has("zz"));
    assert_eq!(value["e"].u64(), u64::MAX);
    assert_eq!(value["f"].i64(), -3);
    assert_eq!(value["missing"]["deeper"].i64(), 0);
    assert_eq!(base64_decode("Zm9vMg=="), "foo2");
    assert_eq!(base64_decode("YmF6"), "baz");
    assert_eq!(
        normalize(r#"{"cluster_id":12,"member_id":3,"revision":4,"raft_term":2}"#),
        r#"{"cluster_id":N,"member_id":N,"revision":4,"raft_term":N}"#
    );
}

// ------------------------------------------------------------------ kv

fn kv_scenario(ctl: &Ctl) {
    let t = ctl.target;
    // A fresh store is at revision 1; every write below adds one.
    for (key, value) in [
        ("a", "1"),
        ("b", "7"),
        ("c", "5"),
        ("a", "9"),
        ("d/x", "3"),
        ("d/y", "1"),
    ] {
        assert_eq!(ctl.ok(&["put", key, value]), "OK\n", "[{t}]");
    }
    // Revisions: a=2 (v1), b=3, c=4, a=5 (v2), d/x=6, d/y=7.

    assert_eq!(ctl.get(&["a"]), pairs(&[("a", "9")]), "[{t}]");
    assert_eq!(ctl.get(&["a", "--rev=2"]), pairs(&[("a", "1")]), "[{t}]");
    assert_eq!(ctl.get(&["a", "--rev=4"]), pairs(&[("a", "1")]), "[{t}]");
    assert_eq!(ctl.get(&["d/x", "--rev=5"]), pairs(&[]), "[{t}]");
    assert_eq!(ctl.get(&["missing"]), pairs(&[]), "[{t}]");
    assert_eq!(
        ctl.get(&["--prefix", "d/"]),
        pairs(&[("d/x", "3"), ("d/y", "1")]),
        "[{t}]"
    );
    assert_eq!(
        ctl.get(&["a", "d"]),
        pairs(&[("a", "9"), ("b", "7"), ("c", "5")]),
        "[{t}] range [a, d)"
    );
    assert_eq!(
        ctl.get(&["--from-key", "c"]),
        pairs(&[("c", "5"), ("d/x", "3"), ("d/y", "1")]),
        "[{t}]"
    );
    assert_eq!(
        ctl.ok(&["get", "--prefix", "", "--keys-only"]),
        "a\n\nb\n\nc\n\nd/x\n\nd/y\n\n",
        "[{t}]"
    );
    assert_eq!(
        ctl.ok(&["get", "--prefix", "", "--print-value-only"]),
        "9\n7\n5\n3\n1\n",
        "[{t}]"
    );
    assert_eq!(
        ctl.get(&["--prefix", "", "--limit=2"]),
        pairs(&[("a", "9"), ("b", "7")]),
        "[{t}]"
    );
    let keys =
        |args: &[&str]| -> Vec<String> { ctl.get(args).into_iter().map(|(k, _)| k).collect() };
    assert_eq!(
        keys(&["--prefix", "", "--sort-by=MODIFY", "--order=DESCEND"]),
        lines(&["d/y", "d/x", "a", "c", "b"]),
        "[{t}]"
    );
    assert_eq!(
        keys(&["--prefix", "", "--sort-by=VALUE"]),
        lines(&["d/y", "d/x", "c", "b", "a"]),
        "[{t}]"
    );
    assert_eq!(
        keys(&["--prefix", "", "--sort-by=CREATE", "--order=DESCEND"]),
        lines(&["d/y", "d/x", "c", "b", "a"]),
        "[{t}]"
    );
    assert_eq!(
        keys(&[
            "--prefix",
            "",
            "--sort-by=VERSION",
            "--order=DESCEND",
            "--limit=1"
        ]),
        lines(&["a"]),
        "[{t}]"
    );
    assert_eq!(
        keys(&["--prefix", "", "--order=DESCEND"]),
        lines(&["d/y", "d/x", "c", "b", "a"]),
        "[{t}]"
    );
    assert_eq!(
        keys(&[
            "--prefix",
            "",
            "--sort-by=KEY",
            "--order=ASCEND",
            "--limit=3"
        ]),
        lines(&["a", "b", "c"]),
        "[{t}]"
    );

    // -w json: revisions, base64 keys and values, count, more.
    let one = ctl.json(&["get", "a"]);
    assert_eq!(one["header"]["revision"].i64(), 7, "[{t}] {one:?}");
    assert!(one["header"]["member_id"].u64() != 0, "[{t}] {one:?}");
    assert_eq!(one["count"].i64(), 1, "[{t}] {one:?}");
    assert!(!one["more"].bool(), "[{t}] {one:?}");
    let kv = &one["kvs"][0];
    assert_eq!(kv["key"].str(), "YQ==", "[{t}] {one:?}");
    assert_eq!(kv["key"].b64(), "a", "[{t}] {one:?}");
    assert_eq!(kv["value"].b64(), "9", "[{t}] {one:?}");
    assert_eq!(kv["create_revision"].i64(), 2, "[{t}] {one:?}");
    assert_eq!(kv["mod_revision"].i64(), 5, "[{t}] {one:?}");
    assert_eq!(kv["version"].i64(), 2, "[{t}] {one:?}");
    assert_eq!(kv["lease"].i64(), 0, "[{t}] {one:?}");

    let limited = ctl.json(&["get", "--prefix", "", "--limit=2"]);
    assert_eq!(limited["count"].i64(), 5, "[{t}] {limited:?}");
    assert!(limited["more"].bool(), "[{t}] {limited:?}");
    let got: Vec<String> = limited["kvs"]
        .arr()
        .iter()
        .map(|kv| kv["key"].b64())
        .collect();
    assert_eq!(got, lines(&["a", "b"]), "[{t}]");

    let old = ctl.json(&["get", "--prefix", "", "--rev=3"]);
    assert_eq!(old["header"]["revision"].i64(), 7, "[{t}] {old:?}");
    assert_eq!(old["count"].i64(), 2, "[{t}] {old:?}");
    let got: Vec<(String, String)> = old["kvs"]
        .arr()
        .iter()
        .map(|kv| (kv["key"].b64(), kv["value"].b64()))
        .collect();
    assert_eq!(got, pairs(&[("a", "1"), ("b", "7")]), "[{t}]");

    let none = ctl.json(&["get", "missing"]);
    assert_eq!(none["count"].i64(), 0, "[{t}] {none:?}");
    assert!(none["kvs"].arr().is_empty(), "[{t}] {none:?}");

    // del: counts, --prev-kv, --prefix.
    assert_eq!(ctl.ok(&["del", "b"]), "1\n", "[{t}]"); // rev 8
    assert_eq!(ctl.ok(&["del", "b"]), "0\n", "[{t}]");
    assert_eq!(ctl.ok(&["del", "--prev-kv", "c"]), "1\nc\n5\n", "[{t}]"); // rev 9
    assert_eq!(
        ctl.ok(&["del", "--prefix", "--prev-kv", "d/"]),
        "2\nd/x\n3\nd/y\n1\n",
        "[{t}]"
    ); // rev 10
    ctl.ok(&["put", "e", "1"]); // rev 11
    ctl.ok(&["put", "e/f", "2"]); // rev 12
    let deleted = ctl.json(&["del", "--prefix", "e"]); // rev 13
    assert_eq!(deleted["deleted"].i64(), 2, "[{t}] {deleted:?}");
    assert_eq!(deleted["header"]["revision"].i64(), 13, "[{t}] {deleted:?}");
    let nothing = ctl.json(&["del", "--prefix", "zzz"]);
    assert_eq!(nothing["deleted"].i64(), 0, "[{t}] {nothing:?}");
    assert_eq!(nothing["header"]["revision"].i64(), 13, "[{t}] {nothing:?}");
    assert_eq!(ctl.get(&["--prefix", ""]), pairs(&[("a", "9")]), "[{t}]");
    assert_eq!(ctl.get(&["c", "--rev=8"]), pairs(&[("c", "5")]), "[{t}]");
    assert_eq!(ctl.get(&["c", "--rev=9"]), pairs(&[]), "[{t}]");

    // txn from stdin: compares, blank line, success ops, blank line,
    // failure ops, blank line.
    let out = ctl.ok_stdin(
        &["txn"],
        Some("value(\"a\") = \"9\"\n\nput t/1 yes\nget a\n\ndel a\n\n"),
    ); // rev 14
    assert_eq!(out, "SUCCESS\n\nOK\n\na\n9\n", "[{t}]");
    assert_eq!(ctl.get(&["t/1"]), pairs(&[("t/1", "yes")]), "[{t}]");

    let out = ctl.ok_stdin(
        &["txn"],
        Some(
            "mod(\"a\") > \"100\"\nversion(\"t/1\") = \"1\"\n\nput t/2 no\n\n\
             del t/1\nput t/3 fail\n\n",
        ),
    ); // rev 15
    assert_eq!(out, "FAILURE\n\n1\n\nOK\n", "[{t}]");
    assert_eq!(
        ctl.get(&["--prefix", "t/"]),
        pairs(&[("t/3", "fail")]),
        "[{t}]"
    );

    let txn = "create(\"t/2\") = \"0\"\n\nput t/2 two\n\nget t/3\n\n";
    let out = ctl.ok_stdin(&["txn", "-w", "json"], Some(txn)); // rev 16
    let won = Json::parse(&out);
    assert!(won["succeeded"].bool(), "[{t}] {won:?}");
    assert_eq!(won["header"]["revision"].i64(), 16, "[{t}] {won:?}");
    assert!(
        won["responses"][0]["Response"].has("ResponsePut"),
        "[{t}] {won:?}"
    );
    let out = ctl.ok_stdin(&["txn", "-w", "json"], Some(txn));
    let lost = Json::parse(&out);
    assert!(!lost["succeeded"].bool(), "[{t}] {lost:?}");
    assert_eq!(lost["header"]["revision"].i64(), 16, "[{t}] {lost:?}");
    let range = &lost["responses"][0]["Response"]["ResponseRange"];
    assert_eq!(range["count"].i64(), 1, "[{t}] {lost:?}");
    assert_eq!(range["kvs"][0]["key"].b64(), "t/3", "[{t}] {lost:?}");
    assert_eq!(range["kvs"][0]["value"].b64(), "fail", "[{t}] {lost:?}");
    assert_eq!(
        ctl.get(&["--prefix", "t/"]),
        pairs(&[("t/2", "two"), ("t/3", "fail")]),
        "[{t}]"
    );
    // An empty txn (no compares, no ops) succeeds.
    assert_eq!(ctl.ok_stdin(&["txn"], Some("\n\n\n")), "SUCCESS\n", "[{t}]");
}

#[test]
fn kv_commands_print_what_etcd_prints() {
    against_etcd_and_mars(kv_scenario);
}

// ------------------------------------------------------------------ watch

fn watch_scenario(ctl: &Ctl) {
    let t = ctl.target;
    ctl.ok(&["put", "w/a", "1"]); // rev 2
    ctl.ok(&["put", "w/b", "1"]); // rev 3
    ctl.ok(&["put", "x/other", "0"]); // rev 4
    ctl.ok(&["put", "w/a", "2"]); // rev 5

    // History from revision 3, with previous values.
    let watch = ctl.watch(&["--rev=3", "--prefix", "w/", "--prev-kv"]);
    assert_eq!(
        watch.next_lines(8),
        lines(&["PUT", "w/b", "1", "PUT", "w/a", "1", "w/a", "2"]),
        "[{t}] history replay"
    );
    // The history is in, so the watch is live: what follows is new.
    ctl.ok(&["put", "w/c", "3"]);
    ctl.ok(&["put", "x/other", "1"]);
    ctl.ok(&["del", "w/a"]);
    ctl.ok(&["put", "w/b", "4"]);
    ctl.ok(&["del", "--prefix", "w/"]);
    assert_eq!(
        watch.next_lines(23),
        lines(&[
            "PUT", "w/c", "3", //
            "DELETE", "w/a", "2", "w/a", "", //
            "PUT", "w/b", "1", "w/b", "4", //
            "DELETE", "w/b", "4", "w/b", "", //
            "DELETE", "w/c", "3", "w/c", "",
        ]),
        "[{t}] live events"
    );
    watch.assert_quiet(Duration::from_millis(300));
    watch.stop();

    // A single key, no prev-kv, whole history: deletions print key and an
    // empty value.
    let watch = ctl.watch(&["--rev=1", "w/a"]);
    assert_eq!(
        watch.next_lines(9),
        lines(&["PUT", "w/a", "1", "PUT", "w/a", "2", "DELETE", "w/a", ""]),
        "[{t}] single-key history"
    );
    ctl.ok(&["put", "w/ab", "not me"]);
    ctl.ok(&["put", "w/a", "again"]);
    assert_eq!(
        watch.next_lines(3),
        lines(&["PUT", "w/a", "again"]),
        "[{t}] single-key live"
    );
    watch.stop();

    // The JSON form of a replayed batch.
    let watch = ctl.watch(&["--rev=2", "--prefix", "w/", "-w", "json"]);
    let first = Json::parse(&watch.next_lines(1)[0]);
    watch.stop();
    let events = first["Events"].arr();
    assert!(!events.is_empty(), "[{t}] {first:?}");
    assert_eq!(events[0]["kv"]["key"].b64(), "w/a", "[{t}] {first:?}");
    assert_eq!(events[0]["kv"]["value"].b64(), "1", "[{t}] {first:?}");
    assert_eq!(events[0]["kv"]["mod_revision"].i64(), 2, "[{t}] {first:?}");
    assert_eq!(events[0]["type"].i64(), 0, "[{t}] PUT is 0: {first:?}");
    assert!(!first["Canceled"].bool(), "[{t}] {first:?}");
    let deletes: Vec<&Json> = events.iter().filter(|e| e["type"].i64() == 1).collect();
    if let Some(delete) = deletes.first() {
        assert_eq!(delete["kv"]["key"].b64(), "w/a", "[{t}] {first:?}");
        assert_eq!(delete["kv"]["mod_revision"].i64(), 8, "[{t}] {first:?}");
    }
}

#[test]
fn watch_replays_history_then_streams_live_events() {
    // Watch transcripts are not compared (the watch itself is not a
    // recorded command), but every expectation above also holds on etcd.
    on_etcd_and_mars(|ctl, _| watch_scenario(ctl));
}

// ------------------------------------------------------------------ lease

/// `lease grant TTL` → the lease id in hex.
fn grant(ctl: &Ctl, ttl: u32) -> String {
    let out = ctl.ok(&["lease", "grant", &ttl.to_string()]);
    let id = out
        .strip_prefix("lease ")
        .and_then(|rest| rest.strip_suffix(&format!(" granted with TTL({ttl}s)\n")))
        .unwrap_or_else(|| panic!("[{}] unexpected lease grant output {out:?}", ctl.target));
    assert!(u64::from_str_radix(id, 16).is_ok(), "lease id {id:?}");
    id.to_owned()
}

fn lease_scenario(ctl: &Ctl, _url: &str) {
    let t = ctl.target;
    let id = grant(ctl, 30);
    let decimal = i64::from_str_radix(&id, 16).unwrap();
    ctl.ok(&["put", "lk", "v", &format!("--lease={id}")]);
    ctl.ok(&["put", "lk2", "v", &format!("--lease={id}")]);
    ctl.ok(&["put", "plain", "v"]);
    let got = ctl.json(&["get", "lk"]);
    assert_eq!(got["kvs"][0]["lease"].i64(), decimal, "[{t}] {got:?}");

    assert_eq!(
        ctl.ok(&["lease", "keep-alive", "--once", &id]),
        format!("lease {id} keepalived with TTL(30)\n"),
        "[{t}]"
    );

    let out = ctl.ok(&["lease", "timetolive", "--keys", &id]);
    let prefix = format!("lease {id} granted with TTL(30s), remaining(");
    let rest = out
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("[{t}] timetolive printed {out:?}"));
    let (remaining, keys) = rest.split_once("s), attached keys(").unwrap();
    let remaining: i64 = remaining.parse().unwrap();
    assert!((25..=30).contains(&remaining), "[{t}] {out:?}");
    assert!(
        keys == "[lk lk2])\n" || keys == "[lk2 lk])\n",
        "[{t}] {out:?}"
    );

    let ttl = ctl.json(&["lease", "timetolive", "--keys", &id]);
    assert_eq!(ttl["id"].i64(), decimal, "[{t}] {ttl:?}");
    assert_eq!(ttl["granted-ttl"].i64(), 30, "[{t}] {ttl:?}");
    assert!((25..=30).contains(&ttl["ttl"].i64()), "[{t}] {ttl:?}");
    let mut keys: Vec<String> = ttl["keys"].arr().iter().map(Json::b64).collect();
    keys.sort();
    assert_eq!(keys, lines(&["lk", "lk2"]), "[{t}] {ttl:?}");
    // Without --keys, no keys are listed.
    let bare = ctl.ok(&["lease", "timetolive", &id]);
    assert!(
        bare.starts_with(&prefix) && !bare.contains("attached keys"),
        "[{t}] {bare:?}"
    );

    let other = grant(ctl, 60);
    let list = ctl.ok(&["lease", "list"]);
    let mut listed: Vec<&str> = list.lines().collect();
    assert_eq!(listed.first(), Some(&"found 2 leases"), "[{t}] {list:?}");
    listed.remove(0);
    listed.sort();
    let mut expected = vec![id.as_str(), other.as_str()];
    expected.sort();
    assert_eq!(listed, expected, "[{t}] {list:?}");

    assert_eq!(
        ctl.ok(&["lease", "revoke", &id]),
        format!("lease {id} revoked\n"),
        "[{t}]"
    );
    assert_eq!(
        ctl.get(&["--prefix", ""]),
        pairs(&[("plain", "v")]),
        "[{t}] revoking deletes the attached keys"
    );
    assert_eq!(
        ctl.ok(&["lease", "timetolive", &id]),
        format!("lease {id} already expired\n"),
        "[{t}]"
    );
    assert_eq!(
        ctl.ok(&["lease", "list"]),
        format!("found 1 leases\n{other}\n"),
        "[{t}]"
    );
    let err = ctl.fails(&["lease", "revoke", &id]);
    assert!(err.contains("requested lease not found"), "[{t}] {err:?}");
    let err = ctl.fails(&["lease", "keep-alive", "--once", &id]);
    assert!(err.contains("requested lease not found"), "[{t}] {err:?}");

    // A 2 s lease nobody keeps alive expires by itself, taking its key.
    let short = grant(ctl, 2);
    ctl.ok(&["put", "short", "lived", &format!("--lease={short}")]);
    assert_eq!(ctl.get(&["short"]), pairs(&[("short", "lived")]), "[{t}]");
    let started = Instant::now();
    while !ctl.get(&["short"]).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "[{t}] key of a 2 s lease still there after 10 s"
        );
        thread::sleep(Duration::from_millis(200));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "[{t}] the 2 s lease expired too early ({:?})",
        started.elapsed()
    );
    assert_eq!(
        ctl.ok(&["lease", "timetolive", &short]),
        format!("lease {short} already expired\n"),
        "[{t}]"
    );
}

#[test]
fn leases_grant_keep_alive_list_revoke_and_expire() {
    on_etcd_and_mars(lease_scenario);
}

// ------------------------------------------------------------------ compaction

fn compaction_scenario(ctl: &Ctl) {
    let t = ctl.target;
    for value in ["v1", "v2", "v3", "v4", "v5"] {
        ctl.ok(&["put", "k", value]); // revs 2..=6
    }
    assert_eq!(
        ctl.ok(&["compaction", "4"]),
        "compacted revision 4\n",
        "[{t}]"
    );
    let err = ctl.fails(&["get", "k", "--rev=3"]);
    assert!(
        err.contains("Error: etcdserver: mvcc: required revision has been compacted"),
        "[{t}] {err:?}"
    );
    assert_eq!(ctl.get(&["k", "--rev=4"]), pairs(&[("k", "v3")]), "[{t}]");
    assert_eq!(ctl.get(&["k", "--rev=5"]), pairs(&[("k", "v4")]), "[{t}]");
    assert_eq!(ctl.get(&["k"]), pairs(&[("k", "v5")]), "[{t}]");

    // Compacting again at or below the compacted revision, or in the future.
    let err = ctl.fails(&["compaction", "3"]);
    assert!(
        err.contains("required revision has been compacted"),
        "[{t}] {err:?}"
    );
    let err = ctl.fails(&["compaction", "100"]);
    assert!(
        err.contains("required revision is a future revision"),
        "[{t}] {err:?}"
    );

    // A watch from below the compacted revision is canceled by the server
    // (etcdctl then exits on its own).
    let out = ctl.run(&["watch", "--rev=2", "k"]);
    assert!(!out.success(), "[{t}] {out:?}");
    assert!(
        out.errors().contains(
            "watch was canceled (etcdserver: mvcc: required revision has been compacted)"
        ),
        "[{t}] {out:?}"
    );
    let out = ctl.run(&["watch", "--rev=2", "k", "-w", "json"]);
    assert!(!out.success(), "[{t}] {out:?}");
    let canceled = Json::parse(out.stdout.trim());
    assert!(canceled["Canceled"].bool(), "[{t}] {canceled:?}");
    assert_eq!(canceled["CompactRevision"].i64(), 4, "[{t}] {canceled:?}");
    assert!(canceled["Events"].arr().is_empty(), "[{t}] {canceled:?}");

    // From the compacted revision itself, the history is still there.
    let watch = ctl.watch(&["--rev=4", "k"]);
    assert_eq!(
        watch.next_lines(9),
        lines(&["PUT", "k", "v3", "PUT", "k", "v4", "PUT", "k", "v5"]),
        "[{t}]"
    );
    watch.stop();
}

#[test]
fn compaction_refuses_old_revisions_like_etcd() {
    against_etcd_and_mars(compaction_scenario);
}

// ------------------------------------------------------------------ cluster

fn cluster_scenario(ctl: &Ctl, url: &str) {
    let t = ctl.target;
    ctl.ok(&["put", "some", "thing"]);

    let status = ctl.json(&["endpoint", "status"]);
    assert_eq!(status.arr().len(), 1, "[{t}] {status:?}");
    assert_eq!(
        status[0]["Endpoint"].str(),
        ctl.endpoint,
        "[{t}] {status:?}"
    );
    let s = &status[0]["Status"];
    assert!(s["version"].str().starts_with("3."), "[{t}] {status:?}");
    let member = s["header"]["member_id"].u64();
    assert!(member != 0, "[{t}] {status:?}");
    assert_eq!(
        s["leader"].u64(),
        member,
        "[{t}] leader is itself: {status:?}"
    );
    assert!(s["raftIndex"].u64() > 0, "[{t}] {status:?}");
    assert!(s["raftTerm"].u64() > 0, "[{t}] {status:?}");
    assert!(s["dbSize"].u64() > 0, "[{t}] {status:?}");
    assert_eq!(s["header"]["revision"].i64(), 2, "[{t}] {status:?}");

    let table = ctl.ok(&["endpoint", "status"]);
    assert!(
        table.starts_with(&format!("{}, {member:x}, ", ctl.endpoint)),
        "[{t}] {table:?}"
    );

    let out = ctl.run(&["endpoint", "health"]);
    assert!(out.success(), "[{t}] {out:?}");
    assert!(
        out.stderr.contains(&format!(
            "{} is healthy: successfully committed proposal",
            ctl.endpoint
        )),
        "[{t}] {out:?}"
    );
    let health = ctl.json(&["endpoint", "health"]);
    assert_eq!(
        health[0]["endpoint"].str(),
        ctl.endpoint,
        "[{t}] {health:?}"
    );
    assert!(health[0]["health"].bool(), "[{t}] {health:?}");

    let members = ctl.json(&["member", "list"]);
    assert_eq!(members["members"].arr().len(), 1, "[{t}] {members:?}");
    let only = &members["members"][0];
    assert_eq!(only["ID"].u64(), member, "[{t}] {members:?}");
    assert!(!only["name"].str().is_empty(), "[{t}] {members:?}");
    let urls: Vec<&str> = only["clientURLs"].arr().iter().map(Json::str).collect();
    assert_eq!(urls, [url], "[{t}] {members:?}");
    assert_eq!(
        members["header"]["member_id"].u64(),
        member,
        "[{t}] {members:?}"
    );

    let simple = ctl.ok(&["member", "list"]);
    assert!(
        simple.starts_with(&format!("{member:x}, started, ")) && simple.contains(url),
        "[{t}] {simple:?}"
    );
}

#[test]
fn endpoint_status_health_and_member_list() {
    on_etcd_and_mars(cluster_scenario);
}

/// `endpoint status` and `endpoint health` with `http://` endpoints, as
/// operators usually type them.
#[test]
fn http_endpoints_work_like_etcd() {
    let etcd = EtcdServer::start().unwrap();
    let mars = MarsServer::store_only().unwrap();
    for (target, url) in [("etcd", etcd.url()), ("mars", mars.url())] {
        let status = etcdctl(&url, &["endpoint", "status"], None);
        assert!(status.success(), "[{target}] {}", status.errors());
        assert!(
            status.stdout.contains("3."),
            "[{target}] {:?}",
            status.stdout
        );
        let health = etcdctl(&url, &["endpoint", "health"], None);
        assert!(health.success(), "[{target}] {}", health.errors());
        assert!(
            health.stdout.contains("is healthy") || health.stderr.contains("is healthy"),
            "[{target}] {:?}",
            health
        );
        let put = etcdctl(&url, &["put", "k", "v"], None);
        assert!(put.success(), "[{target}] {}", put.errors());
    }
}

// ------------------------------------------------------------------ bad input

fn bad_input_scenario(ctl: &Ctl) {
    let t = ctl.target;
    ctl.ok(&["put", "before", "1"]);

    // Over the server's 1.5 MiB request limit. (A full 2 MiB value never
    // leaves etcdctl 3.4: its client refuses to send messages over 2 MiB.)
    let big = "x".repeat(1800 * 1024);
    let err = ctl.fails_stdin(&["put", "big"], Some(&big));
    assert!(
        err.contains("Error: etcdserver: request is too large"),
        "[{t}] {err:?}"
    );

    // 129 operations, one more than etcd's default --max-txn-ops.
    let mut txn = String::from("\n");
    for i in 0..129 {
        txn.push_str(&format!("put t{i} v\n"));
    }
    txn.push_str("\n\n");
    let err = ctl.fails_stdin(&["txn"], Some(&txn));
    assert!(
        err.contains("Error: etcdserver: too many operations in txn request"),
        "[{t}] {err:?}"
    );

    let err = ctl.fails(&["get", "before", "--rev=1000"]);
    assert!(
        err.contains("Error: etcdserver: mvcc: required revision is a future revision"),
        "[{t}] {err:?}"
    );

    let err = ctl.fails(&["put", "k", "v", "--lease=1234abcd"]);
    assert!(
        err.contains("Error: etcdserver: requested lease not found"),
        "[{t}] {err:?}"
    );

    let err = ctl.fails(&["put", "", "v"]);
    assert!(
        err.contains("Error: etcdserver: key is not provided"),
        "[{t}] {err:?}"
    );

    // Duplicate keys in one txn are refused too.
    let err = ctl.fails_stdin(&["txn"], Some("\nput dup 1\nput dup 2\n\n\n"));
    assert!(
        err.contains("Error: etcdserver: duplicate key given in txn request"),
        "[{t}] {err:?}"
    );

    // Nothing above was written, and the server still serves.
    assert_eq!(ctl.ok(&["put", "after", "2"]), "OK\n", "[{t}]");
    assert_eq!(
        ctl.get(&["--prefix", ""]),
        pairs(&[("after", "2"), ("before", "1")]),
        "[{t}]"
    );
    let rev = ctl.json(&["get", "after"]);
    assert_eq!(rev["header"]["revision"].i64(), 3, "[{t}] {rev:?}");
}

#[test]
fn bad_requests_fail_like_etcd_and_the_server_keeps_serving() {
    against_etcd_and_mars(bad_input_scenario);
}

#[test]
fn server_limit_flags_are_honoured() {
    let mars = MarsServer::store_only_with(&["--max-request-bytes", "4096", "--max-txn-ops", "4"])
        .unwrap();
    let ctl = Ctl::new("mars", mars.endpoint());
    ctl.ok(&["put", "small", &"s".repeat(1000)]);
    let err = ctl.fails(&["put", "large", &"l".repeat(8192)]);
    assert!(err.contains("request is too large"), "{err:?}");

    let txn = |ops: usize| {
        let mut text = String::from("\n");
        for i in 0..ops {
            text.push_str(&format!("put t{i} v\n"));
        }
        text + "\n\n"
    };
    assert!(ctl.ok_stdin(&["txn"], Some(&txn(4))).starts_with("SUCCESS"));
    let err = ctl.fails_stdin(&["txn"], Some(&txn(5)));
    assert!(
        err.contains("too many operations in txn request"),
        "{err:?}"
    );
    assert_eq!(ctl.get(&["large"]), pairs(&[]));
    assert_eq!(ctl.get(&["t4"]), pairs(&[]));
    assert_eq!(ctl.get(&["t3"]), pairs(&[("t3", "v")]));
}

// ------------------------------------------------------------------ lifecycle

#[test]
fn second_server_on_the_same_data_dir_is_refused() {
    let mars = MarsServer::store_only().unwrap();
    let ctl = Ctl::new("mars", mars.endpoint());
    ctl.ok(&["put", "owner", "first"]);

    let port = mars_e2e::free_port().unwrap();
    let mut second = Command::new(mars_binary().unwrap())
        .arg("server")
        .arg("--data-dir")
        .arg(&mars.data_dir)
        .arg("--etcd-listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(second.stdout.take());
    let stderr = drain(second.stderr.take());
    let code = wait_bounded(&mut second, Duration::from_secs(20), "second mars server");
    let said = format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        code.is_some_and(|c| c != 0),
        "second server exited with {code:?}: {said}"
    );
    assert!(said.contains("in use"), "no 'in use' message: {said}");
    assert!(
        said.contains(&mars.data_dir.display().to_string()),
        "the message does not name the data directory: {said}"
    );

    // The first server is unharmed.
    assert_eq!(ctl.get(&["owner"]), pairs(&[("owner", "first")]));
    ctl.ok(&["put", "owner", "still first"]);
}

#[test]
fn sigterm_stops_cleanly_and_data_survives_restart() {
    let mut mars = MarsServer::store_only().unwrap();
    let ctl = Ctl::new("mars", mars.endpoint());
    ctl.ok(&["put", "a", "1"]);
    ctl.ok(&["put", "b", "2"]);
    ctl.ok(&["put", "a", "3"]);
    ctl.ok(&["del", "b"]);
    ctl.ok_stdin(&["txn"], Some("\nput c 4\nput d 5\n\n\n"));
    let before = ctl.json(&["get", "a"]);
    assert_eq!(before["header"]["revision"].i64(), 6, "{before:?}");

    let status = mars.terminate().unwrap();
    assert!(
        status.code() == Some(0),
        "SIGTERM: mars exited with {status:?}\n{}",
        mars.log_tail()
    );

    mars.spawn().unwrap();
    let ctl = Ctl::new("mars", mars.endpoint());
    assert_eq!(
        ctl.get(&["--prefix", ""]),
        pairs(&[("a", "3"), ("c", "4"), ("d", "5")]),
        "{}",
        mars.log_tail()
    );
    let after = ctl.json(&["get", "a"]);
    assert_eq!(after["header"]["revision"].i64(), 6, "{after:?}");
    assert_eq!(after["kvs"][0]["version"].i64(), 2, "{after:?}");
    assert_eq!(ctl.get(&["a", "--rev=2"]), pairs(&[("a", "1")]));
    assert_eq!(ctl.get(&["b", "--rev=4"]), pairs(&[("b", "2")]));
    assert_eq!(ctl.ok(&["put", "e", "6"]), "OK\n");
    let next = ctl.json(&["get", "e"]);
    assert_eq!(next["header"]["revision"].i64(), 7, "{next:?}");
}
