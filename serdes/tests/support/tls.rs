//! The test registry over TLS (tokio-rustls server side, the ring provider kafkar uses), with the test CA's
//! certificates: those of the running secured broker (`KAFKAR_SECURE_DIR` from `scripts/kafka secure-info`), or
//! made once under target/ with `scripts/kafka make-certs`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::registry::TestRegistry;

/// The directory with ca.pem, other-ca.pem, broker.pem / broker.key (SANs IP:127.0.0.1 and DNS:localhost),
/// client.pem / client.key.
pub fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("KAFKAR_SECURE_DIR").filter(|d| Path::new(d).join("ca.pem").is_file()) {
            return PathBuf::from(dir);
        }
        // Made under target/ and reused while well within their validity (make-certs' default is 30 days);
        // made in a directory of this process and renamed into place, so concurrent test processes never see
        // half a set.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("registry-certs");
        let age = std::fs::metadata(dir.join("ca.pem")).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if age.is_none_or(|age| age > std::time::Duration::from_secs(20 * 86_400)) {
            let _ = std::fs::remove_dir_all(&dir);
            let mine = dir.with_file_name(format!("registry-certs-{}", std::process::id()));
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka");
            let status = std::process::Command::new(script).arg("make-certs").arg(&mine).status().expect("make-certs");
            assert!(status.success(), "scripts/kafka make-certs failed");
            if std::fs::rename(&mine, &dir).is_err() {
                // Another process got there first: use its set.
                let _ = std::fs::remove_dir_all(&mine);
            }
        }
        dir
    })
}

/// A path in [`certs`].
pub fn cert(name: &str) -> PathBuf {
    certs().join(name)
}

/// Starts the test registry on `https://127.0.0.1:PORT` with the certificate `server` (`broker`: SANs 127.0.0.1
/// and localhost; `broker-dns-only`: localhost only; both signed by ca.pem), Basic credentials `credentials`,
/// and, with `require_client_cert`, mutual TLS: clients must present a certificate signed by ca.pem.
pub async fn start_https(credentials: &str, server: &str, require_client_cert: bool) -> TestRegistry {
    #[allow(deprecated)] // ring, as kafkar's default `tls-ring` feature (see kafkar::security::tls::crypto_provider)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert(&format!("{server}.pem"))).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(cert(&format!("{server}.key"))).unwrap();
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().unwrap();
    let builder = if require_client_cert {
        let mut roots = RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(cert("ca.pem")).unwrap() {
            roots.add(ca.unwrap()).unwrap();
        }
        builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap(),
        )
    } else {
        builder.with_no_client_auth()
    };
    let acceptor = TlsAcceptor::from(Arc::new(builder.with_single_cert(chain, key).unwrap()));
    TestRegistry::start_with(credentials, "https", move |tcp| acceptor.accept(tcp)).await
}
