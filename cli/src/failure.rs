//! Why a command failed, and the exit code each reason gives (documented in `kafkar --help`).

use std::fmt;
use std::process::ExitCode;

/// The exit codes, as `kafkar --help` lists them.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0  success
  1  Kafka or network failure (a broker error, a timeout, records not delivered, no answer to `cluster --ping`
     in time); for commands over several topics, groups or bindings: any of them failed (each is named on stderr)
  2  usage error (bad arguments, an unreadable input file)
  3  configuration error (an unknown property, a bad value, an unreadable properties file)
  4  refused because a consumer group has active members (`groups reset`, `groups delete`): stop its consumers
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
    /// Some of a command's items (topics, groups, resources, ...) failed, each already reported on stderr.
    Items {
        /// How many failed.
        failed: usize,
        /// How many there were.
        total: usize,
        /// The exit code of the most telling failure.
        exit: u8,
    },
}

/// The exit code of a client failure: 3 for configuration, 4 for a group with active members, 1 otherwise.
pub fn exit_code_of(e: &kafkar::Error) -> u8 {
    if matches!(e.kind(), kafkar::ErrorKind::Config(_)) {
        3
    } else if e.code() == Some(kafkar::protocol::ErrorCode::NON_EMPTY_GROUP) {
        4
    } else {
        1
    }
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
            Failure::Kafka(e) => ExitCode::from(exit_code_of(e)),
            Failure::Items { exit, .. } => ExitCode::from(*exit),
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
            Failure::Items { failed, total, .. } => write!(f, "{failed} of {total} failed"),
        }
    }
}
