//! Personal fields: which fields hold personal data, the sealed form they are stored in, and
//! how a sealed value is made and opened (docs/personal-data.md).
//!
//! A personal field is stored as a *sealed text* in the same string field:
//! `sealed:v1:<subject uuid>:<field>:<base64url of nonce ‖ ciphertext ‖ tag>`, the value encrypted with
//! XChaCha20-Poly1305 under its data subject's key. The event's hash and signature cover those
//! bytes, so destroying the key (crypto-shredding) leaves every chain verifiable while nothing
//! can read the value again. A string field keeps the wire schema unchanged: a reader without
//! keys sees a token where the text was, never a shape it cannot decode.
//!
//! Sealing is deterministic, as in SIV constructions: the nonce is an HMAC, under a key derived
//! from the subject's key, of the field and the text. The same text in the same field of the
//! same subject seals to the same bytes, so a retried draft or an imported line is the same
//! event byte for byte (idempotent), and no randomness is needed here. What that reveals is
//! only that two sealed values of one subject and field are equal.
//!
//! Which field belongs to which subject is [`crate::fields::Field::personal`]: declared beside
//! each field's other properties, the one list the writer, the docs and the tests read.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use uuid::Uuid;

/// What every sealed text starts with.
pub const SEALED_PREFIX: &str = "sealed:v1:";

/// Reserved for sealed texts, of any version: the writer refuses a plain text that starts
/// with it, so a text that looks sealed always is one.
pub const RESERVED_PREFIX: &str = "sealed:";

/// Bytes of a subject's key.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
/// Bound into every ciphertext beside the subject and the field, so a value sealed for another
/// purpose never opens as a personal field.
const CONTEXT: &[u8] = b"pilot-tracker personal field v1";

/// Whose personal data a field holds: the data subject whose key seals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The stakeholder whose registry chain holds the event, when it is a person.
    ChainStakeholder,
    /// The stakeholder named by this field of the same `data`, when it is a person.
    NamedStakeholder(&'static str),
}

impl Whose {
    /// In words, for the docs' list of personal fields.
    pub fn describe(self) -> String {
        match self {
            Whose::ChainStakeholder => "the stakeholder whose chain it is".to_owned(),
            Whose::NamedStakeholder(field) => format!("the stakeholder named by `{field}`"),
        }
    }
}

/// A data subject's key: 32 random bytes from the key store.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectKey([u8; KEY_BYTES]);

impl SubjectKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        SubjectKey(bytes)
    }

    /// A key from stored bytes; `None` unless exactly [`KEY_BYTES`] long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; KEY_BYTES]>::try_from(bytes).ok().map(SubjectKey)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// A key derived from this one for one purpose (HMAC-SHA-256 of the label).
    fn derived(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable_mac());
        mac.update(label);
        mac.finalize().into_bytes().into()
    }
}

/// HMAC accepts keys of any length, so `new_from_slice` cannot fail; this only keeps the code
/// free of `unwrap`.
fn unreachable_mac() -> Hmac<Sha256> {
    <Hmac<Sha256> as hmac::KeyInit>::new(&Default::default())
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectKey(..)")
    }
}

/// A sealed text, parsed: whose it is, the field it was sealed for, and the sealed bytes.
/// The field travels in the token (and is bound into the ciphertext), so a view that shows
/// the value under another name can still open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedText {
    pub subject: Uuid,
    pub field: String,
    /// Nonce (24 bytes) then ciphertext and tag.
    sealed: Vec<u8>,
}

/// Why a sealed text did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error(
        "not a sealed text (it does not read as `{SEALED_PREFIX}<subject>:<field>:<base64url>`)"
    )]
    Malformed,
    #[error("the sealed text does not open under subject {0}'s key (another key, another field, or altered bytes)")]
    Refused(Uuid),
}

impl SealedText {
    /// The sealed text in `text`, if it is one; `Err` if it starts like one but is not.
    pub fn parse(text: &str) -> Option<Result<SealedText, OpenError>> {
        let rest = text.strip_prefix(SEALED_PREFIX)?;
        Some(Self::parse_rest(rest).ok_or(OpenError::Malformed))
    }

    fn parse_rest(rest: &str) -> Option<SealedText> {
        let (subject, rest) = rest.split_once(':')?;
        let (field, body) = rest.split_once(':')?;
        let subject = Uuid::parse_str(subject).ok()?;
        let well_named = !field.is_empty()
            && field
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
        (well_named && sealed.len() > NONCE_BYTES).then(|| SealedText {
            subject,
            field: field.to_owned(),
            sealed,
        })
    }

    /// Opens the text with its subject's key.
    pub fn open(&self, key: &SubjectKey) -> Result<String, OpenError> {
        let (nonce, ciphertext) = self.sealed.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        let aad = associated_data(self.subject, &self.field);
        let plain = cipher(key)
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Refused(self.subject))?;
        String::from_utf8(plain).map_err(|_| OpenError::Refused(self.subject))
    }
}

impl fmt::Display for SealedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SEALED_PREFIX}{}:{}:{}",
            self.subject,
            self.field,
            URL_SAFE_NO_PAD.encode(&self.sealed)
        )
    }
}

/// Whether `text` is (or pretends to be) a sealed text.
pub fn is_sealed(text: &str) -> bool {
    text.starts_with(SEALED_PREFIX)
}

/// Seals `plain`, the value of `field`, under `subject`'s key: the same arguments always give
/// the same sealed text.
pub fn seal(key: &SubjectKey, subject: Uuid, field: &str, plain: &str) -> SealedText {
    let aad = associated_data(subject, field);
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key.derived(b"nonce"))
        .unwrap_or_else(|_| unreachable_mac());
    mac.update(&aad);
    mac.update(plain.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut nonce_bytes = [0u8; NONCE_BYTES];
    nonce_bytes.copy_from_slice(&digest[..NONCE_BYTES]);
    let nonce = XNonce::from(nonce_bytes);
    // Encryption with a valid key and nonce cannot fail for inputs this size; an empty
    // ciphertext would not open, so a failure could never pass for a value.
    let ciphertext = cipher(key)
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_bytes(),
                aad: &aad,
            },
        )
        .unwrap_or_default();
    let mut sealed = nonce_bytes.to_vec();
    sealed.extend_from_slice(&ciphertext);
    SealedText {
        subject,
        field: field.to_owned(),
        sealed,
    }
}

/// One personal text of an event: the field, whose data it is, and the text as given
/// (plain or sealed). The subject is `None` when the event does not name one (a stakeholder
/// field that is absent or not an id; the decisions refuse such an event on their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalText {
    pub field: &'static str,
    pub subject: Option<Uuid>,
    pub text: String,
}

/// The personal texts of `event` in the chain `chain`, read from the one list
/// ([`crate::fields::Field::personal`]); empty texts are left out (they are never sealed).
pub fn personal_texts(chain: crate::Subject, event: &crate::Event) -> Vec<PersonalText> {
    let fields = event.event_type().fields();
    if fields.iter().all(|f| f.personal.is_none()) {
        return Vec::new();
    }
    let Ok(serde_json::Value::Object(data)) = serde_json::to_value(event) else {
        return Vec::new();
    };
    fields
        .iter()
        .filter_map(|field| {
            let whose = field.personal?;
            let text = data.get(field.name)?.as_str()?;
            if text.is_empty() {
                return None;
            }
            let subject = match whose {
                Whose::ChainStakeholder => chain.stakeholder_id(),
                Whose::NamedStakeholder(named) => data
                    .get(named)
                    .and_then(serde_json::Value::as_str)
                    .and_then(|id| Uuid::parse_str(id).ok()),
            };
            Some(PersonalText {
                field: field.name,
                subject,
                text: text.to_owned(),
            })
        })
        .collect()
}

/// `event` with the text of `field` replaced by `text` (a sealed token in place of the plain
/// text); `None` if the event has no such text field.
pub fn with_text(event: &crate::Event, field: &str, text: String) -> Option<crate::Event> {
    let Ok(serde_json::Value::Object(mut data)) = serde_json::to_value(event) else {
        return None;
    };
    match data.get_mut(field) {
        Some(value @ serde_json::Value::String(_)) => *value = serde_json::Value::String(text),
        _ => return None,
    }
    crate::Event::from_value(event.event_type(), serde_json::Value::Object(data)).ok()
}

fn cipher(key: &SubjectKey) -> XChaCha20Poly1305 {
    <XChaCha20Poly1305 as KeyInit>::new(&key.derived(b"encrypt").into())
}

fn associated_data(subject: Uuid, field: &str) -> Vec<u8> {
    let mut aad = CONTEXT.to_vec();
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(field.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SubjectKey {
        SubjectKey::from_bytes([byte; KEY_BYTES])
    }

    #[test]
    fn a_sealed_text_opens_under_its_key_and_field_only() {
        let subject = Uuid::from_u128(7);
        let sealed = seal(&key(1), subject, "summary", "Li said yes, 李书记");
        let token = sealed.to_string();
        assert!(token.starts_with("sealed:v1:00000000-0000-0000-0000-000000000007:summary:"));
        assert!(!token.contains("Li said"));
        let parsed = SealedText::parse(&token).unwrap().unwrap();
        assert_eq!(parsed.open(&key(1)).unwrap(), "Li said yes, 李书记");
        assert_eq!(parsed.open(&key(2)), Err(OpenError::Refused(subject)));
        let moved = SealedText::parse(&token.replace(":summary:", ":note:"))
            .unwrap()
            .unwrap();
        assert_eq!(moved.open(&key(1)), Err(OpenError::Refused(subject)));
    }

    #[test]
    fn sealing_is_deterministic_per_subject_field_and_text() {
        let subject = Uuid::from_u128(7);
        let a = seal(&key(1), subject, "summary", "text");
        assert_eq!(a, seal(&key(1), subject, "summary", "text"));
        assert_ne!(a, seal(&key(1), subject, "summary", "text."));
        assert_ne!(a, seal(&key(1), subject, "note", "text"));
        assert_ne!(a, seal(&key(3), subject, "summary", "text"));
    }

    #[test]
    fn texts_that_only_look_sealed_are_malformed() {
        assert!(SealedText::parse("plain").is_none());
        for bad in [
            "sealed:v1:",
            "sealed:v1:not-a-uuid:AAAA",
            "sealed:v1:00000000-0000-0000-0000-000000000007:note:***",
            "sealed:v1:00000000-0000-0000-0000-000000000007:note:AAAA",
            "sealed:v1:00000000-0000-0000-0000-000000000007:Note!:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(
                SealedText::parse(bad),
                Some(Err(OpenError::Malformed)),
                "{bad}"
            );
        }
    }

    #[test]
    fn personal_texts_name_their_subject_and_can_be_replaced() {
        use crate::data::StanceAssessed;
        let person = Uuid::from_u128(9);
        let event = crate::Event::StanceAssessed(
            serde_json::from_value::<StanceAssessed>(serde_json::json!({
                "stakeholder_id": person, "stance": 1, "note": "said yes"
            }))
            .unwrap(),
        );
        let pilot = crate::Subject::Pilot(Uuid::from_u128(1));
        let texts = personal_texts(pilot, &event);
        assert_eq!(
            texts,
            vec![PersonalText {
                field: "note",
                subject: Some(person),
                text: "said yes".into()
            }]
        );
        let replaced = with_text(&event, "note", "sealed:x".into()).unwrap();
        assert_eq!(personal_texts(pilot, &replaced)[0].text, "sealed:x");
        assert!(with_text(&event, "stance", "x".into()).is_none());
        let empty = with_text(&event, "note", String::new()).unwrap();
        assert!(personal_texts(pilot, &empty).is_empty());
    }
}
