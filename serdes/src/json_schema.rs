//! JSON Schema values in the Schema Registry wire format.

use std::collections::HashSet;
use std::marker::PhantomData;

use bytes::Bytes;
use kafkar::protocol::records::Header;

use crate::registry::{RegistryClient, RegistryError, Schema};
use crate::wire::{self, SubjectNameStrategy};
use crate::{Context, Deserializer, Part, SerdeError, Serializer};

/// JSON values framed with the wire format's schema id. Built for one topic and part: [`register`](Self::register)
/// registers the JSON Schema under the strategy's subject before the first record (serializers and deserializers
/// are synchronous), and the deserializer accepts the ids it was given (others are
/// [`SerdeError::UnknownSchemaId`]). Validation against the schema is not done.
#[derive(Debug)]
pub struct JsonSchemaSerde<T> {
    id: u32,
    accepted: HashSet<u32>,
    _type: PhantomData<fn() -> T>,
}

impl<T> JsonSchemaSerde<T> {
    /// Registers `schema` (a JSON Schema document) for `topic`'s `part` under the subject `strategy` names
    /// (`record_name` for the record strategies) and returns a serde writing its id.
    pub async fn register(
        client: &RegistryClient,
        strategy: SubjectNameStrategy,
        topic: &str,
        part: Part,
        record_name: Option<&str>,
        schema: &str,
    ) -> Result<JsonSchemaSerde<T>, RegistryError> {
        let subject = strategy
            .subject(topic, part, record_name)
            .ok_or_else(|| RegistryError::Protocol("the subject strategy needs a record name".into()))?;
        let id = client.register(&subject, &Schema::json(schema)).await?;
        Ok(JsonSchemaSerde { id, accepted: HashSet::from([id]), _type: PhantomData })
    }

    /// The schema id written.
    pub fn schema_id(&self) -> u32 {
        self.id
    }

    /// Also accepts records written with schema `id` (an older or newer version).
    pub fn accept(mut self, id: u32) -> JsonSchemaSerde<T> {
        self.accepted.insert(id);
        self
    }
}

impl<T: serde::Serialize> Serializer<T> for JsonSchemaSerde<T> {
    fn serialize(&self, value: &T, _: &str, _: Part, _: &mut Vec<Header>) -> Result<Bytes, SerdeError> {
        Ok(wire::encode(self.id, &serde_json::to_vec(value)?))
    }
}

impl<T: serde::de::DeserializeOwned> Deserializer<T> for JsonSchemaSerde<T> {
    fn deserialize(&self, data: Option<&Bytes>, ctx: &Context<'_>) -> Result<T, SerdeError> {
        let data = data.ok_or(SerdeError::Null(ctx.part))?;
        let (id, payload) = wire::decode(data)?;
        if !self.accepted.contains(&id) {
            return Err(SerdeError::UnknownSchemaId(id));
        }
        Ok(serde_json::from_slice(payload)?)
    }
}
