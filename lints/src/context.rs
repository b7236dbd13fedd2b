//! What a rule sees of one file.

use std::path::Path;

/// One parsed file, handed to every rule.
pub struct FileContext<'a> {
    /// The path as the user gave it, for messages.
    pub path: &'a Path,
    /// The whole text of the file.
    pub source: &'a str,
    /// The items that parsed. A file that does not parse as a whole is
    /// recovered item by item, so this may hold fewer items than the file.
    pub items: &'a [syn::Item],
    /// The team's own publish / ack / consume / event / outbox names, from
    /// the config key `wrappers` (empty by default).
    pub user_apis: &'a crate::analysis::UserApis,
    /// The summaries of the crate the file belongs to, and the file's place
    /// among its files: calls to the crate's own functions are what those
    /// functions do (see [`crate::analysis::summary`]).
    pub crate_index: Option<(&'a crate::analysis::summary::CrateIndex, usize)>,
    /// The file's analysis when the driver already has it (the crate-wide
    /// pass hands over its own): [`crate::analysis::FileAnalysis::of`]
    /// answers with it at once, instead of keying its cache on a copy of
    /// the whole text and comparing that text again for every rule.
    pub analysis: Option<std::rc::Rc<crate::analysis::FileAnalysis>>,
}
