//! Graceful shutdown: a [`Shutdown`] token any task can trigger and any task can wait for, and
//! [`Shutdown::on_signal`], which triggers it on SIGTERM or ctrl-c.

use tokio::sync::watch;

/// A cloneable shutdown token: [`trigger`](Self::trigger) once, and every [`wait`](Self::wait) returns.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A token not yet triggered.
    pub fn new() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        Shutdown { tx: std::sync::Arc::new(tx), rx }
    }

    /// Asks everything waiting on this token (and its clones) to shut down.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// True once triggered.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Returns once the token is triggered.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // The sender lives as long as any clone of this token, so the error case cannot end the wait early.
        let _ = rx.wait_for(|t| *t).await;
    }

    /// A token triggered by SIGTERM or ctrl-c (SIGINT), from a task spawned on the current runtime. The signal
    /// handlers replace the default ones (which would end the process) for the rest of the process's life.
    pub fn on_signal() -> Shutdown {
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            trigger.trigger();
        });
        shutdown
    }
}

/// Returns at the first SIGTERM or ctrl-c.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    r = tokio::signal::ctrl_c() => {
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "ctrl-c cannot be listened for; waiting for SIGTERM");
                            term.recv().await;
                        }
                    }
                }
                return;
            }
            Err(e) => tracing::warn!(error = %e, "SIGTERM cannot be listened for; waiting for ctrl-c"),
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "no signal can be listened for; shutdown comes only from the token");
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::Shutdown;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let s = Shutdown::new();
        let c = s.clone();
        let waiter = tokio::spawn(async move { c.wait().await });
        assert!(!s.is_triggered());
        s.trigger();
        waiter.await.unwrap();
        assert!(s.is_triggered());
        s.wait().await;
    }
}
