//! Linting one file's text: the library's entry point, [`lint_source`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::str::FromStr;

use proc_macro2::TokenStream;

use std::rc::Rc;

use crate::analysis::FileAnalysis;
use crate::analysis::macros::{self, BodyCache};
use crate::analysis::summary::{self, CrateIndex, FileEntry, FileSummary};
use crate::config::{self, Config};
use crate::context::FileContext;
use crate::diagnostics;
use crate::edition::{self, Edition};
use crate::finding::{Confidence, Finding, Position, Region};
use crate::parse::{self, ParsedFile};
use crate::report::{self, FileReport};
use crate::source::{self, LineIndex};
use crate::suppression::{self, Suppressions};
use crate::test_code;

/// Lints the text of one file.
///
/// Parses with item-by-item recovery, runs the rules `config` selects for
/// `path`, applies suppression comments and returns the findings and the
/// linter's own diagnostics, sorted. `path` is only used for messages and
/// to match per-file config; nothing is read from disk.
///
/// This runs on the calling thread. A file nested deeper than
/// [`parse::MAX_NESTING`] is refused with a `too-deeply-nested` diagnostic,
/// but a file close to that limit needs a big stack: the driver
/// ([`crate::run`]) lints on threads with large stacks, do the same when
/// linting untrusted input.
pub fn lint_source(path: &Path, source: &str, config: &Config) -> FileReport {
    lint_source_as(path, source, config, Edition::default())
}

/// [`lint_source`] for a file of a known edition (its package's, see
/// [`crate::package`]): in a 2015 crate, `async`, `await`, `dyn` and `try`
/// may be names, and are read as such.
pub fn lint_source_as(path: &Path, source: &str, config: &Config, edition: Edition) -> FileReport {
    let parsed = match parse_source(path, source, edition, config) {
        Ok(parsed) => parsed,
        Err(report) => return report,
    };
    if config.rules_for(path).is_empty() {
        return lint_parsed(&parsed, config, None, None);
    }
    // The file alone is its crate: its own helpers are still followed.
    let (summary, first) = first_pass(&parsed, &config.user_apis, Vec::new(), false);
    let index = CrateIndex::build(vec![summary], None, &[]);
    lint_parsed(&parsed, config, Some((&index, 0)), Some(first))
}

/// One file read and parsed, ready for both passes of the crate-wide
/// analysis: parsed once, linted after every file of its crate was
/// summarised.
pub struct ParsedSource {
    /// The diagnostics so far (parse errors), on a report for the path.
    report: FileReport,
    /// The text the positions refer to (sanitised, maybe partly blanked).
    text: String,
    /// The file's suppression directives, read against every item (test
    /// code included, so a directive's reach does not change with
    /// `include-tests`), less those that only reach into test code.
    suppressions: Suppressions,
    /// The line ranges of the test code taken out of `parsed` (empty when
    /// the config includes tests).
    test_lines: Vec<(usize, usize)>,
    /// The items the rules see: test code is already taken out.
    parsed: ParsedFile,
    /// The file's macro bodies, read once for both passes and every rule.
    macros: BodyCache,
}

impl ParsedSource {
    pub fn items(&self) -> &[syn::Item] {
        &self.parsed.items
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn path(&self) -> &Path {
        &self.report.path
    }
}

/// The first pass over a parsed file: its summary for the crate index
/// (with `module` as its module path) and the analysis to reuse when the
/// index changes nothing in it. A panic is caught by the caller.
pub fn first_pass(
    parsed: &ParsedSource,
    user: &crate::analysis::UserApis,
    module: Vec<String>,
    walk_all: bool,
) -> (FileSummary, FirstPass) {
    macros::with_cache(&parsed.macros, || {
        let (analysis, walked) =
            FileAnalysis::first_pass(parsed.items(), parsed.text(), user, walk_all);
        let entry = FileEntry {
            path: parsed.path().to_path_buf(),
            module,
            imports: analysis.imports.clone(),
            text: parsed.text().into(),
        };
        let summary =
            summary::summarise_file(entry, parsed.items(), &analysis.flows, parsed.text());
        (summary, FirstPass { analysis, walked })
    })
}

/// A file's first-pass analysis, kept for its lint pass.
pub struct FirstPass {
    analysis: FileAnalysis,
    /// Whether its functions were walked (a file that names no operation
    /// is not, unless its crate asks for every file).
    walked: bool,
}

/// Reads a file's text into tokens and items, with the diagnostics that
/// costs (parse errors, refusals). `Err` is a report that ends here: the
/// file was refused (nested too deep, an expression too long).
pub fn parse_source(
    path: &Path,
    source: &str,
    edition: Edition,
    config: &Config,
) -> Result<ParsedSource, FileReport> {
    let mut report = FileReport {
        path: path.to_path_buf(),
        ..FileReport::default()
    };
    let text = source::sanitize(source);

    let depth = parse::nesting_depth(&text);
    if depth > parse::MAX_NESTING {
        report.diagnostics.push(whole_file(
            diagnostics::TOO_DEEPLY_NESTED,
            format!(
                "brackets nest {depth} levels deep, more than the {} this linter parses safely; the file was not linted",
                parse::MAX_NESTING
            ),
            "generated code is best excluded with `exclude` in the config",
        ));
        return Err(report);
    }

    // Filled only when part of the file had to be blanked to tokenise.
    let mut masked_text = String::new();
    // Most files hold no directive: skip the comment scan for them.
    let has_directives = text.contains(suppression::MARKER);
    let (comments, mut parsed) = match tokenise(&text, edition) {
        Ok(tokens) => {
            // The parse consumes the tokens; the comments are read from a
            // copy, made only when there is a directive to find.
            let for_comments = has_directives.then(|| tokens.clone());
            match parse::parse_items_within(tokens, parse::MAX_EXPRESSION_TOKENS) {
                Ok(parsed) => (
                    for_comments
                        .map(|tokens| suppression::line_comments(&tokens, &text))
                        .unwrap_or_default(),
                    parsed,
                ),
                Err(longest) => {
                    report.diagnostics.push(whole_file(
                        diagnostics::TOO_DEEPLY_NESTED,
                        format!(
                            "an expression runs {longest} tokens without a `;`, a `,` or the end of a block, more than the {} this linter parses safely; the file was not linted",
                            parse::MAX_EXPRESSION_TOKENS
                        ),
                        "generated code is best excluded with `exclude` in the config",
                    ));
                    return Err(report);
                }
            }
        }
        Err(error) => match parse::mask_untokenisable(&text) {
            // Some stretches do not tokenise: blank them, lint the rest.
            Some((masked, failures)) => {
                for failure in failures {
                    report
                        .diagnostics
                        .push(lex_failure(failure.position, Some(failure.lines)));
                }
                masked_text = masked;
                match tokenise(&masked_text, edition) {
                    Ok(tokens) => (
                        suppression::line_comments(&tokens, &masked_text),
                        parse::parse_items(tokens),
                    ),
                    // `mask_untokenisable` checked this; stay safe anyway.
                    Err(_) => (Vec::new(), ParsedFile::default()),
                }
            }
            None => {
                let start = error.span().start();
                let position = Position {
                    line: start.line.max(1),
                    column: start.column + 1,
                };
                report.diagnostics.push(lex_failure(position, None));
                (
                    suppression::line_comments_by_lines(&text),
                    ParsedFile::default(),
                )
            }
        },
    };
    let text = if masked_text.is_empty() {
        text.into_owned()
    } else {
        masked_text
    };
    for failure in &parsed.failures {
        report.diagnostics.push(parse_failure(failure));
    }

    // Directives are read against every item, test code included, so a
    // directive's reach does not change with `include-tests`.
    let names = config::all_names();
    let suppressible = |name: &str| -> Option<&'static str> {
        let known = names.iter().copied().find(|known| *known == name)?;
        match diagnostics::by_name(known) {
            Some(diagnostic) if diagnostic.unanalysed => None,
            _ => Some(known),
        }
    };
    // Only directives need line numbers: with no comment to read, the
    // suppressions never look at them.
    let index = LineIndex::new(if comments.is_empty() { "" } else { &text });
    let mut suppressions =
        Suppressions::parse(&comments, &index, &parsed.items, &suppressible, &names);
    // Test code is taken out of what the rules, and the crate's summaries,
    // see; what a suppression says about it is then no one's concern (see
    // `test_code.rs`).
    let test_lines = if config.include_tests {
        Vec::new()
    } else {
        test_code::strip_test_items(&parsed.attrs, &mut parsed.items)
    };
    suppressions.forget_within(&test_lines);
    Ok(ParsedSource {
        report,
        text,
        suppressions,
        test_lines,
        parsed,
        macros: BodyCache::default(),
    })
}

/// Runs the rules on a parsed file. With `index`, calls to the crate's own
/// functions are what their summaries say; `first` is the file's first-pass
/// analysis, reused when the index changes nothing in the file.
pub fn lint_parsed(
    source: &ParsedSource,
    config: &Config,
    index: Option<(&CrateIndex, usize)>,
    first: Option<FirstPass>,
) -> FileReport {
    macros::with_cache(&source.macros, || {
        lint_parsed_cached(source, config, index, first)
    })
}

/// [`lint_parsed`] with the file's macro bodies in force.
fn lint_parsed_cached(
    source: &ParsedSource,
    config: &Config,
    index: Option<(&CrateIndex, usize)>,
    first: Option<FirstPass>,
) -> FileReport {
    let mut report = source.report.clone();
    let path = source.path();
    let text: &str = &source.text;
    let parsed = &source.parsed;
    let mut suppressions = source.suppressions.clone();
    let test_lines = &source.test_lines;
    let in_test_code = |finding: &Finding| {
        let line = finding.region.start.line;
        test_lines
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&line))
    };
    // A suppression can only be judged unused if the whole file was read:
    // its finding may sit in the part that did not parse.
    let complete = report.diagnostics.is_empty();

    let rules = config.rules_for(path);
    // The lint pass starts from the first pass's analysis, and walks the
    // file again only where the crate's summaries change something.
    let analysis = first.zip(index).map(|(first, index)| {
        Rc::new(FileAnalysis::with_index(
            first.analysis,
            first.walked,
            &parsed.items,
            text,
            &config.user_apis,
            index,
        ))
    });
    let context = FileContext {
        path,
        source: text,
        items: &parsed.items,
        user_apis: &config.user_apis,
        crate_index: index,
        analysis,
    };
    let mut findings = Vec::new();
    for rule in &rules {
        let mut found = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| (rule.check)(&context, &mut found)));
        match outcome {
            Ok(()) => findings.extend(found),
            Err(panic) => report.diagnostics.push(whole_file(
                diagnostics::INTERNAL_ERROR,
                format!(
                    "rule `{}` panicked on this file ({}); its findings here are missing",
                    rule.name,
                    panic_message(panic.as_ref())
                ),
                "please report this with the file, or a small part of it that still fails",
            )),
        }
    }

    findings.retain(|finding| finding.confidence >= config.min_confidence);
    findings.retain(|finding| !suppressions.suppresses(finding));
    findings.sort_by(report::order);
    report.findings = findings;

    let mut hygiene = std::mem::take(&mut suppressions.diagnostics);
    hygiene.retain(|diagnostic| !suppressions.suppresses(diagnostic));
    let ran = |name: &str| {
        rules.iter().any(|rule| rule.name == name)
            || (diagnostics::by_name(name).is_some() && config.reports(name, path))
    };
    if complete {
        hygiene.extend(suppressions.unused(&ran));
    }
    hygiene.retain(|diagnostic| config.reports(diagnostic.rule, path) && !in_test_code(diagnostic));
    report.diagnostics.extend(hygiene);
    report.diagnostics.sort_by(report::order);
    report
}

/// The tokens of `text`, read as code of `edition`.
fn tokenise(text: &str, edition: Edition) -> Result<TokenStream, proc_macro2::LexError> {
    let mut tokens = TokenStream::from_str(text)?;
    if edition == Edition::E2015 {
        if edition::may_need_rewrite(text) {
            tokens = edition::keywords_as_identifiers(tokens);
        }
        if edition::may_have_traits(text) {
            tokens = edition::anonymous_parameters(tokens);
        }
    }
    Ok(tokens)
}

/// A diagnostic about the whole file, pointing at its start.
pub(crate) fn whole_file(rule: &'static str, message: String, help: &str) -> Finding {
    let start = Position { line: 1, column: 1 };
    Finding {
        rule,
        region: Region { start, end: start },
        message,
        help: Some(help.to_string()),
        labels: Vec::new(),
        confidence: Confidence::High,
    }
}

/// A `parse-error` for text that does not tokenise; `lines` is the blanked
/// stretch when the rest of the file could still be linted.
fn lex_failure(position: Position, lines: Option<(usize, usize)>) -> Finding {
    let message = match lines {
        Some((first, last)) if first == last => format!(
            "this cannot be split into Rust tokens; line {first} was skipped, the rest of the file was linted"
        ),
        Some((first, last)) => format!(
            "this cannot be split into Rust tokens; lines {first}-{last} were skipped, the rest of the file was linted"
        ),
        None => String::from("the file cannot be split into Rust tokens; nothing in it was linted"),
    };
    Finding {
        rule: diagnostics::PARSE_ERROR,
        region: Region {
            start: position,
            end: position,
        },
        message,
        help: Some(String::from(
            "look for an unclosed delimiter, string or comment near here",
        )),
        labels: Vec::new(),
        confidence: Confidence::High,
    }
}

fn parse_failure(failure: &parse::ParseFailure) -> Finding {
    let (first, last) = failure.skipped_lines;
    let mut region = failure.region;
    // An error at the end of input has no real position.
    if region.start.line == 0 {
        let start = Position {
            line: first.max(1),
            column: 1,
        };
        region = Region { start, end: start };
    }
    let skipped = if first == last {
        format!("line {first} was skipped")
    } else {
        format!("lines {first}-{last} were skipped")
    };
    Finding {
        rule: diagnostics::PARSE_ERROR,
        region,
        message: format!(
            "this does not parse: {}; {skipped}, the rest of the file was linted",
            failure.message
        ),
        help: Some(String::from(
            "eda-lint reads the syntax of stable Rust; fix the syntax, or exclude the file if it is not Rust",
        )),
        labels: Vec::new(),
        confidence: Confidence::High,
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        String::from("no message")
    }
}
