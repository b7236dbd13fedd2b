//! Rust editions, as far as parsing is concerned.
//!
//! syn reads the syntax of the current edition, where `async`, `await`,
//! `dyn` and `try` are keywords. In a crate of the 2015 edition they are
//! ordinary identifiers (`fn run(async: bool)`, `try!(..)`), and syn would
//! report a parse error on correct code. For such a crate the tokens are
//! rewritten before syn sees them: each of those identifiers becomes the
//! raw identifier (`r#async`) that means the same name in later editions,
//! with its span kept, so every position still points into the user's file.
//!
//! 2015 also allowed trait methods to declare a parameter by its type alone
//! (`fn handle(&self, u8);`); those get the pattern `_` that later editions
//! require ([`anonymous_parameters`]).

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, TokenStream, TokenTree};

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
                        parent.done.push(regroup(&original, stream));
                    }
                    _ => return stream,
                }
            }
        }
    }
    TokenStream::new()
}

/// True if `text` may hold a trait whose methods [`anonymous_parameters`]
/// would name.
pub fn may_have_traits(text: &str) -> bool {
    text.contains("trait")
}

/// `tokens` of a 2015-edition file with every parameter of a trait method
/// that has no pattern (`fn handle(&self, u8);`) given the pattern `_`,
/// spanned like its type. Only brace groups are entered (modules, traits),
/// so the recursion is as deep as their nesting, which the nesting guard
/// ([`crate::parse::MAX_NESTING`]) bounds.
pub fn anonymous_parameters(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    // A `trait` keyword was seen and its body has not come yet.
    let mut trait_pending = false;
    for tree in tokens {
        match tree {
            TokenTree::Ident(ref word) if word == "trait" => {
                trait_pending = true;
                out.push(tree);
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                let inside = if trait_pending {
                    trait_body(group.stream())
                } else {
                    anonymous_parameters(group.stream())
                };
                trait_pending = false;
                out.push(regroup(&group, inside));
            }
            TokenTree::Punct(ref punct) if punct.as_char() == ';' => {
                trait_pending = false;
                out.push(tree);
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The body of a trait: the parameter list of each `fn` (the first
/// parenthesised group after it outside its generics) gets its patterns.
fn trait_body(tokens: TokenStream) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    let mut after_fn = false;
    let mut angles = Angles::default();
    for tree in tokens {
        match tree {
            TokenTree::Ident(ref word) if word == "fn" => {
                after_fn = true;
                angles = Angles::default();
                out.push(tree);
            }
            TokenTree::Group(group)
                if after_fn && angles.depth == 0 && group.delimiter() == Delimiter::Parenthesis =>
            {
                after_fn = false;
                out.push(regroup(&group, name_parameters(group.stream())));
            }
            TokenTree::Punct(punct) => {
                if punct.as_char() == ';' {
                    after_fn = false;
                }
                angles.step(&punct);
                out.push(TokenTree::Punct(punct));
            }
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => {
                after_fn = false;
                out.push(TokenTree::Group(group));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// A parameter list with `_ :` put before each parameter that is a type
/// alone: no `self`, no `:` between a pattern and a type.
fn name_parameters(tokens: TokenStream) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    let mut parameter: Vec<TokenTree> = Vec::new();
    let mut angles = Angles::default();
    let finish = |parameter: &mut Vec<TokenTree>, out: &mut Vec<TokenTree>| {
        if let Some(first) = parameter.first()
            && !has_pattern(parameter)
        {
            let span = first.span();
            out.push(TokenTree::Ident(Ident::new("_", span)));
            let mut colon = Punct::new(':', Spacing::Alone);
            colon.set_span(span);
            out.push(TokenTree::Punct(colon));
        }
        out.append(parameter);
    };
    for tree in tokens {
        if let TokenTree::Punct(punct) = &tree {
            angles.step(punct);
            if punct.as_char() == ',' && angles.depth == 0 {
                finish(&mut parameter, &mut out);
                out.push(tree);
                continue;
            }
        }
        parameter.push(tree);
    }
    finish(&mut parameter, &mut out);
    out.into_iter().collect()
}

/// Whether a parameter names itself: it is `self` in some form, or a `:`
/// (not half of a `::`) separates a pattern from its type.
fn has_pattern(parameter: &[TokenTree]) -> bool {
    let mut previous_joint_colon = false;
    for tree in parameter {
        match tree {
            TokenTree::Ident(word) if word == "self" => return true,
            TokenTree::Punct(punct) if punct.as_char() == ':' => {
                let joint = punct.spacing() == Spacing::Joint;
                if !joint && !previous_joint_colon {
                    return true;
                }
                previous_joint_colon = joint;
                continue;
            }
            _ => {}
        }
        previous_joint_colon = false;
    }
    false
}

/// The depth of `<...>` at one level of a token stream: `<` and `>` are
/// single punctuation tokens, not groups, and `->` is not a closing `>`.
#[derive(Default)]
struct Angles {
    depth: usize,
    /// The previous token was a `-` joined to the next one.
    after_joint_minus: bool,
}

impl Angles {
    fn step(&mut self, punct: &Punct) {
        match punct.as_char() {
            '<' => self.depth += 1,
            '>' if !self.after_joint_minus => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.after_joint_minus = punct.as_char() == '-' && punct.spacing() == Spacing::Joint;
    }
}

/// `original` with `inside` as its contents, spanned as before.
fn regroup(original: &Group, inside: TokenStream) -> TokenTree {
    let mut group = Group::new(original.delimiter(), inside);
    group.set_span(original.span());
    TokenTree::Group(group)
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
        Some(TokenTree::Group(group)) => group.delimiter() == Delimiter::Parenthesis,
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
    fn anonymous_trait_parameters_get_a_pattern() {
        let text = "trait Handler {\n    fn handle(&self, u8);\n    fn map<F: Fn(u8) -> u8>(&mut self, F, HashMap<K, V>) -> u8;\n    fn named(self: Box<Self>, x: ::std::string::String, std::string::String) {}\n}\nfn free(x: u8) {}\n";
        let tokens = TokenStream::from_str(text).expect("tokens");
        let named = anonymous_parameters(tokens);
        assert_eq!(
            named.to_string(),
            "trait Handler { fn handle (& self , _ : u8) ; fn map < F : Fn (u8) -> u8 > (& mut self , _ : F , _ : HashMap < K , V >) -> u8 ; fn named (self : Box < Self >, x : :: std :: string :: String , _ : std :: string :: String) { } } fn free (x : u8) { }"
        );
        let file: syn::File = syn::parse2(named).expect("parses once named");
        assert_eq!(file.items.len(), 2);
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
