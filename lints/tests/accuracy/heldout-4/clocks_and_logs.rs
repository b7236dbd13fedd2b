//! Where a CLI and its worker use the local clock: logs, file names, a
//! cache, an API response, and two places where it reaches data.

use std::collections::HashMap;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use time::OffsetDateTime;

/// A tracing timer in local time.
pub struct LocalTimer;

impl tracing_subscriber::fmt::time::FormatTime for LocalTimer {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", Local::now().format("%H:%M:%S%.3f"))
    }
}

pub fn export_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join(format!("export-{}.csv", Local::now().format("%Y%m%d-%H%M")))
}

/// When each key was last refreshed, in memory only.
pub struct Freshness {
    seen: HashMap<String, DateTime<Local>>,
}

impl Freshness {
    pub fn touch(&mut self, key: &str) {
        self.seen.insert(key.to_string(), Local::now());
    }
}

/// The health endpoint's body.
#[derive(Serialize)]
pub struct HealthReport {
    pub status: &'static str,
    pub checked_at: DateTime<Local>,
}

pub fn health() -> HealthReport {
    HealthReport { status: "ok", checked_at: Local::now() }
}

pub async fn audit(pool: &sqlx::PgPool, action: &str) -> anyhow::Result<()> {
    sqlx::query("insert into audit_log (action, at) values ($1, $2)").bind(action).bind(Local::now()).execute(pool).await?; //~ local-time
    Ok(())
}

#[derive(Serialize)]
pub struct JobFinished {
    pub job_id: String,
    pub finished_at: OffsetDateTime,
}

pub fn job_finished(job_id: &str) -> anyhow::Result<JobFinished> {
    let finished_at = OffsetDateTime::now_local()?; //~ local-time
    Ok(JobFinished { job_id: job_id.to_string(), finished_at })
}

pub fn job_started_log(job_id: &str) {
    tracing::info!(job_id, started = %Local::now(), "job started");
    let _utc: DateTime<Utc> = Local::now().with_timezone(&Utc);
}
