//! What an alert e-mail says, in English or Simplified Chinese: a subject that names the pilot,
//! what happened, how long the approval waited and its threshold, and a plain-text body with
//! everything else a reader needs to act. Every text is in the Fluent catalogues
//! `services/alerter/locales/{en,zh-CN}/email.ftl` (one source per text; a test makes sure
//! both languages have every message).

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use pilot_projections::alert::{ResolutionReason, TransitionKind};
use pilot_projections::alerting::{AlertEvent, DayUnit};
use serde::Deserialize;
use std::sync::LazyLock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use unic_langid::LanguageIdentifier;

/// A recipient's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub enum Language {
    En,
    ZhCn,
}

impl Language {
    /// The BCP 47 tag, as the web app writes it.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::ZhCn => "zh-CN",
        }
    }

    fn catalogue(self) -> &'static str {
        match self {
            Language::En => include_str!("../../locales/en/email.ftl"),
            Language::ZhCn => include_str!("../../locales/zh-CN/email.ftl"),
        }
    }
}

impl TryFrom<String> for Language {
    type Error = String;

    fn try_from(tag: String) -> Result<Self, Self::Error> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Language::En),
            "zh-cn" | "zh" | "zh-hans" => Ok(Language::ZhCn),
            _ => Err(format!(
                "unknown language {:?}: use \"en\" or \"zh-CN\"",
                pilot_store::delivery::one_line(&tag, 32)
            )),
        }
    }
}

/// One e-mail's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub body: String,
}

struct Catalogues {
    en: FluentBundle<FluentResource>,
    zh: FluentBundle<FluentResource>,
}

static CATALOGUES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues {
    en: bundle(Language::En),
    zh: bundle(Language::ZhCn),
});

/// The bundle of `language`. The catalogues are compiled in; a syntax error would lose
/// messages, which `both_catalogues_parse_and_have_every_message` catches.
fn bundle(language: Language) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = language.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Plain text: no Unicode isolation marks around arguments.
    bundle.set_use_isolating(false);
    let resource = match FluentResource::try_new(language.catalogue().to_string()) {
        Ok(resource) => resource,
        Err((resource, _)) => resource,
    };
    let _ = bundle.add_resource(resource);
    bundle
}

fn catalogue(language: Language) -> &'static FluentBundle<FluentResource> {
    match language {
        Language::En => &CATALOGUES.en,
        Language::ZhCn => &CATALOGUES.zh,
    }
}

/// `key` with `args`; the key itself when the catalogue lacks it.
fn text(language: Language, key: &str, args: Option<&FluentArgs<'_>>) -> String {
    let bundle = catalogue(language);
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        return key.to_string();
    };
    let mut errors = Vec::new();
    bundle
        .format_pattern(pattern, args, &mut errors)
        .into_owned()
}

/// The e-mail for `event` (stored on the alert stream under `subject`) in `language`.
pub fn compose(event: &AlertEvent, subject: &str, language: Language) -> Letter {
    let notice = &event.notice;
    let kind = &notice.transition.kind;
    let name = event.kind();
    let unit = match notice.threshold.unit {
        DayUnit::CalendarDays => "calendar_days",
        DayUnit::WorkingDays => "working_days",
    };
    let days = |n: u64| {
        let mut args = FluentArgs::new();
        args.set("days", FluentValue::from(n));
        args.set("unit", unit);
        text(language, "email-days", Some(&args))
    };
    let waited = days(notice.waited_days);
    let threshold = days(notice.threshold.days);
    let approver = notice
        .approver_name
        .clone()
        .unwrap_or_else(|| notice.approver_id.to_string());
    let reason = match kind {
        TransitionKind::Resolved { reason, .. } => text(
            language,
            &format!("email-reason-{}", reason_name(*reason)),
            None,
        ),
        _ => String::new(),
    };
    let mut args = FluentArgs::new();
    args.set("pilot", notice.pilot_title.as_str());
    args.set("approver", approver.as_str());
    args.set("waited", waited.as_str());
    args.set("threshold", threshold.as_str());
    args.set("reason", reason.as_str());
    args.set("subject", subject);
    if let TransitionKind::Escalated { level } = kind {
        args.set("escalation", FluentValue::from(*level));
    }
    let line = |key: &str, value: &str| format!("{}: {value}\n", text(language, key, None));
    let mut body = text(language, &format!("email-intro-{name}"), Some(&args));
    body.push_str("\n\n");
    body.push_str(&line("email-field-pilot", &notice.pilot_title));
    body.push_str(&line("email-field-approval", &notice.approval_id));
    body.push_str(&line(
        "email-field-approver",
        &format!(
            "{approver} ({})",
            text(
                language,
                &format!("email-level-{}", notice.level.as_str()),
                None
            )
        ),
    ));
    body.push_str(&line(
        "email-field-requested",
        &instant(notice.requested_at),
    ));
    body.push_str(&line("email-field-waited", &waited));
    body.push_str(&line("email-field-threshold", &threshold));
    if !notice.threshold.counted_in.is_empty() {
        body.push_str(&line("email-field-counted", &notice.threshold.counted_in));
    }
    body.push_str(&line(
        "email-field-last-activity",
        &instant(notice.last_activity),
    ));
    body.push_str(&line("email-field-at", &instant(notice.transition.at)));
    body.push_str(&line("email-field-alert", &notice.alert_id.to_string()));
    body.push('\n');
    body.push_str(&text(language, "email-footer", Some(&args)));
    body.push('\n');
    let subject_line = text(language, &format!("email-subject-{name}"), Some(&args));
    Letter {
        // A title with a line break must not start a header of its own.
        subject: pilot_store::delivery::one_line(&subject_line, 900),
        body,
    }
}

fn reason_name(reason: ResolutionReason) -> &'static str {
    match reason {
        ResolutionReason::Granted => "granted",
        ResolutionReason::Denied => "denied",
        ResolutionReason::Withdrawn => "withdrawn",
        ResolutionReason::PilotMerged => "pilot_merged",
        ResolutionReason::PilotTerminated => "pilot_terminated",
        ResolutionReason::Retracted => "retracted",
    }
}

fn instant(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pilot_projections::alerting::record::KINDS;

    /// The message ids of a catalogue, after checking that it parses.
    fn keys(source: &str) -> Vec<String> {
        assert!(FluentResource::try_new(source.to_string()).is_ok());
        source
            .lines()
            .filter(|line| line.starts_with(|c: char| c.is_ascii_lowercase()))
            .filter_map(|line| line.split_once(" =").map(|(id, _)| id.trim().to_string()))
            .collect()
    }

    #[test]
    fn both_catalogues_parse_and_have_every_message() {
        let en = keys(Language::En.catalogue());
        let zh = keys(Language::ZhCn.catalogue());
        assert_eq!(en, zh, "the same messages, in the same order");
        for kind in KINDS {
            for prefix in ["email-subject-", "email-intro-"] {
                let key = format!("{prefix}{}", kind.subject);
                assert!(en.contains(&key), "{key} missing");
            }
        }
    }

    #[test]
    fn languages_parse_as_the_web_app_writes_them() {
        assert_eq!(Language::try_from("zh-CN".to_string()), Ok(Language::ZhCn));
        assert_eq!(Language::try_from("EN".to_string()), Ok(Language::En));
        let error = Language::try_from("fr".to_string()).unwrap_err();
        assert!(error.contains("\"en\" or \"zh-CN\""), "{error}");
    }
}
