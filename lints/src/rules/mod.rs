//! The rules. One file per rule, each declared with [`declare_rule!`](crate::declare_rule); the
//! registry [`RULES`] lists them all, and everything else (the `rule`
//! command, SARIF rule metadata, config validation) is derived from it.

use crate::context::FileContext;
use crate::finding::{Finding, Severity};

pub mod ack_before_processing;
pub mod auto_ack;
pub mod dual_write;
pub mod local_time;
pub mod lost_update;
pub mod missing_idempotency_key;
pub mod publish_before_ack;

/// A rule's name, documentation and check, in one place.
pub struct Rule {
    /// The name users write in config and suppressions: `auto-ack`.
    pub name: &'static str,
    /// One line for listings.
    pub summary: &'static str,
    /// The full Markdown documentation: `## What it does`, `## Why is this
    /// bad?`, `## Example`, `## Use instead`, `## Known limitations`,
    /// `## Chapter`. The Example and Use instead code blocks are run through
    /// the linter by the tests: the first must fire, the second must not.
    pub doc: &'static str,
    /// The book chapter that explains the mistake, relative to the book's root.
    pub chapter: &'static str,
    pub default_severity: Severity,
    /// The rule runs only when named in `select` (config or `--select`):
    /// `"all"` means every rule that is not opt-in. A rule ships opt-in
    /// until its precision on real code is known to be high enough.
    pub opt_in: bool,
    pub check: fn(&FileContext<'_>, &mut Vec<Finding>),
}

/// Declares a rule: doc comments become its documentation.
///
/// ```
/// use eda_lint::context::FileContext;
/// use eda_lint::declare_rule;
/// use eda_lint::finding::Finding;
///
/// fn check(_ctx: &FileContext<'_>, _out: &mut Vec<Finding>) {}
///
/// declare_rule! {
///     /// ## What it does
///     /// Finds consumers that let the broker settle messages on delivery.
///     pub static AUTO_ACK = {
///         name: "auto-ack",
///         summary: "a consumer that lets the broker settle messages on delivery",
///         chapter: "configuration/index.html",
///         severity: Warning,
///         check: check,
///     }
/// }
///
/// assert_eq!(AUTO_ACK.name, "auto-ack");
/// assert!(AUTO_ACK.doc.starts_with(" ## What it does\n"));
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $ident:ident = {
            name: $name:literal,
            summary: $summary:literal,
            chapter: $chapter:literal,
            severity: $severity:ident,
            $(opt_in: $opt_in:literal,)?
            check: $check:path $(,)?
        }
    ) => {
        pub static $ident: $crate::rules::Rule = $crate::rules::Rule {
            name: $name,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
            chapter: $chapter,
            default_severity: $crate::finding::Severity::$severity,
            opt_in: false $(|| $opt_in)?,
            check: $check,
        };
    };
}

/// Every rule, in the order the docs list them.
pub static RULES: &[&Rule] = &[
    &auto_ack::AUTO_ACK,
    &ack_before_processing::ACK_BEFORE_PROCESSING,
    &publish_before_ack::PUBLISH_BEFORE_ACK,
    &missing_idempotency_key::MISSING_IDEMPOTENCY_KEY,
    &local_time::LOCAL_TIME,
    &dual_write::DUAL_WRITE,
    &lost_update::LOST_UPDATE,
];

/// The rules that run when none is named: every rule that is not opt-in.
pub fn default_names() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .filter(|rule| !rule.opt_in)
        .map(|rule| rule.name)
}

/// The rule with this name.
pub fn by_name(name: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|rule| rule.name == name)
}
