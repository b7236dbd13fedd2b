//! Suppression comments.
//!
//! ```text
//! // eda-lint: allow(local-time) -- the timestamp only goes to a log line
//! let shown = Local::now();
//!
//! // eda-lint: allow-file(missing-idempotency-key, dual-write) -- test doubles
//! ```
//!
//! - `allow(...)` on a line of its own covers the next item or statement
//!   (all of its lines); at the end of a line of code it covers the item or
//!   statement that starts on that line, or just that line.
//! - `allow-file(...)` anywhere covers the whole file.
//! - The reason after `--` is required; without one the suppression still
//!   applies but is reported as `suppression-without-reason`.
//! - A suppression that suppresses nothing is reported as
//!   `unused-suppression`, so stale ones do not pile up and hide new bugs.
//!
//! proc-macro2 drops ordinary comments, so they are recovered from the gaps
//! between tokens: whatever is not whitespace between two tokens is a
//! comment. The real lexer has already dealt with string literals and
//! nested block comments, so no second lexer can disagree with it.

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::diagnostics;
use crate::finding::{Confidence, Finding, Region};
use crate::source::LineIndex;

/// The marker that starts a directive inside a `//` comment.
pub const MARKER: &str = "eda-lint:";

/// A `//` comment found in the gaps between tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Byte offset of the `//`.
    pub offset: usize,
    /// The comment without the `//`.
    pub text: String,
}

/// Every `//` comment that is not a doc comment, in file order.
pub fn line_comments(tokens: &TokenStream, text: &str) -> Vec<Comment> {
    let mut ranges = Vec::new();
    token_ranges(tokens, &mut ranges);
    let mut comments = Vec::new();
    let mut gap_start = 0;
    for range in ranges
        .iter()
        .chain(std::iter::once(&(text.len()..text.len())))
    {
        if range.start > gap_start
            && let Some(gap) = text.get(gap_start..range.start)
        {
            comments_in_gap(gap, gap_start, &mut comments);
        }
        gap_start = gap_start.max(range.end);
    }
    comments
}

/// Fallback for a file that does not tokenise: every `//` that starts a
/// line's trimmed text. It can be fooled by a string that spans lines, which
/// is acceptable in a file that is already reported as broken.
pub fn line_comments_by_lines(text: &str) -> Vec<Comment> {
    let index = LineIndex::new(text);
    (1..=index.line_count())
        .filter_map(|line| {
            let content = index.line(line);
            let trimmed = content.trim_start();
            let inner = trimmed.strip_prefix("//")?;
            if inner.starts_with('/') || inner.starts_with('!') {
                return None;
            }
            Some(Comment {
                offset: index.line_start(line) + (content.len() - trimmed.len()),
                text: inner.to_string(),
            })
        })
        .collect()
}

fn token_ranges(tokens: &TokenStream, ranges: &mut Vec<std::ops::Range<usize>>) {
    // Iterative, so a deeply nested file cannot overflow the stack here.
    let mut stack = vec![tokens.clone().into_iter()];
    let mut closes: Vec<std::ops::Range<usize>> = Vec::new();
    while let Some(iter) = stack.last_mut() {
        match iter.next() {
            Some(TokenTree::Group(group)) => {
                ranges.push(group.span_open().byte_range());
                closes.push(group.span_close().byte_range());
                stack.push(group.stream().into_iter());
            }
            Some(tree) => ranges.push(tree.span().byte_range()),
            None => {
                stack.pop();
                // The outermost stream has no closing delimiter.
                if !stack.is_empty()
                    && let Some(close) = closes.pop()
                {
                    ranges.push(close);
                }
            }
        }
    }
}

fn comments_in_gap(gap: &str, base: usize, comments: &mut Vec<Comment>) {
    let mut rest = gap;
    let mut offset = base;
    while let Some(start) = rest.find("//").into_iter().chain(rest.find("/*")).min() {
        if rest[start..].starts_with("//") {
            let end = rest[start..].find('\n').map_or(rest.len(), |e| start + e);
            let body = &rest[start + 2..end];
            // `///` and `//!` are doc comments; they are tokens, so they never
            // reach here, except `////` which is an ordinary comment.
            comments.push(Comment {
                offset: offset + start,
                text: body.trim_end_matches('\r').to_string(),
            });
            offset += end;
            rest = &rest[end..];
        } else {
            // Skip a (possibly nested) block comment.
            let mut depth = 0usize;
            let mut i = start;
            let bytes = rest.as_bytes();
            while i + 1 < bytes.len() {
                if &bytes[i..i + 2] == b"/*" {
                    depth += 1;
                    i += 2;
                } else if &bytes[i..i + 2] == b"*/" {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            let end = i.min(rest.len());
            offset += end;
            rest = &rest[end..];
            if end == start {
                break;
            }
        }
    }
}

/// What a directive covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Lines `first..=last`.
    Lines(usize, usize),
    File,
}

/// One rule named in one directive.
#[derive(Debug, Clone)]
struct Allowance {
    rule: &'static str,
    scope: Scope,
    /// Where the rule's name is written, for `unused-suppression`.
    region: Region,
    used: bool,
}

/// The directives of one file, ready to filter its findings.
#[derive(Debug, Default, Clone)]
pub struct Suppressions {
    allowances: Vec<Allowance>,
    /// Problems with the directives themselves.
    pub diagnostics: Vec<Finding>,
}

/// The line span of every item, statement, field, variant and match arm:
/// what an own-line directive can cover.
#[derive(Default)]
struct NodeLines {
    spans: Vec<(usize, usize)>,
}

impl NodeLines {
    fn add(&mut self, node: &impl Spanned) {
        let span = node.span();
        let (start, end) = (span.start().line, span.end().line);
        if start > 0 {
            self.spans.push((start, end.max(start)));
        }
    }

    /// The last line of the largest node that starts on `line`.
    fn end_of_node_at(&self, line: usize) -> Option<usize> {
        self.spans
            .iter()
            .filter(|(start, _)| *start == line)
            .map(|(_, end)| *end)
            .max()
    }
}

impl<'ast> Visit<'ast> for NodeLines {
    fn visit_item(&mut self, node: &'ast syn::Item) {
        self.add(node);
        syn::visit::visit_item(self, node);
    }
    fn visit_impl_item(&mut self, node: &'ast syn::ImplItem) {
        self.add(node);
        syn::visit::visit_impl_item(self, node);
    }
    fn visit_trait_item(&mut self, node: &'ast syn::TraitItem) {
        self.add(node);
        syn::visit::visit_trait_item(self, node);
    }
    fn visit_stmt(&mut self, node: &'ast syn::Stmt) {
        self.add(node);
        syn::visit::visit_stmt(self, node);
    }
    fn visit_field(&mut self, node: &'ast syn::Field) {
        self.add(node);
        syn::visit::visit_field(self, node);
    }
    fn visit_variant(&mut self, node: &'ast syn::Variant) {
        self.add(node);
        syn::visit::visit_variant(self, node);
    }
    fn visit_arm(&mut self, node: &'ast syn::Arm) {
        self.add(node);
        syn::visit::visit_arm(self, node);
    }
    fn visit_field_value(&mut self, node: &'ast syn::FieldValue) {
        self.add(node);
        syn::visit::visit_field_value(self, node);
    }
}

impl Suppressions {
    /// Reads the directives among `comments`. `items` decide how far an
    /// own-line directive reaches; `is_rule` says whether a name is a rule
    /// (or a tool diagnostic that may be suppressed).
    pub fn parse(
        comments: &[Comment],
        index: &LineIndex<'_>,
        items: &[syn::Item],
        is_rule: &dyn Fn(&str) -> Option<&'static str>,
        known_names: &[&'static str],
    ) -> Self {
        let mut suppressions = Suppressions::default();
        if !comments
            .iter()
            .any(|c| c.text.trim_start().starts_with(MARKER))
        {
            return suppressions;
        }
        // Only files with directives pay for this walk: a node's span is
        // computed from its tokens, which is not cheap.
        let mut nodes = NodeLines::default();
        for item in items {
            nodes.visit_item(item);
        }
        for comment in comments {
            let trimmed = comment.text.trim_start();
            let Some(directive) = trimmed.strip_prefix(MARKER) else {
                continue;
            };
            let directive_offset =
                comment.offset + 2 + (comment.text.len() - trimmed.len()) + MARKER.len();
            suppressions.parse_directive(
                directive,
                directive_offset,
                comment.offset,
                index,
                &nodes,
                is_rule,
                known_names,
            );
        }
        suppressions
    }

    #[allow(clippy::too_many_arguments)]
    fn parse_directive(
        &mut self,
        directive: &str,
        directive_offset: usize,
        comment_offset: usize,
        index: &LineIndex<'_>,
        nodes: &NodeLines,
        is_rule: &dyn Fn(&str) -> Option<&'static str>,
        known_names: &[&'static str],
    ) {
        let comment_position = index.position(comment_offset);
        let comment_region = Region {
            start: comment_position,
            end: index.position(comment_offset + 2 + MARKER.len() + directive.len()),
        };
        let body = directive.trim_start();
        let body_offset = directive_offset + (directive.len() - body.len());
        let (is_file, after_keyword) = if let Some(rest) = body.strip_prefix("allow-file") {
            (true, rest)
        } else if let Some(rest) = body.strip_prefix("allow") {
            (false, rest)
        } else {
            self.invalid(
                comment_region,
                "expected `allow(rule, ...)` or `allow-file(rule, ...)` after `eda-lint:`",
            );
            return;
        };
        let Some(list_and_rest) = after_keyword.trim_start().strip_prefix('(') else {
            self.invalid(comment_region, "expected `(` and a list of rule names");
            return;
        };
        let Some(close) = list_and_rest.find(')') else {
            self.invalid(comment_region, "the list of rule names has no closing `)`");
            return;
        };
        let list = &list_and_rest[..close];
        let list_offset = body_offset + (body.len() - list_and_rest.len());
        let after = list_and_rest[close + 1..].trim();
        let reason = match after.strip_prefix("--") {
            Some(reason) => reason.trim(),
            None if after.is_empty() => "",
            None => {
                self.invalid(
                    comment_region,
                    "expected `-- reason` after the list of rule names",
                );
                return;
            }
        };
        if reason.is_empty() {
            self.diagnostics.push(Finding {
                rule: diagnostics::SUPPRESSION_WITHOUT_REASON,
                region: comment_region,
                message: String::from("this suppression gives no reason"),
                help: Some(String::from(
                    "add `-- <why this is fine here>` after the rule list",
                )),
                labels: Vec::new(),
                confidence: Confidence::High,
            });
        }
        let scope = if is_file {
            Scope::File
        } else {
            let line = comment_position.line;
            let code_before = index.line(line)[..]
                .chars()
                .take(comment_position.column.saturating_sub(1))
                .any(|c| !c.is_whitespace());
            if code_before {
                Scope::Lines(line, nodes.end_of_node_at(line).unwrap_or(line))
            } else {
                // From the next line (so stacked comments are covered too)
                // to the end of the item or statement on the next code line.
                let target = next_code_line(index, line);
                Scope::Lines(line + 1, nodes.end_of_node_at(target).unwrap_or(target))
            }
        };
        let mut any = false;
        let mut name_start = 0;
        for name in list.split(',') {
            let offset = list_offset + name_start + (name.len() - name.trim_start().len());
            name_start += name.len() + 1;
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            any = true;
            let region = Region {
                start: index.position(offset),
                end: index.position(offset + name.len()),
            };
            match is_rule(name) {
                Some(rule) => self.allowances.push(Allowance {
                    rule,
                    scope,
                    region,
                    used: false,
                }),
                None => self.diagnostics.push(Finding {
                    rule: diagnostics::UNKNOWN_RULE_IN_SUPPRESSION,
                    region,
                    message: format!("`{name}` is not a rule of eda-lint"),
                    help: Some(
                        match crate::config::nearest(name, known_names.iter().copied()) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => String::from("`eda-lint rule --all` lists the rules"),
                        },
                    ),
                    labels: Vec::new(),
                    confidence: Confidence::High,
                }),
            }
        }
        if !any {
            self.invalid(comment_region, "the list of rule names is empty");
        }
    }

    fn invalid(&mut self, region: Region, message: &str) {
        self.diagnostics.push(Finding {
            rule: diagnostics::INVALID_SUPPRESSION,
            region,
            message: format!("malformed suppression: {message}"),
            help: Some(String::from(
                "write `// eda-lint: allow(rule-name) -- reason` or `// eda-lint: allow-file(rule-name) -- reason`",
            )),
            labels: Vec::new(),
            confidence: Confidence::High,
        });
    }

    /// True (and the directive is marked used) if a directive covers this finding.
    pub fn suppresses(&mut self, finding: &Finding) -> bool {
        let line = finding.region.start.line;
        let mut suppressed = false;
        for allowance in &mut self.allowances {
            let covers = match allowance.scope {
                Scope::File => true,
                Scope::Lines(first, last) => (first..=last).contains(&line),
            };
            if covers && allowance.rule == finding.rule {
                allowance.used = true;
                suppressed = true;
            }
        }
        suppressed
    }

    /// Drops the allowances that reach only into code that was not linted
    /// (test code, given as first and last lines): the findings they were
    /// written for were never looked for, so they cannot be judged unused.
    /// An allowance reaches only into such code when its last line lies in
    /// it: the node it covers is, or is inside, the left-out item (the
    /// comment lines above it are not code). `allow-file` stays: it also
    /// covers the rest of the file.
    pub fn forget_within(&mut self, unlinted: &[(usize, usize)]) {
        if unlinted.is_empty() {
            return;
        }
        self.allowances.retain(|allowance| match allowance.scope {
            Scope::File => true,
            Scope::Lines(_, last) => !unlinted
                .iter()
                .any(|(first, end)| (*first..=*end).contains(&last)),
        });
    }

    /// `unused-suppression` for every allowance of a rule that ran and
    /// suppressed nothing. Allowances of rules that did not run (not
    /// selected, or ignored for this file) are not judged.
    pub fn unused(&self, ran: &dyn Fn(&str) -> bool) -> Vec<Finding> {
        self.allowances
            .iter()
            .filter(|allowance| !allowance.used && ran(allowance.rule))
            .map(|allowance| Finding {
                rule: diagnostics::UNUSED_SUPPRESSION,
                region: allowance.region,
                message: format!("`{}` is allowed here but reported nothing", allowance.rule),
                help: Some(String::from(
                    "remove it from the suppression, so it cannot hide a future finding",
                )),
                labels: Vec::new(),
                confidence: Confidence::High,
            })
            .collect()
    }
}

/// The first line after `line` that holds something other than blank space
/// or a `//` comment: what an own-line directive is about.
fn next_code_line(index: &LineIndex<'_>, line: usize) -> usize {
    let mut next = line + 1;
    while next <= index.line_count() {
        let trimmed = index.line(next).trim_start();
        let is_plain_comment =
            trimmed.starts_with("//") && !trimmed.starts_with("///") && !trimmed.starts_with("//!");
        if !trimmed.is_empty() && !is_plain_comment {
            return next;
        }
        next += 1;
    }
    line + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn comments_are_found_between_tokens_but_not_inside_strings() {
        let text = "fn a() { // one\n let s = \"// not a comment\"; /* block /* nested */ */ // two\n}\n/// doc\nfn b() {}\n";
        let tokens = TokenStream::from_str(text).expect("tokenises");
        let texts: Vec<String> = line_comments(&tokens, text)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(texts, [" one", " two"]);
    }
}
