//! `sasl.jaas.config`: the Java client's login-module string, parsed so that the snippets users copy from Java
//! configurations and managed services work unchanged.
//!
//! Grammar (Kafka's own parser, `org.apache.kafka.common.security.JaasConfig`):
//! `<LoginModuleClass> <flag> (<key>=<value>)* ;` where the flag is `required`, `requisite`, `sufficient` or
//! `optional` (any case), a key or value is a word or a quoted string (`"..."` or `'...'`, with backslash escapes),
//! whitespace is anything up to and including space, and `/` starts a comment (`//` and `/* */` too) outside
//! quotes. Kafka accepts exactly one login module in `sasl.jaas.config`.
//!
//! [`JaasConfig::login`] maps the three login modules this client implements to their credentials:
//! - `org.apache.kafka.common.security.plain.PlainLoginModule`: `username`, `password` (PLAIN);
//! - `org.apache.kafka.common.security.scram.ScramLoginModule`: `username`, `password`, `tokenauth` (SCRAM, with
//!   `tokenauth=true` for delegation tokens);
//! - `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule`: `clientId`, `clientSecret`, `scope`,
//!   `extension_<name>` (SASL extensions, e.g. Confluent Cloud's `extension_logicalCluster` and
//!   `extension_identityPoolId`), and the unsecured-token options `unsecuredLoginStringClaim_<name>`.
//!
//! Kerberos (`Krb5LoginModule`, GSSAPI) is out of scope and says so; any other module (e.g. AWS MSK IAM's) is
//! named in the error: such mechanisms are plugged in as a `kafkar_protocol::sasl::SaslMechanism`.
//!
//! Passwords and client secrets never appear in `Debug` output or in errors.

use std::fmt;

/// The Java login module of PLAIN.
pub const PLAIN_LOGIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
/// The Java login module of SCRAM-SHA-256 and SCRAM-SHA-512.
pub const SCRAM_LOGIN_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";
/// The Java login module of OAUTHBEARER.
pub const OAUTHBEARER_LOGIN_MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const KERBEROS_LOGIN_MODULE: &str = "com.sun.security.auth.module.Krb5LoginModule";

/// A JAAS login module's control flag (meaningless for a single Kafka login module, but part of the syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlFlag {
    /// `required`.
    Required,
    /// `requisite`.
    Requisite,
    /// `sufficient`.
    Sufficient,
    /// `optional`.
    Optional,
}

/// A parsed `sasl.jaas.config`: one login module, its flag and its options (in order; a repeated key keeps its
/// last value, as in Java).
#[derive(Clone, PartialEq, Eq)]
pub struct JaasConfig {
    /// The login module class.
    pub login_module: String,
    /// The control flag.
    pub flag: ControlFlag,
    options: Vec<(String, String)>,
}

/// Why a `sasl.jaas.config` was refused. Never quotes an option's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JaasError {
    /// The text does not follow the grammar.
    #[error("sasl.jaas.config: {0}")]
    Syntax(String),
    /// A login module this client does not implement.
    #[error(
        "sasl.jaas.config: login module {0} is not built in (PLAIN, SCRAM and OAUTHBEARER are); plug its mechanism \
         in as a SaslMechanism"
    )]
    UnknownLoginModule(String),
    /// Kerberos.
    #[error("sasl.jaas.config: GSSAPI (Kerberos, {KERBEROS_LOGIN_MODULE}) is not supported by kafkar")]
    KerberosUnsupported,
    /// A required option is missing or invalid.
    #[error("sasl.jaas.config: {module} needs option {option}")]
    MissingOption {
        /// The login module's short name.
        module: &'static str,
        /// The option.
        option: &'static str,
    },
}

/// The credentials a login module carries.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JaasLogin {
    /// PLAIN.
    Plain {
        /// `username`.
        username: String,
        /// `password` (secret).
        password: String,
    },
    /// SCRAM-SHA-256 / SCRAM-SHA-512.
    Scram {
        /// `username` (the token id for delegation tokens).
        username: String,
        /// `password` (the token HMAC for delegation tokens; secret).
        password: String,
        /// `tokenauth=true`: a delegation token.
        token_auth: bool,
    },
    /// OAUTHBEARER.
    OAuthBearer(OAuthBearerLogin),
}

/// OAUTHBEARER login options.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthBearerLogin {
    /// `clientId` (KIP-768 client credentials).
    pub client_id: Option<String>,
    /// `clientSecret` (secret).
    pub client_secret: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `extension_<name>=<value>` options, as `(name, value)`, in order.
    pub extensions: Vec<(String, String)>,
    /// `unsecuredLoginStringClaim_<name>=<value>` options (unsigned test tokens), as `(claim, value)`.
    pub unsecured_claims: Vec<(String, String)>,
}

impl JaasConfig {
    /// Parses a `sasl.jaas.config` value.
    pub fn parse(text: &str) -> Result<JaasConfig, JaasError> {
        let tokens = tokenize(text)?;
        let mut iter = tokens.into_iter().peekable();
        let login_module = match iter.next() {
            Some(Token::Word(w)) => w,
            Some(Token::Quoted(_)) | None => return Err(syntax("no login module class")),
            Some(Token::Equals | Token::Semicolon) => return Err(syntax("expected a login module class first")),
        };
        let flag = match iter.next() {
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "required" => ControlFlag::Required,
                "requisite" => ControlFlag::Requisite,
                "sufficient" => ControlFlag::Sufficient,
                "optional" => ControlFlag::Optional,
                _ => {
                    return Err(syntax(&format!(
                        "invalid control flag {w:?} (required, requisite, sufficient, optional)"
                    )));
                }
            },
            _ => return Err(syntax("no control flag after the login module")),
        };
        let mut options: Vec<(String, String)> = Vec::new();
        loop {
            match iter.next() {
                Some(Token::Semicolon) => break,
                Some(Token::Word(key) | Token::Quoted(key)) => {
                    if iter.next() != Some(Token::Equals) {
                        return Err(syntax(&format!("no value for key {key:?}")));
                    }
                    let value = match iter.next() {
                        Some(Token::Word(v) | Token::Quoted(v)) => v,
                        _ => return Err(syntax(&format!("no value for key {key:?}"))),
                    };
                    options.retain(|(k, _)| *k != key);
                    options.push((key, value));
                }
                Some(Token::Equals) => return Err(syntax("'=' without a key")),
                None => return Err(syntax("the login module entry does not end with ';'")),
            }
        }
        if iter.peek().is_some() {
            return Err(syntax("more than one login module; Kafka takes exactly one in sasl.jaas.config"));
        }
        Ok(JaasConfig { login_module, flag, options })
    }

    /// An option's value.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The option names, in order (values are not exposed wholesale: some are secrets).
    pub fn option_names(&self) -> impl Iterator<Item = &str> {
        self.options.iter().map(|(k, _)| k.as_str())
    }

    /// The credentials of a built-in login module.
    pub fn login(&self) -> Result<JaasLogin, JaasError> {
        let required = |module: &'static str, option: &'static str| {
            self.option(option).map(str::to_owned).ok_or(JaasError::MissingOption { module, option })
        };
        match self.login_module.as_str() {
            PLAIN_LOGIN_MODULE => Ok(JaasLogin::Plain {
                username: required("PlainLoginModule", "username")?,
                password: required("PlainLoginModule", "password")?,
            }),
            SCRAM_LOGIN_MODULE => Ok(JaasLogin::Scram {
                username: required("ScramLoginModule", "username")?,
                password: required("ScramLoginModule", "password")?,
                token_auth: self.option("tokenauth").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            }),
            OAUTHBEARER_LOGIN_MODULE => {
                let mut login = OAuthBearerLogin {
                    client_id: self.option("clientId").map(str::to_owned),
                    client_secret: self.option("clientSecret").map(str::to_owned),
                    scope: self.option("scope").map(str::to_owned),
                    ..OAuthBearerLogin::default()
                };
                for (key, value) in &self.options {
                    if let Some(name) = key.strip_prefix("extension_") {
                        login.extensions.push((name.to_owned(), value.clone()));
                    } else if let Some(claim) = key.strip_prefix("unsecuredLoginStringClaim_") {
                        login.unsecured_claims.push((claim.to_owned(), value.clone()));
                    }
                }
                Ok(JaasLogin::OAuthBearer(login))
            }
            KERBEROS_LOGIN_MODULE => Err(JaasError::KerberosUnsupported),
            other => Err(JaasError::UnknownLoginModule(other.to_owned())),
        }
    }
}

impl JaasLogin {
    /// Whether these credentials serve SASL mechanism `mechanism` (as `sasl.mechanism` names it).
    pub fn serves_mechanism(&self, mechanism: &str) -> bool {
        match self {
            JaasLogin::Plain { .. } => mechanism == "PLAIN",
            JaasLogin::Scram { .. } => mechanism == "SCRAM-SHA-256" || mechanism == "SCRAM-SHA-512",
            JaasLogin::OAuthBearer(_) => mechanism == "OAUTHBEARER",
        }
    }
}

/// Option keys whose values are secrets in the login modules this client knows.
fn is_secret_key(key: &str) -> bool {
    matches!(key, "password" | "clientSecret") || key.to_ascii_lowercase().contains("secret")
}

impl fmt::Debug for JaasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options: Vec<(&str, &str)> = self
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret_key(k) { "<redacted>" } else { v.as_str() }))
            .collect();
        f.debug_struct("JaasConfig")
            .field("login_module", &self.login_module)
            .field("flag", &self.flag)
            .field("options", &options)
            .finish()
    }
}

impl fmt::Debug for JaasLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JaasLogin::Plain { username, .. } => {
                f.debug_struct("Plain").field("username", username).field("password", &"<redacted>").finish()
            }
            JaasLogin::Scram { username, token_auth, .. } => f
                .debug_struct("Scram")
                .field("username", username)
                .field("password", &"<redacted>")
                .field("token_auth", token_auth)
                .finish(),
            JaasLogin::OAuthBearer(login) => f.debug_tuple("OAuthBearer").field(login).finish(),
        }
    }
}

impl fmt::Debug for OAuthBearerLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearerLogin")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .field("extensions", &self.extensions)
            .field("unsecured_claims", &self.unsecured_claims)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn syntax(reason: &str) -> JaasError {
    JaasError::Syntax(reason.to_owned())
}

/// Splits the text as Kafka's tokenizer does (see the module docs).
fn tokenize(text: &str) -> Result<Vec<Token>, JaasError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if (c as u32) <= 32 => i += 1,
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .ok_or_else(|| syntax("unterminated /* comment"))?;
                i = end + 2;
            }
            '/' => {
                // '//' and a lone '/' both comment out the rest of the line.
                while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                    i += 1;
                }
            }
            ';' => {
                tokens.push(Token::Semicolon);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Equals);
                i += 1;
            }
            '"' | '\'' => {
                let (value, next) = quoted(&chars, i)?;
                tokens.push(Token::Quoted(value));
                i = next;
            }
            _ => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    // A control character above 127 outside Java's word ranges: Java treats it as a token of its
                    // own that is never a valid key or value.
                    return Err(syntax(&format!("unexpected character U+{:04X}", c as u32)));
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

fn is_word_char(c: char) -> bool {
    let n = c as u32;
    !matches!(c, ';' | '=' | '"' | '\'' | '/') && ((33..=128).contains(&n) || (160..=255).contains(&n) || n > 255)
}

/// A quoted string starting at `start` (the quote): its value (escapes resolved) and the index after it.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), JaasError> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else { return Err(syntax("unterminated quoted value")) };
        match c {
            c if c == quote => return Ok((value, i + 1)),
            '\n' | '\r' => return Err(syntax("line break inside a quoted value")),
            '\\' => {
                let Some(&escaped) = chars.get(i + 1) else { return Err(syntax("unterminated quoted value")) };
                i += 2;
                match escaped {
                    'a' => value.push('\u{7}'),
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'v' => value.push('\u{b}'),
                    '0'..='7' => {
                        // Up to three octal digits (at most \377), as Java's StreamTokenizer.
                        let mut n = escaped.to_digit(8).unwrap_or(0);
                        let max_digits = if escaped <= '3' { 3 } else { 2 };
                        let mut digits = 1;
                        while digits < max_digits {
                            match chars.get(i).and_then(|d| d.to_digit(8)) {
                                Some(d) => {
                                    n = n * 8 + d;
                                    i += 1;
                                    digits += 1;
                                }
                                None => break,
                            }
                        }
                        value.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                    }
                    other => value.push(other),
                }
            }
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_as_java_configurations_write_it() {
        let config = JaasConfig::parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";"#,
        )
        .unwrap();
        assert_eq!(config.login_module, PLAIN_LOGIN_MODULE);
        assert_eq!(config.flag, ControlFlag::Required);
        assert_eq!(
            config.login().unwrap(),
            JaasLogin::Plain { username: "alice".into(), password: "alice-secret".into() }
        );
        assert!(config.login().unwrap().serves_mechanism("PLAIN"));
    }

    #[test]
    fn scram_with_single_quotes_unquoted_words_and_delegation_tokens() {
        let config = JaasConfig::parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED\n  username='tokenid'\n  password=hm@c+/=\n  tokenauth=true ;",
        );
        // '/' outside quotes starts a comment to the end of the line in Java's grammar, so that unquoted password
        // loses its tail (as it would in Java). Quoted, it is whole.
        assert_eq!(config.unwrap().option("password"), Some("hm@c+"));
        let config = JaasConfig::parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule REQUIRED\n  username='tokenid'\n  password=\"hm@c+/=\"\n  tokenauth=true ;",
        )
        .unwrap();
        let login = config.login().unwrap();
        assert_eq!(
            login,
            JaasLogin::Scram { username: "tokenid".into(), password: "hm@c+/=".into(), token_auth: true }
        );
        assert!(login.serves_mechanism("SCRAM-SHA-512") && !login.serves_mechanism("PLAIN"));
    }

    #[test]
    fn oauthbearer_as_managed_services_write_it() {
        // The shape of Confluent Cloud's client-credentials snippet.
        let config = JaasConfig::parse(
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId='my-client' \
             clientSecret='my-secret' scope='kafka' extension_logicalCluster='lkc-abc123' \
             extension_identityPoolId='pool-XyZ';",
        )
        .unwrap();
        let JaasLogin::OAuthBearer(login) = config.login().unwrap() else { panic!("OAUTHBEARER") };
        assert_eq!(login.client_id.as_deref(), Some("my-client"));
        assert_eq!(login.client_secret.as_deref(), Some("my-secret"));
        assert_eq!(login.scope.as_deref(), Some("kafka"));
        assert_eq!(
            login.extensions,
            vec![("logicalCluster".into(), "lkc-abc123".into()), ("identityPoolId".into(), "pool-XyZ".into())]
        );

        // The unsecured form Kafka's quickstarts use.
        let config = JaasConfig::parse(
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";"#,
        )
        .unwrap();
        let JaasLogin::OAuthBearer(login) = config.login().unwrap() else { panic!("OAUTHBEARER") };
        assert_eq!(login.unsecured_claims, vec![("sub".into(), "admin".into())]);
    }

    #[test]
    fn escapes_comments_and_repeated_keys() {
        let config = JaasConfig::parse(
            "// a comment line\n/* and a block */ org.apache.kafka.common.security.plain.PlainLoginModule optional \
             username=\"a\\\"b\\\\c\\tq\\101\" password=\"first\" password=\"second\"; ",
        )
        .unwrap();
        assert_eq!(config.flag, ControlFlag::Optional);
        assert_eq!(config.option("username"), Some("a\"b\\c\tqA"));
        assert_eq!(config.option("password"), Some("second"), "the last value wins, as in Java");
        assert_eq!(config.option_names().collect::<Vec<_>>(), ["username", "password"]);
    }

    #[test]
    fn syntax_errors() {
        for text in [
            "",
            "   ",
            "org.Module",
            "org.Module required",
            "org.Module required username=\"alice\"",
            "org.Module mandatory;",
            "org.Module required username;",
            "org.Module required username=;",
            "org.Module required =x;",
            "org.Module required username=\"unterminated;",
            "\"quoted.Module\" required;",
            "org.Module required; other.Module required;",
            "org.Module required /* unterminated",
        ] {
            assert!(matches!(JaasConfig::parse(text), Err(JaasError::Syntax(_))), "{text:?}");
        }
    }

    #[test]
    fn missing_options_unknown_modules_and_kerberos() {
        let config = JaasConfig::parse(&format!("{PLAIN_LOGIN_MODULE} required username=alice;")).unwrap();
        assert_eq!(
            config.login().unwrap_err(),
            JaasError::MissingOption { module: "PlainLoginModule", option: "password" }
        );
        let msk = JaasConfig::parse("software.amazon.msk.auth.iam.IAMLoginModule required;").unwrap();
        let err = msk.login().unwrap_err();
        assert!(err.to_string().contains("software.amazon.msk.auth.iam.IAMLoginModule"), "{err}");
        let krb = JaasConfig::parse(
            "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab=\"/etc/k.keytab\";",
        )
        .unwrap();
        assert_eq!(krb.login().unwrap_err(), JaasError::KerberosUnsupported);
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let text = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=app \
                    clientSecret=\"TOP-SECRET-1\" extension_logicalCluster=lkc-1;";
        let config = JaasConfig::parse(text).unwrap();
        let login = config.login().unwrap();
        for debug in [format!("{config:?}"), format!("{login:?}")] {
            assert!(!debug.contains("TOP-SECRET-1") && debug.contains("app") && debug.contains("lkc-1"), "{debug}");
        }
        let plain =
            JaasConfig::parse(&format!("{PLAIN_LOGIN_MODULE} required username=u password=\"TOP-SECRET-2\";")).unwrap();
        assert!(!format!("{plain:?} {:?}", plain.login().unwrap()).contains("TOP-SECRET-2"));
        let broken = JaasConfig::parse(&format!("{PLAIN_LOGIN_MODULE} required password=\"TOP-SECRET-3"));
        assert!(!broken.unwrap_err().to_string().contains("TOP-SECRET-3"));
    }
}
