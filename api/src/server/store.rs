//! Where the server keeps what must survive a restart: an SQLite database
//! (scenarios' metadata, runs, per-second series, results) and a directory of
//! blobs (component bytes, content-addressed by sha256, and precompiled code).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::models::{
    AbortReason, RunInfo, RunOutput, RunProgress, RunStatus, ScenarioInfo, ThresholdState,
    TimeseriesPoint, WebhookState,
};

/// Schema changes, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE scenarios (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    exports TEXT NOT NULL,
    imports TEXT NOT NULL,
    default_options TEXT NOT NULL
);
CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    scenario_id TEXT NOT NULL REFERENCES scenarios(id),
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    progress TEXT,
    thresholds_passed INTEGER,
    thresholds TEXT NOT NULL DEFAULT '[]',
    abort_reason TEXT,
    error TEXT,
    webhook TEXT,
    metrics TEXT,
    results TEXT
);
CREATE INDEX runs_by_status ON runs(status, seq);
CREATE TABLE timeseries (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    second INTEGER NOT NULL,
    point TEXT NOT NULL,
    PRIMARY KEY (run_id, second)
);
"#,
    r#"
ALTER TABLE runs ADD COLUMN logs TEXT;
"#,
    r#"
ALTER TABLE runs ADD COLUMN outputs TEXT NOT NULL DEFAULT '[]';
"#,
];

/// What the server stores.
pub struct Store {
    db: Mutex<Connection>,
    blobs: PathBuf,
    compiled: PathBuf,
}

/// How a run ended, to be stored.
pub struct RunEnd {
    /// Its final status.
    pub status: RunStatus,
    /// When.
    pub ended_at: String,
    /// The last headline figures.
    pub progress: Option<RunProgress>,
    /// Whether every threshold held.
    pub thresholds_passed: Option<bool>,
    /// The verdicts.
    pub thresholds: Vec<ThresholdState>,
    /// Why it was aborted.
    pub abort_reason: Option<AbortReason>,
    /// Why it failed.
    pub error: Option<String>,
    /// The metrics at the end (a `MetricsView` map with every tag split), JSON.
    pub metrics: Option<String>,
    /// The results, JSON.
    pub results: Option<String>,
}

/// Takes the data directory for this process: a second server on the same
/// directory would mark the first one's runs `interrupted`. The lock is held
/// while the returned file is open.
pub fn lock_data_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("lock");
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{} is in use by another volley serve (one server per data directory)",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("API types serialize")
}

fn from_json<T: DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Store {
    /// Opens (or creates) the store in `dir`, migrates the database, and marks
    /// runs that were in flight when the last process stopped as `interrupted`.
    /// Returns the store and how many runs were marked.
    pub fn open(dir: &Path, now: &str) -> anyhow::Result<(Self, usize)> {
        let blobs = dir.join("blobs");
        let compiled = dir.join("compiled");
        for d in [dir, &blobs, &compiled] {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
        // Files half-written when a process died are of no use.
        for d in [&blobs, &compiled] {
            for entry in std::fs::read_dir(d)? {
                let path = entry?.path();
                if path
                    .extension()
                    .is_some_and(|e| e.to_string_lossy().starts_with("tmp-"))
                {
                    remove_if_present(&path)?;
                }
            }
        }
        let path = dir.join("volley.db");
        let mut db = Connection::open(&path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )?;
        migrate(&mut db)?;
        let interrupted = db.execute(
            "UPDATE runs SET status = 'interrupted', ended_at = ?1,
                 error = 'the server stopped while the run was in flight; metrics up to then are kept'
             WHERE status IN ('running', 'stopping')",
            params![now],
        )?;
        Ok((
            Self {
                db: Mutex::new(db),
                blobs,
                compiled,
            },
            interrupted,
        ))
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().expect("database lock poisoned")
    }

    fn blob_path(&self, id: &str) -> PathBuf {
        self.blobs.join(format!("{id}.wasm"))
    }

    /// Stores a scenario's bytes and metadata (no-op if it exists).
    pub fn insert_scenario(&self, info: &ScenarioInfo, bytes: &[u8]) -> anyhow::Result<()> {
        write_atomically(&self.blob_path(&info.id), bytes)?;
        self.db().execute(
            "INSERT OR IGNORE INTO scenarios (id, name, size, created_at, exports, imports, default_options)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                info.id,
                info.name,
                info.size as i64,
                info.created_at,
                to_json(&info.exports),
                to_json(&info.imports),
                info.default_options.to_string(),
            ],
        )?;
        Ok(())
    }

    /// The scenario `id`.
    pub fn scenario(&self, id: &str) -> rusqlite::Result<Option<ScenarioInfo>> {
        self.db()
            .query_row(
                "SELECT id, name, size, created_at, exports, imports, default_options
                 FROM scenarios WHERE id = ?1",
                params![id],
                scenario_row,
            )
            .optional()
    }

    /// Every scenario, newest first.
    pub fn scenarios(&self) -> rusqlite::Result<Vec<ScenarioInfo>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT id, name, size, created_at, exports, imports, default_options
             FROM scenarios ORDER BY created_at DESC, id",
        )?;
        statement.query_map([], scenario_row)?.collect()
    }

    /// Whether a run that has not ended uses scenario `id`.
    pub fn scenario_in_use(&self, id: &str) -> rusqlite::Result<bool> {
        self.db().query_row(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE scenario_id = ?1
                 AND status IN ('queued', 'running', 'stopping'))",
            params![id],
            |row| row.get(0),
        )
    }

    /// Deletes scenario `id`, its bytes, its precompiled code, and the ended
    /// runs that used it. Returns false if there was no such scenario.
    pub fn delete_scenario(&self, id: &str) -> anyhow::Result<bool> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "DELETE FROM timeseries WHERE run_id IN (SELECT id FROM runs WHERE scenario_id = ?1)",
            params![id],
        )?;
        tx.execute("DELETE FROM runs WHERE scenario_id = ?1", params![id])?;
        let deleted = tx.execute("DELETE FROM scenarios WHERE id = ?1", params![id])? > 0;
        tx.commit()?;
        drop(db);
        if deleted {
            remove_if_present(&self.blob_path(id))?;
            for entry in std::fs::read_dir(&self.compiled)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with(&format!("{id}-")) {
                    remove_if_present(&path)?;
                }
            }
        }
        Ok(deleted)
    }

    /// The component bytes of scenario `id`.
    pub fn scenario_bytes(&self, id: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.blob_path(id))
    }

    fn compiled_path(&self, id: &str, engine_key: &str) -> PathBuf {
        self.compiled.join(format!("{id}-{engine_key}.cwasm"))
    }

    /// Precompiled code of scenario `id` for engines with `engine_key`.
    pub fn compiled(&self, id: &str, engine_key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.compiled_path(id, engine_key)).ok()
    }

    /// Keeps precompiled code of scenario `id` for engines with `engine_key`.
    pub fn put_compiled(&self, id: &str, engine_key: &str, code: &[u8]) -> anyhow::Result<()> {
        write_atomically(&self.compiled_path(id, engine_key), code)
    }

    /// Adds a queued run.
    pub fn insert_run(&self, run: &RunInfo) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO runs (id, scenario_id, status, options, created_at, webhook, outputs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.id,
                run.scenario,
                run.status.as_str(),
                run.options.to_string(),
                run.created_at,
                run.webhook.as_ref().map(to_json),
                to_json(&run.outputs),
            ],
        )?;
        Ok(())
    }

    /// The outputs of run `id`, header values included.
    pub fn run_outputs(&self, id: &str) -> rusqlite::Result<Vec<RunOutput>> {
        let text: Option<String> = self
            .db()
            .query_row(
                "SELECT outputs FROM runs WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?;
        text.map_or(Ok(Vec::new()), |t| from_json(&t))
    }

    /// The run `id`, as stored.
    pub fn run(&self, id: &str) -> rusqlite::Result<Option<RunInfo>> {
        self.db()
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                params![id],
                run_row,
            )
            .optional()
    }

    /// A page of runs, newest first, and the cursor of the next page.
    pub fn runs(
        &self,
        status: Option<RunStatus>,
        scenario: Option<&str>,
        limit: u32,
        before_seq: Option<i64>,
    ) -> rusqlite::Result<(Vec<RunInfo>, Option<i64>)> {
        let db = self.db();
        let mut statement = db.prepare(&format!(
            "SELECT {RUN_COLUMNS}, seq FROM runs
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR scenario_id = ?2)
               AND (?3 IS NULL OR seq < ?3)
             ORDER BY seq DESC LIMIT ?4"
        ))?;
        let rows: Vec<(RunInfo, i64)> = statement
            .query_map(
                params![
                    status.map(RunStatus::as_str),
                    scenario,
                    before_seq,
                    i64::from(limit) + 1
                ],
                |row| Ok((run_row(row)?, row.get(RUN_COLUMN_COUNT)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        let more = rows.len() > limit as usize;
        let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
        let next = if more {
            rows.last().map(|(_, seq)| *seq)
        } else {
            None
        };
        Ok((rows.into_iter().map(|(run, _)| run).collect(), next))
    }

    /// Ended runs that have a webhook (delivered or not).
    pub fn ended_runs_with_webhooks(&self) -> rusqlite::Result<Vec<RunInfo>> {
        let db = self.db();
        let mut statement = db.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE webhook IS NOT NULL
                 AND status NOT IN ('queued', 'running', 'stopping') ORDER BY seq"
        ))?;
        statement.query_map([], run_row)?.collect()
    }

    /// The oldest queued run's id.
    pub fn next_queued(&self) -> rusqlite::Result<Option<String>> {
        self.db()
            .query_row(
                "SELECT id FROM runs WHERE status = 'queued' ORDER BY seq LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
    }

    /// How many runs there are of each status.
    pub fn run_counts(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        let db = self.db();
        let mut statement = db.prepare("SELECT status, COUNT(*) FROM runs GROUP BY status")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
        })?;
        rows.collect()
    }

    /// How many scenarios are stored.
    pub fn scenario_count(&self) -> rusqlite::Result<u64> {
        self.db()
            .query_row("SELECT COUNT(*) FROM scenarios", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n as u64)
    }

    /// How many runs wait in the queue.
    pub fn queued_count(&self) -> rusqlite::Result<usize> {
        self.db().query_row(
            "SELECT COUNT(*) FROM runs WHERE status = 'queued'",
            [],
            |row| row.get::<_, i64>(0).map(|n| n as usize),
        )
    }

    /// Moves run `id` from `from` to `to`; returns false if it was not in `from`.
    pub fn transition(&self, id: &str, from: RunStatus, to: RunStatus) -> rusqlite::Result<bool> {
        Ok(self.db().execute(
            "UPDATE runs SET status = ?3 WHERE id = ?1 AND status = ?2",
            params![id, from.as_str(), to.as_str()],
        )? > 0)
    }

    /// Marks run `id` started now.
    pub fn set_started(&self, id: &str, at: &str) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE runs SET status = 'running', started_at = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    /// Records one second of a live run: its point, headline figures,
    /// threshold verdicts and metrics so far.
    pub fn record_second(
        &self,
        id: &str,
        second: u32,
        point: &TimeseriesPoint,
        progress: &RunProgress,
        thresholds: &[ThresholdState],
        metrics: &str,
    ) -> rusqlite::Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO timeseries (run_id, second, point) VALUES (?1, ?2, ?3)",
            params![id, second, to_json(point)],
        )?;
        tx.execute(
            "UPDATE runs SET progress = ?2, thresholds = ?3, metrics = ?4,
                 thresholds_passed = ?5 WHERE id = ?1",
            params![
                id,
                to_json(progress),
                to_json(&thresholds),
                metrics,
                (!thresholds.is_empty()).then(|| thresholds.iter().all(|t| t.ok)),
            ],
        )?;
        tx.commit()
    }

    /// Records the end of run `id`.
    pub fn finish_run(&self, id: &str, end: &RunEnd) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE runs SET status = ?2, ended_at = ?3, progress = COALESCE(?4, progress),
                 thresholds_passed = ?5, thresholds = ?6, abort_reason = ?7, error = ?8,
                 metrics = COALESCE(?9, metrics), results = ?10
             WHERE id = ?1",
            params![
                id,
                end.status.as_str(),
                end.ended_at,
                end.progress.as_ref().map(to_json),
                end.thresholds_passed,
                to_json(&end.thresholds),
                end.abort_reason
                    .map(|r| to_json(&r).trim_matches('"').to_owned()),
                end.error,
                end.metrics,
                end.results,
            ],
        )?;
        Ok(())
    }

    /// Records where the webhook of run `id` stands.
    pub fn set_webhook(&self, id: &str, state: &WebhookState) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE runs SET webhook = ?2 WHERE id = ?1",
            params![id, to_json(state)],
        )?;
        Ok(())
    }

    /// The stored metrics (JSON) of run `id`, if any were recorded.
    pub fn run_metrics(&self, id: &str) -> rusqlite::Result<Option<String>> {
        self.run_text(id, "metrics")
    }

    /// The stored results (JSON) of run `id`, if it produced them.
    pub fn run_results(&self, id: &str) -> rusqlite::Result<Option<String>> {
        self.run_text(id, "results")
    }

    /// Keeps the log (JSON) of run `id`.
    pub fn set_logs(&self, id: &str, logs: &str) -> rusqlite::Result<()> {
        self.db()
            .execute("UPDATE runs SET logs = ?2 WHERE id = ?1", params![id, logs])?;
        Ok(())
    }

    /// The stored log (JSON) of run `id`, if any.
    pub fn run_logs(&self, id: &str) -> rusqlite::Result<Option<String>> {
        self.run_text(id, "logs")
    }

    /// The text in `column` of run `id`, if the run exists and it is set.
    fn run_text(&self, id: &str, column: &'static str) -> rusqlite::Result<Option<String>> {
        Ok(self
            .db()
            .query_row(
                &format!("SELECT {column} FROM runs WHERE id = ?1"),
                params![id],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// The per-second series of run `id`, oldest first.
    pub fn timeseries(&self, id: &str) -> rusqlite::Result<Vec<TimeseriesPoint>> {
        let db = self.db();
        let mut statement =
            db.prepare("SELECT point FROM timeseries WHERE run_id = ?1 ORDER BY second")?;
        statement
            .query_map(params![id], |row| from_json(&row.get::<_, String>(0)?))?
            .collect()
    }
}

const RUN_COLUMNS: &str = "id, scenario_id, status, options, created_at, started_at, ended_at, \
     progress, thresholds_passed, thresholds, abort_reason, error, webhook, outputs";
const RUN_COLUMN_COUNT: usize = 14;

fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunInfo> {
    let status: String = row.get(2)?;
    let optional_json = |index: usize| -> rusqlite::Result<Option<String>> { row.get(index) };
    Ok(RunInfo {
        id: row.get(0)?,
        scenario: row.get(1)?,
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Failed),
        options: from_json(&row.get::<_, String>(3)?)?,
        created_at: row.get(4)?,
        started_at: row.get(5)?,
        ended_at: row.get(6)?,
        progress: optional_json(7)?.map(|t| from_json(&t)).transpose()?,
        thresholds_passed: row.get(8)?,
        thresholds: from_json(&row.get::<_, String>(9)?)?,
        abort_reason: optional_json(10)?
            .map(|t| from_json(&format!("\"{t}\"")))
            .transpose()?,
        error: row.get(11)?,
        webhook: optional_json(12)?.map(|t| from_json(&t)).transpose()?,
        outputs: from_json::<Vec<RunOutput>>(&row.get::<_, String>(13)?)?
            .into_iter()
            .map(RunOutput::redacted)
            .collect(),
    })
}

fn scenario_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ScenarioInfo> {
    Ok(ScenarioInfo {
        id: row.get(0)?,
        name: row.get(1)?,
        size: row.get::<_, i64>(2)? as u64,
        created_at: row.get(3)?,
        exports: from_json(&row.get::<_, String>(4)?)?,
        imports: from_json(&row.get::<_, String>(5)?)?,
        default_options: from_json(&row.get::<_, String>(6)?)?,
    })
}

fn migrate(db: &mut Connection) -> anyhow::Result<()> {
    let applied: i64 = db.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = applied as usize;
    if applied > MIGRATIONS.len() {
        anyhow::bail!(
            "the database was written by a newer Volley (schema version {applied}, this one knows {})",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = db.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file, so a crash never leaves
/// a half-written file under the final name.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot rename {} into place", temporary.display()))?;
    Ok(())
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
