//! SCRAM users: describe, upsert and delete credentials (DescribeUserScramCredentials, AlterUserScramCredentials,
//! KIP-554), sent to any broker. An upsert is salted and hashed here (PBKDF2 from the protocol crate's SCRAM code,
//! a fresh random salt), so the password itself never leaves the client.

use bytes::Bytes;
use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::alter_user_scram_credentials::{
    AlterUserScramCredentialsRequest, ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafkar_protocol::messages::describe_user_scram_credentials::{DescribeUserScramCredentialsRequest, ScramUserName};
use kafkar_protocol::sasl::{SCRAM_MIN_ITERATIONS, ScramHash};

use super::Admin;
use super::call::item_result;
use crate::error::{Error, Result};

/// The wire code of a SCRAM mechanism (1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512).
fn mechanism_code(hash: ScramHash) -> i8 {
    match hash {
        ScramHash::Sha256 => 1,
        ScramHash::Sha512 => 2,
    }
}

/// One SCRAM credential a user has: its mechanism and PBKDF2 iteration count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScramCredentialInfo {
    /// The mechanism; `None` for a code this client does not know.
    pub mechanism: Option<ScramHash>,
    /// The iteration count.
    pub iterations: i32,
}

/// A change to a user's SCRAM credentials.
#[derive(Clone)]
pub enum ScramAlteration {
    /// Sets (adds or replaces) the user's credential for a mechanism.
    Upsert {
        /// The user name.
        user: String,
        /// The mechanism.
        mechanism: ScramHash,
        /// The PBKDF2 iteration count (at least 4096; Kafka allows at most 16384).
        iterations: i32,
        /// The password (salted and hashed here; never sent).
        password: String,
    },
    /// Removes the user's credential for a mechanism.
    Delete {
        /// The user name.
        user: String,
        /// The mechanism.
        mechanism: ScramHash,
    },
}

impl std::fmt::Debug for ScramAlteration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScramAlteration::Upsert { user, mechanism, iterations, .. } => f
                .debug_struct("Upsert")
                .field("user", user)
                .field("mechanism", mechanism)
                .field("iterations", iterations)
                .field("password", &"<redacted>")
                .finish(),
            ScramAlteration::Delete { user, mechanism } => {
                f.debug_struct("Delete").field("user", user).field("mechanism", mechanism).finish()
            }
        }
    }
}

impl ScramAlteration {
    /// The user this change is for.
    pub fn user(&self) -> &str {
        match self {
            ScramAlteration::Upsert { user, .. } | ScramAlteration::Delete { user, .. } => user,
        }
    }
}

/// A fresh 32-byte salt from the operating system's random source.
fn random_salt() -> Result<[u8; 32]> {
    let mut salt = [0u8; 32];
    getrandom::getrandom(&mut salt).map_err(|e| Error::invalid(format!("OS random source: {e}")))?;
    Ok(salt)
}

impl Admin {
    /// The SCRAM credentials of `users` (every user that has one when empty): per user, its credentials, or an
    /// error (RESOURCE_NOT_FOUND for a user without any).
    pub async fn describe_user_scram_credentials(
        &self,
        users: &[&str],
    ) -> Result<Vec<(String, Result<Vec<ScramCredentialInfo>>)>> {
        let req = DescribeUserScramCredentialsRequest {
            users: (!users.is_empty())
                .then(|| users.iter().map(|u| ScramUserName { name: (*u).to_owned(), ..Default::default() }).collect()),
            ..Default::default()
        };
        let resp = self.call_any(&req, |r| (r.error_code, r.error_message.clone())).await?;
        Ok(resp
            .results
            .into_iter()
            .map(|r| {
                let infos =
                    item_result(ApiKey::DESCRIBE_USER_SCRAM_CREDENTIALS, r.error_code, r.error_message).map(|()| {
                        r.credential_infos
                            .iter()
                            .map(|c| ScramCredentialInfo {
                                mechanism: match c.mechanism {
                                    1 => Some(ScramHash::Sha256),
                                    2 => Some(ScramHash::Sha512),
                                    _ => None,
                                },
                                iterations: c.iterations,
                            })
                            .collect()
                    });
                (r.user, infos)
            })
            .collect())
    }

    /// Applies SCRAM credential changes; per user named, its result. Upserts are salted and hashed here.
    pub async fn alter_user_scram_credentials(
        &self,
        alterations: &[ScramAlteration],
    ) -> Result<Vec<(String, Result<()>)>> {
        let mut req = AlterUserScramCredentialsRequest::default();
        for a in alterations {
            match a {
                ScramAlteration::Upsert { user, mechanism, iterations, password } => {
                    let rounds = u32::try_from(*iterations)
                        .ok()
                        .filter(|i| *i >= SCRAM_MIN_ITERATIONS)
                        .ok_or_else(|| Error::invalid(format!("SCRAM iterations {iterations} below 4096")))?;
                    let salt = random_salt()?;
                    let salted = mechanism.salted_password(password.as_bytes(), &salt, rounds);
                    req.upsertions.push(ScramCredentialUpsertion {
                        name: user.clone(),
                        mechanism: mechanism_code(*mechanism),
                        iterations: *iterations,
                        salt: Bytes::copy_from_slice(&salt),
                        salted_password: Bytes::from(salted),
                        ..Default::default()
                    });
                }
                ScramAlteration::Delete { user, mechanism } => req.deletions.push(ScramCredentialDeletion {
                    name: user.clone(),
                    mechanism: mechanism_code(*mechanism),
                    ..Default::default()
                }),
            }
        }
        let resp = self.call_any(&req, |_| (kafkar_protocol::ErrorCode::NONE, None)).await?;
        Ok(resp
            .results
            .into_iter()
            .map(|r| (r.user, item_result(ApiKey::ALTER_USER_SCRAM_CREDENTIALS, r.error_code, r.error_message)))
            .collect())
    }
}
