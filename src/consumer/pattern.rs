//! Topic patterns for [`Consumer::subscribe_pattern`](super::Consumer::subscribe_pattern): a regular expression
//! that must match a whole topic name (the Java client's `Pattern.matcher(topic).matches()`), matched against the
//! cluster's non-internal topics.

use std::collections::BTreeSet;
use std::sync::Arc;

use regex::Regex;

use crate::cluster::TopicInfo;
use crate::error::{Error, Result};

/// A compiled topic pattern, anchored at both ends.
#[derive(Clone, Debug)]
pub(crate) struct TopicPattern {
    source: String,
    regex: Regex,
}

impl TopicPattern {
    /// Compiles `pattern` (the `regex` crate's syntax) so that it matches whole topic names only.
    pub fn new(pattern: &str) -> Result<TopicPattern> {
        if pattern.is_empty() {
            return Err(Error::invalid("subscribe_pattern needs a non-empty pattern"));
        }
        let regex = Regex::new(&format!(r"\A(?:{pattern})\z"))
            .map_err(|e| Error::invalid(format!("invalid topic pattern {pattern:?}: {e}")))?;
        Ok(TopicPattern { source: pattern.to_owned(), regex })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches the whole of `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }

    /// The names of the non-internal `topics` that the pattern matches.
    pub fn matching<'a>(&self, topics: impl IntoIterator<Item = &'a Arc<TopicInfo>>) -> BTreeSet<String> {
        topics.into_iter().filter(|t| !t.is_internal && self.matches(&t.name)).map(|t| t.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkar_protocol::primitives::Uuid;

    fn topic(name: &str, is_internal: bool) -> Arc<TopicInfo> {
        Arc::new(TopicInfo { name: name.into(), id: Uuid::default(), is_internal, partitions: Vec::new() })
    }

    #[test]
    fn matches_whole_names_only() {
        let p = TopicPattern::new("orders-.*").unwrap();
        assert!(p.matches("orders-eu"));
        assert!(p.matches("orders-"));
        assert!(!p.matches("old-orders-eu"), "no match in the middle (full match)");
        assert!(!p.matches("orders"));
        let p = TopicPattern::new("a|b").unwrap();
        assert!(p.matches("a") && p.matches("b"));
        assert!(!p.matches("ab") && !p.matches("xa"), "the alternation is anchored as a whole");
        let p = TopicPattern::new("(?m)x$").unwrap();
        assert!(!p.matches("yx") && p.matches("x"), "inline flags do not undo the anchoring");
    }

    #[test]
    fn excludes_internal_topics() {
        let p = TopicPattern::new(".*").unwrap();
        let topics = [topic("__consumer_offsets", true), topic("__transaction_state", true), topic("t1", false)];
        assert_eq!(p.matching(&topics), BTreeSet::from(["t1".to_owned()]));
        let p = TopicPattern::new("__.*").unwrap();
        assert!(p.matching(&topics).is_empty());
    }

    #[test]
    fn bad_patterns_are_user_errors() {
        assert!(TopicPattern::new("(").is_err());
        assert!(TopicPattern::new("").is_err());
    }
}
