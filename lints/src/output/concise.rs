//! `concise`: one line per finding, `path:line:column: severity[rule] message`,
//! the shape compilers and grep-based tools understand.

use super::{Context, Entry, display_path, severity_word, summary};

pub fn render(entries: &[Entry<'_>], context: &Context<'_>) -> String {
    let mut out = String::new();
    for entry in entries {
        let start = entry.finding.region.start;
        out.push_str(&format!(
            "{}:{}:{}: {}[{}] {}\n",
            display_path(entry.path),
            start.line,
            start.column,
            severity_word(entry.severity),
            entry.finding.rule,
            entry.finding.message
        ));
    }
    out.push_str(&summary(entries, context.report));
    out
}
