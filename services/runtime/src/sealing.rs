//! Sealing on write: a person's personal fields are stored sealed under the person's key
//! (docs/personal-data.md), so the writer replaces each plain personal text of a draft with its
//! sealed token before the event is decided, hashed and signed.
//!
//! Which fields are personal is the catalogue's one list ([`pilot_events::fields::Field::personal`]);
//! whether their subject is a person is the registry's (or, for the registration itself, the
//! draft's `person` flag). Sealing is deterministic, so a retried draft seals to the same bytes
//! and is recognised as the event stored the first time.
//!
//! A draft may also bring a token already sealed (an event read back and sent again): it is
//! kept only if it is a valid sealed value of that very field and subject. A plain text that
//! merely starts with `sealed:` is refused, so no reader ever mistakes it for a token; and no
//! personal text of an erased person is stored again, since its key is gone for good.

use crate::draft::{AppendError, Draft};
use pilot_events::personal::RESERVED_PREFIX;
use pilot_events::personal::{self, SealedText};
use pilot_events::{Envelope, Event, Hash, Subject, CURRENT_SCHEMA};
use pilot_projections::{Refusal, World};
use pilot_store::subject_keys::SubjectKeys;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// Refuses a text that starts like a sealed text in a field that is not personal: only
/// personal fields hold tokens, and a reader must never take a plain text for one.
fn no_tokens_elsewhere(index: usize, draft: &Draft) -> Result<(), AppendError> {
    let fields = draft.event.event_type().fields();
    let Ok(serde_json::Value::Object(data)) = serde_json::to_value(&draft.event) else {
        return Ok(());
    };
    match fields
        .iter()
        .filter(|f| f.personal.is_none())
        .find(|f| data.get(f.name).is_some_and(starts_like_token))
    {
        Some(field) => Err(AppendError::InvalidSealedText {
            index,
            field: field.name,
            reason: format!("only personal fields hold sealed texts, and a plain text may not start with `{RESERVED_PREFIX}` (reword its beginning)"),
        }),
        None => Ok(()),
    }
}

/// Whether any text in `value` starts with [`RESERVED_PREFIX`].
fn starts_like_token(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.starts_with(RESERVED_PREFIX),
        serde_json::Value::Array(items) => items.iter().any(starts_like_token),
        serde_json::Value::Object(map) => map.values().any(starts_like_token),
        _ => false,
    }
}

/// What the writer does with one personal text of a draft.
#[derive(Debug)]
enum Action {
    /// Not a person's: stored as given.
    Keep,
    /// A person's plain text: sealed under the person's key.
    Seal(Uuid),
    /// A person's text sealed already: kept if it opens under the person's key.
    Verify(SealedText),
}

/// One personal text found in a draft, and what to do with it.
#[derive(Debug)]
struct Found {
    index: usize,
    field: &'static str,
    text: String,
    action: Action,
}

/// Where a data subject stands when a draft names it.
#[derive(Debug, Clone, Copy)]
enum Standing {
    NotAPerson,
    Person,
    Erased(OffsetDateTime),
}

/// Checks every personal text of `drafts` against the world as it is now, without keys: the
/// refusals a dry run gives too. `has_keys` says whether the writer can seal at all.
fn survey(world: &World, drafts: &[Draft], has_keys: bool) -> Result<Vec<Found>, AppendError> {
    // Registrations in this very request: their texts follow the draft's flag.
    let mut registered: HashMap<Uuid, bool> = HashMap::new();
    let mut found = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        if let (Event::StakeholderRegistered(data), Subject::Stakeholder(id)) =
            (&draft.event, draft.subject)
        {
            registered.insert(id, data.person);
        }
        no_tokens_elsewhere(index, draft)?;
        for text in personal::personal_texts(draft.subject, &draft.event) {
            let standing = match text.subject {
                None => Standing::NotAPerson,
                Some(id) => match registered.get(&id) {
                    Some(true) => Standing::Person,
                    Some(false) => Standing::NotAPerson,
                    None => match world.registry().erasure(&id) {
                        Some(erasure) => Standing::Erased(erasure.at),
                        None if world.registry().is_person(&id) => Standing::Person,
                        None => Standing::NotAPerson,
                    },
                },
            };
            let action = action(index, &text, standing, has_keys)?;
            found.push(Found {
                index,
                field: text.field,
                text: text.text,
                action,
            });
        }
    }
    Ok(found)
}

/// What to do with one personal text, or why it is refused.
fn action(
    index: usize,
    text: &personal::PersonalText,
    standing: Standing,
    has_keys: bool,
) -> Result<Action, AppendError> {
    let field = text.field;
    let invalid = |reason: String| AppendError::InvalidSealedText {
        index,
        field,
        reason,
    };
    // Anything that starts like a token must be one: `sealed:` is reserved for them.
    let parsed = if text.text.starts_with(RESERVED_PREFIX) {
        SealedText::parse(&text.text).or(Some(Err(personal::OpenError::Malformed)))
    } else {
        None
    };
    if let (Standing::Erased(at), Some(subject)) = (standing, text.subject) {
        return Err(AppendError::SubjectErased {
            index,
            field,
            subject,
            at,
        });
    }
    match parsed {
        None => match (standing, text.subject) {
            (Standing::Person, Some(subject)) if has_keys => Ok(Action::Seal(subject)),
            (Standing::Person, Some(_)) => Err(AppendError::NoKeyStore { index, field }),
            _ => Ok(Action::Keep),
        },
        Some(Err(_)) => Err(invalid(format!(
            "the text starts with `{RESERVED_PREFIX}` but is not a sealed text (`{}<subject>:<field>:<base64url>`); a plain text may not start with `{RESERVED_PREFIX}` (reword its beginning)",
            personal::SEALED_PREFIX
        ))),
        Some(Ok(token)) => {
            let Some(subject) = text.subject.filter(|_| matches!(standing, Standing::Person))
            else {
                return Err(invalid(
                    "a sealed text, but the stakeholder it is about is not registered as a person: only a person's texts are sealed; send the plain text".into(),
                ));
            };
            if token.subject != subject || token.field != field {
                return Err(invalid(format!(
                    "the sealed text belongs to field `{}` of subject {}, not to this field of subject {subject}: send the plain text",
                    token.field, token.subject
                )));
            }
            Ok(Action::Verify(token))
        }
    }
}

/// The refusals of [`seal_drafts`] that need no key: for a dry run.
pub(crate) fn check_drafts(
    world: &World,
    drafts: &[Draft],
    has_keys: bool,
) -> Result<(), AppendError> {
    let found = survey(world, drafts, has_keys)?;
    admit_plain(drafts, &found)
}

/// `drafts` with every plain personal text of a person sealed, after every refusal above;
/// tokens sent sealed already are opened to prove they are the person's.
pub(crate) async fn seal_drafts(
    world: &crate::projection::Projection,
    keys: Option<&SubjectKeys>,
    mut drafts: Vec<Draft>,
) -> Result<Vec<Draft>, AppendError> {
    let found = {
        let world = world.read();
        survey(&world, &drafts, keys.is_some())?
    };
    if found.iter().all(|f| matches!(f.action, Action::Keep)) {
        return Ok(drafts);
    }
    admit_plain(&drafts, &found)?;
    let Some(keys) = keys else {
        return Ok(drafts);
    };
    for found in found {
        let sealed = match &found.action {
            Action::Keep => continue,
            Action::Seal(subject) => {
                let key = keys.key_or_create(*subject).await?;
                personal::seal(&key, *subject, found.field, &found.text).to_string()
            }
            Action::Verify(token) => {
                let opened = match keys.key(token.subject).await? {
                    Some(key) => token.open(&key).map(|_| ()).map_err(|e| e.to_string()),
                    None => Err(format!(
                        "subject {} has no key in the key store, so nothing was ever sealed for it here: send the plain text",
                        token.subject
                    )),
                };
                if let Err(reason) = opened {
                    return Err(AppendError::InvalidSealedText {
                        index: found.index,
                        field: found.field,
                        reason,
                    });
                }
                continue;
            }
        };
        if let Some(draft) = drafts.get_mut(found.index) {
            if let Some(event) = personal::with_text(&draft.event, found.field, sealed) {
                draft.event = event;
            }
        }
    }
    Ok(drafts)
}

/// The admission rules (no control characters, ...) run on the plain texts: once sealed, a
/// text's characters are out of their sight.
fn admit_plain(drafts: &[Draft], found: &[Found]) -> Result<(), AppendError> {
    let mut checked = None;
    for found in found.iter().filter(|f| matches!(f.action, Action::Seal(_))) {
        if checked == Some(found.index) {
            continue;
        }
        checked = Some(found.index);
        let Some(draft) = drafts.get(found.index) else {
            continue;
        };
        let envelope = Envelope {
            event_id: draft.event_id.unwrap_or_default(),
            schema: CURRENT_SCHEMA,
            subject: draft.subject,
            occurred_at: draft.occurred_at,
            recorded_at: draft.occurred_at,
            actor: draft.actor.clone(),
            correlation_id: draft.correlation_id,
            causation_id: draft.causation_id,
            prev_hash: Hash::ZERO,
            hash: Hash::ZERO,
            signature: None,
            provenance: draft.provenance.clone(),
            event: draft.event.clone(),
        };
        pilot_events::admit::admit(&envelope).map_err(|e| AppendError::Refused {
            index: found.index,
            refusal: Refusal::Invalid(e),
        })?;
    }
    Ok(())
}
