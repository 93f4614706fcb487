//! Shutdown: signals become a cancellation token; stages are then given a grace period.
//!
//! Order (Vector's): cancelling the token stops the *sources* only — ingest pollers and Kafka
//! consumers stop fetching. Downstream stages finish what they hold, flush, acknowledge and
//! commit, and end when their input ends. [`supervise`] waits for all of them until the grace
//! period runs out, then aborts the rest and names them.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::anyhow;
use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;

/// Cancels `token` on SIGINT or SIGTERM; returns the signal's conventional exit code
/// (130 or 143) through the returned handle once one arrived.
pub fn cancel_on_signal(token: CancellationToken) -> tokio::task::JoinHandle<Option<i32>> {
    tokio::spawn(async move {
        let code = wait_for_signal(&token).await;
        if code.is_some() {
            tracing::info!("signal received, shutting down");
            token.cancel();
        }
        code
    })
}

#[cfg(unix)]
async fn wait_for_signal(token: &CancellationToken) -> Option<i32> {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        token.cancelled().await;
        return None;
    };
    tokio::select! {
        _ = interrupt.recv() => Some(130),
        _ = terminate.recv() => Some(143),
        _ = token.cancelled() => None,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal(token: &CancellationToken) -> Option<i32> {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Some(130),
        _ = token.cancelled() => None,
    }
}

/// Named stage tasks, supervised together.
#[derive(Default)]
pub struct Stages {
    tasks: JoinSet<anyhow::Result<()>>,
    names: HashMap<Id, String>,
}

impl Stages {
    /// Returns an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns a stage task named `name`.
    pub fn spawn<F>(&mut self, name: impl Into<String>, task: F)
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name.into());
    }

    /// Waits for every stage. The first stage error cancels `shutdown` (the rest drain);
    /// once `shutdown` is cancelled the stages get `grace` to finish, then are aborted.
    /// Returns the first error, or an error naming the stages that had to be aborted.
    pub async fn supervise(
        mut self,
        shutdown: &CancellationToken,
        grace: Duration,
    ) -> anyhow::Result<()> {
        let mut first_error: Option<anyhow::Error> = None;
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            if deadline.is_none() && shutdown.is_cancelled() {
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            let joined = match deadline {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                        Ok(joined) => joined,
                        Err(_elapsed) => {
                            let mut stuck: Vec<&str> =
                                self.names.values().map(String::as_str).collect();
                            stuck.sort_unstable();
                            let message = format!(
                                "shutdown grace period of {}s passed; aborted stuck stages: {}",
                                grace.as_secs(),
                                stuck.join(", ")
                            );
                            tracing::error!(stuck = %stuck.join(","), "aborting stuck stages");
                            self.tasks.abort_all();
                            return Err(first_error.unwrap_or_else(|| anyhow!(message)));
                        }
                    }
                }
                None => tokio::select! {
                    joined = self.tasks.join_next_with_id() => joined,
                    _ = shutdown.cancelled() => continue,
                },
            };
            let Some(joined) = joined else {
                break;
            };
            let (id, result) = match joined {
                Ok((id, result)) => (id, result),
                Err(join_error) => (
                    join_error.id(),
                    Err(anyhow!("stage panicked: {join_error}")),
                ),
            };
            let name = self.names.remove(&id).unwrap_or_default();
            match result {
                Ok(()) => tracing::info!(stage = %name, "stage finished"),
                Err(error) => {
                    tracing::error!(stage = %name, error = %format!("{error:#}"), "stage failed");
                    if first_error.is_none() {
                        first_error = Some(error.context(format!("stage {name} failed")));
                    }
                    shutdown.cancel();
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
