//! Development and production defaults, as seed 002 describes them, under every other configuration source:
//! profile < properties files < environment (`KAFKA_*`) < explicit settings.
//!
//! | | development | production |
//! |---|---|---|
//! | `bootstrap.servers` | `localhost:9092` | (none: must be given) |
//! | `acks` | `1` (idempotence off) | `all` (idempotent) |
//! | `retries` | 3 | 10 |
//! | `batch.size` | 16384 | 65536 |
//! | `auto.offset.reset` | `latest` | `earliest` |
//!
//! The seed's production profile also uses SASL_SSL: credentials and CA are the deployment's, so they come from a
//! file or the environment (`KAFKA_SECURITY_PROTOCOL=SASL_SSL`, ...), never from defaults.

use std::str::FromStr;

use kafkar::config::ConfigSources;
use kafkar::{ConsumerConfig, ProducerConfig};

/// A deployment profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// A developer's machine: a local broker, fast acknowledgements, reading only new records.
    Development,
    /// A cluster: every replica acknowledges, more retries, larger batches, nothing skipped on a new group.
    Production,
}

impl FromStr for Profile {
    type Err = kafkar::Error;

    /// `development`/`dev` or `production`/`prod` (any case).
    fn from_str(s: &str) -> kafkar::Result<Profile> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Profile::Development),
            "production" | "prod" => Ok(Profile::Production),
            _ => Err(kafkar::Error::new(kafkar::ErrorKind::InvalidArgument(format!(
                "unknown profile {s:?}: expected development or production"
            )))),
        }
    }
}

impl Profile {
    /// The profile named by environment variable `var` (e.g. `APP_ENV`); development when it is unset.
    pub fn from_env(var: &str) -> kafkar::Result<Profile> {
        match std::env::var(var) {
            Ok(v) => v.parse(),
            Err(_) => Ok(Profile::Development),
        }
    }

    /// The profile's property defaults (producer and consumer properties together).
    pub fn properties(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Profile::Development => &[
                ("bootstrap.servers", "localhost:9092"),
                ("acks", "1"),
                ("enable.idempotence", "false"),
                ("retries", "3"),
                ("batch.size", "16384"),
                ("auto.offset.reset", "latest"),
            ],
            Profile::Production => &[
                ("acks", "all"),
                ("enable.idempotence", "true"),
                ("retries", "10"),
                ("batch.size", "65536"),
                ("auto.offset.reset", "earliest"),
            ],
        }
    }

    /// Configuration sources starting from this profile's defaults; add files, the environment and settings on
    /// top, then `load()` a producer, consumer or admin configuration.
    pub fn sources(self) -> ConfigSources {
        ConfigSources::new().defaults(self.properties().iter().copied())
    }

    /// A producer configuration: this profile, overridden by `KAFKA_*` environment variables.
    pub fn producer_config(self) -> kafkar::Result<ProducerConfig> {
        self.sources().env().load()
    }

    /// A consumer configuration: this profile, overridden by `KAFKA_*` environment variables.
    pub fn consumer_config(self) -> kafkar::Result<ConsumerConfig> {
        self.sources().env().load()
    }
}

/// Seed 002's development defaults, as configuration sources to add files, the environment and settings to:
/// `profile::development().properties_file("app.properties").env().load::<ProducerConfig>()`.
pub fn development() -> ConfigSources {
    Profile::Development.sources()
}

/// Seed 002's production defaults, as configuration sources to add files, the environment and settings to:
/// `profile::production().properties_file("/etc/app/kafka.properties").env().load::<ConsumerConfig>()`.
pub fn production() -> ConfigSources {
    Profile::Production.sources()
}

#[cfg(test)]
mod tests {
    use kafkar::consumer::OffsetReset;
    use kafkar::producer::Acks;

    use super::Profile;

    #[test]
    fn profiles_set_the_seeds_defaults_and_sources_override_them() {
        let dev: kafkar::ProducerConfig = Profile::Development.sources().load().unwrap();
        assert_eq!((dev.acks, dev.retries, dev.batch_size), (Acks::Leader, 3, 16384));
        assert_eq!(dev.client.bootstrap_servers, vec!["localhost:9092"]);
        let prod: kafkar::ProducerConfig = Profile::Production.sources().set("batch.size", "1000").load().unwrap();
        assert_eq!((prod.acks, prod.retries, prod.batch_size), (Acks::All, 10, 1000));
        let c: kafkar::ConsumerConfig = Profile::Production.sources().load().unwrap();
        assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
        let c: kafkar::ConsumerConfig = Profile::Development.sources().load().unwrap();
        assert_eq!(c.auto_offset_reset, OffsetReset::Latest);
        assert_eq!("PROD".parse::<Profile>().unwrap(), Profile::Production);
        assert!("staging".parse::<Profile>().is_err());
        let c: kafkar::ConsumerConfig = super::production().set("auto.offset.reset", "latest").load().unwrap();
        assert_eq!(c.auto_offset_reset, OffsetReset::Latest, "settings override the profile");
        let p: kafkar::ProducerConfig = super::development().load().unwrap();
        assert_eq!(p.acks, Acks::Leader);
    }
}
