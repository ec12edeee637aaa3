//! One writer at a time per SQLite file in this process. SQLite lets one
//! transaction write at a time; a second writer that finds the lock taken
//! sleeps in its busy handler (1, 2, 5, 10, 15, 20, 25 ms … between tries)
//! instead of being told when the lock is free. With 8 clients granting
//! credits, those sleeps were the p99 (~130 ms against a p50 of 7 ms). The
//! process's writers (the event store's appends and snapshots, every
//! `Db::begin_write` transaction, every single statement sent with
//! `db::WriteOn`) queue here instead, in arrival order, and reach SQLite
//! one by one; the busy handler remains for other processes.
//! PostgreSQL has row locks and needs none of this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

/// How long a writer waits for its turn: as long as the pools wait for a
/// connection. Past it the write fails as a pool timeout would, and is
/// retried like one.
const TURN_WAIT: Duration = Duration::from_secs(30);

/// The writers' queue of one SQLite file.
#[derive(Clone, Debug)]
pub struct WriteGate(Arc<tokio::sync::Mutex<()>>);

/// A writer's turn: the next writer goes when it is dropped.
pub type Turn = OwnedMutexGuard<()>;

static GATES: Mutex<Option<HashMap<PathBuf, Weak<tokio::sync::Mutex<()>>>>> = Mutex::new(None);

impl WriteGate {
    /// The gate of the SQLite file at `path`, shared by every pool of this
    /// process that opens it; None for an in-memory database, which no other
    /// pool can open.
    pub fn for_file(path: &Path) -> Option<WriteGate> {
        let name = path.file_name()?;
        if path.to_string_lossy().starts_with(":memory:") {
            return None;
        }
        // The directory, not the file, is resolved: the file may not be
        // created yet when the first pool is opened.
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let key = std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .join(name);
        // A panic elsewhere while holding this lock leaves a usable map:
        // every change under it is one call.
        let mut gates = GATES.lock().unwrap_or_else(|e| e.into_inner());
        let gates = gates.get_or_insert_with(HashMap::new);
        gates.retain(|_, g| g.strong_count() > 0);
        if let Some(gate) = gates.get(&key).and_then(Weak::upgrade) {
            return Some(WriteGate(gate));
        }
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        gates.insert(key, Arc::downgrade(&gate));
        Some(WriteGate(gate))
    }

    /// Waits for this writer's turn.
    pub async fn turn(&self) -> Result<Turn, sqlx::Error> {
        tokio::time::timeout(TURN_WAIT, self.0.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }
}

/// The writer's turn at `gate`, if its database has one.
pub async fn turn(gate: Option<&WriteGate>) -> Result<Option<Turn>, sqlx::Error> {
    match gate {
        Some(gate) => gate.turn().await.map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pools_of_one_file_share_a_gate_and_other_files_do_not() {
        let dir = std::env::temp_dir().join(format!("write-gate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (a, b) = (dir.join("a.db"), dir.join("b.db"));
        let first = WriteGate::for_file(&a).expect("a file's gate");
        let turn = first.turn().await.expect("a turn");
        let same = WriteGate::for_file(&dir.join(".").join("a.db")).expect("the same gate");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), same.turn())
                .await
                .is_err(),
            "a second writer of the same file waits"
        );
        WriteGate::for_file(&b)
            .expect("another gate")
            .turn()
            .await
            .expect("another file has its own gate");
        drop(turn);
        same.turn().await.expect("its turn once the first is done");
        assert!(WriteGate::for_file(Path::new(":memory:")).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
