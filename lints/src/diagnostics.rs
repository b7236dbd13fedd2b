//! The linter's own diagnostics: what it says about a file rather than
//! about the event-driven code in it.
//!
//! They travel as ordinary [`Finding`](crate::finding::Finding)s, with these
//! names as their `rule`, so every output format shows them the same way as
//! rule findings and nothing can drop them silently. Some of them mean the
//! file was not (fully) analysed; those can never be switched off, because a
//! file we could not read must never look clean.

use crate::finding::Severity;

/// One kind of diagnostic the linter itself emits.
pub struct ToolDiagnostic {
    pub name: &'static str,
    pub summary: &'static str,
    pub severity: Severity,
    /// True when this diagnostic means (part of) the file went unanalysed.
    /// Such diagnostics cannot be ignored in config or suppressed.
    pub unanalysed: bool,
    /// True when the whole file (or directory) went unanalysed: these make
    /// the exit code 2, like an I/O error.
    pub fatal: bool,
}

pub const IO_ERROR: &str = "io-error";
pub const PARSE_ERROR: &str = "parse-error";
pub const TOO_DEEPLY_NESTED: &str = "too-deeply-nested";
pub const INTERNAL_ERROR: &str = "internal-error";
pub const INVALID_SUPPRESSION: &str = "invalid-suppression";
pub const UNKNOWN_RULE_IN_SUPPRESSION: &str = "unknown-rule-in-suppression";
pub const SUPPRESSION_WITHOUT_REASON: &str = "suppression-without-reason";
pub const UNUSED_SUPPRESSION: &str = "unused-suppression";

/// Every diagnostic of the tool itself, documented in `eda-lint rule --all`.
pub static TOOL_DIAGNOSTICS: &[ToolDiagnostic] = &[
    ToolDiagnostic {
        name: IO_ERROR,
        summary: "a file or directory could not be read (unreadable, not UTF-8, not a regular file, a directory loop); nothing in it was linted",
        severity: Severity::Error,
        unanalysed: true,
        fatal: true,
    },
    ToolDiagnostic {
        name: PARSE_ERROR,
        summary: "part of a file does not parse as Rust; that part was skipped and the rest of the file was linted",
        severity: Severity::Error,
        unanalysed: true,
        fatal: false,
    },
    ToolDiagnostic {
        name: TOO_DEEPLY_NESTED,
        summary: "a file nests brackets, or chains operators in one expression, deeper than the parser can safely follow; it was not linted",
        severity: Severity::Error,
        unanalysed: true,
        fatal: true,
    },
    ToolDiagnostic {
        name: INTERNAL_ERROR,
        summary: "the linter itself failed (a panic) on this file or in one rule; please report it",
        severity: Severity::Error,
        unanalysed: true,
        fatal: true,
    },
    ToolDiagnostic {
        name: INVALID_SUPPRESSION,
        summary: "an `// eda-lint:` comment that is not `allow(rule, ...) -- reason` or `allow-file(rule, ...) -- reason`",
        severity: Severity::Warning,
        unanalysed: false,
        fatal: false,
    },
    ToolDiagnostic {
        name: UNKNOWN_RULE_IN_SUPPRESSION,
        summary: "a suppression names a rule that does not exist",
        severity: Severity::Warning,
        unanalysed: false,
        fatal: false,
    },
    ToolDiagnostic {
        name: SUPPRESSION_WITHOUT_REASON,
        summary: "a suppression gives no reason after `--`; it still applies, but say why",
        severity: Severity::Warning,
        unanalysed: false,
        fatal: false,
    },
    ToolDiagnostic {
        name: UNUSED_SUPPRESSION,
        summary: "a suppression that suppressed nothing: remove it, or it will hide the next real finding",
        severity: Severity::Warning,
        unanalysed: false,
        fatal: false,
    },
];

/// The tool diagnostic with this name.
pub fn by_name(name: &str) -> Option<&'static ToolDiagnostic> {
    TOOL_DIAGNOSTICS.iter().find(|d| d.name == name)
}
