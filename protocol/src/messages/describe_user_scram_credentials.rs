//! DescribeUserScramCredentials (key 50): which SCRAM mechanisms (and iteration counts) users have credentials for
//! (KIP-554). Never the salts or keys.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeUserScramCredentials request.
    pub struct DescribeUserScramCredentialsRequest: request(DESCRIBE_USER_SCRAM_CREDENTIALS -> DescribeUserScramCredentialsResponse), versions "0", flexible "0+" {
        /// The users to describe; null (or empty) for every user with a credential.
        users: Option<Vec<ScramUserName>> = "Users" "[]UserName" "0+" nullable "0+",
    }
}

structure! {
    /// A user to describe (the spec's `UserName`).
    pub struct ScramUserName {
        /// The user name.
        name: String = "Name" "string" "0+",
    }
}

message! {
    /// DescribeUserScramCredentials response.
    pub struct DescribeUserScramCredentialsResponse: response(DESCRIBE_USER_SCRAM_CREDENTIALS), versions "0", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// One result per user.
        results: Vec<DescribeUserScramCredentialsResult> = "Results" "[]DescribeUserScramCredentialsResult" "0+",
    }
}

structure! {
    /// One user's credentials.
    pub struct DescribeUserScramCredentialsResult {
        /// The user name.
        user: String = "User" "string" "0+",
        /// The error for this user (RESOURCE_NOT_FOUND when it has no credential).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// One entry per mechanism the user has a credential for.
        credential_infos: Vec<CredentialInfo> = "CredentialInfos" "[]CredentialInfo" "0+",
    }
}

structure! {
    /// One credential's mechanism and iteration count.
    pub struct CredentialInfo {
        /// The mechanism code (1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512).
        mechanism: i8 = "Mechanism" "int8" "0+",
        /// The PBKDF2 iteration count.
        iterations: i32 = "Iterations" "int32" "0+",
    }
}
