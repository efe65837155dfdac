//! The Kafka protocol's primitive types: fixed-width integers, varints, UUIDs, strings, byte arrays, arrays, their
//! compact (flexible-version) forms and tagged-field sections.
//!
//! Reading goes through [`Reader`], a bounded cursor over [`bytes::Bytes`] that checks every length against the
//! bytes left before it allocates and returns [`DecodeError`](crate::DecodeError) instead of panicking. Writing goes
//! through [`WriteExt`], implemented for every [`bytes::BufMut`].

mod float64;
pub(crate) mod reader;
mod tagged;
mod uuid;
mod versions;
mod writer;

pub use float64::Float64;
pub use reader::Reader;
pub use tagged::{RawTaggedField, TaggedFieldsWriter};
pub use uuid::Uuid;
pub use versions::Versions;
pub use writer::WriteExt;

#[cfg(test)]
mod tests;
