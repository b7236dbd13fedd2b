//! What mdBook says while it builds.
//!
//! mdBook reports some real mistakes only as log events and carries on: a
//! `{{#include}}` of a missing file is an `error!` and the page keeps the raw
//! directive; unbalanced HTML in a chapter is a `warn!`. This subscriber
//! collects those events during a build so that the build can fail on errors
//! and `verify` can fail on warnings. It prints nothing: the caller reports.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// How serious a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One warning or error that mdBook logged.
#[derive(Debug, Clone)]
pub struct LoggedMessage {
    pub severity: Severity,
    pub message: String,
}

/// Collects mdBook's warnings and errors; everything quieter is dropped.
#[derive(Clone, Default)]
pub struct BuildLog {
    messages: Arc<Mutex<Vec<LoggedMessage>>>,
}

impl BuildLog {
    /// Runs `build` with this log as the thread's tracing subscriber.
    pub fn capture<T>(&self, build: impl FnOnce() -> T) -> T {
        tracing::subscriber::with_default(self.clone(), build)
    }

    /// The messages logged so far.
    pub fn messages(&self) -> Vec<LoggedMessage> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Gathers an event's fields into one line: the message, then `key=value`.
#[derive(Default)]
struct MessageText(String);

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

impl Subscriber for BuildLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // In tracing, quieter levels compare greater: WARN and ERROR pass.
        *metadata.level() <= Level::WARN
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::WARN)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Spans carry no information we report; one id serves them all.
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let severity = if *event.metadata().level() == Level::ERROR {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut text = MessageText::default();
        event.record(&mut text);
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(LoggedMessage {
                severity,
                message: text.0,
            });
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}
