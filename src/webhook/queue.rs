//! The durable queue between "request accepted" and "flow ran": a SQLite file per flow in
//! the state folder (`<state dir>/webhooks/<flow name>-<hash of its path>.db`).
//!
//! Why a file of its own rather than a table in `state.db`: a listener writes (and
//! fsyncs) once per request while runs write history and watermarks to `state.db`; a
//! separate file keeps the two from waiting on each other's write lock, lets the queue use
//! WAL with `synchronous = FULL` (a commit is on disk before the sender hears 202) without
//! imposing that on the state store, and lets the listener hold the file with an exclusive
//! lock, so a second `sluice listen` of the same flow is refused instead of delivering the
//! same events twice. The lock is the operating system's: it goes away with the process,
//! so a crashed listener never leaves a stale lock behind.
//!
//! An event leaves the queue only when a run that read it succeeded. Left out: sharing one
//! queue between machines, and a dead-letter table for events that fail every run (they
//! stay, retried with a capped backoff, and `last_error` says why).

use super::auth::ReplayKey;
use super::event::{StoredFormat, WebhookEvent};
use crate::connectors::sql::db::{sqlite_execute, sqlite_fetch_all, sqlite_scalar, sqlite_script};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The queue file's schema steps, in order (its own list: the file is not `state.db`).
pub const QUEUE_MIGRATIONS: &[&str] = &[
    // 1: events waiting for a successful run, and signatures already taken.
    "CREATE TABLE events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id    TEXT NOT NULL UNIQUE,
        node_id     TEXT NOT NULL,
        received_at TEXT NOT NULL,
        format      TEXT NOT NULL,
        body        BLOB NOT NULL,
        headers     TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT
    );
    CREATE TABLE replay_keys (
        node_id    TEXT NOT NULL,
        key        TEXT NOT NULL,
        event_id   TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (node_id, key)
    );",
];

/// A queue problem, in plain words (names the file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// Where a flow's queue lives: one file per flow file, named so a person can tell which.
pub fn queue_path(state_dir: &Path, flow_path: &Path) -> PathBuf {
    let canonical = flow_path.canonicalize().unwrap_or_else(|_| flow_path.to_path_buf());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    let stem = flow_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = stem.strip_suffix(".flow.json").or_else(|| stem.strip_suffix(".json")).unwrap_or(&stem).to_string();
    let slug: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(40).collect();
    state_dir.join("webhooks").join(format!("{slug}-{}.db", &hex::encode(digest)[..12]))
}

/// What became of a pushed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The same signed request was taken before (within its timestamp's tolerance): it is
    /// answered with the first one's id and not queued again.
    Duplicate { event_id: String },
}

/// Queued events of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBacklog {
    pub node_id: String,
    pub events: u64,
    pub failed_attempts: u64,
}

/// An open queue file, held exclusively by this process.
#[derive(Clone)]
pub struct EventQueue {
    pool: SqlitePool,
    path: PathBuf,
}

impl EventQueue {
    /// Opens (or creates) the queue file and takes it for this process; fails naming the
    /// file when another listener holds it.
    pub fn open(path: &Path) -> BoxFuture<'static, Result<Self, QueueError>> {
        let path = path.to_path_buf();
        Box::pin(async move {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| QueueError(format!("cannot create the queue folder {}: {e}", dir.display())))?;
            }
            let opts = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .locking_mode(SqliteLockingMode::Exclusive)
                // A listener that just stopped in this process may still be letting go.
                .busy_timeout(Duration::from_secs(5));
            // One connection for the whole life of the listener: it holds the lock, so it
            // must never be recycled.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(opts)
                .await
                .map_err(|e| open_error(&path, e))?;
            let queue = EventQueue { pool, path };
            queue.migrate().await.map_err(|e| open_error(&queue.path, e))?;
            Ok(queue)
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: sqlx::Error) -> QueueError {
        QueueError(format!("queue file {}: {e}", self.path.display()))
    }

    fn migrate(&self) -> BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            // The first write takes the exclusive lock and keeps it (locking_mode).
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlite_script(&mut tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").await?;
            let current = match sqlite_scalar(&mut tx, "SELECT version FROM schema_version").await? {
                Some(v) => v as usize,
                None => {
                    sqlite_script(&mut tx, "INSERT INTO schema_version (version) VALUES (0)").await?;
                    0
                }
            };
            if current > QUEUE_MIGRATIONS.len() {
                return Err(sqlx::Error::Protocol(format!(
                    "written by a newer Sluice (queue schema {current}, this one knows {}); upgrade Sluice",
                    QUEUE_MIGRATIONS.len()
                )));
            }
            for step in &QUEUE_MIGRATIONS[current..] {
                sqlite_script(&mut tx, step).await?;
            }
            sqlite_execute(&mut tx, sqlx::query("UPDATE schema_version SET version = ?").bind(QUEUE_MIGRATIONS.len() as i64)).await?;
            tx.commit().await
        })
    }

    /// Stores an event; once this returns `Ok` the event survives a crash.
    pub fn push<'a>(&'a self, event: &'a WebhookEvent, replay: Option<&'a ReplayKey>) -> BoxFuture<'a, Result<Pushed, QueueError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| self.err(e))?;
            if let Some(r) = replay {
                sqlite_execute(&mut tx, sqlx::query("DELETE FROM replay_keys WHERE expires_at < ?").bind(Utc::now().timestamp()))
                    .await
                    .map_err(|e| self.err(e))?;
                let seen = sqlite_fetch_all(
                    &mut tx,
                    sqlx::query("SELECT event_id FROM replay_keys WHERE node_id = ? AND key = ?").bind(&event.node_id).bind(&r.key),
                )
                .await
                .map_err(|e| self.err(e))?;
                if let Some(row) = seen.first() {
                    return Ok(Pushed::Duplicate { event_id: row.get(0) });
                }
                sqlite_execute(
                    &mut tx,
                    sqlx::query("INSERT INTO replay_keys (node_id, key, event_id, expires_at) VALUES (?, ?, ?, ?)")
                        .bind(&event.node_id)
                        .bind(&r.key)
                        .bind(&event.event_id)
                        .bind(r.expires_at),
                )
                .await
                .map_err(|e| self.err(e))?;
            }
            let headers = serde_json::to_string(&event.headers).expect("a map of strings serialises");
            sqlite_execute(
                &mut tx,
                sqlx::query("INSERT INTO events (event_id, node_id, received_at, format, body, headers) VALUES (?, ?, ?, ?, ?, ?)")
                    .bind(&event.event_id)
                    .bind(&event.node_id)
                    .bind(event.received_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .bind(event.format.name())
                    .bind(&event.body)
                    .bind(headers),
            )
            .await
            .map_err(|e| self.err(e))?;
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(Pushed::Queued)
        })
    }

    /// The oldest `max` events of the given nodes, in order of arrival.
    pub fn next_batch<'a>(&'a self, nodes: &'a [String], max: usize) -> BoxFuture<'a, Result<Vec<WebhookEvent>, QueueError>> {
        Box::pin(async move {
            let nodes_json = serde_json::to_string(nodes).expect("strings serialise");
            let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
            let rows = sqlite_fetch_all(
                &mut conn,
                sqlx::query(
                    "SELECT seq, event_id, node_id, received_at, format, body, headers FROM events \
                     WHERE node_id IN (SELECT value FROM json_each(?)) ORDER BY seq LIMIT ?",
                )
                .bind(nodes_json)
                .bind(max as i64),
            )
            .await
            .map_err(|e| self.err(e))?;
            rows.iter()
                .map(|r| {
                    let event_id: String = r.get(1);
                    let bad = |what: &str| QueueError(format!("queue file {}: event {event_id} has {what}", self.path.display()));
                    let received_at: String = r.get(3);
                    let format: String = r.get(4);
                    let headers: String = r.get(6);
                    Ok(WebhookEvent {
                        seq: r.get(0),
                        node_id: r.get(2),
                        received_at: DateTime::parse_from_rfc3339(&received_at).map_err(|_| bad("an unreadable time"))?.to_utc(),
                        format: StoredFormat::from_name(&format).ok_or_else(|| bad("an unknown format"))?,
                        body: r.get(5),
                        headers: serde_json::from_str::<BTreeMap<String, String>>(&headers).map_err(|_| bad("unreadable headers"))?,
                        event_id,
                    })
                })
                .collect()
        })
    }

    /// Removes delivered events.
    pub fn remove<'a>(&'a self, seqs: &'a [i64]) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(async move {
            let list = serde_json::to_string(seqs).expect("numbers serialise");
            let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
            sqlite_execute(&mut conn, sqlx::query("DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?))").bind(list))
                .await
                .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Counts a failed attempt on each event, with the run's error.
    pub fn mark_failed<'a>(&'a self, seqs: &'a [i64], error: &'a str) -> BoxFuture<'a, Result<(), QueueError>> {
        Box::pin(async move {
            let list = serde_json::to_string(seqs).expect("numbers serialise");
            let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
            sqlite_execute(
                &mut conn,
                sqlx::query("UPDATE events SET attempts = attempts + 1, last_error = ? WHERE seq IN (SELECT value FROM json_each(?))")
                    .bind(error)
                    .bind(list),
            )
            .await
            .map_err(|e| self.err(e))?;
            Ok(())
        })
    }

    /// Queued events per node.
    pub fn backlog(&self) -> BoxFuture<'_, Result<Vec<NodeBacklog>, QueueError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
            let rows = sqlite_fetch_all(
                &mut conn,
                sqlx::query("SELECT node_id, COUNT(*), SUM(attempts) FROM events GROUP BY node_id ORDER BY node_id"),
            )
            .await
            .map_err(|e| self.err(e))?;
            Ok(rows
                .iter()
                .map(|r| NodeBacklog {
                    node_id: r.get(0),
                    events: r.get::<i64, _>(1) as u64,
                    failed_attempts: r.get::<Option<i64>, _>(2).unwrap_or(0) as u64,
                })
                .collect())
        })
    }

    /// Lets go of the file (and its lock).
    pub async fn close(&self) {
        self.pool.close().await
    }
}

fn open_error(path: &Path, e: sqlx::Error) -> QueueError {
    let text = e.to_string();
    if text.contains("database is locked") || text.contains("SQLITE_BUSY") {
        QueueError(format!(
            "the queue file {} is in use by another `sluice listen` of this flow; stop that one first (one listener per flow)",
            path.display()
        ))
    } else {
        QueueError(format!("cannot open the queue file {}: {text}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, node: &str) -> WebhookEvent {
        WebhookEvent {
            seq: 0,
            event_id: id.into(),
            node_id: node.into(),
            received_at: Utc::now(),
            format: StoredFormat::Json,
            body: b"{}".to_vec(),
            headers: BTreeMap::from([("kind".to_string(), "x".to_string())]),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn events_stay_until_removed_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q/flow.db");
        let q = EventQueue::open(&path).await.unwrap();
        for i in 0..3 {
            assert_eq!(q.push(&event(&format!("e{i}"), "hook"), None).await.unwrap(), Pushed::Queued);
        }
        q.push(&event("other", "gone_node"), None).await.unwrap();
        let batch = q.next_batch(&["hook".to_string()], 2).await.unwrap();
        assert_eq!(batch.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), vec!["e0", "e1"]);
        assert_eq!(batch[0].headers["kind"], "x");
        q.mark_failed(&[batch[0].seq], "boom").await.unwrap();
        q.remove(&[batch[1].seq]).await.unwrap();
        q.close().await;

        let q = EventQueue::open(&path).await.unwrap();
        let left = q.next_batch(&["hook".to_string()], 10).await.unwrap();
        assert_eq!(left.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(), vec!["e0", "e2"]);
        let backlog = q.backlog().await.unwrap();
        assert_eq!(backlog[0], NodeBacklog { node_id: "gone_node".into(), events: 1, failed_attempts: 0 });
        assert_eq!(backlog[1], NodeBacklog { node_id: "hook".into(), events: 2, failed_attempts: 1 });
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_second_opener_is_refused_and_replays_are_answered_with_the_first_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flow.db");
        let q = EventQueue::open(&path).await.unwrap();
        let key = ReplayKey { key: "abc".into(), expires_at: Utc::now().timestamp() + 60 };
        assert_eq!(q.push(&event("first", "hook"), Some(&key)).await.unwrap(), Pushed::Queued);
        assert_eq!(q.push(&event("again", "hook"), Some(&key)).await.unwrap(), Pushed::Duplicate { event_id: "first".into() });
        let err = EventQueue::open(&path).await.err().unwrap();
        assert!(err.0.contains("in use by another `sluice listen`"), "{err}");
        q.close().await;
        assert!(EventQueue::open(&path).await.is_ok());
    }

    #[test]
    fn queue_files_are_named_after_the_flow() {
        let p = queue_path(Path::new("/state"), Path::new("/no/such/ticket status.flow.json"));
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("ticket_status-") && name.ends_with(".db"), "{name}");
        assert_eq!(p.parent().unwrap(), Path::new("/state/webhooks"));
    }
}
