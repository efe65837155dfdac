//! DeleteTopics (key 20): deletes topics. Versions 1–6 (Kafka 4.x dropped 0).
//!
//! Versions 1–5 name the topics in `topic_names`; version 6 lists [`DeleteTopicState`]s that carry a name or a
//! topic id (KIP-516), and its response may leave the name null when the topic was given by id.
//! [`DeleteTopicsRequest::by_names`] fills in whichever the version needs.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// DeleteTopics request.
    pub struct DeleteTopicsRequest: request(DELETE_TOPICS -> DeleteTopicsResponse), versions "1-6", flexible "4+" {
        /// The topics to delete, by name or id.
        topics: Vec<DeleteTopicState> = "Topics" "[]DeleteTopicState" "6+",
        /// The names of the topics to delete.
        topic_names: Vec<String> = "TopicNames" "[]string" "0-5",
        /// How long to wait for the deletions, in milliseconds.
        timeout_ms: i32 = "TimeoutMs" "int32" "0+",
    }
}

structure! {
    /// A topic to delete, by name or by id (v6+).
    pub struct DeleteTopicState {
        /// The topic name, or `None` when the topic is given by id.
        name: Option<String> = "Name" "string" "6+" nullable "6+",
        /// The topic id, or zero when the topic is given by name.
        topic_id: Uuid = "TopicId" "uuid" "6+",
    }
}

message! {
    /// DeleteTopics response.
    pub struct DeleteTopicsResponse: response(DELETE_TOPICS), versions "1-6", flexible "4+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// One result per topic.
        responses: Vec<DeletableTopicResult> = "Responses" "[]DeletableTopicResult" "0+",
    }
}

structure! {
    /// The result of deleting one topic.
    pub struct DeletableTopicResult {
        /// The topic name; may be `None` only from v6 (a topic given by id that does not exist). Defaults to the empty
        /// string, as in the spec.
        name: Option<String> = "Name" "string" "0+" nullable "6+" default Some(String::new()),
        /// The topic id.
        topic_id: Uuid = "TopicId" "uuid" "6+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "5+" nullable "5+",
    }
}

/// The first version that lists topics as [`DeleteTopicState`] (name or id).
pub const TOPIC_STATE_VERSION: i16 = 6;

impl DeleteTopicsRequest {
    /// A request deleting the named topics, filled in the way `version` carries them (`topic_names` before v6,
    /// `topics` from v6).
    pub fn by_names<S: Into<String>>(
        version: i16,
        names: impl IntoIterator<Item = S>,
        timeout_ms: i32,
    ) -> DeleteTopicsRequest {
        let names = names.into_iter().map(Into::into);
        if version >= TOPIC_STATE_VERSION {
            DeleteTopicsRequest {
                topics: names
                    .map(|n| DeleteTopicState {
                        name: Some(n),
                        topic_id: Uuid::ZERO,
                        unknown_tagged_fields: Vec::new(),
                    })
                    .collect(),
                timeout_ms,
                ..Default::default()
            }
        } else {
            DeleteTopicsRequest { topic_names: names.collect(), timeout_ms, ..Default::default() }
        }
    }

    /// A request deleting topics by id (v6+).
    pub fn by_ids(ids: impl IntoIterator<Item = Uuid>, timeout_ms: i32) -> DeleteTopicsRequest {
        DeleteTopicsRequest {
            topics: ids
                .into_iter()
                .map(|id| DeleteTopicState { name: None, topic_id: id, unknown_tagged_fields: Vec::new() })
                .collect(),
            timeout_ms,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::Reader;

    #[test]
    fn by_names_fits_every_version() {
        for v in 1..=6 {
            let r = DeleteTopicsRequest::by_names(v, ["a", "b"], 1000);
            let b = r.to_bytes(v).unwrap();
            assert_eq!(DeleteTopicsRequest::decode_exact(&mut Reader::new(b.freeze()), v).unwrap(), r);
        }
        let r = DeleteTopicsRequest::by_ids([Uuid::from_u64_pair(1, 1)], 1000);
        assert_eq!(r.to_bytes(5).unwrap_err(), EncodeError::UnsupportedField { field: "topics", version: 5 });
        assert!(r.to_bytes(6).is_ok());
    }

    #[test]
    fn null_name_needs_v6() {
        let m = DeleteTopicsResponse {
            responses: vec![DeletableTopicResult { name: None, ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(5).unwrap_err(), EncodeError::NullNotAllowed { field: "name", version: 5 });
        assert!(m.to_bytes(6).is_ok());
        assert!(DeleteTopicsResponse::default().to_bytes(1).is_ok());
    }
}
