//! Group membership.
