//! Rust editions, as far as parsing is concerned.
//!
//! syn reads the syntax of the current edition, where `async`, `await`,
//! `dyn` and `try` are keywords. In a crate of the 2015 edition they are
//! ordinary identifiers (`fn run(async: bool)`, `try!(..)`), and syn would
//! report a parse error on correct code. For such a crate the tokens are
//! rewritten before syn sees them: each of those identifiers becomes the
//! raw identifier (`r#async`) that means the same name in later editions,
//! with its span kept, so every position still points into the user's file.

use proc_macro2::{Group, Ident, Spacing, TokenStream, TokenTree};

/// The edition a crate is written in (`edition` in its `Cargo.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Edition {
    /// What cargo assumes when a package names no edition.
    E2015,
    E2018,
    /// What a file outside any package is read as: the syntax most code is
    /// written in today, which the 2024 edition only extends.
    #[default]
    E2021,
    E2024,
}

impl Edition {
    /// The edition named by a manifest's `edition` value. An edition newer
    /// than this linter knows is read as the newest it knows.
    pub fn from_name(name: &str) -> Option<Edition> {
        match name {
            "2015" => Some(Edition::E2015),
            "2018" => Some(Edition::E2018),
            "2021" => Some(Edition::E2021),
            "2024" => Some(Edition::E2024),
            other if other.len() == 4 && other.bytes().all(|b| b.is_ascii_digit()) => {
                (other > "2024").then_some(Edition::E2024)
            }
            _ => None,
        }
    }
}

/// The words that became keywords in 2018 and may be identifiers in 2015.
const NEW_KEYWORDS: &[&str] = &["async", "await", "dyn", "try"];

/// True if `text` may hold an identifier [`keywords_as_identifiers`]
/// would rewrite: most files do not, and they skip the rewrite.
pub fn may_need_rewrite(text: &str) -> bool {
    NEW_KEYWORDS.iter().any(|word| text.contains(word))
}

/// `tokens` of a 2015-edition file with `async`, `await` and `try` turned
/// into raw identifiers, and `dyn` too where it is not a trait object's
/// keyword. Iterative, so a deeply nested file cannot overflow the stack.
pub fn keywords_as_identifiers(tokens: TokenStream) -> TokenStream {
    /// One token stream being rebuilt.
    struct Frame {
        /// What is left to read of it.
        rest: std::iter::Peekable<proc_macro2::token_stream::IntoIter>,
        /// What has been rebuilt so far.
        done: Vec<TokenTree>,
        /// The group it is the inside of (`None` for the whole file).
        group: Option<Group>,
        /// The token before the next one, for `fn dyn`.
        previous: Option<TokenTree>,
    }
    let frame = |stream: TokenStream, group: Option<Group>| Frame {
        rest: stream.into_iter().peekable(),
        done: Vec::new(),
        group,
        previous: None,
    };
    let mut stack = vec![frame(tokens, None)];
    while let Some(top) = stack.last_mut() {
        match top.rest.next() {
            Some(TokenTree::Group(group)) => {
                top.previous = Some(TokenTree::Group(group.clone()));
                let inside = group.stream();
                stack.push(frame(inside, Some(group)));
            }
            Some(TokenTree::Ident(ident)) => {
                let rewrite = match ident.to_string().as_str() {
                    "async" | "await" | "try" => true,
                    "dyn" => !starts_trait_object(top.previous.as_ref(), top.rest.peek()),
                    _ => false,
                };
                let tree = if rewrite {
                    TokenTree::Ident(Ident::new_raw(&ident.to_string(), ident.span()))
                } else {
                    TokenTree::Ident(ident)
                };
                top.previous = Some(tree.clone());
                top.done.push(tree);
            }
            Some(tree) => {
                top.previous = Some(tree.clone());
                top.done.push(tree);
            }
            None => {
                let Some(finished) = stack.pop() else { break };
                let stream: TokenStream = finished.done.into_iter().collect();
                match (finished.group, stack.last_mut()) {
                    (Some(original), Some(parent)) => {
                        let mut group = Group::new(original.delimiter(), stream);
                        group.set_span(original.span());
                        parent.done.push(TokenTree::Group(group));
                    }
                    _ => return stream,
                }
            }
        }
    }
    TokenStream::new()
}

/// Whether a `dyn` between `previous` and `next` is the keyword of a trait
/// object (`Box<dyn Error>`, `&dyn Fn(u8)`, `dyn 'a + Send`), as rustc
/// decides it in 2015: the next token can start a bound and cannot go on a
/// path (`dyn::x`, `dyn<T>`), and the `dyn` is not a name being declared
/// (`fn dyn()`). Anything else (`let dyn = 1`, `dyn.len()`) is a name.
fn starts_trait_object(previous: Option<&TokenTree>, next: Option<&TokenTree>) -> bool {
    if matches!(previous, Some(TokenTree::Ident(word)) if word == "fn") {
        return false;
    }
    match next {
        Some(TokenTree::Ident(word)) => word != "as" && word != "in",
        // `?Sized` and a lifetime `'a` start bounds; `::` and `<` continue
        // a path named `dyn`.
        Some(TokenTree::Punct(punct)) => match punct.as_char() {
            '?' => true,
            '\'' => punct.spacing() == Spacing::Joint,
            _ => false,
        },
        // `dyn (Fn() + Send)`.
        Some(TokenTree::Group(group)) => group.delimiter() == proc_macro2::Delimiter::Parenthesis,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn rewritten(text: &str) -> String {
        let tokens = TokenStream::from_str(text).expect("the test text tokenises");
        keywords_as_identifiers(tokens).to_string()
    }

    #[test]
    fn the_new_keywords_become_raw_identifiers() {
        assert_eq!(
            rewritten("fn run(async: u8) { let await = try!(f(async)); }"),
            "fn run (r#async : u8) { let r#await = r#try ! (f (r#async)) ; }"
        );
    }

    #[test]
    fn dyn_stays_a_keyword_in_trait_objects_only() {
        assert_eq!(
            rewritten(
                "fn f(x: &dyn Error, y: Box<dyn 'static + Send>) { let dyn = 1; dyn.max(2); }"
            ),
            "fn f (x : & dyn Error , y : Box < dyn 'static + Send >) { let r#dyn = 1 ; r#dyn . max (2) ; }"
        );
        assert_eq!(rewritten("fn dyn() {}"), "fn r#dyn () { }");
    }

    #[test]
    fn spans_still_point_into_the_file() {
        let tokens = TokenStream::from_str("fn f() {\n    let async = 1;\n}\n").expect("tokens");
        let rewritten = keywords_as_identifiers(tokens);
        let file: syn::File = syn::parse2(rewritten).expect("parses as 2015 code");
        let syn::Item::Fn(function) = &file.items[0] else {
            panic!("expected a function");
        };
        let syn::Stmt::Local(local) = &function.block.stmts[0] else {
            panic!("expected a let");
        };
        let start = syn::spanned::Spanned::span(&local.pat).start();
        assert_eq!((start.line, start.column), (2, 8));
    }

    #[test]
    fn editions_are_read_from_their_names() {
        assert_eq!(Edition::from_name("2015"), Some(Edition::E2015));
        assert_eq!(Edition::from_name("2024"), Some(Edition::E2024));
        assert_eq!(Edition::from_name("2030"), Some(Edition::E2024));
        assert_eq!(Edition::from_name("1999"), None);
        assert_eq!(Edition::from_name("latest"), None);
    }
}
