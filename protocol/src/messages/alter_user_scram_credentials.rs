//! AlterUserScramCredentials (key 51): sets or removes users' SCRAM credentials (KIP-554). The client salts and
//! hashes the password itself, so only the salted password crosses the network.

use bytes::Bytes;

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// AlterUserScramCredentials request.
    pub struct AlterUserScramCredentialsRequest: request(ALTER_USER_SCRAM_CREDENTIALS -> AlterUserScramCredentialsResponse), versions "0", flexible "0+" {
        /// The credentials to remove.
        deletions: Vec<ScramCredentialDeletion> = "Deletions" "[]ScramCredentialDeletion" "0+",
        /// The credentials to add or replace.
        upsertions: Vec<ScramCredentialUpsertion> = "Upsertions" "[]ScramCredentialUpsertion" "0+",
    }
}

structure! {
    /// A credential to remove.
    pub struct ScramCredentialDeletion {
        /// The user name.
        name: String = "Name" "string" "0+",
        /// The mechanism code (1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512).
        mechanism: i8 = "Mechanism" "int8" "0+",
    }
}

structure! {
    /// A credential to add or replace.
    pub struct ScramCredentialUpsertion {
        /// The user name.
        name: String = "Name" "string" "0+",
        /// The mechanism code.
        mechanism: i8 = "Mechanism" "int8" "0+",
        /// The PBKDF2 iteration count used for `salted_password`.
        iterations: i32 = "Iterations" "int32" "0+",
        /// The random salt.
        salt: Bytes = "Salt" "bytes" "0+",
        /// PBKDF2 of the password with `salt` and `iterations` (RFC 5802's `SaltedPassword`).
        salted_password: Bytes = "SaltedPassword" "bytes" "0+",
    }
}

message! {
    /// AlterUserScramCredentials response.
    pub struct AlterUserScramCredentialsResponse: response(ALTER_USER_SCRAM_CREDENTIALS), versions "0", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per user named in the request.
        results: Vec<AlterUserScramCredentialsResult> = "Results" "[]AlterUserScramCredentialsResult" "0+",
    }
}

structure! {
    /// The result for one user.
    pub struct AlterUserScramCredentialsResult {
        /// The user name.
        user: String = "User" "string" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
    }
}
