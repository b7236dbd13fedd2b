//! The optional pre-filter: skip files that cannot contain a finding.
//!
//! Every rule needs a broker client, a database crate, a clock or a
//! serialized type to fire on, and each of those shows up in the text of
//! the file as a crate or type name. A substring search for those words is
//! an order of magnitude cheaper than parsing, so on a codebase where most
//! files are unrelated (parsers, maths, UI) most of the work is skipped.
//!
//! It is off by default (`--prefilter` or `prefilter = true` turns it on)
//! because it trades a little recall for speed: a file that reaches a broker
//! only through a re-export with a different name, and is not covered by
//! the configured `wrappers`, is skipped. Suppression comments in a skipped
//! file are not checked either.

use aho_corasick::AhoCorasick;

/// Words whose absence means no rule can fire: crate names as written in
/// paths, and the type and method names the rules look for.
const WORDS: &[&str] = &[
    // Broker clients.
    "lapin",
    "amiquip",
    "rdkafka",
    "kafka",
    "nats",
    "sqs",
    "servicebus",
    "service_bus",
    "azure",
    "redis",
    "pubsub",
    "fe2o3",
    "pulsar",
    "rumqttc",
    "iggy",
    // The workshop's broker.
    "broker",
    // Databases (dual writes).
    "sqlx",
    "diesel",
    "sea_orm",
    "postgres",
    "rusqlite",
    "mongodb",
    // Clocks (local time). Not bare `Local`: `LocalKey`, `LocalSet` and
    // `thread_local!` are everywhere.
    "chrono",
    "Local::",
    "<Local>",
    "&Local",
    "now_local",
    "Zoned",
    "NaiveDateTime",
    // Serialized event, command and message types (missing ids, local time).
    "Serialize",
    // No generic verbs such as `ack` or `commit`: as substrings they match
    // `stack`, `package` and `committed` in most files, and a consumer or
    // a database always comes with one of the crate names above (or a
    // configured wrapper).
];

/// Decides from a file's text whether it is worth parsing.
pub struct Prefilter {
    /// `None` if the word set could not be built (absurd wrapper names):
    /// then every file is relevant, rather than silently skipped.
    words: Option<AhoCorasick>,
}

impl Prefilter {
    /// The built-in words plus `extra` (the names of the configured wrappers).
    pub fn new<'a>(extra: impl IntoIterator<Item = &'a str>) -> Self {
        let mut words: Vec<&str> = WORDS.to_vec();
        words.extend(extra.into_iter().filter(|word| !word.is_empty()));
        Prefilter {
            words: AhoCorasick::new(&words).ok(),
        }
    }

    /// True if the file mentions something a rule could fire on.
    pub fn is_relevant(&self, text: &str) -> bool {
        self.words.as_ref().is_none_or(|words| words.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrelated_files_are_skipped_and_related_ones_kept() {
        let filter = Prefilter::new(["emit_event"]);
        assert!(!filter.is_relevant("fn add(a: u32, b: u32) -> u32 { a + b }"));
        assert!(filter.is_relevant("use lapin::Channel;"));
        assert!(filter.is_relevant("bus.emit_event(x)"));
        assert!(filter.is_relevant("let now = Local::now();"));
    }
}
