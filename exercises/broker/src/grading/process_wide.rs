//! Finding state that a simulated crash cannot wipe.
//!
//! The simulation crashes a service by dropping its future: its local
//! variables are gone, as in a real crash. A `static`, a `thread_local!` or
//! a lazy global is not in the future, so it survives the simulated crash
//! (and even the next run of an exploration). In production a crash ends the
//! process and takes that memory with it. A grader that reads the learner's
//! file with [`process_wide_state`] can say so plainly instead of letting
//! such state pass for durable. (The outbox exercise's rubric carries its
//! own copy of this scanner, from before it moved here.)
//!
//! It reads the text only (no parsing, no compiling), ignoring comments,
//! string and character literals, and lifetimes (`'static` is not state).

use std::collections::BTreeSet;

/// A place in the source that declares process-wide state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessWide {
    /// 1-based.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// The words that declare memory shared by the whole process: `static`
/// items (a `'static` lifetime is not one), and the macros and types that
/// build lazy or per-thread globals.
pub const PROCESS_WIDE: [&str; 8] = [
    "static",
    "thread_local",
    "lazy_static",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "LazyCell",
    "Lazy",
];

/// Every line of `source` that declares process-wide state, ignoring
/// comments, string and character literals, and lifetimes.
pub fn process_wide_state(source: &str) -> Vec<ProcessWide> {
    let code = code_only(source);
    let lines: Vec<&str> = source.lines().collect();
    let mut found = Vec::new();
    let mut seen_lines = BTreeSet::new();
    let mut line = 1;
    let mut previous = ' ';
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if !(c.is_alphabetic() || c == '_') {
            if !c.is_whitespace() {
                previous = c;
            }
            continue;
        }
        let mut word = String::from(c);
        while let Some(&next) = chars.peek() {
            if next.is_alphanumeric() || next == '_' {
                word.push(next);
                chars.next();
            } else {
                break;
            }
        }
        let lifetime = previous == '\'';
        previous = 'a';
        if !lifetime && PROCESS_WIDE.contains(&word.as_str()) && seen_lines.insert(line) {
            found.push(ProcessWide {
                line,
                text: lines
                    .get(line - 1)
                    .map_or(String::new(), |text| text.trim().to_owned()),
            });
        }
    }
    found
}

/// `source` with comments and string and character literals blanked out
/// (newlines kept, so line numbers stay true). Lifetimes keep their `'`.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match (c, next) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(' ');
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                // Block comments nest in Rust.
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        out.push_str("  ");
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
            }
            ('r', Some('#' | '"')) if raw_string_at(&chars, i) => {
                // r"..." or r#"..."#: ends at a quote followed by as many #.
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                j += 1; // the opening quote
                while j < chars.len() {
                    if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                for &skipped in &chars[i..j.min(chars.len())] {
                    out.push(blank(skipped));
                }
                i = j;
            }
            ('"', _) => {
                out.push(' ');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(' ');
                        i += 1;
                    }
                    if i < chars.len() {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
                out.push(' ');
                i += 1;
            }
            ('\'', Some('\\')) => {
                // An escaped character literal: '\n', '\'', '\u{1F600}'.
                out.push_str("  ");
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            ('\'', Some(_)) if chars.get(i + 2) == Some(&'\'') => {
                // A plain character literal: 'a'.
                out.push_str("   ");
                i += 3;
            }
            _ => {
                // Code, and the `'` of a lifetime, which stays.
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether a raw string starts at `i` (`r"` or `r#…"`), not an identifier
/// that ends in `r` (`for"` cannot happen, but `bar#` in a macro might).
fn raw_string_at(chars: &[char], i: usize) -> bool {
    let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    starts_word && chars.get(j) == Some(&'"')
}

#[cfg(test)]
mod tests {
    use super::{ProcessWide, process_wide_state};

    fn lines(source: &str) -> Vec<usize> {
        process_wide_state(source)
            .into_iter()
            .map(|found| found.line)
            .collect()
    }

    #[test]
    fn finds_statics_thread_locals_and_lazy_globals() {
        let source = "use std::sync::Mutex;\n\
                      static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());\n\
                      thread_local! { static SEEN: u32 = 0; }\n\
                      fn f() { static mut N: u32 = 0; }\n\
                      const C: std::sync::OnceLock<u32> = std::sync::OnceLock::new();\n\
                      pub static LAZY: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| 1);\n";
        assert_eq!(lines(source), vec![2, 3, 4, 5, 6]);
        assert_eq!(
            process_wide_state(source)[0],
            ProcessWide {
                line: 2,
                text: "static SENT: Mutex<Vec<String>> = Mutex::new(Vec::new());".to_owned()
            }
        );
    }

    #[test]
    fn ignores_lifetimes_comments_strings_and_chars() {
        let source = "fn id(x: &'static str) -> &'static str { x }\n\
                      // a static would be wrong here\n\
                      /* static /* nested */ static */\n\
                      const NOTE: &str = \"static in a string\";\n\
                      const RAW: &str = r#\"a \"static\" raw string\"#;\n\
                      const QUOTE: char = '\\'';\n\
                      const S: char = 's';\n\
                      fn g<'a>(x: &'a str) -> &'a str { x } // OnceLock\n\
                      struct Staticky; fn statics() {}\n";
        assert_eq!(lines(source), Vec::<usize>::new());
    }
}
