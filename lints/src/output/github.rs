//! `github`: GitHub Actions workflow commands, which GitHub shows as
//! annotations on the lines of a pull request:
//! `::warning file=src/a.rs,line=3,col=5,endLine=3,endColumn=9,title=local-time::message`.

use super::{Entry, display_path};
use crate::finding::Severity;

pub fn render(entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    for entry in entries {
        let f = entry.finding;
        let level = match entry.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = f.message.clone();
        if let Some(help) = &f.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(&display_path(entry.path)),
            f.region.start.line,
            f.region.start.column,
            f.region.end.line,
            f.region.end.column,
            escape_property(&format!("eda-lint {}", f.rule)),
            escape_data(&message)
        ));
    }
    out
}

/// The message part of a workflow command: `%`, CR and LF are encoded.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: additionally `:` and `,`, which delimit properties.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_delimiters_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
