//! Why a command failed, and the exit code each reason gives (documented in `kafkar --help`).

use std::fmt;
use std::process::ExitCode;

/// The exit codes, as `kafkar --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  success
  1  Kafka or network failure (a broker error, a timeout, records not delivered)
  2  usage error (bad arguments, an unreadable input file)
  3  configuration error (an unknown property, a bad value, an unreadable properties file)
  130  interrupted (Ctrl-C) with work undone: `produce -X transactional.id=..` aborted its transaction";

/// A command's failure.
#[derive(Debug)]
pub enum Failure {
    /// The client failed; a configuration error exits with 3, anything else with 1.
    Kafka(kafkar::Error),
    /// The command line asked for something impossible (exit 2).
    Usage(String),
    /// Ctrl-C stopped work that is then undone (exit 130).
    Interrupted(String),
}

/// A command's result.
pub type CliResult<T = ()> = Result<T, Failure>;

impl From<kafkar::Error> for Failure {
    fn from(e: kafkar::Error) -> Failure {
        Failure::Kafka(e)
    }
}

impl Failure {
    /// A usage failure.
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure::Usage(msg.into())
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Kafka(e) if matches!(e.kind(), kafkar::ErrorKind::Config(_)) => ExitCode::from(3),
            Failure::Kafka(_) => ExitCode::from(1),
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Interrupted(_) => ExitCode::from(130),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Kafka(e) => write!(f, "{e}"),
            Failure::Usage(m) | Failure::Interrupted(m) => write!(f, "{m}"),
        }
    }
}
