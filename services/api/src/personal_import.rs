//! Sealing the personal fields of imported history (docs/personal-data.md, "Imported
//! history"): a history in JSON Lines (the Nanguo demo, an older export) may hold the plain
//! text of a person's personal fields. Loaded with a key store, each such line is stored with
//! those fields sealed under the person's key, as the writer would have stored it.
//!
//! Sealing a field changes the event's `hash`, so the events after it in the same chain are
//! re-linked: their `prev_hash` names the new hash and their own hash is computed again. A
//! signature over the old hash no longer holds and is dropped (the sealer's next seal covers
//! the unsigned history, as for any import). Lines with nothing to seal in an untouched chain
//! keep their bytes. Sealing is deterministic, so loading the same history again yields the same
//! bytes, and every line is found stored: a load stays idempotent.
//!
//! What is personal, and whose, is the catalogue's ([`pilot_events::fields::Field::personal`]);
//! whether the subject is a person is the registry's, or, on a person's own registration, the
//! line's `data.person`.

use pilot_events::personal::{self, SealedText, SubjectKey};
use pilot_events::{Envelope, Event, EventError, Hash, Subject};
use pilot_projections::World;
use pilot_store::subject_keys::{KeyStoreError, SubjectKeys};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// Why a line could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the key store did not answer: {0}; load the history again once it does")]
    Keys(#[from] KeyStoreError),
    #[error("`data.{field}` is personal text of stakeholder {subject}, whose personal data was erased: it cannot be stored again; remove the text from the line (or the line) and load again")]
    Erased { field: &'static str, subject: Uuid },
    #[error("the line with its personal fields sealed does not decode: {0}")]
    Undecodable(#[from] EventError),
}

/// One personal field of a line whose text is plain, and the person it belongs to, as
/// [`plain_fields`] finds it.
#[derive(Debug, Clone, Copy)]
pub struct PlainField {
    name: &'static str,
    subject: Uuid,
    erased: bool,
}

/// A line as it is to be stored.
#[derive(Debug)]
pub struct Prepared {
    /// The stored form: the line's own bytes when nothing changed.
    pub bytes: Vec<u8>,
    pub envelope: Envelope,
}

/// Seals the lines of one history, in file order, remembering each chain it re-linked.
#[derive(Debug)]
pub struct HistorySealer {
    keys: SubjectKeys,
    /// Per chain whose last loaded line changed: that line's hash in the history, and the hash
    /// it was stored with. The next line of the chain names the first and is linked to the second.
    relinked: HashMap<Subject, (Hash, Hash)>,
}

impl HistorySealer {
    pub fn new(keys: SubjectKeys) -> Self {
        HistorySealer {
            keys,
            relinked: HashMap::new(),
        }
    }

    /// The `prev_hash` the history's line must state to follow a chain whose stored head is
    /// `head`: the head itself, or the history's own hash of it when that head was re-linked.
    pub fn expected_prev(&self, subject: Subject, head: Hash) -> Hash {
        match self.relinked.get(&subject) {
            Some((history, stored)) if *stored == head => *history,
            _ => head,
        }
    }

    /// Records how the line `history` (as the history has it) was stored, for the next line of
    /// its chain.
    pub fn loaded(&mut self, history: &Envelope, stored: Hash) {
        if history.hash == stored {
            self.relinked.remove(&history.subject);
        } else {
            self.relinked
                .insert(history.subject, (history.hash, stored));
        }
    }

    /// The line `bytes` (decoded as `envelope`) as it is to be stored: its plain personal fields
    /// of persons sealed, linked after its chain's re-linked head. `stored` is the stored event
    /// of the same id, when there is one: a field whose key is gone (an erased person) cannot be
    /// sealed again, so its sealed text is taken from there. Keys are created only for lines
    /// not stored yet.
    pub async fn prepare(
        &self,
        plain: &[PlainField],
        bytes: &[u8],
        envelope: &Envelope,
        stored: Option<&[u8]>,
    ) -> Result<Prepared, SealError> {
        let relink = self
            .relinked
            .get(&envelope.subject)
            .filter(|(history, _)| *history == envelope.prev_hash)
            .map(|(_, stored)| *stored);
        if plain.is_empty() && relink.is_none() {
            return Ok(Prepared {
                bytes: bytes.to_vec(),
                envelope: envelope.clone(),
            });
        }
        let stored_data = stored.and_then(stored_data);
        let mut value = envelope.to_value(true);
        if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
            for field in plain {
                let token = match self.key_for(field, stored.is_some()).await? {
                    Some(key) => {
                        let Some(text) = data.get(field.name).and_then(Value::as_str) else {
                            continue;
                        };
                        personal::seal(&key, field.subject, field.name, text).to_string()
                    }
                    None => match stored_token(stored_data.as_ref(), field) {
                        Some(token) => token,
                        None if field.erased => {
                            return Err(SealError::Erased {
                                field: field.name,
                                subject: field.subject,
                            })
                        }
                        None => continue,
                    },
                };
                data.insert(field.name.to_owned(), Value::String(token));
            }
        }
        if let (Some(object), Some(prev)) = (value.as_object_mut(), relink) {
            object.insert("prev_hash".to_owned(), Value::String(prev.to_hex()));
        }
        let rebuilt = serde_json::to_vec(&value).unwrap_or_default();
        let mut sealed = pilot_events::decode(&rebuilt)?;
        if sealed.to_value(false) == envelope.to_value(false) {
            return Ok(Prepared {
                bytes: bytes.to_vec(),
                envelope: envelope.clone(),
            });
        }
        // The writer's signature is over the old hash: it no longer holds.
        sealed.signature = None;
        let prev = sealed.prev_hash;
        let sealed = sealed.seal(prev);
        Ok(Prepared {
            bytes: sealed.to_json().into_bytes(),
            envelope: sealed,
        })
    }

    /// The key that seals `field`: created for a line not stored yet, only read for one that
    /// is; none for an erased person.
    async fn key_for(
        &self,
        field: &PlainField,
        only_read: bool,
    ) -> Result<Option<SubjectKey>, KeyStoreError> {
        if field.erased {
            return Ok(None);
        }
        if only_read {
            self.keys.key(field.subject).await
        } else {
            self.keys.key_or_create(field.subject).await.map(Some)
        }
    }
}

/// The personal fields of `envelope` whose text is plain and not empty and whose subject is a
/// person, as `world` knows the registry (or, on a person's own registration, as the line says).
pub fn plain_fields(world: &World, envelope: &Envelope) -> Vec<PlainField> {
    let registers_a_person = matches!(&envelope.event, Event::StakeholderRegistered(d) if d.person);
    let registry = world.registry();
    personal::personal_texts(envelope.subject, &envelope.event)
        .into_iter()
        .filter(|text| !personal::is_sealed(&text.text))
        .filter_map(|text| {
            let subject = text.subject?;
            let own_registration =
                registers_a_person && envelope.subject.stakeholder_id() == Some(subject);
            (own_registration || registry.is_person(&subject)).then(|| PlainField {
                name: text.field,
                subject,
                erased: registry.erasure(&subject).is_some(),
            })
        })
        .collect()
}

/// The `data` of a stored event.
fn stored_data(stored: &[u8]) -> Option<Value> {
    let mut value: Value = serde_json::from_slice(stored).ok()?;
    value.get_mut("data").map(Value::take)
}

/// The stored event's sealed text of `field`, when it is a sealed text of that field's
/// subject and field.
fn stored_token(stored: Option<&Value>, field: &PlainField) -> Option<String> {
    let text = stored?.get(field.name)?.as_str()?;
    match SealedText::parse(text)? {
        Ok(sealed) if sealed.subject == field.subject && sealed.field == field.name => {
            Some(text.to_owned())
        }
        _ => None,
    }
}
