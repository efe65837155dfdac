//! Avro values (through serde) in the Schema Registry wire format.

use std::marker::PhantomData;

use bytes::Bytes;
use kafkar::protocol::records::Header;

use crate::registry::{RegistryClient, RegistryError, Schema};
use crate::wire::{self, SubjectNameStrategy};
use crate::{Context, Deserializer, Part, SerdeError, Serializer};

/// Avro binary values framed with the schema id; one writer schema, registered by [`register`](Self::register)
/// under the strategy's subject (the record strategies use the schema's full name). Records written with another
/// id are [`SerdeError::UnknownSchemaId`] (no schema resolution between versions yet).
#[derive(Debug)]
pub struct AvroSerde<T> {
    id: u32,
    schema: apache_avro::Schema,
    _type: PhantomData<fn() -> T>,
}

impl<T> AvroSerde<T> {
    /// Parses `schema` (Avro JSON), registers it for `topic`'s `part` and returns the serde.
    pub async fn register(
        client: &RegistryClient,
        strategy: SubjectNameStrategy,
        topic: &str,
        part: Part,
        schema: &str,
    ) -> Result<AvroSerde<T>, RegistryError> {
        let parsed =
            apache_avro::Schema::parse_str(schema).map_err(|e| RegistryError::Protocol(format!("Avro schema: {e}")))?;
        let name = parsed.name().map(|n| n.fullname(None));
        let subject = strategy
            .subject(topic, part, name.as_deref())
            .ok_or_else(|| RegistryError::Protocol("the subject strategy needs a named schema".into()))?;
        let id = client.register(&subject, &Schema::avro(schema)).await?;
        Ok(AvroSerde { id, schema: parsed, _type: PhantomData })
    }

    /// The schema id written.
    pub fn schema_id(&self) -> u32 {
        self.id
    }
}

fn avro_err(e: impl std::fmt::Display) -> SerdeError {
    SerdeError::Avro(e.to_string())
}

impl<T: serde::Serialize> Serializer<T> for AvroSerde<T> {
    fn serialize(&self, value: &T, _: &str, _: Part, _: &mut Vec<Header>) -> Result<Bytes, SerdeError> {
        let value = apache_avro::to_value(value).map_err(avro_err)?.resolve(&self.schema).map_err(avro_err)?;
        let datum = apache_avro::to_avro_datum(&self.schema, value).map_err(avro_err)?;
        Ok(wire::encode(self.id, &datum))
    }
}

impl<T: serde::de::DeserializeOwned> Deserializer<T> for AvroSerde<T> {
    fn deserialize(&self, data: Option<&Bytes>, ctx: &Context<'_>) -> Result<T, SerdeError> {
        let data = data.ok_or(SerdeError::Null(ctx.part))?;
        let (id, mut payload) = wire::decode(data)?;
        if id != self.id {
            return Err(SerdeError::UnknownSchemaId(id));
        }
        let value = apache_avro::from_avro_datum(&self.schema, &mut payload, None).map_err(avro_err)?;
        apache_avro::from_value(&value).map_err(avro_err)
    }
}
