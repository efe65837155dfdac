//! TLS for broker connections (feature `tls`): a rustls [`ClientConfig`] built from the `ssl.*` settings, and the
//! handshake over an established TCP stream.
//!
//! This module owns what TLS needs and nothing of the Kafka protocol:
//! - [`TlsSettings`]: the `ssl.*` properties (trust, client certificate and key, key stores, hostname
//!   verification), with secrets redacted from `Debug`.
//! - [`client_config`]: settings → `Arc<ClientConfig>`, built once per client and shared by every connection.
//!   Always through `ClientConfig::builder_with_provider` with the provider the cargo features pick (`tls-ring`,
//!   the default, or `tls-aws-lc-rs`, which wins when both are on), so nothing depends on rustls' process-wide
//!   default provider and an application that links both providers does not panic.
//! - [`tls_connect`]: the handshake, with its failures sorted into [`TlsError`] kinds an operator can act on
//!   (untrusted certificate, name mismatch, handshake failure).
//!
//! # How the connection will use it
//!
//! With `security.protocol` SSL or SASL_SSL, the connection dials TCP as today, then calls [`tls_connect`] with the
//! broker's host as given in the bootstrap list or in Metadata (an IP address is checked against the
//! certificate's IP SANs, a name against its DNS SANs), then runs its reader and writer tasks over the
//! `TlsStream` exactly as over the `TcpStream` (the connection becomes generic over the stream). ApiVersions
//! follows, then SASL for SASL_SSL (see `kafkar_protocol::sasl`). The `ClientConfig` is built once when the
//! client is created, so a bad file or password fails `build()`, not the first connection.
//!
//! Encrypted PKCS#8 keys (PBES2 with PBKDF2 or scrypt and AES-CBC, what `openssl pkcs8 -topk8 -v2 aes-256-cbc`
//! writes) are decrypted with RustCrypto's `pkcs8`; the legacy OpenSSL form (`Proc-Type: 4,ENCRYPTED` headers)
//! and PKCS#12 key stores are refused with an error that names the openssl command converting them to PEM.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
pub use tokio_rustls::client::TlsStream;

#[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc-rs")))]
compile_error!("the `tls` feature needs a crypto provider: enable `tls-ring` (default) or `tls-aws-lc-rs`");

/// `ssl.endpoint.identification.algorithm`: whether the broker's certificate must name the host dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointIdentification {
    /// `https` (the default): the certificate's SANs must match the broker's host.
    #[default]
    Https,
    /// `none` (an empty value in Java's configuration): the chain is still verified, the name is not.
    None,
}

/// The `ssl.*` settings of a client. Paths and inline PEM are alternatives: giving both for the same item is
/// an error. Secrets (key PEM, passwords) are redacted from `Debug`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TlsSettings {
    /// `ssl.ca.location`: a PEM file of CA certificates to trust.
    pub ca_location: Option<PathBuf>,
    /// `ssl.ca.pem`: the same, inline. With neither, the platform's trust store is used.
    pub ca_pem: Option<String>,
    /// `ssl.certificate.location`: the client certificate chain (PEM), for mutual TLS.
    pub certificate_location: Option<PathBuf>,
    /// `ssl.certificate.pem`: the same, inline.
    pub certificate_pem: Option<String>,
    /// `ssl.key.location`: the client's private key (PEM: PKCS#8, PKCS#1 RSA, SEC1 EC or encrypted PKCS#8).
    pub key_location: Option<PathBuf>,
    /// `ssl.key.pem`: the same, inline (secret).
    pub key_pem: Option<String>,
    /// `ssl.key.password`: the password of an encrypted key (secret); required when the key is encrypted.
    pub key_password: Option<String>,
    /// `ssl.keystore.location`: a key store. Only PEM is read; PKCS#12 and JKS are refused with the way to PEM.
    pub keystore_location: Option<PathBuf>,
    /// `ssl.keystore.type`: `PKCS12` (Java's default), `JKS` or `PEM`.
    pub keystore_type: Option<String>,
    /// `ssl.keystore.password` (secret).
    pub keystore_password: Option<String>,
    /// `ssl.endpoint.identification.algorithm`.
    pub endpoint_identification: EndpointIdentification,
}

/// A redacted secret's placeholder in `Debug` output (whether it is set stays visible).
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_location", &self.ca_location)
            .field("ca_pem", &self.ca_pem.as_ref().map(|pem| format!("<{} bytes of PEM>", pem.len())))
            .field("certificate_location", &self.certificate_location)
            .field("certificate_pem", &self.certificate_pem.as_ref().map(|pem| format!("<{} bytes of PEM>", pem.len())))
            .field("key_location", &self.key_location)
            .field("key_pem", &redacted(&self.key_pem))
            .field("key_password", &redacted(&self.key_password))
            .field("keystore_location", &self.keystore_location)
            .field("keystore_type", &self.keystore_type)
            .field("keystore_password", &redacted(&self.keystore_password))
            .field("endpoint_identification", &self.endpoint_identification)
            .finish()
    }
}

/// Why TLS could not be set up or the handshake failed. Never carries key material or passwords.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file named by a setting could not be read.
    #[error("{setting} {}: {source}", path.display())]
    Read {
        /// The setting, e.g. `ssl.ca.location`.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: io::Error,
    },
    /// A setting was given both as a file and inline.
    #[error("{location} and {inline} are both set; give one")]
    Conflicting {
        /// The file form.
        location: &'static str,
        /// The inline form.
        inline: &'static str,
    },
    /// A PEM input could not be parsed, or held nothing usable.
    #[error("{setting}: {reason}")]
    InvalidPem {
        /// The setting.
        setting: &'static str,
        /// What is wrong (never the content).
        reason: String,
    },
    /// A client certificate without a key, or a key without a certificate.
    #[error("mutual TLS needs both ssl.certificate.* and ssl.key.*; only {given} is set")]
    IncompleteClientAuth {
        /// The half that is set.
        given: &'static str,
    },
    /// The key is encrypted and `ssl.key.password` is not set.
    #[error("{setting}: the private key is encrypted; set ssl.key.password")]
    KeyPasswordRequired {
        /// The setting holding the key.
        setting: &'static str,
    },
    /// The key could not be decrypted (wrong password, or an unsupported cipher).
    #[error("{setting}: could not decrypt the private key with ssl.key.password ({reason})")]
    KeyDecryption {
        /// The setting holding the key.
        setting: &'static str,
        /// The decryption library's reason.
        reason: String,
    },
    /// A key format this client does not read, with the command that converts it.
    #[error("{setting}: {what} is not supported; convert it to PEM: {conversion}")]
    Unsupported {
        /// The setting.
        setting: &'static str,
        /// What is not supported.
        what: &'static str,
        /// The conversion command.
        conversion: &'static str,
    },
    /// No CA given and the platform's trust store yielded no certificate.
    #[error("no ssl.ca.location / ssl.ca.pem and no usable certificate in the platform's trust store ({reason})")]
    NoPlatformRoots {
        /// What the platform loader reported.
        reason: String,
    },
    /// rustls refused the configuration (e.g. a key that does not match the certificate).
    #[error("TLS configuration: {0}")]
    Config(#[source] rustls::Error),
    /// The broker's host is not a valid TLS server name.
    #[error("{name:?} is not a valid TLS server name")]
    InvalidServerName {
        /// The host.
        name: String,
    },
    /// The broker's certificate does not chain to a trusted CA.
    #[error("TLS handshake with {server}: the broker's certificate is not trusted ({reason}); check ssl.ca.location")]
    UntrustedCertificate {
        /// The host dialled.
        server: String,
        /// rustls' reason.
        reason: String,
    },
    /// The broker's certificate does not name the host dialled.
    #[error(
        "TLS handshake with {server}: the broker's certificate is not valid for {server} ({reason}); its subject \
         alternative names must include this host (or set ssl.endpoint.identification.algorithm to none)"
    )]
    HostnameMismatch {
        /// The host dialled.
        server: String,
        /// rustls' reason.
        reason: String,
    },
    /// Any other handshake failure (alerts such as a refused client certificate, IO errors).
    #[error("TLS handshake with {server}: {source}")]
    Handshake {
        /// The host dialled.
        server: String,
        /// The error.
        source: io::Error,
    },
}

/// The crypto provider the cargo features pick.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "tls-aws-lc-rs")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    // rustls 0.23.48 deprecates ring's provider because it has no post-quantum key exchange (X25519MLKEM768);
    // ring stays the default here because it builds quickly with no C toolchain beyond cc, while `tls-aws-lc-rs`
    // brings the post-quantum groups.
    #[cfg(all(feature = "tls-ring", not(feature = "tls-aws-lc-rs")))]
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(provider)
}

/// Builds the rustls client configuration for `settings`.
pub fn client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = crypto_provider();
    let roots = Arc::new(root_store(settings)?);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?;
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?;
    let builder = match settings.endpoint_identification {
        EndpointIdentification::Https => builder.with_webpki_verifier(webpki),
        EndpointIdentification::None => {
            tracing::warn!(
                "ssl.endpoint.identification.algorithm is none: broker certificates are checked against the trusted \
                 CAs but not against the broker's host name, so any certificate those CAs issued is accepted"
            );
            builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier { inner: webpki }))
        }
    };
    let config = match client_identity(settings)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(TlsError::Config)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The TLS handshake over `stream` (usually a connected `TcpStream`) with the broker `server_name` (a host name
/// or an IP address, as dialled).
pub async fn tls_connect<S>(stream: S, server_name: &str, config: Arc<ClientConfig>) -> Result<TlsStream<S>, TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|_| TlsError::InvalidServerName { name: server_name.to_owned() })?;
    let stream = TlsConnector::from(config).connect(name, stream).await.map_err(|e| classify(server_name, e))?;
    tracing::debug!(server = server_name, "TLS handshake complete");
    Ok(stream)
}

/// Sorts a handshake error into the kinds an operator can act on.
fn classify(server: &str, error: io::Error) -> TlsError {
    let server = server.to_owned();
    let tls = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(
            cert @ (CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }),
        )) => TlsError::HostnameMismatch { server, reason: format!("{cert:?}") },
        Some(rustls::Error::InvalidCertificate(
            cert @ (CertificateError::UnknownIssuer | CertificateError::BadSignature | CertificateError::Expired),
        )) => TlsError::UntrustedCertificate { server, reason: format!("{cert:?}") },
        Some(rustls::Error::InvalidCertificate(cert)) => {
            TlsError::UntrustedCertificate { server, reason: format!("{cert:?}") }
        }
        _ => TlsError::Handshake { server, source: error },
    }
}

/// Verifies the chain exactly as webpki does, and accepts a certificate that names another host
/// (`ssl.endpoint.identification.algorithm=none`).
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain (and revocation) before the name, so a name error means the chain is good.
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Reads a setting given as a file or inline: `(setting name, bytes)`, or `None` when neither is set.
fn file_or_inline(
    location: &Option<PathBuf>,
    location_name: &'static str,
    inline: &Option<String>,
    inline_name: &'static str,
) -> Result<Option<(&'static str, Vec<u8>)>, TlsError> {
    match (location, inline) {
        (Some(_), Some(_)) => Err(TlsError::Conflicting { location: location_name, inline: inline_name }),
        (Some(path), None) => Ok(Some((location_name, read(location_name, path)?))),
        (None, Some(pem)) => Ok(Some((inline_name, pem.as_bytes().to_vec()))),
        (None, None) => Ok(None),
    }
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { setting, path: path.to_owned(), source })
}

fn certificates(setting: &'static str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::InvalidPem { setting, reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::InvalidPem { setting, reason: "no CERTIFICATE block".into() });
    }
    Ok(certs)
}

fn root_store(settings: &TlsSettings) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if let Some((setting, pem)) =
        file_or_inline(&settings.ca_location, "ssl.ca.location", &settings.ca_pem, "ssl.ca.pem")?
    {
        for cert in certificates(setting, &pem)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::InvalidPem { setting, reason: format!("not a usable CA certificate: {e}") })?;
        }
        return Ok(roots);
    }
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        let reason = match native.errors.first() {
            Some(e) => e.to_string(),
            None => "it is empty".to_owned(),
        };
        return Err(TlsError::NoPlatformRoots { reason });
    }
    if !native.errors.is_empty() {
        tracing::debug!(errors = native.errors.len(), added, "some platform trust store entries could not be read");
    }
    Ok(roots)
}

const PKCS12_TO_PEM: &str = "openssl pkcs12 -in keystore.p12 -nokeys -out cert.pem && openssl pkcs12 -in keystore.p12 \
                             -nocerts -out key.pem (then ssl.certificate.location=cert.pem, ssl.key.location=key.pem, \
                             ssl.key.password)";
const JKS_TO_PEM: &str = "keytool -importkeystore -srckeystore keystore.jks -destkeystore keystore.p12 -deststoretype \
                          PKCS12, then openssl pkcs12 -in keystore.p12 -nokeys -out cert.pem && openssl pkcs12 -in \
                          keystore.p12 -nocerts -out key.pem";
const LEGACY_TO_PKCS8: &str = "openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-pkcs8.pem";

/// The client certificate chain and key, from the PEM settings or a PEM key store; `None` without mutual TLS.
fn client_identity(
    settings: &TlsSettings,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsError> {
    let cert = file_or_inline(
        &settings.certificate_location,
        "ssl.certificate.location",
        &settings.certificate_pem,
        "ssl.certificate.pem",
    )?;
    let key = file_or_inline(&settings.key_location, "ssl.key.location", &settings.key_pem, "ssl.key.pem")?;
    if let Some(path) = &settings.keystore_location {
        if cert.is_some() || key.is_some() {
            return Err(TlsError::Conflicting { location: "ssl.keystore.location", inline: "ssl.certificate/key.*" });
        }
        return keystore(settings, path).map(Some);
    }
    match (cert, key) {
        (None, None) => Ok(None),
        (Some((setting, _)), None) => Err(TlsError::IncompleteClientAuth { given: setting }),
        (None, Some((setting, _))) => Err(TlsError::IncompleteClientAuth { given: setting }),
        (Some((cert_setting, cert)), Some((key_setting, key))) => {
            let chain = certificates(cert_setting, &cert)?;
            let key = private_key(key_setting, &key, settings.key_password.as_deref())?;
            Ok(Some((chain, key)))
        }
    }
}

/// `ssl.keystore.location`: a PEM file with the key and the chain (as Kafka's PEM key stores, KIP-651) is read;
/// PKCS#12 and JKS are refused with the conversion to PEM.
fn keystore(
    settings: &TlsSettings,
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    const SETTING: &str = "ssl.keystore.location";
    let kind = settings.keystore_type.as_deref().unwrap_or("PKCS12").to_ascii_uppercase();
    match kind.as_str() {
        "PEM" => {
            let pem = read(SETTING, path)?;
            let chain = certificates(SETTING, &pem)?;
            // Java's PEM key stores carry the key password in ssl.key.password.
            let password = settings.key_password.as_deref().or(settings.keystore_password.as_deref());
            Ok((chain, private_key(SETTING, &pem, password)?))
        }
        "PKCS12" => {
            Err(TlsError::Unsupported { setting: SETTING, what: "a PKCS#12 key store", conversion: PKCS12_TO_PEM })
        }
        "JKS" => Err(TlsError::Unsupported { setting: SETTING, what: "a JKS key store", conversion: JKS_TO_PEM }),
        _ => Err(TlsError::InvalidPem {
            setting: "ssl.keystore.type",
            reason: format!("unknown key store type {kind:?} (PEM, PKCS12 or JKS)"),
        }),
    }
}

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// The private key in `pem`: PKCS#8, PKCS#1 (RSA), SEC1 (EC), or encrypted PKCS#8 with `password`.
fn private_key(setting: &'static str, pem: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = String::from_utf8_lossy(pem);
    if let Some(start) = text.find(ENCRYPTED_BEGIN) {
        let end = text[start..]
            .find(ENCRYPTED_END)
            .map(|e| start + e + ENCRYPTED_END.len())
            .ok_or_else(|| TlsError::InvalidPem { setting, reason: "ENCRYPTED PRIVATE KEY block has no end".into() })?;
        let password = password.ok_or(TlsError::KeyPasswordRequired { setting })?;
        return decrypt_pkcs8(setting, &text[start..end], password);
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsError::Unsupported {
            setting,
            what: "a key encrypted in the legacy OpenSSL PEM form (Proc-Type/DEK-Info headers)",
            conversion: LEGACY_TO_PKCS8,
        });
    }
    if password.is_some() {
        tracing::debug!(setting, "ssl.key.password is set but the private key is not encrypted; ignoring it");
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::InvalidPem {
        setting,
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY block".to_owned()
            }
            // Only the kind of error: pki-types' messages may quote lines of the (secret) input.
            _ => "malformed private key PEM".to_owned(),
        },
    })
}

fn decrypt_pkcs8(setting: &'static str, block: &str, password: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let malformed = || TlsError::InvalidPem { setting, reason: "malformed ENCRYPTED PRIVATE KEY".into() };
    let (_label, document) = pkcs8::der::Document::from_pem(block).map_err(|_| malformed())?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|_| malformed())?;
    let decrypted = info.decrypt(password).map_err(|e| TlsError::KeyDecryption { setting, reason: e.to_string() })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(decrypted.as_bytes().to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
    }

    fn fixture_text(name: &str) -> String {
        std::fs::read_to_string(fixture(name)).unwrap()
    }

    fn key_password() -> String {
        fixture_text("key-password")
    }

    fn trusting_ca() -> TlsSettings {
        TlsSettings { ca_location: Some(fixture("ca.pem")), ..TlsSettings::default() }
    }

    fn with_client(mut settings: TlsSettings, cert: &str, key: &str, password: Option<String>) -> TlsSettings {
        settings.certificate_location = Some(fixture(cert));
        settings.key_location = Some(fixture(key));
        settings.key_password = password;
        settings
    }

    #[test]
    fn trust_from_a_ca_file_or_inline_pem() {
        client_config(&trusting_ca()).unwrap();
        client_config(&TlsSettings { ca_pem: Some(fixture_text("ca.pem")), ..TlsSettings::default() }).unwrap();
    }

    #[test]
    fn the_platform_roots_without_a_ca() {
        // The build machines have a CA bundle (ca-certificates); without one this is NoPlatformRoots.
        client_config(&TlsSettings::default()).unwrap();
    }

    #[test]
    fn ca_errors_name_the_setting() {
        let missing = TlsSettings { ca_location: Some(fixture("nope.pem")), ..TlsSettings::default() };
        let err = client_config(&missing).unwrap_err();
        assert!(matches!(err, TlsError::Read { setting: "ssl.ca.location", .. }), "{err}");
        assert!(err.to_string().contains("nope.pem"));

        let no_cert = TlsSettings { ca_location: Some(fixture("client.key")), ..TlsSettings::default() };
        assert!(matches!(client_config(&no_cert), Err(TlsError::InvalidPem { setting: "ssl.ca.location", .. })));

        let both = TlsSettings { ca_pem: Some(fixture_text("ca.pem")), ..trusting_ca() };
        assert!(matches!(client_config(&both), Err(TlsError::Conflicting { .. })));
    }

    #[test]
    fn client_keys_in_every_pem_form() {
        for (cert, key) in
            [("client.pem", "client.key"), ("client.pem", "client-sec1.key"), ("client-rsa.pem", "client-rsa.key")]
        {
            client_config(&with_client(trusting_ca(), cert, key, None)).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
        client_config(&with_client(trusting_ca(), "client.pem", "client-encrypted.key", Some(key_password()))).unwrap();
    }

    #[test]
    fn inline_client_certificate_and_key() {
        let mut settings = trusting_ca();
        settings.certificate_pem = Some(fixture_text("client.pem"));
        settings.key_pem = Some(fixture_text("client-encrypted.key"));
        settings.key_password = Some(key_password());
        client_config(&settings).unwrap();
    }

    #[test]
    fn encrypted_keys_need_the_right_password() {
        let err = client_config(&with_client(trusting_ca(), "client.pem", "client-encrypted.key", None)).unwrap_err();
        assert!(matches!(err, TlsError::KeyPasswordRequired { setting: "ssl.key.location" }), "{err}");
        let err =
            client_config(&with_client(trusting_ca(), "client.pem", "client-encrypted.key", Some("wrong".into())))
                .unwrap_err();
        assert!(matches!(err, TlsError::KeyDecryption { .. }), "{err}");
        assert!(!err.to_string().contains("wrong"));
    }

    #[test]
    fn legacy_encrypted_pem_is_refused_with_the_conversion() {
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n\
                      -----END RSA PRIVATE KEY-----\n";
        let err = private_key("ssl.key.pem", legacy.as_bytes(), Some("pw")).unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");
    }

    #[test]
    fn half_of_mutual_tls_is_an_error() {
        let mut cert_only = trusting_ca();
        cert_only.certificate_location = Some(fixture("client.pem"));
        assert!(matches!(
            client_config(&cert_only),
            Err(TlsError::IncompleteClientAuth { given: "ssl.certificate.location" })
        ));
        let mut key_only = trusting_ca();
        key_only.key_pem = Some(fixture_text("client.key"));
        assert!(matches!(client_config(&key_only), Err(TlsError::IncompleteClientAuth { given: "ssl.key.pem" })));
        let err = client_config(&with_client(trusting_ca(), "client.pem", "ca.pem", None)).unwrap_err();
        assert!(matches!(err, TlsError::InvalidPem { setting: "ssl.key.location", .. }), "{err}");
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let err = client_config(&with_client(trusting_ca(), "client.pem", "client-rsa.key", None)).unwrap_err();
        assert!(matches!(err, TlsError::Config(_)), "{err}");
    }

    #[test]
    fn key_stores_pkcs12_and_jks_are_refused_with_the_way_to_pem() {
        let mut settings = trusting_ca();
        settings.keystore_location = Some(fixture("client.p12"));
        settings.keystore_password = Some(key_password());
        let err = client_config(&settings).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, TlsError::Unsupported { .. }));
        assert!(
            message.contains("PKCS#12") && message.contains("openssl pkcs12") && message.contains("PEM"),
            "{message}"
        );

        settings.keystore_type = Some("jks".into());
        assert!(client_config(&settings).unwrap_err().to_string().contains("keytool -importkeystore"));
        settings.keystore_type = Some("BKS".into());
        assert!(matches!(client_config(&settings), Err(TlsError::InvalidPem { setting: "ssl.keystore.type", .. })));
    }

    #[test]
    fn a_pem_key_store_is_read() {
        let dir = std::env::temp_dir().join(format!("kafkar-tls-keystore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keystore.pem");
        std::fs::write(&path, fixture_text("client-encrypted.key") + &fixture_text("client.pem")).unwrap();
        let mut settings = trusting_ca();
        settings.keystore_location = Some(path);
        settings.keystore_type = Some("PEM".into());
        settings.key_password = Some(key_password());
        let result = client_config(&settings);
        std::fs::remove_dir_all(&dir).unwrap();
        result.unwrap();
    }

    #[test]
    fn debug_redacts_keys_and_passwords() {
        let mut settings = trusting_ca();
        settings.key_pem = Some(fixture_text("client.key"));
        settings.key_password = Some("key-pass-SECRET".into());
        settings.keystore_password = Some("store-pass-SECRET".into());
        let debug = format!("{settings:?}");
        assert!(!debug.contains("SECRET") && !debug.contains("PRIVATE KEY"), "{debug}");
        assert!(debug.contains("<redacted>") && debug.contains("ca.pem"), "{debug}");
    }

    /// Records every tracing event (level and fields) emitted on this thread while it is the default.
    struct CapturedLogs(std::sync::Mutex<Vec<(tracing::Level, String)>>);

    impl tracing::Subscriber for &'static CapturedLogs {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                    self.0.push_str(&format!("{}={value:?} ", field.name()));
                }
            }
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push((*event.metadata().level(), fields.0));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    fn logs_of(f: impl FnOnce()) -> Vec<(tracing::Level, String)> {
        let logs: &'static CapturedLogs = Box::leak(Box::new(CapturedLogs(Default::default())));
        tracing::subscriber::with_default(logs, f);
        logs.0.lock().unwrap().clone()
    }

    #[test]
    fn turning_hostname_verification_off_is_a_warning_and_no_secret_is_logged() {
        let mut settings = trusting_ca();
        settings.certificate_pem = Some(fixture_text("client.pem"));
        settings.key_pem = Some(fixture_text("client-encrypted.key"));
        settings.key_password = Some(key_password());
        let strict = logs_of(|| drop(client_config(&settings).unwrap()));
        assert!(strict.iter().all(|(level, _)| *level < tracing::Level::WARN), "{strict:?}");

        settings.endpoint_identification = EndpointIdentification::None;
        let lax = logs_of(|| drop(client_config(&settings).unwrap()));
        let warnings: Vec<_> = lax.iter().filter(|(level, _)| *level == tracing::Level::WARN).collect();
        assert_eq!(warnings.len(), 1, "{lax:?}");
        assert!(warnings[0].1.contains("ssl.endpoint.identification.algorithm is none"), "{warnings:?}");

        // A wrong password: the error and the logs name the setting, never the password or key material.
        settings.key_password = Some("not-the-PASSWORD".into());
        let mut error = String::new();
        let logs = logs_of(|| error = client_config(&settings).unwrap_err().to_string());
        for text in logs.iter().map(|(_, fields)| fields.as_str()).chain([error.as_str()]) {
            assert!(!text.contains("not-the-PASSWORD") && !text.contains(&key_password()), "{text}");
            assert!(!text.contains("PRIVATE KEY-----"), "{text}");
        }
    }

    // Handshakes against an in-process rustls server on a duplex pipe, with the fixture broker certificates.

    fn server_config(cert: &str, key: &str, require_client_cert: bool) -> Arc<rustls::ServerConfig> {
        let provider = crypto_provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            roots.add(CertificateDer::from_pem_file(fixture("ca.pem")).unwrap()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let chain = certificates("test", fixture_text(cert).as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture(key)).unwrap();
        Arc::new(builder.with_single_cert(chain, key).unwrap())
    }

    /// Handshake, then one round trip of application data (TLS 1.3 reports a refused client certificate only
    /// then).
    async fn handshake(
        client: &TlsSettings,
        server: Arc<rustls::ServerConfig>,
        server_name: &str,
    ) -> Result<(), TlsError> {
        let config = client_config(client).unwrap();
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server_task = tokio::spawn(async move {
            let mut tls = tokio_rustls::TlsAcceptor::from(server).accept(server_io).await?;
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await?;
            tls.write_all(&buf).await?;
            tls.flush().await?;
            io::Result::Ok(())
        });
        let result = async {
            let mut tls = tls_connect(client_io, server_name, config).await?;
            let server = server_name.to_owned();
            let io_err = |source| TlsError::Handshake { server: server.clone(), source };
            tls.write_all(b"ping").await.map_err(io_err)?;
            tls.flush().await.map_err(io_err)?;
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await.map_err(io_err)?;
            assert_eq!(&buf, b"ping");
            Ok(())
        }
        .await;
        if result.is_err() {
            server_task.abort();
        }
        result
    }

    #[tokio::test]
    async fn a_trusted_broker_by_ip_and_by_name() {
        let server = server_config("broker.pem", "broker.key", false);
        handshake(&trusting_ca(), server.clone(), "127.0.0.1").await.unwrap();
        handshake(&trusting_ca(), server, "localhost").await.unwrap();
    }

    #[tokio::test]
    async fn an_untrusted_ca_is_a_clear_error() {
        let other = TlsSettings { ca_location: Some(fixture("other-ca.pem")), ..TlsSettings::default() };
        let err = handshake(&other, server_config("broker.pem", "broker.key", false), "127.0.0.1").await.unwrap_err();
        assert!(matches!(err, TlsError::UntrustedCertificate { .. }), "{err}");
        assert!(err.to_string().contains("not trusted"), "{err}");
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_is_a_clear_error() {
        let dns_only = server_config("broker-dns-only.pem", "broker-dns-only.key", false);
        let err = handshake(&trusting_ca(), dns_only.clone(), "127.0.0.1").await.unwrap_err();
        assert!(matches!(err, TlsError::HostnameMismatch { .. }), "{err}");
        assert!(err.to_string().contains("not valid for 127.0.0.1"), "{err}");
        // The same certificate is fine for the name it carries.
        handshake(&trusting_ca(), dns_only, "localhost").await.unwrap();
    }

    #[tokio::test]
    async fn without_hostname_verification_the_chain_is_still_verified() {
        let mut lax = trusting_ca();
        lax.endpoint_identification = EndpointIdentification::None;
        let dns_only = server_config("broker-dns-only.pem", "broker-dns-only.key", false);
        handshake(&lax, dns_only, "127.0.0.1").await.unwrap();

        lax.ca_location = Some(fixture("other-ca.pem"));
        let err = handshake(&lax, server_config("broker.pem", "broker.key", false), "127.0.0.1").await.unwrap_err();
        assert!(matches!(err, TlsError::UntrustedCertificate { .. }), "{err}");
    }

    #[tokio::test]
    async fn mutual_tls_with_each_key_form() {
        let server = server_config("broker.pem", "broker.key", true);
        for (cert, key, password) in [
            ("client.pem", "client.key", None),
            ("client.pem", "client-encrypted.key", Some(key_password())),
            ("client-rsa.pem", "client-rsa.key", None),
        ] {
            let settings = with_client(trusting_ca(), cert, key, password);
            handshake(&settings, server.clone(), "127.0.0.1").await.unwrap_or_else(|e| panic!("{key}: {e}"));
        }
        let err = handshake(&trusting_ca(), server, "127.0.0.1").await.unwrap_err();
        assert!(matches!(err, TlsError::Handshake { .. }), "no client certificate: {err}");
    }

    #[test]
    fn invalid_server_names_are_refused() {
        let config = client_config(&trusting_ca()).unwrap();
        let (client_io, _server_io) = tokio::io::duplex(1024);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let err = rt.block_on(tls_connect(client_io, "not a host", config)).unwrap_err();
        assert!(matches!(err, TlsError::InvalidServerName { .. }), "{err}");
    }
}
