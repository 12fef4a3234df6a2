//! The benchmark's peers: the same first request as `list`'s GET /users written the way a team
//! would write it without our start-up work: a default-configured Rust function, a Python
//! boto3 one and a Node.js AWS SDK v3 one (`tests/peers/`). `prepare` builds or installs each,
//! pinned (Cargo.lock, requirements.txt, package-lock.json), into ignored folders, once; later
//! runs reuse what is there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a cold start execs: a binary, or an interpreter and its script.
#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub path: PathBuf,
    pub args: Vec<PathBuf>,
}

impl Program {
    pub fn binary(dir: &Path, name: &str) -> Program {
        Program {
            name: name.to_string(),
            path: dir.join(name),
            args: Vec::new(),
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.path);
        c.args(&self.args);
        c
    }
}

fn say(line: &str) {
    eprintln!("bench: {line}");
}

fn run(what: &str, cmd: &mut Command) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("bench peers: {what} failed ({s}); run it by hand to see why: {cmd:?}"),
        Err(e) => panic!("bench peers: {what} could not start ({e}): {cmd:?}"),
    }
}

/// Reinstalls only when the pinned file changed since the last install: the stamp holds the
/// pin file's contents as they were then.
fn stale(pins: &Path, stamp: &Path) -> bool {
    std::fs::read(pins).ok() != std::fs::read(stamp).ok()
}

fn rust_default(root: &Path) -> Program {
    say("building the default-configured Rust peer (tests/peers/rust, --locked, into target/peers; minutes the first time)");
    let target = root.join("target/peers");
    run(
        "cargo build of the Rust peer",
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                "--release",
                "--locked",
                "--quiet",
                "--manifest-path",
            ])
            .arg(root.join("tests/peers/rust/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target),
    );
    Program {
        name: "peer: rust-default".into(),
        path: target.join("release/peer-rust-default"),
        args: Vec::new(),
    }
}

fn python_boto3(root: &Path) -> Program {
    let venv = root.join(".local/peers/python");
    let pins = root.join("tests/peers/python/requirements.txt");
    let stamp = venv.join("installed-requirements.txt");
    let python = venv.join("bin/python");
    if stale(&pins, &stamp) || !python.exists() {
        say("installing the Python peer's pinned boto3 into .local/peers/python (once)");
        run(
            "python3 -m venv",
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
        );
        run(
            "pip install of the Python peer's requirements",
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&pins),
        );
        std::fs::copy(&pins, &stamp).expect("write the Python peer's stamp");
    }
    Program {
        name: "peer: python-boto3".into(),
        path: python,
        args: vec![root.join("tests/peers/python/handler.py")],
    }
}

fn node_sdk_v3(root: &Path) -> Program {
    let dir = root.join("tests/peers/node");
    let lock = dir.join("package-lock.json");
    let stamp = dir.join("node_modules/.installed-lock.json");
    if stale(&lock, &stamp) {
        say("installing the Node.js peer's pinned AWS SDK v3 (npm ci in tests/peers/node, once)");
        run(
            "npm ci of the Node.js peer",
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir),
        );
        std::fs::copy(&lock, &stamp).expect("write the Node.js peer's stamp");
    }
    let node = which("node").expect("node is not on PATH (the Node.js peer needs it)");
    Program {
        name: "peer: node-sdk-v3".into(),
        path: node,
        args: vec![dir.join("index.mjs")],
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// Builds or installs every peer; panics with the step that failed and the command to rerun.
pub fn prepare(root: &Path) -> Vec<Program> {
    vec![rust_default(root), python_boto3(root), node_sdk_v3(root)]
}
