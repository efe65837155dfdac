//! TLS and SASL against the real secured broker of `scripts/kafka start --secure`, beneath the client's own
//! connection: kafkar's TLS configuration and handshake (`net::tls`), and its SASL driver (`net::sasl`) running the
//! protocol crate's mechanisms over a minimal request/response exchange (ApiVersions through the protocol codec;
//! SaslHandshake v1 and SaslAuthenticate v1 encoded by hand in `support/secure.rs` until the message tables have
//! them). The client's connection does the same later, with the table codecs.
//!
//! Also the test OAuth token endpoint of `tests/support/oauth.rs`, whose tokens the broker must accept.
//!
//! Without `KAFKAR_SECURE_SSL_BOOTSTRAP` (exported from `scripts/kafka secure-info`) the broker tests report
//! themselves skipped.

#[path = "support/oauth.rs"]
mod oauth;
#[path = "support/secure.rs"]
mod secure;

use std::time::Duration;

use kafkar::protocol::sasl::{
    OAuthBearerClient, PlainClient, SaslError, SaslMechanism, SaslStep, ScramClient, ScramHash,
};
use kafkar::protocol::{ApiKey, ErrorCode};
use kafkar::security::oauth::{ClientCredentialsProvider, ClientCredentialsSettings, TokenError, TokenProvider};
use kafkar::security::sasl::{self, AuthenticationError, SaslSession};
use kafkar::security::tls::{EndpointIdentification, TlsError, TlsSettings, TlsStream, client_config, tls_connect};
use oauth::{OAuthTokenEndpoint, base64url_decode, post_form, unsigned_token};
use secure::{SecureBroker, WireConn};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

fn trusting(broker: &SecureBroker) -> TlsSettings {
    let mut settings = TlsSettings::default();
    settings.ca_location = Some(broker.path("CA_PEM"));
    settings
}

async fn tls_to(
    address: &str,
    server_name: &str,
    settings: &TlsSettings,
) -> Result<WireConn<TlsStream<TcpStream>>, TlsError> {
    let config = client_config(settings).expect("TLS configuration");
    let tcp = TcpStream::connect(address).await.unwrap_or_else(|e| panic!("connect {address}: {e}"));
    Ok(WireConn::new(tls_connect(tcp, server_name, config).await?))
}

async fn plain_to(address: &str) -> WireConn<TcpStream> {
    WireConn::new(TcpStream::connect(address).await.unwrap_or_else(|e| panic!("connect {address}: {e}")))
}

async fn assert_api_versions<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut WireConn<S>) {
    let versions = conn.api_versions().await.expect("ApiVersions exchange");
    assert_eq!(versions.error_code, ErrorCode::NONE);
    assert!(versions.find(ApiKey::SASL_AUTHENTICATE).is_some_and(|v| v.max_version >= 1), "SaslAuthenticate v1+");
}

// ---- TLS ----------------------------------------------------------------------------------------------------

#[tokio::test]
async fn api_versions_over_the_ssl_listener() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let mut conn = tls_to(&broker.address("SSL"), "127.0.0.1", &trusting(&broker)).await.unwrap();
    assert_api_versions(&mut conn).await;
}

#[tokio::test]
async fn an_untrusted_ca_is_refused() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let mut settings = TlsSettings::default();
    settings.ca_location = Some(broker.path("OTHER_CA_PEM"));
    let err = tls_to(&broker.address("SSL"), "127.0.0.1", &settings).await.err().expect("must fail");
    assert!(matches!(err, TlsError::UntrustedCertificate { .. }), "{err}");
}

#[tokio::test]
async fn a_certificate_without_the_ip_is_a_hostname_mismatch() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let address = broker.address("DNS_ONLY");
    let err = tls_to(&address, "127.0.0.1", &trusting(&broker)).await.err().expect("must fail");
    assert!(matches!(err, TlsError::HostnameMismatch { .. }), "{err}");
    assert!(err.to_string().contains("not valid for 127.0.0.1"), "{err}");

    // The name the certificate carries is fine, and so is turning verification off (explicitly).
    let mut conn = tls_to(&address, "localhost", &trusting(&broker)).await.unwrap();
    assert_api_versions(&mut conn).await;
    let mut lax = trusting(&broker);
    lax.endpoint_identification = EndpointIdentification::None;
    let mut conn = tls_to(&address, "127.0.0.1", &lax).await.unwrap();
    assert_api_versions(&mut conn).await;
}

#[tokio::test]
async fn mutual_tls_with_an_encrypted_pkcs8_key() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let address = broker.address("MTLS");
    let mut settings = trusting(&broker);
    settings.certificate_location = Some(broker.path("CLIENT_CERT"));
    settings.key_location = Some(broker.path("CLIENT_KEY_ENCRYPTED"));
    settings.key_password = Some(broker.var("CLIENT_KEY_PASSWORD"));
    let mut conn = tls_to(&address, "127.0.0.1", &settings).await.unwrap();
    assert_api_versions(&mut conn).await;

    let mut settings = trusting(&broker);
    settings.certificate_location = Some(broker.path("CLIENT_RSA_CERT"));
    settings.key_location = Some(broker.path("CLIENT_RSA_KEY"));
    let mut conn = tls_to(&address, "127.0.0.1", &settings).await.unwrap();
    assert_api_versions(&mut conn).await;

    // Without a client certificate the broker refuses: in TLS 1.3 the alert arrives after the client's side of
    // the handshake, so it shows at the handshake or at the first exchange.
    let failed = match tls_to(&address, "127.0.0.1", &trusting(&broker)).await {
        Err(_) => true,
        Ok(mut conn) => {
            tokio::time::timeout(Duration::from_secs(30), conn.api_versions()).await.expect("no hang").is_err()
        }
    };
    assert!(failed, "the MTLS listener must refuse a client without a certificate");
}

// ---- SASL ---------------------------------------------------------------------------------------------------

/// SaslHandshake v1, then SaslAuthenticate v1 rounds driving `mechanism`, through kafkar's SASL driver over the
/// hand-encoded transport of `support/secure.rs`.
async fn authenticate<S: AsyncRead + AsyncWrite + Unpin + Send>(
    conn: &mut WireConn<S>,
    mechanism: &mut dyn SaslMechanism,
) -> Result<SaslSession, AuthenticationError> {
    sasl::authenticate(conn, mechanism).await
}

/// After authentication the connection serves requests.
async fn authenticated_then_api_versions<S: AsyncRead + AsyncWrite + Unpin + Send>(
    mut conn: WireConn<S>,
    mechanism: &mut dyn SaslMechanism,
) -> Option<Duration> {
    assert_api_versions(&mut conn).await;
    let name = mechanism.name().to_owned();
    let session = authenticate(&mut conn, mechanism).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(session.mechanism, name);
    assert_api_versions(&mut conn).await;
    session.lifetime
}

fn nonce() -> String {
    sasl::random_scram_nonce().unwrap()
}

fn refused_by_broker(err: &AuthenticationError) -> bool {
    matches!(
        err,
        AuthenticationError::Rejected { error_code: ErrorCode::SASL_AUTHENTICATION_FAILED, message: Some(_), .. }
    )
}

#[tokio::test]
async fn plain_over_sasl_plaintext() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let address = broker.address("SASL_PLAINTEXT");
    let (user, password) = (broker.var("PLAIN_USERNAME"), broker.var("PLAIN_PASSWORD"));
    let lifetime =
        authenticated_then_api_versions(plain_to(&address).await, &mut PlainClient::new(&user, &password)).await;
    // SASL_PLAINTEXT has no listener-specific connections.max.reauth.ms: no lifetime, unless the broker was started
    // with a broker-wide one (scripts/test passes --prop connections.max.reauth.ms=5000 for the re-authentication
    // test of secure_client_real.rs).
    assert!(
        lifetime.is_none_or(|l| l <= Duration::from_secs(60)),
        "SASL_PLAINTEXT takes only the broker-wide connections.max.reauth.ms: {lifetime:?}"
    );

    let mut conn = plain_to(&address).await;
    let err = authenticate(&mut conn, &mut PlainClient::new(&user, "wrong-password")).await.unwrap_err();
    assert!(refused_by_broker(&err), "{err}");
}

#[tokio::test]
async fn scram_sha_256_and_512_over_sasl_ssl() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let address = broker.address("SASL_SSL");
    let settings = trusting(&broker);
    for hash in [ScramHash::Sha256, ScramHash::Sha512] {
        for (user, password) in [
            (broker.var("SCRAM_USERNAME"), broker.var("SCRAM_PASSWORD")),
            (broker.var("SCRAM_USERNAME2"), broker.var("SCRAM_PASSWORD2")),
        ] {
            let conn = tls_to(&address, "127.0.0.1", &settings).await.unwrap();
            let mut scram = ScramClient::new(hash, &user, &password, nonce());
            let lifetime = authenticated_then_api_versions(conn, &mut scram).await;
            assert!(scram.is_complete(), "the broker's server signature verified");
            assert!(
                lifetime.is_some_and(|l| l <= Duration::from_secs(3600)),
                "SASL_SSL has connections.max.reauth.ms=3600000: {lifetime:?}"
            );
        }
        let mut conn = tls_to(&address, "127.0.0.1", &settings).await.unwrap();
        let mut scram = ScramClient::new(hash, broker.var("SCRAM_USERNAME"), "wrong-password", nonce());
        let err = authenticate(&mut conn, &mut scram).await.unwrap_err();
        assert!(refused_by_broker(&err), "{err}");
    }
}

#[tokio::test]
async fn scram_over_sasl_plaintext_and_an_unknown_mechanism() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let address = broker.address("SASL_PLAINTEXT");
    let mut scram =
        ScramClient::new(ScramHash::Sha512, broker.var("SCRAM_USERNAME"), broker.var("SCRAM_PASSWORD"), nonce());
    authenticated_then_api_versions(plain_to(&address).await, &mut scram).await;

    // The broker stores bob's credentials with 8192 iterations: a client capped at 4096 refuses them.
    let mut conn = plain_to(&address).await;
    let mut capped =
        ScramClient::new(ScramHash::Sha256, broker.var("SCRAM_USERNAME2"), broker.var("SCRAM_PASSWORD2"), nonce())
            .with_max_iterations(4096);
    match authenticate(&mut conn, &mut capped).await.unwrap_err() {
        AuthenticationError::Mechanism(SaslError::IterationCountTooHigh {
            iterations: 8192, maximum: 4096, ..
        }) => {}
        other => panic!("{other:?}"),
    }

    struct Gssapi;
    impl SaslMechanism for Gssapi {
        fn name(&self) -> &str {
            "GSSAPI"
        }
        fn initial_response(&mut self) -> Result<Vec<u8>, SaslError> {
            Ok(vec![])
        }
        fn step(&mut self, _: &[u8]) -> Result<SaslStep, SaslError> {
            Ok(SaslStep::Done)
        }
    }
    let mut conn = plain_to(&address).await;
    match authenticate(&mut conn, &mut Gssapi).await.unwrap_err() {
        AuthenticationError::UnsupportedMechanism { mechanism, enabled } => {
            assert_eq!(mechanism, "GSSAPI");
            for m in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] {
                assert!(enabled.iter().any(|e| e == m), "{m} in {enabled:?}");
            }
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn oauthbearer_with_a_token_from_the_test_endpoint() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let endpoint = OAuthTokenEndpoint::start("kafkar-app", "app-secret", Duration::from_secs(600)).await;
    let (status, reply) =
        post_form(endpoint.url(), Some(("kafkar-app", "app-secret")), "grant_type=client_credentials&scope=kafka")
            .await;
    assert_eq!(status, 200, "{reply}");
    let token = reply["access_token"].as_str().unwrap().to_owned();

    for listener in ["SASL_PLAINTEXT", "SASL_SSL"] {
        let address = broker.address(listener);
        let extensions = vec![("logicalCluster".to_owned(), "lkc-test".to_owned())];
        let mut mechanism = OAuthBearerClient::new(token.clone(), extensions).unwrap();
        let lifetime = if listener == "SASL_SSL" {
            let conn = tls_to(&address, "127.0.0.1", &trusting(&broker)).await.unwrap();
            authenticated_then_api_versions(conn, &mut mechanism).await
        } else {
            authenticated_then_api_versions(plain_to(&address).await, &mut mechanism).await
        };
        if listener == "SASL_SSL" {
            // Bounded by the token's expiry (600 s) as much as by connections.max.reauth.ms.
            assert!(lifetime.is_some_and(|l| l <= Duration::from_secs(600)), "{lifetime:?}");
        }
    }

    // An expired token: the broker answers an error JSON, the mechanism acknowledges it, the broker fails the
    // exchange.
    let expired = oauth::unsigned_jwt(&serde_json::json!({"sub": "kafkar-app", "iat": 1_000_000, "exp": 1_000_060}));
    let mut mechanism = OAuthBearerClient::new(expired, vec![]).unwrap();
    let mut conn = plain_to(&broker.address("SASL_PLAINTEXT")).await;
    let err = authenticate(&mut conn, &mut mechanism).await.unwrap_err();
    assert!(refused_by_broker(&err), "{err}");
    assert!(mechanism.rejection().is_some_and(|json| json.contains("invalid_token")), "{:?}", mechanism.rejection());
}

// ---- The test token endpoint on its own ----------------------------------------------------------------------

#[tokio::test]
async fn the_token_endpoint_issues_unsigned_jwts_for_the_right_client() {
    let endpoint = OAuthTokenEndpoint::start("client-1", "s3cret", Duration::from_secs(120)).await;
    let before = oauth::now_secs();
    let (status, reply) =
        post_form(endpoint.url(), Some(("client-1", "s3cret")), "grant_type=client_credentials&scope=read+write").await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["expires_in"], 120);
    assert_eq!(reply["scope"], "read write");
    let token = reply["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2], "", "unsigned");
    let header: serde_json::Value = serde_json::from_slice(&base64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header, serde_json::json!({"alg": "none"}));
    let claims: serde_json::Value = serde_json::from_slice(&base64url_decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], "client-1");
    assert_eq!(claims["scope"], "read write");
    let (iat, exp) = (claims["iat"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
    assert!(iat >= before && exp == iat + 120, "{claims}");

    // Credentials in the body work too (RFC 6749 §2.3.1).
    let (status, _) =
        post_form(endpoint.url(), None, "grant_type=client_credentials&client_id=client-1&client_secret=s3cret").await;
    assert_eq!(status, 200);

    // Refusals.
    let (status, reply) = post_form(endpoint.url(), Some(("client-1", "wrong")), "grant_type=client_credentials").await;
    assert_eq!((status, reply["error"].as_str()), (401, Some("invalid_client")));
    let (status, _) = post_form(endpoint.url(), None, "grant_type=client_credentials").await;
    assert_eq!(status, 401);
    let (status, reply) = post_form(endpoint.url(), Some(("client-1", "s3cret")), "grant_type=password").await;
    assert_eq!((status, reply["error"].as_str()), (400, Some("unsupported_grant_type")));
    let other = endpoint.url().replace("/token", "/other");
    assert_eq!(post_form(&other, Some(("client-1", "s3cret")), "grant_type=client_credentials").await.0, 404);

    assert_eq!(endpoint.requests(), 6);
    let statuses: Vec<u16> = endpoint.log().iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
}

#[test]
fn unsigned_tokens_are_valid_bearer_tokens() {
    let token = unsigned_token("someone", Duration::from_secs(60), "a b");
    // What OAuthBearerClient (and the broker) accept as an RFC 6750 b64token.
    OAuthBearerClient::new(token, vec![]).unwrap();
}

// ---- The built-in client-credentials provider against the test endpoint --------------------------------------

#[tokio::test]
async fn the_client_credentials_provider_fetches_caches_and_refreshes() {
    let endpoint = OAuthTokenEndpoint::start("app-1", "app secret/+=", Duration::from_secs(2)).await;
    let mut settings = ClientCredentialsSettings::new(endpoint.url(), "app-1", "app secret/+=");
    settings.scope = Some("kafka write".into());
    let provider = ClientCredentialsProvider::new(settings).unwrap();

    let first = provider.token().await.unwrap();
    assert_eq!(first.lifetime, Duration::from_secs(2));
    let claims: serde_json::Value =
        serde_json::from_slice(&base64url_decode(first.value().split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!((claims["sub"].as_str(), claims["scope"].as_str()), (Some("app-1"), Some("kafka write")));
    let again = provider.token().await.unwrap();
    assert_eq!(again.value(), first.value(), "cached while fresh");
    assert_eq!(endpoint.requests(), 1);

    // Past 80 % of the 2 s lifetime the next ask fetches a new token.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    provider.token().await.unwrap();
    assert_eq!(endpoint.requests(), 2);
    assert_eq!(endpoint.log()[1].scope.as_deref(), Some("kafka write"));

    let wrong =
        ClientCredentialsProvider::new(ClientCredentialsSettings::new(endpoint.url(), "app-1", "nope")).unwrap();
    match wrong.token().await.unwrap_err() {
        TokenError::Refused { status: 401, error, .. } => assert_eq!(error.as_deref(), Some("invalid_client")),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn oauthbearer_with_the_client_credentials_provider() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let endpoint = OAuthTokenEndpoint::start("kafkar-app", "app-secret", Duration::from_secs(300)).await;
    let provider =
        ClientCredentialsProvider::new(ClientCredentialsSettings::new(endpoint.url(), "kafkar-app", "app-secret"))
            .unwrap();
    let token = provider.token().await.unwrap();
    let conn = tls_to(&broker.address("SASL_SSL"), "127.0.0.1", &trusting(&broker)).await.unwrap();
    let mut mechanism = OAuthBearerClient::new(token.value(), vec![]).unwrap();
    let lifetime = authenticated_then_api_versions(conn, &mut mechanism).await;
    // The broker bounds the session by the token's expiry (300 s).
    assert!(lifetime.is_some_and(|l| l <= Duration::from_secs(300)), "{lifetime:?}");
}
