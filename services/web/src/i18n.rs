//! Languages: English and Simplified Chinese, from Project Fluent catalogues compiled in.
//!
//! The catalogues are `locales/{en,zh-CN}/*.ftl`, read with `include_str!` at build time and
//! parsed once per process. A page's language comes from, in order: `?lang=` (the switch
//! link, which also sets the `lang` cookie), the `lang` cookie, the browser's
//! `Accept-Language`, else English. A key missing from a catalogue shows the key itself (and a
//! test makes sure no key is missing in either language).

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;
use unic_langid::LanguageIdentifier;

/// The catalogue files of each language, in the order they are added.
pub(crate) const EN_FILES: &[(&str, &str)] = &[
    ("main.ftl", include_str!("../locales/en/main.ftl")),
    ("pages.ftl", include_str!("../locales/en/pages.ftl")),
    ("forms.ftl", include_str!("../locales/en/forms.ftl")),
    ("inbox.ftl", include_str!("../locales/en/inbox.ftl")),
];
pub(crate) const ZH_FILES: &[(&str, &str)] = &[
    ("main.ftl", include_str!("../locales/zh-CN/main.ftl")),
    ("pages.ftl", include_str!("../locales/zh-CN/pages.ftl")),
    ("forms.ftl", include_str!("../locales/zh-CN/forms.ftl")),
    ("inbox.ftl", include_str!("../locales/zh-CN/inbox.ftl")),
];

/// The languages of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The BCP 47 tag, as in `<html lang>` and `?lang=`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        }
    }

    /// A tag as given in `?lang=` or the cookie; `None` for anything else.
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        match tag.as_str() {
            "en" => Some(Lang::En),
            "zh-cn" | "zh" | "zh-hans" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// The first language of `Accept-Language` (by quality) the app has; else English.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut choices: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                let primary = tag.split('-').next().unwrap_or("");
                let lang = match primary {
                    "en" => Lang::En,
                    // Traditional Chinese readers still read Simplified better than English.
                    "zh" => Lang::ZhCn,
                    _ => return None,
                };
                (quality > 0.0).then_some((quality, lang))
            })
            .collect();
        // Stable: among equal qualities the header's order wins.
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map_or(Lang::En, |(_, lang)| *lang)
    }

    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => EN_FILES,
            Lang::ZhCn => ZH_FILES,
        }
    }
}

struct Catalogues {
    en: FluentBundle<FluentResource>,
    zh: FluentBundle<FluentResource>,
}

static CATALOGUES: LazyLock<Catalogues> = LazyLock::new(|| Catalogues {
    en: bundle(Lang::En),
    zh: bundle(Lang::ZhCn),
});

/// The bundle of `lang`. A file that does not parse keeps the messages that do (the test
/// `catalogues_parse_cleanly` makes sure none is lost).
fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: they show as stray characters in some
    // fonts and the arguments here are numbers, dates and names within one direction.
    bundle.set_use_isolating(false);
    for (name, source) in lang.files() {
        let resource = match FluentResource::try_new((*source).to_string()) {
            Ok(resource) => resource,
            Err((resource, errors)) => {
                tracing::error!(
                    message = "A catalogue has syntax errors.",
                    lang = lang.tag(),
                    file = name,
                    errors = errors.len()
                );
                resource
            }
        };
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(
                message = "A catalogue repeats keys.",
                lang = lang.tag(),
                file = name,
                errors = errors.len()
            );
        }
    }
    bundle
}

/// Translates for one page: `tr.t("key")` in templates and handlers.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    fn bundle(&self) -> &'static FluentBundle<FluentResource> {
        match self.lang {
            Lang::En => &CATALOGUES.en,
            Lang::ZhCn => &CATALOGUES.zh,
        }
    }

    /// The message `key`; the key itself when a catalogue lacks it.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one argument `{ $name }`.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(value));
        self.format(key, Some(&args))
    }

    /// Whether the catalogue of this language has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.bundle().has_message(key)
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let bundle = self.bundle();
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_string();
        };
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn accept_language_picks_the_best_language_the_app_has() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::ZhCn
        );
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("fr-FR, zh;q=0.5, en;q=0.4"),
            Lang::ZhCn
        );
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::from_accept_language("zh;q=0, en"), Lang::En);
    }

    /// The message ids of a catalogue file: lines that start a message (`id = ...`).
    fn ids(source: &str) -> BTreeSet<String> {
        source
            .lines()
            .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
            .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_string()))
            .collect()
    }

    fn catalogue(files: &[(&str, &str)]) -> BTreeSet<String> {
        files.iter().flat_map(|(_, source)| ids(source)).collect()
    }

    /// Every literal key passed to `t("…")` or `t1("…"` in the templates and the sources.
    fn used_keys() -> BTreeSet<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        let mut dirs = vec![root.join("templates"), root.join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                // This file's own examples and tests are not pages.
                } else if !path.ends_with("i18n.rs") {
                    texts.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut keys = BTreeSet::new();
        for text in &texts {
            for opener in [".t(\"", ".t1(\""] {
                for (at, _) in text.match_indices(opener) {
                    let rest = &text[at + opener.len()..];
                    if let Some(end) = rest.find('"') {
                        let key = &rest[..end];
                        if !key.is_empty() && !key.contains(['{', ' ', '\\']) {
                            keys.insert(key.to_string());
                        }
                    }
                }
            }
        }
        keys
    }

    /// Keys the pages build from a word of the vocabulary or a role.
    fn built_keys() -> BTreeSet<String> {
        use pilot_events::{HighlightKind, Level, LinkRelation, Stage, StakeholderKind};
        let mut keys = BTreeSet::new();
        keys.extend(
            LinkRelation::ALL
                .iter()
                .map(|r| format!("link-{}", r.as_str())),
        );
        keys.extend(Stage::ALL.iter().map(|s| format!("stage-{}", s.as_str())));
        keys.extend(Level::ALL.iter().map(|l| format!("level-{}", l.as_str())));
        keys.extend(
            StakeholderKind::ALL
                .iter()
                .map(|k| format!("kind-{}", k.as_str())),
        );
        keys.extend(
            HighlightKind::ALL
                .iter()
                .map(|k| format!("highlight-{}", k.as_str())),
        );
        keys.extend(["admin", "clerk", "analyst"].map(|r| format!("role-{r}")));
        keys.extend(["ok", "warning", "stalled"].map(|l| format!("light-{l}")));
        keys.extend(
            ["granted", "denied", "withdrawn", "pilot-ended", "pending"]
                .map(|o| format!("outcome-{o}")),
        );
        keys.extend(
            [
                "strongly-opposed",
                "opposed",
                "neutral",
                "supportive",
                "strongly-supportive",
            ]
            .map(|s| format!("stance-{s}")),
        );
        keys.extend(
            ["400", "401", "403", "404", "409", "500", "503"].map(|c| format!("error-{c}")),
        );
        keys.extend(["coalition", "opposition", "neutral"].map(|s| format!("side-{s}")));
        keys
    }

    #[test]
    fn every_key_exists_in_both_languages() {
        let en = catalogue(EN_FILES);
        let zh = catalogue(ZH_FILES);
        assert!(en.len() > 100, "{}", en.len());
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in zh-CN: {only_en:?}");
        assert!(only_zh.is_empty(), "missing in en: {only_zh:?}");
    }

    #[test]
    fn every_key_the_pages_use_exists() {
        let used = used_keys();
        assert!(used.contains("overview-title"), "{used:?}");
        let built = built_keys();
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            let missing: Vec<_> = used
                .iter()
                .chain(built.iter())
                .filter(|key| !tr.has(key))
                .collect();
            assert!(missing.is_empty(), "{}: missing {missing:?}", lang.tag());
        }
    }

    #[test]
    fn catalogues_parse_cleanly() {
        for files in [EN_FILES, ZH_FILES] {
            for (name, source) in files {
                assert!(
                    FluentResource::try_new((*source).to_string()).is_ok(),
                    "{name} has syntax errors"
                );
            }
        }
        // Each file's every message made it into the bundle.
        for (lang, files) in [(Lang::En, EN_FILES), (Lang::ZhCn, ZH_FILES)] {
            let tr = Tr::new(lang);
            for id in catalogue(files) {
                assert!(tr.has(&id), "{}: {id}", lang.tag());
                assert_ne!(tr.t(&id), id, "{}: {id} is empty", lang.tag());
            }
        }
    }

    #[test]
    fn a_missing_key_shows_itself_and_arguments_fill_in() {
        let tr = Tr::new(Lang::En);
        assert_eq!(tr.t("no-such-key-at-all"), "no-such-key-at-all");
        assert!(tr
            .t1("error-not-yet", "date", "1990-01-01")
            .contains("1990-01-01"));
        assert!(Tr::new(Lang::ZhCn)
            .t1("error-not-yet", "date", "1990-01-01")
            .contains("1990-01-01"));
    }
}
