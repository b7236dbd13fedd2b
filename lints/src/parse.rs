//! Parsing one file with recovery.
//!
//! `syn::parse_file` is all or nothing: one item it does not understand and
//! the whole file is lost, which would make a linter report it clean. Here
//! the file is tokenised once, then parsed item by item; an item that does
//! not parse is skipped up to the next plausible item start and reported as
//! a `parse-error`, and the items around it are still linted.
//!
//! syn is a recursive-descent parser, so a deeply nested file overflows the
//! stack and aborts the process (a stack overflow is not a panic that
//! `catch_unwind` could catch). [`nesting_depth`] is a cheap, non-recursive
//! scan that refuses such files before syn sees them.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};

use crate::finding::{Position, Region};

/// The deepest bracket nesting we hand to syn. Real code stays well under
/// 100; the driver's worker threads have stacks large enough for many times
/// this depth even in debug builds (see `run.rs`).
pub const MAX_NESTING: usize = 1_000;

/// The deepest nesting of `(`, `[` and `{` in the text, found without
/// recursion. Brackets inside strings and comments are counted too, which
/// only makes the guard more cautious.
pub fn nesting_depth(text: &str) -> usize {
    let mut depth: usize = 0;
    let mut deepest = 0;
    // Every file passes through here before it is parsed. A `match` on the
    // six brackets compiles to a jump through a table for every byte, which
    // the processor mispredicts; looking the byte up and skipping the
    // common case (no bracket) with one well-predicted branch is about
    // three times faster.
    for &byte in text.as_bytes() {
        let step = BRACKET_STEPS[usize::from(byte)];
        if step == 0 {
            continue;
        }
        if step > 0 {
            depth += 1;
            deepest = deepest.max(depth);
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    deepest
}

/// What each byte does to the nesting: `1` opens (`(`, `[`, `{`), `-1`
/// closes, `0` leaves it.
static BRACKET_STEPS: [i8; 256] = {
    let mut steps = [0i8; 256];
    steps[b'(' as usize] = 1;
    steps[b'[' as usize] = 1;
    steps[b'{' as usize] = 1;
    steps[b')' as usize] = -1;
    steps[b']' as usize] = -1;
    steps[b'}' as usize] = -1;
    steps
};

/// The most tokens one expression may hold: the longest run without a `;`
/// or `,` or the end of a block, at one level of brackets, a bracketed group
/// counting as one token (see [`parse_items_within`]).
/// Measured on the driver's threads in a debug build: the costliest shape
/// found, a chain of `&` in a type, overflowed between 10 000 and 15 000
/// levels on a 512 MiB stack; the stack is now 1 GiB, so this leaves a
/// margin of about three. No hand-written expression comes near.
pub const MAX_EXPRESSION_TOKENS: usize = 10_000;

/// A part of the file that could not be parsed.
#[derive(Debug, Clone)]
pub struct ParseFailure {
    /// Where syn says the problem is.
    pub region: Region,
    /// syn's message.
    pub message: String,
    /// The lines that were skipped because of it (first and last, 1-based).
    pub skipped_lines: (usize, usize),
}

/// What could be made of one file.
#[derive(Default)]
pub struct ParsedFile {
    /// The file's inner attributes (`#![...]`).
    pub attrs: Vec<syn::Attribute>,
    /// Every item that parsed, in file order.
    pub items: Vec<syn::Item>,
    pub failures: Vec<ParseFailure>,
}

/// The most tokens found in one run without a `;` or `,` or the end of a
/// `{...}` block, at any one level of brackets, counting a bracketed group
/// as one token.
///
/// Brackets are not the only way to nest: `!!!!x`, `a + b + c`, `x???`,
/// `a.b().c()`, `return return x`, `&&&&T` and `if .. else if .. else if`
/// all build a tree as deep as the run is long, which syn parses, drops and
/// visits by recursion. [`nesting_depth`] cannot see them, so this bounds
/// them. A block ends a run (items such as `impl X {}` follow each other
/// with no `;`), except a block followed by `else`, which continues an
/// `if` chain. Computed iteratively, after tokenising (which does not
/// recurse on these shapes).
///
/// Read from syn's token buffer, not the token stream: walking a
/// [`TokenStream`] copies every level of it (an iterator over a shared
/// stream clones its tokens, each name a new string), which on a big file
/// cost about a third as much as tokenising it. syn builds a flat buffer of
/// the same tokens to parse them anyway; a [`Cursor`] moves over it without
/// copying anything but the names it is asked to hand out. A test holds the
/// count to a plain walk over the stream, token for token: groups are
/// matched before punctuation, so a cursor never steps into an invisible
/// group that the stream's iterator would have counted as one token.
fn longest_run(start: Cursor<'_>) -> usize {
    let mut longest = 0;
    // Each level being read: where it stands and the length of its run.
    let mut stack = vec![(start, 0usize)];
    while let Some((cursor, run)) = stack.last_mut() {
        if cursor.eof() {
            stack.pop();
            continue;
        }
        if let Some((inside, delimiter, _, after)) = cursor.any_group() {
            *run += 1;
            longest = longest.max(*run);
            let continues_if_chain = after.any_group().is_none()
                && after.ident().is_some_and(|(ident, _)| ident == "else");
            if delimiter == Delimiter::Brace && !continues_if_chain {
                *run = 0;
            }
            *cursor = after;
            stack.push((inside, 0));
            continue;
        }
        let next = match cursor.punct() {
            Some((punct, next)) if matches!(punct.as_char(), ';' | ',') => {
                *run = 0;
                next
            }
            Some((_, next)) => {
                *run += 1;
                next
            }
            // A name, a literal, or the quote of a lifetime.
            None => match cursor.token_tree() {
                Some((_, next)) => {
                    *run += 1;
                    next
                }
                None => {
                    stack.pop();
                    continue;
                }
            },
        };
        longest = longest.max(*run);
        *cursor = next;
    }
    longest
}

/// Parses already tokenised text item by item.
pub fn parse_items(tokens: TokenStream) -> ParsedFile {
    // Nothing runs longer than `usize::MAX`: this is never refused.
    parse_items_within(tokens, usize::MAX).unwrap_or_default()
}

/// [`parse_items`], but refusing the file before syn parses any of it when
/// an expression runs more than `limit` tokens (see
/// [`MAX_EXPRESSION_TOKENS`]): `Err` holds the longest run found. The count
/// is taken from the buffer syn parses from, built once for both.
pub fn parse_items_within(tokens: TokenStream, limit: usize) -> Result<ParsedFile, usize> {
    let mut too_long = None;
    let mut parsed = ParsedFile {
        attrs: Vec::new(),
        items: Vec::new(),
        failures: Vec::new(),
    };
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        // Building the buffer recurses only as deep as the brackets nest,
        // which `nesting_depth` bounds; parsing recurses on long runs too,
        // so they are measured first.
        let longest = longest_run(input.cursor());
        if longest > limit {
            too_long = Some(longest);
            // The file is refused whole; syn's complaint about the tokens
            // left unread is dropped below.
            return Ok(());
        }
        parse_inner_attributes(input, &mut parsed.attrs);
        while !input.is_empty() {
            let fork = input.fork();
            match fork.parse::<syn::Item>() {
                Ok(item) => {
                    input.advance_to(&fork);
                    parsed.items.push(item);
                }
                Err(error) => {
                    let region = Region::from_span(error.span());
                    let skipped = skip_to_next_item(input, region.start);
                    // Recovery resumes after the error, so the same error
                    // cannot be met twice; should a resumed attempt still
                    // stop at the same place, it is the same problem, and
                    // it widens the stretch already reported.
                    match parsed.failures.last_mut() {
                        Some(last) if last.region == region && region.start.line > 0 => {
                            last.skipped_lines.1 = last.skipped_lines.1.max(skipped.1);
                        }
                        _ => parsed.failures.push(ParseFailure {
                            region,
                            message: error.to_string(),
                            skipped_lines: skipped,
                        }),
                    }
                }
            }
        }
        Ok(())
    };
    // The closure never returns an error: every failure is recorded instead
    // (a refused file's unread tokens are the only complaint left).
    let _ = parser.parse2(tokens);
    match too_long {
        Some(longest) => Err(longest),
        None => Ok(parsed),
    }
}

/// Parses `#![...]` attributes at the top of the file; a malformed one is
/// left for the item loop, which will report it.
fn parse_inner_attributes(input: ParseStream<'_>, attrs: &mut Vec<syn::Attribute>) {
    loop {
        let fork = input.fork();
        match fork.call(syn::Attribute::parse_inner) {
            Ok(mut parsed) if !parsed.is_empty() => {
                input.advance_to(&fork);
                attrs.append(&mut parsed);
            }
            _ => return,
        }
    }
}

/// Keywords that can start an item: where recovery resumes.
const ITEM_STARTS: &[&str] = &[
    "fn",
    "pub",
    "impl",
    "struct",
    "enum",
    "union",
    "mod",
    "use",
    "trait",
    "type",
    "const",
    "static",
    "extern",
    "async",
    "unsafe",
    "macro_rules",
];

/// Skips the item that failed to parse: its attributes, then token trees up
/// to and including the first top-level `{...}` block or `;` (where an item
/// ends), or up to a keyword that starts the next item, whichever comes
/// first. Skipping whole items means one broken item gives one diagnostic,
/// not one for its attributes and another for its body.
///
/// A keyword before `error_at` (where syn stopped) belongs to the broken
/// item's own head: in `pub fn f(async: u8) {}` the `fn` after `pub` must
/// not end the skip, or the next attempt starts at `fn`, fails on the same
/// token and reports the same error a second time. `error_at` has line 0
/// when syn points at the end of input, which no token precedes. Returns
/// the first and last skipped lines.
fn skip_to_next_item(input: ParseStream<'_>, error_at: Position) -> (usize, usize) {
    let mut first: Option<Position> = None;
    let mut last: Option<Position> = None;
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        let mut skipped_any = false;
        // While only attributes were skipped, an item keyword is still part
        // of the same broken item.
        let mut only_attributes = true;
        while let Some((tree, next)) = rest.token_tree() {
            let region = Region::from_span(tree.span());
            let before_error = error_at.line > 0 && region.start < error_at;
            if skipped_any && !only_attributes && !before_error && starts_item(&tree, next) {
                break;
            }
            first.get_or_insert(region.start);
            last = Some(region.end);
            rest = next;
            skipped_any = true;
            match &tree {
                TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => break,
                TokenTree::Punct(punct) if punct.as_char() == ';' => break,
                TokenTree::Punct(punct) if punct.as_char() == '#' => {}
                TokenTree::Group(group) if group.delimiter() == Delimiter::Bracket => {}
                _ => only_attributes = false,
            }
        }
        Ok(((), rest))
    });
    let first = first.map_or(0, |p| p.line);
    (first, last.map_or(first, |p| p.line))
}

fn starts_item(tree: &TokenTree, next: syn::buffer::Cursor<'_>) -> bool {
    match tree {
        TokenTree::Ident(ident) => ITEM_STARTS.iter().any(|kw| ident == kw),
        // `#[...]` (an outer attribute) starts an item; `#` alone does not.
        TokenTree::Punct(punct) if punct.as_char() == '#' => next.token_tree().is_some_and(
            |(t, _)| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket),
        ),
        _ => false,
    }
}

/// A stretch of the file that does not even tokenise (an unclosed string,
/// comment or delimiter), found by [`mask_untokenisable`].
#[derive(Debug, Clone)]
pub struct LexFailure {
    /// Where the tokenizer stopped, in file positions.
    pub position: Position,
    /// The first and last lines of the blanked stretch.
    pub lines: (usize, usize),
}

/// Lines that start a top-level item at column 0: where a file is cut into
/// stretches that can be tokenised on their own.
fn starts_top_level_item(line: &str) -> bool {
    const STARTS: &[&str] = &[
        "pub ",
        "pub(",
        "fn ",
        "impl",
        "struct ",
        "enum ",
        "union ",
        "mod ",
        "use ",
        "trait ",
        "type ",
        "const ",
        "static ",
        "extern ",
        "async ",
        "unsafe ",
        "macro_rules!",
        "#[",
        "#![",
        // A comment at column 0 usually introduces the next item.
        "//",
    ];
    STARTS.iter().any(|start| line.starts_with(start))
}

/// Recovery for a file that does not tokenise as a whole: cuts it into
/// stretches at lines that start a top-level item, tokenises each stretch
/// alone, and blanks the ones that fail. Blanking replaces each character
/// by as many spaces as it has bytes and keeps every line break, so byte
/// offsets, line numbers and the columns of the lines kept are unchanged and
/// spans of the rest still point into the user's file.
///
/// Returns `None` if nothing can be salvaged this way (for example the only
/// stretch is the broken one, or the kept stretches do not tokenise
/// together because a string or comment spans a cut).
pub fn mask_untokenisable(text: &str) -> Option<(String, Vec<LexFailure>)> {
    use std::str::FromStr;
    // Byte offsets where each stretch starts.
    let mut cuts = vec![0];
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > 0 && starts_top_level_item(line) {
            cuts.push(offset);
        }
        offset += line.len();
    }
    cuts.push(text.len());
    let mut masked = String::with_capacity(text.len());
    let mut failures = Vec::new();
    let mut kept_any = false;
    let mut first_line = 1;
    for window in cuts.windows(2) {
        let stretch = &text[window[0]..window[1]];
        let line_count = stretch.matches('\n').count();
        match TokenStream::from_str(stretch) {
            Ok(_) => {
                masked.push_str(stretch);
                kept_any |= !stretch.trim().is_empty();
            }
            Err(error) => {
                let at = error.span().start();
                failures.push(LexFailure {
                    position: Position {
                        line: first_line + at.line.max(1) - 1,
                        column: at.column + 1,
                    },
                    lines: (
                        first_line,
                        first_line + stretch.trim_end_matches('\n').matches('\n').count(),
                    ),
                });
                for c in stretch.chars() {
                    if c == '\n' {
                        masked.push('\n');
                    } else {
                        masked.extend(std::iter::repeat_n(' ', c.len_utf8()));
                    }
                }
            }
        }
        first_line += line_count;
    }
    if failures.is_empty() || !kept_any || TokenStream::from_str(&masked).is_err() {
        return None;
    }
    Some((masked, failures))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// The reference count for `longest_run`: the same runs, walked over
    /// the token stream.
    fn longest_expression(tokens: &TokenStream) -> usize {
        let mut longest = 0;
        let mut stack = vec![tokens.clone().into_iter().peekable()];
        let mut runs = vec![0usize];
        while let (Some(iter), Some(run)) = (stack.last_mut(), runs.last_mut()) {
            match iter.next() {
                Some(TokenTree::Punct(punct)) if matches!(punct.as_char(), ';' | ',') => *run = 0,
                Some(TokenTree::Group(group)) => {
                    *run += 1;
                    longest = longest.max(*run);
                    let continues_if_chain =
                        matches!(iter.peek(), Some(TokenTree::Ident(ident)) if ident == "else");
                    if group.delimiter() == Delimiter::Brace && !continues_if_chain {
                        *run = 0;
                    }
                    stack.push(group.stream().into_iter().peekable());
                    runs.push(0);
                }
                Some(_) => {
                    *run += 1;
                    longest = longest.max(*run);
                }
                None => {
                    stack.pop();
                    runs.pop();
                }
            }
        }
        longest
    }

    fn parse(text: &str) -> ParsedFile {
        parse_items(TokenStream::from_str(text).expect("the test text tokenises"))
    }

    #[test]
    fn a_broken_item_is_skipped_and_its_neighbours_are_kept() {
        let parsed = parse("fn a() {}\nfn b(x: ) {}\nstruct S;\n#[derive(Debug)]\nstruct T;\n");
        let names: Vec<String> = parsed
            .items
            .iter()
            .map(|item| match item {
                syn::Item::Fn(f) => f.sig.ident.to_string(),
                syn::Item::Struct(s) => s.ident.to_string(),
                _ => String::from("?"),
            })
            .collect();
        assert_eq!(names, ["a", "S", "T"]);
        assert_eq!(parsed.failures.len(), 1);
        assert_eq!(parsed.failures[0].skipped_lines, (2, 2));
    }

    #[test]
    fn a_broken_item_with_attributes_is_one_failure() {
        let parsed = parse(
            "#[test]\n#[cfg(x)]\nfn broken() {\n    impl !Trait {}\n}\nfn after() {}\nstray tokens here\nfn last() {}\n",
        );
        assert_eq!(parsed.failures.len(), 2);
        assert_eq!(parsed.failures[0].skipped_lines, (1, 5));
        assert_eq!(parsed.failures[1].skipped_lines, (7, 7));
        assert_eq!(parsed.items.len(), 2);
    }

    #[test]
    fn an_error_after_an_item_keyword_is_reported_once() {
        let parsed = parse(
            "pub fn run(async: u32) -> u32 {\n    async\n}\npub(crate) unsafe extern \"C\" fn g(x: ) {}\nfn after() {}\n",
        );
        let failures: Vec<_> = parsed
            .failures
            .iter()
            .map(|f| (f.region.start.line, f.region.start.column, f.skipped_lines))
            .collect();
        assert_eq!(failures, [(1, 12, (1, 3)), (4, 38, (4, 4))]);
        assert_eq!(parsed.items.len(), 1);
    }

    #[test]
    fn a_misplaced_keyword_is_skipped_alone() {
        let parsed = parse("pub pub fn x() {}\nfn y() {}\n");
        assert_eq!(parsed.failures.len(), 1);
        assert_eq!(parsed.items.len(), 2);
    }

    #[test]
    fn inner_attributes_are_not_reported_as_failures() {
        let parsed = parse("#![allow(dead_code)]\n//! doc\nfn a() {}\n");
        assert!(parsed.failures.is_empty());
        assert_eq!(parsed.items.len(), 1);
    }

    #[test]
    fn an_unclosed_item_is_blanked_and_the_others_are_kept() {
        let text = "fn a() {}\nfn b() {\n    let s = \"open;\n}\n#[derive(Debug)]\nstruct T;\n";
        let (masked, failures) = mask_untokenisable(text).expect("recoverable");
        assert_eq!(masked.len(), text.len());
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].lines.0, 2);
        let parsed = parse(&masked);
        assert_eq!(parsed.items.len(), 2);
    }

    /// The count read from syn's buffer, as the parse takes it.
    fn longest_in_buffer(tokens: TokenStream) -> usize {
        let buffer = syn::buffer::TokenBuffer::new2(tokens);
        longest_run(buffer.begin())
    }

    #[test]
    fn the_buffer_and_the_stream_count_the_same_runs() {
        let shapes = [
            "",
            "a + b + c",
            "!!!!x; y???",
            "a.b().c().d(1, 2, 3)",
            "return return x",
            "&&&&T",
            "if a { b } else if c { d } else { e } f g",
            "if a { b }\nelse { c } d",
            "fn f<'a>(x: &'a str) -> &'a str { x }",
            "impl X {} impl Y {} struct Z;",
            "/// doc\n//! inner\n#[attr] fn f() {}",
            "match x { A => 1, B => { 2 } C => 3 }",
            "let r#else = 1; { a } r#else b c",
            "{ x } else",
            "vec![1, 2, 3].iter().map(|x| x + 1).sum::<u32>()",
        ];
        for shape in shapes {
            let tokens = TokenStream::from_str(shape).expect("the shape tokenises");
            assert_eq!(
                longest_in_buffer(tokens.clone()),
                longest_expression(&tokens),
                "{shape:?}"
            );
        }
        // And on real code: every file of this crate.
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("the source folder reads") {
                let path = entry.expect("a folder entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("the file reads");
                    let tokens = TokenStream::from_str(&text).expect("our source tokenises");
                    assert_eq!(
                        longest_in_buffer(tokens.clone()),
                        longest_expression(&tokens),
                        "{}",
                        path.display()
                    );
                    files += 1;
                }
            }
        }
        assert!(files > 20, "only {files} files found");
    }

    #[test]
    fn a_run_over_the_limit_refuses_the_file_before_parsing() {
        let long = format!("fn f() {{ x{} }}\nfn g() {{}}\n", " + x".repeat(30));
        let tokens = TokenStream::from_str(&long).expect("tokenises");
        let expected = longest_expression(&tokens);
        assert_eq!(expected, 61);
        assert_eq!(parse_items_within(tokens.clone(), 60).err(), Some(expected));
        let parsed = parse_items_within(tokens, 61).expect("within the limit");
        assert_eq!(parsed.items.len(), 2);
        assert!(parsed.failures.is_empty());
    }

    #[test]
    fn nesting_depth_counts_every_bracket_kind() {
        assert_eq!(nesting_depth("fn a() { let x = [(1)]; }"), 3);
        assert_eq!(nesting_depth(")))"), 0);
        // Closing below zero stays at zero; other bytes, multi-byte
        // characters included, change nothing.
        assert_eq!(nesting_depth("))((é«[»"), 3);
        assert_eq!(nesting_depth("{}{}{{}}"), 2);
    }
}
