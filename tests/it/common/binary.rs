//! The `license-portal` binary run as an operator runs it, with the test's
//! database, signing key and outbox in its environment.

use super::TestApp;
use std::fmt;
use std::path::Path;
use std::process::Command;

/// What a run of the binary left.
pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Both streams, for a failed assertion's message.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.stdout, self.stderr)
    }
}

/// The binary with `args` on the test's database, signing key and outbox,
/// with the variables of `env` added or changed.
pub fn run(app: &TestApp, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let database = app.database_url();
    let signing_key = app.dir.path().join("signing-key");
    let outbox = app.outbox_dir();
    let mut all: Vec<(&str, &Path)> = vec![
        ("DATABASE_URL", Path::new(&database)),
        ("SIGNING_KEY_PATH", &signing_key),
        ("OUTBOX_DIR", &outbox),
    ];
    all.extend_from_slice(env);
    run_bare(args, &all)
}

/// The binary with `args` and only the variables of `env` set for it: no
/// database or key of a test unless `env` names one.
pub fn run_bare(args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_license-portal"));
    command.args(args).env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run the binary");
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// `run` with nothing changed: whether it succeeded, and what it printed.
pub fn cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    let r = run(app, args, &[]);
    (r.ok, r.stdout)
}
