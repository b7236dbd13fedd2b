//! What a rule reports: a [`Finding`] at a place in a file.

use serde::Serialize;

/// A 1-based line and 1-based column (in characters), as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// The source range a finding points at, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Region {
    pub start: Position,
    pub end: Position,
}

impl Region {
    /// The region a `proc_macro2` span covers. Spans come from
    /// `proc-macro2`'s `span-locations` feature: lines are 1-based and columns
    /// 0-based there, so the column is shifted to match editors.
    pub fn from_span(span: proc_macro2::Span) -> Self {
        let (start, end) = (span.start(), span.end());
        Region {
            start: Position {
                line: start.line,
                column: start.column + 1,
            },
            end: Position {
                line: end.line,
                column: end.column + 1,
            },
        }
    }
}

/// How sure a rule is. Rules never see types, only names and shapes, so
/// some findings rest on a guess (a method called `ack` on a value whose
/// type we cannot know). Users filter on it (`--min-confidence high`), so
/// every rule sets it by the same rule:
///
/// - `High`: every fact the finding rests on is recognised from the code's
///   structure: an API of a client crate the file imports, a wrapper or
///   event type the user named in config, a type the file declares and
///   derives `Serialize` for, a literal SQL statement.
/// - `Medium`: one fact rests on a name heuristic: a call taken for the
///   message's work only because it reads the message (awaited, so it does
///   I/O), a value or type taken for a message, a repository or a
///   timestamp field only by its name, a broker call recognised by its
///   name in a file that does not import the crate.
/// - `Low`: a weaker guess still: a plain call taken for work because it
///   reads the message, a `db`/`store` receiver taken for a database.
///
/// A finding is never surer than the least sure fact it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// How serious the finding is; rustc's words, so editors map them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A secondary place that explains the finding, such as "the message is
/// acknowledged here" next to "but published here".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Label {
    pub region: Region,
    pub message: String,
    /// The file the label points into, when it is not the finding's own:
    /// a finding that rests on a helper in another file of the crate shows
    /// the call here and the helper's line there. `None` is the same file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
}

impl Label {
    /// A label in the finding's own file.
    pub fn here(region: Region, message: impl Into<String>) -> Label {
        Label {
            region,
            message: message.into(),
            path: None,
        }
    }
}

/// One finding of one rule in one file, before it is tied to a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    /// The rule's name, such as `ack-before-processing`.
    pub rule: &'static str,
    /// Where the primary label points.
    pub region: Region,
    /// One sentence: what is wrong here.
    pub message: String,
    /// One sentence: what to do instead.
    pub help: Option<String>,
    /// Other places that explain the finding.
    pub labels: Vec<Label>,
    pub confidence: Confidence,
}
