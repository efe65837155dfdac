//! The connection and configuration options every command shares (`-b`, `-X`, `-F`), and how they layer with the
//! environment into a client configuration of any role.
//!
//! Lowest precedence first: the client's defaults; `-F` properties files (in the order given); `KAFKA_*`
//! environment variables (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_SECURITY_PROTOCOL`, ...; `--no-env` skips them);
//! `-X key=value` (in the order given); `-b`; then the command's own options (`-z`, `-g`, `--isolation`, ...).
//! Without a bootstrap list from any of them, `127.0.0.1:9092`.

use std::path::PathBuf;

use clap::Args;
use kafkar::config::{ConfigSources, RoleConfig};

/// Where the CLI connects when nothing names a bootstrap server.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// Connection and client-configuration options, accepted before or after the subcommand.
#[derive(Args, Clone, Debug, Default)]
pub struct Connection {
    /// Bootstrap servers (host:port, comma-separated). Above every other source of `bootstrap.servers`.
    #[arg(short, long, global = true, value_name = "HOST:PORT,..")]
    pub bootstrap: Option<String>,
    /// A client property by its Java (or librdkafka) name, e.g. `-X acks=1 -X security.protocol=SASL_SSL`.
    /// Repeatable; an unknown name is an error naming it.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property, global = true)]
    pub properties: Vec<(String, String)>,
    /// A Java properties file of client properties (`key=value` lines). Repeatable; later files win.
    #[arg(short = 'F', long = "config-file", value_name = "FILE", global = true)]
    pub files: Vec<PathBuf>,
    /// Ignore `KAFKA_*` environment variables.
    #[arg(long, global = true)]
    pub no_env: bool,
}

/// Moves the shared options (`-b`, `-X`, `-F`, `--no-env`, in any of their spellings) in front of the
/// subcommand, keeping their order, so that they add up wherever they are given. clap keeps only the
/// occurrences after the subcommand when a global option is given on both sides: `kafkar -X
/// security.protocol=SSL perf produce -X linger.ms=5` would silently connect in plaintext. Everything after
/// `--` is left alone; another option's value that looks like a shared option (`-t -bx`) is moved too, so such
/// values are written attached (`-t=-bx`).
pub fn hoist_shared_options(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut iter = args.into_iter();
    let mut front: Vec<std::ffi::OsString> = iter.next().into_iter().collect();
    let mut rest = Vec::new();
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else {
            rest.push(arg);
            continue;
        };
        if text == "--" {
            rest.push(arg);
            rest.extend(iter.by_ref());
            break;
        }
        let takes_next = matches!(text, "-b" | "--bootstrap" | "-X" | "-F" | "--config-file");
        let whole = text == "--no-env"
            || ["--bootstrap=", "--config-file="].iter().any(|p| text.starts_with(p))
            || (text.len() > 2 && ["-b", "-X", "-F"].iter().any(|p| text.starts_with(p)));
        if takes_next {
            front.push(arg);
            front.extend(iter.next());
        } else if whole {
            front.push(arg);
        } else {
            rest.push(arg);
        }
    }
    front.extend(rest);
    front
}

/// Parses `key=value` (the value may contain `=`; it may be empty).
pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not key=value")),
    }
}

impl Connection {
    /// The configuration sources: files < environment < `-X` < `-b` < `command` settings (the command's own
    /// options, as property names).
    fn sources(&self, command: &[(&str, String)]) -> ConfigSources {
        let mut sources = ConfigSources::new();
        for f in &self.files {
            sources = sources.properties_file(f);
        }
        if !self.no_env {
            sources = sources.env();
        }
        for (k, v) in &self.properties {
            sources = sources.set(k, v);
        }
        if let Some(b) = &self.bootstrap {
            sources = sources.set("bootstrap.servers", b);
        }
        for (k, v) in command {
            sources = sources.set(*k, v);
        }
        sources
    }

    /// The configuration of role `C` (producer, consumer, admin, client) from every layer, with the command's own
    /// settings on top. Errors: an unreadable file, an unknown property (named), a bad value.
    pub fn load<C: RoleConfig>(&self, command: &[(&str, String)]) -> kafkar::Result<C> {
        let config: C = self.sources(command).load()?;
        if !config.client_config().bootstrap_servers.is_empty() {
            return Ok(config);
        }
        // Nothing named a server: the default, below everything else (nothing else set it).
        self.sources(command).set("bootstrap.servers", DEFAULT_BOOTSTRAP).load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hoisted(args: &[&str]) -> Vec<String> {
        hoist_shared_options(args.iter().map(|a| (*a).into()).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn shared_options_move_before_the_subcommand_in_order() {
        assert_eq!(
            hoisted(&["kafkar", "-X", "a=1", "perf", "produce", "-t", "T", "-X", "b=2", "-Xc=3", "-b", "h:1"]),
            ["kafkar", "-X", "a=1", "-X", "b=2", "-Xc=3", "-b", "h:1", "perf", "produce", "-t", "T"]
        );
        assert_eq!(
            hoisted(&["kafkar", "consume", "--config-file=f", "-F", "g", "--no-env", "-e", "--", "-X", "x=1"]),
            ["kafkar", "--config-file=f", "-F", "g", "--no-env", "consume", "-e", "--", "-X", "x=1"]
        );
        // The limit: a value that looks like a shared option is taken for one (write `-t=-bx` for such a topic).
        assert_eq!(
            hoisted(&["kafkar", "produce", "-K", ":", "-t", "-bx"]),
            ["kafkar", "-bx", "produce", "-K", ":", "-t"]
        );
    }

    #[test]
    fn property_parsing_keeps_equals_signs_in_values_and_rejects_bare_words() {
        assert_eq!(parse_property("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(parse_property("a=").unwrap(), ("a".into(), String::new()));
        assert!(parse_property("novalue").is_err());
        assert!(parse_property("=v").is_err());
    }

    #[test]
    fn explicit_layers_override_in_order_and_the_default_bootstrap_fills_in() {
        let mut c = Connection { no_env: true, ..Default::default() };
        let loaded: kafkar::ClientConfig = c.load(&[]).unwrap();
        assert_eq!(loaded.bootstrap_servers, vec![DEFAULT_BOOTSTRAP.to_owned()]);
        c.properties.push(("bootstrap.servers".into(), "x:1".into()));
        c.properties.push(("client.id".into(), "from-x".into()));
        let loaded: kafkar::ClientConfig = c.load(&[]).unwrap();
        assert_eq!(loaded.bootstrap_servers, vec!["x:1".to_owned()]);
        c.bootstrap = Some("y:2".into());
        let loaded: kafkar::ClientConfig = c.load(&[("client.id", "from-command".into())]).unwrap();
        assert_eq!(loaded.bootstrap_servers, vec!["y:2".to_owned()]);
        assert_eq!(loaded.client_id, "from-command");
    }

    #[test]
    fn an_unknown_property_is_an_error_naming_it() {
        let c =
            Connection { no_env: true, properties: vec![("no.such.thing".into(), "1".into())], ..Default::default() };
        let e = c.load::<kafkar::ProducerConfig>(&[]).unwrap_err();
        assert!(e.to_string().contains("no.such.thing"), "{e}");
    }
}
