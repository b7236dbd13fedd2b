//! State that survives a simulated crash but not a real one.
//!
//! The simulation crashes a service by dropping its future and starting a
//! fresh one in the same process. Whatever the service kept in its local
//! variables is gone, as after a real crash; but a `static`, a
//! `thread_local!` or a lazily built global (`OnceLock`, `LazyLock`,
//! `lazy_static!`, `once_cell`) lives in the process, not in the service,
//! and is still there when the service restarts. A consumer that remembers
//! the messages it handled in such a global passes every crash the grader
//! makes, and would send the duplicate after a real one. No exploration can
//! see this, so the grader reads the learner's file instead:
//! [`global_state`] lists every such item, and a [`super::Check`] given the
//! file ([`super::Check::learner_file`]) fails with them, whatever its runs
//! say.
//!
//! It also lists a `mod name;` or an `include!` that brings in code from
//! another file: the grader reads only the learner's one file, so code
//! elsewhere could hold such state out of its sight.
//!
//! What is not state: `const` items, and a `static` whose type is a plain
//! immutable value (numbers, `bool`, `char`, `&str`, and arrays, slices,
//! tuples and shared references of those). Any other `static` may hide a
//! `Mutex`, an atomic or a cell, so it is reported.

use std::fmt;

use syn::visit::Visit;

/// One item of the learner's file that keeps state outside the service,
/// or brings in code from a file the grader does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalState {
    /// Its line in the file, from 1.
    pub line: usize,
    /// What it is, as the learner wrote it: `static SEEN: Mutex<BTreeSet<String>>`.
    pub item: String,
    /// Which of the two it is.
    pub kind: StateKind,
}

/// What [`global_state`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateKind {
    /// A `static`, `thread_local!` or lazy global: state outside the service.
    Global,
    /// A `mod name;` or `include!`: code in another file, which could hold
    /// such state out of the grader's sight.
    OtherFile,
}

impl fmt::Display for GlobalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`", self.line, self.item)
    }
}

/// The file could not be parsed (it compiled, so this is the grader's
/// limit, and it says so rather than pass the file unread).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error(
    "the grader could not read {file} to look for state kept outside the service (line {line}: \
     {message})"
)]
pub struct SourceError {
    /// The file.
    pub file: String,
    /// Where the parser stopped.
    pub line: usize,
    /// Why.
    pub message: String,
}

/// Every item of `source` that keeps state outside the service, in file
/// order.
///
/// ```
/// use broker::grading::source::global_state;
/// let found = global_state("src/consumer.rs", "
///     const QUEUE: &str = \"orders\";
///     static NAME: &str = \"pricing\";
///     static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
/// ").unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].line, 4);
/// assert!(found[0].item.starts_with("static SEEN"));
/// ```
pub fn global_state(file: &str, source: &str) -> Result<Vec<GlobalState>, SourceError> {
    let parsed = syn::parse_file(source).map_err(|error| SourceError {
        file: file.to_owned(),
        line: error.span().start().line,
        message: error.to_string(),
    })?;
    let mut finder = Finder::default();
    finder.visit_file(&parsed);
    finder.found.sort_by_key(|state| state.line);
    Ok(finder.found)
}

#[derive(Default)]
struct Finder {
    found: Vec<GlobalState>,
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_none() {
            self.found.push(GlobalState {
                kind: StateKind::OtherFile,
                line: item.mod_token.span.start().line,
                item: format!("mod {};", item.ident),
            });
        }
        syn::visit::visit_item_mod(self, item);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        let mutable = matches!(item.mutability, syn::StaticMutability::Mut(_));
        if mutable || !plain_value(&item.ty) {
            let ty = item.ty.as_ref();
            self.found.push(GlobalState {
                kind: StateKind::Global,
                line: item.static_token.span.start().line,
                item: format!(
                    "static {}{}: {}",
                    if mutable { "mut " } else { "" },
                    item.ident,
                    squeeze(&quote::quote!(#ty).to_string())
                ),
            });
        }
        syn::visit::visit_item_static(self, item);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            let name = last.ident.to_string();
            if name == "thread_local" || name == "lazy_static" {
                self.found.push(GlobalState {
                    kind: StateKind::Global,
                    line: last.ident.span().start().line,
                    item: format!("{name}! {{ .. }}"),
                });
            } else if name == "include" {
                self.found.push(GlobalState {
                    kind: StateKind::OtherFile,
                    line: last.ident.span().start().line,
                    item: format!("include!({})", mac.tokens),
                });
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

/// Whether a static of this type can hold nothing but its initial value.
fn plain_value(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(reference) => {
            reference.mutability.is_none() && plain_value(&reference.elem)
        }
        syn::Type::Array(array) => plain_value(&array.elem),
        syn::Type::Slice(slice) => plain_value(&slice.elem),
        syn::Type::Tuple(tuple) => tuple.elems.iter().all(plain_value),
        syn::Type::Paren(inner) => plain_value(&inner.elem),
        syn::Type::Path(path) if path.qself.is_none() => {
            path.path.segments.len() == 1
                && path.path.segments[0].arguments.is_none()
                && PLAIN.contains(&path.path.segments[0].ident.to_string().as_str())
        }
        _ => false,
    }
}

/// The types a static may have and hold no state.
const PLAIN: &[&str] = &[
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f32", "f64",
];

/// `Mutex < BTreeSet < String > >` as a reader writes it:
/// `Mutex<BTreeSet<String>>`.
fn squeeze(tokens: &str) -> String {
    tokens
        .replace(" < ", "<")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",")
        .replace("& ", "&")
}

#[cfg(test)]
mod tests {
    use super::{StateKind, global_state};

    fn items(source: &str) -> Vec<String> {
        global_state("test.rs", source)
            .unwrap()
            .into_iter()
            .map(|state| state.item)
            .collect()
    }

    #[test]
    fn every_kind_of_global_state_is_found() {
        let source = r#"
            use std::sync::{Mutex, OnceLock, atomic::AtomicU64};
            static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
            static COUNT: AtomicU64 = AtomicU64::new(0);
            static mut LAST: u64 = 0;
            static KEYS: OnceLock<Vec<String>> = OnceLock::new();
            static LAZY: std::sync::LazyLock<Mutex<u8>> = std::sync::LazyLock::new(|| Mutex::new(0));
            thread_local! { static LOCAL: std::cell::RefCell<u8> = std::cell::RefCell::new(0); }
            lazy_static::lazy_static! { static ref OLD: Mutex<u8> = Mutex::new(0); }
            fn inner() {
                static HIDDEN: Mutex<u8> = Mutex::new(0);
            }
        "#;
        let found = items(source);
        assert_eq!(
            found,
            vec![
                "static SEEN: Mutex<Vec<String>>",
                "static COUNT: AtomicU64",
                "static mut LAST: u64",
                "static KEYS: OnceLock<Vec<String>>",
                "static LAZY: std::sync::LazyLock<Mutex<u8>>",
                "thread_local! { .. }",
                "lazy_static! { .. }",
                "static HIDDEN: Mutex<u8>",
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn constants_and_plain_statics_are_not_state() {
        let source = r#"
            const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
            static NAME: &str = "pricing";
            static LIMITS: [(u32, &str); 2] = [(1, "a"), (2, "b")];
            static RATE: f64 = 0.5;
            fn run() { let seen = std::collections::BTreeSet::<String>::new(); drop(seen); }
        "#;
        assert_eq!(items(source), Vec::<String>::new());
    }

    #[test]
    fn code_from_another_file_is_reported_as_unread() {
        let found = global_state(
            "src/consumer.rs",
            "mod cache;\nmod inline { pub fn f() {} }\ninclude!(\"more.rs\");\n",
        )
        .unwrap();
        let items: Vec<(&str, StateKind)> = found
            .iter()
            .map(|state| (state.item.as_str(), state.kind))
            .collect();
        assert_eq!(
            items,
            vec![
                ("mod cache;", StateKind::OtherFile),
                ("include!(\"more.rs\")", StateKind::OtherFile),
            ]
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_not_a_pass() {
        let error = global_state("src/consumer.rs", "fn broken( {").unwrap_err();
        assert!(error.to_string().contains("src/consumer.rs"), "{error}");
    }
}
