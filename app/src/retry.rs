//! Retries of a failed handler: [`HandlerError`] (what a handler returns, classified retriable or permanent) and
//! [`RetryPolicy`] (attempts, exponential backoff with jitter, an optional classifier).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Whether a failed record is worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    /// Try again after a backoff (until the attempts run out).
    Retriable,
    /// Never try again: the record goes to the dead-letter topic at once.
    Permanent,
}

/// Why a handler failed one record.
///
/// The type name and message become the dead-letter record's `kafka_dlt-exception-fqcn` and
/// `kafka_dlt-exception-message` headers. Built with [`retriable`](Self::retriable) or
/// [`permanent`](Self::permanent) from any error, or with `?` from [`Retriable`], [`Permanent`] or a
/// `kafkar::Error` (retriable when the client says so).
#[derive(Clone)]
pub struct HandlerError {
    classification: Classification,
    type_name: String,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    failed_record: Option<usize>,
}

impl HandlerError {
    fn from_error<E: std::error::Error + Send + Sync + 'static>(classification: Classification, e: E) -> HandlerError {
        HandlerError {
            classification,
            type_name: std::any::type_name::<E>().to_owned(),
            message: chain_message(&e),
            source: Some(Arc::new(e)),
            failed_record: None,
        }
    }

    /// A failure worth retrying (a timeout, a service briefly down).
    pub fn retriable<E: std::error::Error + Send + Sync + 'static>(e: E) -> HandlerError {
        HandlerError::from_error(Classification::Retriable, e)
    }

    /// A failure no retry can fix (a malformed record, a violated business rule).
    pub fn permanent<E: std::error::Error + Send + Sync + 'static>(e: E) -> HandlerError {
        HandlerError::from_error(Classification::Permanent, e)
    }

    /// A failure described by a message alone, with the type name `type_name` (shown as the exception class in
    /// the dead-letter headers).
    pub fn message(classification: Classification, type_name: impl Into<String>, message: impl Into<String>) -> Self {
        HandlerError {
            classification,
            type_name: type_name.into(),
            message: message.into(),
            source: None,
            failed_record: None,
        }
    }

    /// For a batch handler: the batch failed at its record `index` (0-based, in the batch it was given); the
    /// records before it are done. As Spring Kafka's `BatchListenerFailedException`: the records before `index` are
    /// committed, the retries start at `index`, and after the last attempt only that record goes to the retry or
    /// dead-letter topic; the records after it then come again in a new batch. Without it (or with an index past
    /// the batch) the whole batch is retried, then each of its records goes to the retry or dead-letter topic.
    pub fn at_record(mut self, index: usize) -> HandlerError {
        self.failed_record = Some(index);
        self
    }

    /// The batch record that failed, if the batch handler named one ([`at_record`](Self::at_record)).
    pub fn failed_record(&self) -> Option<usize> {
        self.failed_record
    }

    /// Retriable or permanent, as the handler said.
    pub fn classification(&self) -> Classification {
        self.classification
    }

    /// The error's type name (the dead-letter `exception-fqcn`).
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The error's message with its sources (the dead-letter `exception-message`).
    pub fn message_text(&self) -> &str {
        &self.message
    }
}

/// The error's message followed by its sources' (`outer: inner: innermost`).
fn chain_message(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("classification", &self.classification)
            .field("type_name", &self.type_name)
            .field("message", &self.message)
            .field("failed_record", &self.failed_record)
            .finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.message, self.classification)
    }
}

impl std::error::Error for HandlerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Marks an error retriable when converted into a [`HandlerError`]: `Err(Retriable(e))?`.
#[derive(Debug)]
pub struct Retriable<E>(pub E);

/// Marks an error permanent when converted into a [`HandlerError`]: `Err(Permanent(e))?`.
#[derive(Debug)]
pub struct Permanent<E>(pub E);

impl<E: std::error::Error + Send + Sync + 'static> From<Permanent<E>> for HandlerError {
    fn from(p: Permanent<E>) -> HandlerError {
        HandlerError::permanent(p.0)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<Retriable<E>> for HandlerError {
    fn from(r: Retriable<E>) -> HandlerError {
        HandlerError::retriable(r.0)
    }
}

impl From<kafkar::Error> for HandlerError {
    /// A client error is retriable when the client says so.
    fn from(e: kafkar::Error) -> HandlerError {
        if e.is_retriable() { HandlerError::retriable(e) } else { HandlerError::permanent(e) }
    }
}

/// A function that overrides the handler's own classification.
pub type Classifier = Arc<dyn Fn(&HandlerError) -> Classification + Send + Sync>;

/// How often, and how far apart, a failing record is tried.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt.
    pub initial_backoff: Duration,
    /// Each further wait is the previous one times this.
    pub multiplier: f64,
    /// No wait is longer than this.
    pub max_backoff: Duration,
    /// Each wait is moved by up to this fraction of itself, either way, at random (0 for none, at most 1).
    pub jitter: f64,
    /// Overrides the handler's classification, if set.
    pub classifier: Option<Classifier>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("multiplier", &self.multiplier)
            .field("max_backoff", &self.max_backoff)
            .field("jitter", &self.jitter)
            .field("classifier", &self.classifier.is_some())
            .finish()
    }
}

impl Default for RetryPolicy {
    /// 3 attempts, 100 ms then doubling up to 10 s, ±20 % jitter.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(10),
            jitter: 0.2,
            classifier: None,
        }
    }
}

impl RetryPolicy {
    /// No retries: a failure goes to the dead-letter topic at once.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// `attempts` attempts in all, the backoff starting at `initial` and doubling up to `max`.
    pub fn exponential(attempts: u32, initial: Duration, max: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts: attempts.max(1),
            initial_backoff: initial,
            max_backoff: max,
            ..RetryPolicy::default()
        }
    }

    /// The same policy with `classifier` deciding what is retriable.
    pub fn with_classifier(
        mut self,
        classifier: impl Fn(&HandlerError) -> Classification + Send + Sync + 'static,
    ) -> RetryPolicy {
        self.classifier = Some(Arc::new(classifier));
        self
    }

    /// The same policy with jitter `fraction` (clamped to 0..=1).
    pub fn with_jitter(mut self, fraction: f64) -> RetryPolicy {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// How `error` is classified under this policy.
    pub fn classify(&self, error: &HandlerError) -> Classification {
        match &self.classifier {
            Some(c) => c(error),
            None => error.classification(),
        }
    }

    /// The wait after failed attempt number `attempt` (1 for the first), before jitter.
    pub fn base_backoff(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * factor).min(self.max_backoff.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_backoff)
    }

    /// The wait after failed attempt number `attempt`, jitter applied (`unit` is a random number in 0..1).
    pub fn backoff_with(&self, attempt: u32, unit: f64) -> Duration {
        let base = self.base_backoff(attempt).as_secs_f64();
        let jitter = self.jitter.clamp(0.0, 1.0);
        let secs = base * (1.0 - jitter + 2.0 * jitter * unit.clamp(0.0, 1.0));
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(self.max_backoff)
    }

    /// The wait after failed attempt number `attempt`, with random jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.backoff_with(attempt, random_unit())
    }
}

/// A random number in 0..1 (0.5 when the OS has no randomness to give).
pub(crate) fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let p = RetryPolicy::exponential(5, Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(p.base_backoff(1), Duration::from_millis(100));
        assert_eq!(p.base_backoff(2), Duration::from_millis(200));
        assert_eq!(p.base_backoff(3), Duration::from_millis(350));
        assert_eq!(p.base_backoff(60), Duration::from_millis(350));
        assert_eq!(p.backoff_with(1, 0.0), Duration::from_millis(80));
        assert_eq!(p.backoff_with(1, 1.0), Duration::from_millis(120));
        for _ in 0..100 {
            let d = p.backoff(2);
            assert!(d >= Duration::from_millis(159) && d <= Duration::from_millis(241), "{d:?}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("bad payload")]
    struct Bad;

    #[test]
    fn classification_comes_from_the_error_unless_a_classifier_overrides() {
        let e: HandlerError = Permanent(Bad).into();
        assert_eq!(e.classification(), Classification::Permanent);
        assert!(e.type_name().ends_with("Bad"), "{}", e.type_name());
        assert_eq!(e.message_text(), "bad payload");
        let r: HandlerError = Retriable(Bad).into();
        assert_eq!(RetryPolicy::default().classify(&r), Classification::Retriable);
        let p = RetryPolicy::default().with_classifier(|_| Classification::Permanent);
        assert_eq!(p.classify(&r), Classification::Permanent);
    }
}
