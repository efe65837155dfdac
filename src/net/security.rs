//! The security settings every client role shares (`security.protocol`, `ssl.*`, `sasl.*`), parsed from their Java
//! and librdkafka property names, and what a connection makes of them: a rustls configuration for SSL and SASL_SSL,
//! and a fresh SASL mechanism (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) for each SASL exchange.
//!
//! Credentials come from `sasl.username` / `sasl.password` (librdkafka) or from `sasl.jaas.config` (Java); the
//! explicit properties win when both are given. OAUTHBEARER takes its token from the client-credentials provider
//! when `sasl.oauthbearer.token.endpoint.url` is set, otherwise it makes an unsigned token (`alg: none`) from the
//! JAAS `unsecuredLoginStringClaim_*` options, which only Kafka's unsecured validator (a test setting) accepts.
//! Secrets never appear in `Debug`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kafkar_protocol::sasl::{PlainClient, SaslMechanism, ScramClient, ScramHash};

use crate::config::{ClientConfig, parse_optional};
use crate::error::{Error, ErrorKind, Result};
use crate::net::jaas::{JaasConfig, JaasLogin};

/// `security.protocol`: how connections to the brokers are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// `PLAINTEXT` (the default): plain TCP, no authentication.
    #[default]
    Plaintext,
    /// `SSL`: TLS (feature `tls`), optionally with a client certificate (mutual TLS).
    Ssl,
    /// `SASL_PLAINTEXT`: SASL authentication over plain TCP.
    SaslPlaintext,
    /// `SASL_SSL`: SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Parses a `security.protocol` value (case-insensitive).
    pub fn parse(value: &str) -> Option<SecurityProtocol> {
        let v = value.trim();
        [
            ("PLAINTEXT", SecurityProtocol::Plaintext),
            ("SSL", SecurityProtocol::Ssl),
            ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
            ("SASL_SSL", SecurityProtocol::SaslSsl),
        ]
        .into_iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name))
        .map(|(_, p)| p)
    }

    /// Whether connections use TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

/// `sasl.mechanism`: the SASL mechanisms this client implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanismName {
    /// `PLAIN`.
    Plain,
    /// `SCRAM-SHA-256`.
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `OAUTHBEARER`.
    OAuthBearer,
}

impl SaslMechanismName {
    /// Parses a mechanism name (case-insensitive).
    pub fn parse(value: &str) -> Option<SaslMechanismName> {
        let v = value.trim();
        [
            ("PLAIN", SaslMechanismName::Plain),
            ("SCRAM-SHA-256", SaslMechanismName::ScramSha256),
            ("SCRAM-SHA-512", SaslMechanismName::ScramSha512),
            ("OAUTHBEARER", SaslMechanismName::OAuthBearer),
        ]
        .into_iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name))
        .map(|(_, m)| m)
    }

    /// The name SaslHandshake carries.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanismName::Plain => "PLAIN",
            SaslMechanismName::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanismName::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanismName::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// The future a [`SaslMechanismFactory`] returns: a fresh mechanism, or why none can be made (the error's text
/// becomes the message of an [`ErrorKind::Authentication`]).
pub type MechanismFuture<'a> = Pin<
    Box<
        dyn Future<Output = std::result::Result<Box<dyn SaslMechanism>, Box<dyn std::error::Error + Send + Sync>>>
            + Send
            + 'a,
    >,
>;

/// A SASL mechanism the application supplies (for example AWS MSK IAM, or any mechanism kafkar does not build
/// in), installed with [`ClientConfig::set_sasl_mechanism_factory`]. It replaces `sasl.mechanism` and the built-in
/// credentials: every SASL exchange (at connect and on each KIP-368 re-authentication) asks it for a fresh
/// [`SaslMechanism`], a sans-IO state machine that kafkar drives through SaslHandshake and SaslAuthenticate.
pub trait SaslMechanismFactory: Send + Sync {
    /// The mechanism name SaslHandshake carries (e.g. `"AWS_MSK_IAM"`).
    fn name(&self) -> &str;

    /// A fresh mechanism for one exchange with the broker at `broker` (`host:port`, as dialled; some mechanisms
    /// sign the host name).
    fn start<'a>(&'a self, broker: &'a str) -> MechanismFuture<'a>;
}

/// The `sasl.*` settings. Secrets (password, JAAS text, client secret) are redacted from `Debug`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SaslSettings {
    /// `sasl.mechanism` (librdkafka: `sasl.mechanisms`). When unset, a PLAIN or OAUTHBEARER login module in
    /// `sasl.jaas.config` chooses it.
    pub mechanism: Option<SaslMechanismName>,
    /// `sasl.username` (librdkafka).
    pub username: Option<String>,
    /// `sasl.password` (librdkafka; secret).
    pub password: Option<String>,
    /// `sasl.jaas.config` (Java; secret, it usually holds a password).
    pub jaas_config: Option<String>,
    /// `sasl.oauthbearer.token.endpoint.url`: fetch OAUTHBEARER tokens with the client-credentials grant.
    pub oauth_token_endpoint_url: Option<String>,
    /// `sasl.oauthbearer.client.id` (librdkafka; Java puts `clientId` in the JAAS text).
    pub oauth_client_id: Option<String>,
    /// `sasl.oauthbearer.client.secret` (librdkafka; secret).
    pub oauth_client_secret: Option<String>,
    /// `sasl.oauthbearer.scope` (librdkafka).
    pub oauth_scope: Option<String>,
    /// `sasl.oauthbearer.extensions` (librdkafka: `name=value,...`), sent with the token.
    pub oauth_extensions: Vec<(String, String)>,
    /// An application's own mechanism ([`ClientConfig::set_sasl_mechanism_factory`]); when set it is used instead
    /// of `sasl.mechanism` and the credentials above.
    pub mechanism_factory: Option<Arc<dyn SaslMechanismFactory>>,
    /// An application's own OAUTHBEARER token source ([`ClientConfig::set_oauth_token_provider`]); when set,
    /// OAUTHBEARER takes its tokens from it instead of a token endpoint or unsecured JAAS claims.
    #[cfg(feature = "oauth")]
    pub token_provider: Option<Arc<dyn crate::net::oauth::TokenProvider>>,
}

fn redacted<T>(secret: &Option<T>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslSettings")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("jaas_config", &redacted(&self.jaas_config))
            .field("oauth_token_endpoint_url", &self.oauth_token_endpoint_url)
            .field("oauth_client_id", &self.oauth_client_id)
            .field("oauth_client_secret", &redacted(&self.oauth_client_secret))
            .field("oauth_scope", &self.oauth_scope)
            .field("oauth_extension_names", &self.oauth_extensions.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("mechanism_factory", &self.mechanism_factory.as_ref().map(|m| m.name().to_owned()))
            .finish_non_exhaustive()
    }
}

/// The credentials a SASL exchange needs, resolved from [`SaslSettings`].
enum Login {
    Plain {
        username: String,
        password: String,
    },
    Scram {
        hash: ScramHash,
        username: String,
        password: String,
        token_auth: bool,
    },
    OAuthUnsecured {
        claims: Vec<(String, String)>,
        extensions: Vec<(String, String)>,
    },
    #[cfg(feature = "oauth")]
    OAuthProvider {
        provider: Arc<dyn crate::net::oauth::TokenProvider>,
        extensions: Vec<(String, String)>,
    },
    #[cfg(feature = "oauth")]
    OAuthClientCredentials {
        settings: Box<crate::net::oauth::ClientCredentialsSettings>,
        extensions: Vec<(String, String)>,
    },
}

fn sasl_config_error(reason: impl Into<String>) -> Error {
    Error::config_key("sasl.mechanism", reason)
}

impl SaslSettings {
    /// The mechanism to use: `sasl.mechanism`, or the one the JAAS login module implies.
    pub fn resolved_mechanism(&self) -> Result<SaslMechanismName> {
        if let Some(m) = self.mechanism {
            return Ok(m);
        }
        match self.jaas_login()? {
            Some(JaasLogin::Plain { .. }) => Ok(SaslMechanismName::Plain),
            Some(JaasLogin::OAuthBearer(_)) => Ok(SaslMechanismName::OAuthBearer),
            _ => Err(sasl_config_error("not set (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)")),
        }
    }

    fn jaas_login(&self) -> Result<Option<JaasLogin>> {
        let Some(text) = &self.jaas_config else { return Ok(None) };
        let parsed = JaasConfig::parse(text)
            .and_then(|c| c.login())
            .map_err(|e| Error::config_key("sasl.jaas.config", e.to_string()))?;
        Ok(Some(parsed))
    }

    fn login(&self, mechanism: SaslMechanismName) -> Result<Login> {
        let jaas = self.jaas_login()?;
        if let Some(login) = &jaas {
            if !login.serves_mechanism(mechanism.as_str()) {
                return Err(Error::config_key(
                    "sasl.jaas.config",
                    format!("its login module does not serve sasl.mechanism {}", mechanism.as_str()),
                ));
            }
        }
        let user_pass = |what: &str| -> Result<(String, String, bool)> {
            if let (Some(u), Some(p)) = (&self.username, &self.password) {
                return Ok((u.clone(), p.clone(), false));
            }
            match &jaas {
                Some(JaasLogin::Plain { username, password }) => Ok((username.clone(), password.clone(), false)),
                Some(JaasLogin::Scram { username, password, token_auth }) => {
                    Ok((username.clone(), password.clone(), *token_auth))
                }
                _ => Err(Error::config_key(
                    "sasl.username",
                    format!("{what} needs sasl.username and sasl.password, or sasl.jaas.config"),
                )),
            }
        };
        Ok(match mechanism {
            SaslMechanismName::Plain => {
                let (username, password, _) = user_pass("PLAIN")?;
                Login::Plain { username, password }
            }
            SaslMechanismName::ScramSha256 | SaslMechanismName::ScramSha512 => {
                let (username, password, token_auth) = user_pass(mechanism.as_str())?;
                let hash =
                    if mechanism == SaslMechanismName::ScramSha256 { ScramHash::Sha256 } else { ScramHash::Sha512 };
                Login::Scram { hash, username, password, token_auth }
            }
            SaslMechanismName::OAuthBearer => {
                let jaas_oauth = match jaas {
                    Some(JaasLogin::OAuthBearer(o)) => o,
                    _ => Default::default(),
                };
                let mut extensions = jaas_oauth.extensions.clone();
                extensions.extend(self.oauth_extensions.iter().cloned());
                #[cfg(feature = "oauth")]
                if let Some(provider) = &self.token_provider {
                    return Ok(Login::OAuthProvider { provider: provider.clone(), extensions });
                }
                if let Some(url) = &self.oauth_token_endpoint_url {
                    #[cfg(feature = "oauth")]
                    {
                        let client_id = self.oauth_client_id.clone().or(jaas_oauth.client_id.clone());
                        let secret = self.oauth_client_secret.clone().or(jaas_oauth.client_secret.clone());
                        let (Some(client_id), Some(secret)) = (client_id, secret) else {
                            return Err(Error::config_key(
                                "sasl.oauthbearer.token.endpoint.url",
                                "needs a client id and secret (sasl.oauthbearer.client.id/secret or clientId/clientSecret in sasl.jaas.config)",
                            ));
                        };
                        let mut settings = crate::net::oauth::ClientCredentialsSettings::new(url, client_id, secret);
                        settings.scope = self.oauth_scope.clone().or(jaas_oauth.scope.clone());
                        Login::OAuthClientCredentials { settings: Box::new(settings), extensions }
                    }
                    #[cfg(not(feature = "oauth"))]
                    {
                        let _ = url;
                        return Err(Error::config_key(
                            "sasl.oauthbearer.token.endpoint.url",
                            "kafkar was built without the `oauth` feature",
                        ));
                    }
                } else if jaas_oauth.unsecured_claims.iter().any(|(k, _)| k == "sub") {
                    Login::OAuthUnsecured { claims: jaas_oauth.unsecured_claims.clone(), extensions }
                } else {
                    return Err(Error::config_key(
                        "sasl.oauthbearer.token.endpoint.url",
                        "OAUTHBEARER needs a token endpoint, or unsecuredLoginStringClaim_sub in sasl.jaas.config",
                    ));
                }
            }
        })
    }

    /// Checks that the settings name a mechanism this client implements and the credentials it needs.
    pub fn validate(&self) -> Result<()> {
        if self.mechanism_factory.is_some() {
            return Ok(());
        }
        let m = self.resolved_mechanism()?;
        self.login(m).map(|_| ())
    }

    /// A fresh mechanism for one SASL exchange (an OAUTHBEARER token is fetched or made here). `prepared` holds
    /// the client's shared token provider, so that a token is fetched once and reused until it needs refreshing.
    pub(crate) async fn mechanism(&self, prepared: &PreparedSecurity, broker: &str) -> Result<Box<dyn SaslMechanism>> {
        #[cfg(not(feature = "oauth"))]
        let _ = prepared;
        if let Some(factory) = &self.mechanism_factory {
            return factory.start(broker).await.map_err(|e| {
                Error::new(ErrorKind::Authentication { mechanism: factory.name().to_owned(), message: e.to_string() })
            });
        }
        let name = self.resolved_mechanism()?;
        let auth_error =
            |message: String| Error::new(ErrorKind::Authentication { mechanism: name.as_str().into(), message });
        Ok(match self.login(name)? {
            Login::Plain { username, password } => Box::new(PlainClient::new(username, password)),
            Login::Scram { hash, username, password, token_auth } => {
                let nonce = crate::net::sasl::random_scram_nonce().map_err(|e| auth_error(e.to_string()))?;
                let client = ScramClient::new(hash, username, password, nonce);
                Box::new(if token_auth { client.with_delegation_token() } else { client })
            }
            Login::OAuthUnsecured { claims, extensions } => {
                let token = unsecured_token(&claims).map_err(auth_error)?;
                Box::new(
                    kafkar_protocol::sasl::OAuthBearerClient::new(token, extensions)
                        .map_err(|e| auth_error(e.to_string()))?,
                )
            }
            #[cfg(feature = "oauth")]
            Login::OAuthProvider { provider, extensions } => {
                let token = provider.token().await.map_err(|e| auth_error(e.to_string()))?;
                Box::new(
                    kafkar_protocol::sasl::OAuthBearerClient::new(token.value(), extensions)
                        .map_err(|e| auth_error(e.to_string()))?,
                )
            }
            #[cfg(feature = "oauth")]
            Login::OAuthClientCredentials { settings, extensions } => {
                use crate::net::oauth::TokenProvider;
                let own;
                let provider = match &prepared.token_provider {
                    Some(shared) => shared.as_ref(),
                    None => {
                        own = crate::net::oauth::ClientCredentialsProvider::new(*settings)
                            .map_err(|e| auth_error(e.to_string()))?;
                        &own
                    }
                };
                let token = provider.token().await.map_err(|e| auth_error(e.to_string()))?;
                Box::new(
                    kafkar_protocol::sasl::OAuthBearerClient::new(token.value(), extensions)
                        .map_err(|e| auth_error(e.to_string()))?,
                )
            }
        })
    }
}

/// What a client prepares once from its security settings and shares between its connections: the rustls
/// configuration (certificates and keys read once) and the OAUTHBEARER client-credentials token provider (tokens
/// cached until they need refreshing).
#[derive(Clone, Default)]
pub(crate) struct PreparedSecurity {
    /// The TLS configuration, for SSL and SASL_SSL.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The client-credentials provider, for OAUTHBEARER with a token endpoint.
    #[cfg(feature = "oauth")]
    pub(crate) token_provider: Option<std::sync::Arc<crate::net::oauth::ClientCredentialsProvider>>,
}

impl PreparedSecurity {
    /// Prepares what `config` needs; a file that cannot be read or a bad key fails here.
    pub(crate) fn new(config: &ClientConfig) -> Result<PreparedSecurity> {
        #[cfg(not(any(feature = "tls", feature = "oauth")))]
        let _ = config;
        #[allow(unused_mut)]
        let mut prepared = PreparedSecurity::default();
        #[cfg(feature = "tls")]
        if config.security_protocol.uses_tls() {
            let tls =
                crate::net::tls::client_config(&config.tls).map_err(|e| Error::new(ErrorKind::Tls(e.to_string())))?;
            prepared.tls = Some(tls);
        }
        #[cfg(feature = "oauth")]
        if config.security_protocol.uses_sasl() && config.sasl.mechanism_factory.is_none() {
            let mechanism = config.sasl.resolved_mechanism()?;
            if let Login::OAuthClientCredentials { settings, .. } = config.sasl.login(mechanism)? {
                let provider = crate::net::oauth::ClientCredentialsProvider::new(*settings).map_err(|e| {
                    Error::new(ErrorKind::Authentication {
                        mechanism: mechanism.as_str().into(),
                        message: e.to_string(),
                    })
                })?;
                prepared.token_provider = Some(std::sync::Arc::new(provider));
            }
        }
        Ok(prepared)
    }
}

impl fmt::Debug for PreparedSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PreparedSecurity");
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls.is_some());
        #[cfg(feature = "oauth")]
        d.field("token_provider", &self.token_provider.is_some());
        d.finish()
    }
}

/// An unsigned JWT (`alg: none`) with `claims` (which include `sub`), issued now and valid for an hour: what Java's
/// `unsecuredLoginStringClaim_*` options make, for brokers using the unsecured validator.
#[cfg(feature = "oauth")]
fn unsecured_token(claims: &[(String, String)]) -> std::result::Result<String, String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970".to_owned())?
        .as_secs();
    let mut payload = serde_json::Map::new();
    payload.insert("iat".into(), now.into());
    payload.insert("exp".into(), (now + 3600).into());
    for (k, v) in claims {
        payload.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(payload).to_string());
    Ok(format!("{header}.{body}."))
}

#[cfg(not(feature = "oauth"))]
fn unsecured_token(_claims: &[(String, String)]) -> std::result::Result<String, String> {
    Err("unsecured OAUTHBEARER tokens need the `oauth` feature".to_owned())
}

#[cfg(feature = "tls")]
fn no_tls(_key: &str) -> Result<()> {
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn no_tls(key: &str) -> Result<()> {
    Err(Error::config_key(key, "kafkar was built without the `tls` feature"))
}

impl ClientConfig {
    /// Installs an application's own SASL mechanism (e.g. AWS MSK IAM): with `security.protocol` SASL_PLAINTEXT
    /// or SASL_SSL, every connection authenticates with a fresh mechanism from `factory`, whatever
    /// `sasl.mechanism` says.
    pub fn set_sasl_mechanism_factory(&mut self, factory: Arc<dyn SaslMechanismFactory>) -> &mut ClientConfig {
        self.sasl.mechanism_factory = Some(factory);
        self
    }

    /// Installs an application's own OAUTHBEARER token provider, asked for a token before every authentication
    /// and re-authentication, and sets `sasl.mechanism` to OAUTHBEARER.
    #[cfg(feature = "oauth")]
    pub fn set_oauth_token_provider(
        &mut self,
        provider: Arc<dyn crate::net::oauth::TokenProvider>,
    ) -> &mut ClientConfig {
        self.sasl.token_provider = Some(provider);
        self.sasl.mechanism = Some(SaslMechanismName::OAuthBearer);
        self
    }

    /// Sets a `security.protocol`, `ssl.*` or `sasl.*` property; `Ok(false)` for any other name.
    pub(crate) fn set_security(&mut self, key: &str, value: &str) -> Result<bool> {
        let path = || parse_optional(value).map(std::path::PathBuf::from);
        match key {
            "security.protocol" => {
                let p = SecurityProtocol::parse(value).ok_or_else(|| {
                    Error::config_value(key, value, "expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
                })?;
                if p.uses_tls() {
                    no_tls(key)?;
                }
                self.security_protocol = p;
            }
            "sasl.mechanism" | "sasl.mechanisms" => {
                self.sasl.mechanism = match parse_optional(value) {
                    None => None,
                    Some(v) => Some(SaslMechanismName::parse(&v).ok_or_else(|| {
                        Error::config_value(key, value, "expected PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")
                    })?),
                }
            }
            "sasl.username" => self.sasl.username = parse_optional(value),
            "sasl.password" => self.sasl.password = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "sasl.jaas.config" => self.sasl.jaas_config = parse_optional(value),
            "sasl.oauthbearer.token.endpoint.url" => self.sasl.oauth_token_endpoint_url = parse_optional(value),
            "sasl.oauthbearer.client.id" => self.sasl.oauth_client_id = parse_optional(value),
            "sasl.oauthbearer.client.secret" => self.sasl.oauth_client_secret = parse_optional(value),
            "sasl.oauthbearer.scope" => self.sasl.oauth_scope = parse_optional(value),
            "sasl.oauthbearer.extensions" => {
                let mut out = Vec::new();
                for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let Some((k, v)) = item.split_once('=') else {
                        return Err(Error::config_key(key, "expected name=value,..."));
                    };
                    out.push((k.trim().to_owned(), v.trim().to_owned()));
                }
                self.sasl.oauth_extensions = out;
            }
            k if k.starts_with("ssl.") => {
                no_tls(k)?;
                #[cfg(feature = "tls")]
                return self.set_tls(k, value, path);
            }
            _ => return Ok(false),
        }
        let _ = path;
        Ok(true)
    }

    #[cfg(feature = "tls")]
    fn set_tls(&mut self, key: &str, value: &str, path: impl Fn() -> Option<std::path::PathBuf>) -> Result<bool> {
        use crate::net::tls::EndpointIdentification;
        let secret = || Some(value.to_owned()).filter(|v| !v.is_empty());
        let t = &mut self.tls;
        match key {
            "ssl.ca.location" => t.ca_location = path(),
            "ssl.ca.pem" => t.ca_pem = parse_optional(value),
            "ssl.certificate.location" => t.certificate_location = path(),
            "ssl.certificate.pem" => t.certificate_pem = parse_optional(value),
            "ssl.key.location" => t.key_location = path(),
            "ssl.key.pem" => t.key_pem = secret(),
            "ssl.key.password" => t.key_password = secret(),
            "ssl.keystore.location" => t.keystore_location = path(),
            "ssl.keystore.type" => t.keystore_type = parse_optional(value),
            "ssl.keystore.password" => t.keystore_password = secret(),
            "ssl.endpoint.identification.algorithm" => {
                t.endpoint_identification = match value.trim() {
                    v if v.eq_ignore_ascii_case("https") => EndpointIdentification::Https,
                    v if v.is_empty() || v.eq_ignore_ascii_case("none") => EndpointIdentification::None,
                    _ => return Err(Error::config_value(key, value, "expected https or none")),
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_and_mechanism_names() {
        assert_eq!(SecurityProtocol::parse("sasl_ssl"), Some(SecurityProtocol::SaslSsl));
        assert_eq!(SecurityProtocol::parse("TLS"), None);
        assert_eq!(SaslMechanismName::parse("scram-sha-512"), Some(SaslMechanismName::ScramSha512));
        assert_eq!(SaslMechanismName::parse("GSSAPI"), None);
    }

    #[test]
    fn jaas_chooses_plain_and_explicit_credentials_win() {
        let s = SaslSettings {
            jaas_config: Some(
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="p";"#.into(),
            ),
            ..Default::default()
        };
        assert_eq!(s.resolved_mechanism().unwrap(), SaslMechanismName::Plain);
        assert!(s.validate().is_ok());
        let scram = SaslSettings { mechanism: Some(SaslMechanismName::ScramSha256), ..s.clone() };
        assert!(scram.validate().is_err(), "a PLAIN login module does not serve SCRAM");
        let none = SaslSettings::default();
        assert!(none.validate().is_err());
    }

    #[cfg(feature = "oauth")]
    #[test]
    fn unsecured_token_has_sub_and_no_signature() {
        use base64::Engine;
        let t = unsecured_token(&[("sub".into(), "alice".into())]).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "");
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["sub"], "alice");
        assert!(v["exp"].as_u64().unwrap() > v["iat"].as_u64().unwrap());
    }
}
