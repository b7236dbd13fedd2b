//! What runs inside the macros that matter.
//!
//! syn leaves a macro's body as tokens, so a rule that only walks the syntax
//! tree is blind inside `tokio::select!` or `join!`, where much of a real
//! consumer loop lives. These small grammars read those bodies back as Rust
//! expressions; spans inside them still point at the user's file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Pat, Token};

/// How a macro's body relates to the code around it.
pub enum MacroBody {
    /// `select!`: one branch runs. Each branch binds a pattern to the output
    /// of its future, then runs its handler.
    Select(Vec<SelectBranch>),
    /// `join!`, `try_join!`: the expressions run concurrently.
    Concurrent(Vec<Expr>),
    /// Any other macro whose body reads as comma-separated expressions
    /// (`vec!`, `assert!`): evaluated in order.
    Sequential(Vec<Expr>),
    /// Statements (`stream!`, `try_stream!`): evaluated in order.
    Statements(Vec<syn::Stmt>),
    /// Printing, logging and formatting: the values only reach a line of
    /// text for a human. Rules that follow data (local-time) treat this as
    /// display, never as stored data.
    Display(Vec<Expr>),
    /// A body we cannot read as Rust (json!, html!, a DSL).
    Opaque,
}

/// One `select!` branch: `<pat> = <future> (, if <guard>)? => <handler>`.
pub struct SelectBranch {
    /// `None` for `else =>`, `default =>` and `complete =>`.
    pub pat: Option<Pat>,
    pub future: Option<Expr>,
    pub guard: Option<Expr>,
    pub handler: Expr,
}

/// Macros whose arguments only reach a human-readable line.
pub const DISPLAY_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "format_args",
    "write",
    "writeln",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "info",
    "debug",
    "warn",
    "error",
    "trace",
    "event",
    "log",
    "span",
    "info_span",
    "debug_span",
    "warn_span",
    "error_span",
    "trace_span",
    "bail",
    "anyhow",
    "ensure",
    "eyre",
    "dbg",
    "context",
];

/// Macros of the standard library and of the common crates that evaluate
/// every argument, once, left to right, like a function call.
const EVALUATED_IN_ORDER: &[&str] = &[
    "vec",
    "matches",
    "pin",
    "ready",
    "try",
    "dbg",
    "concat",
    "stringify",
    "env",
    "option_env",
    "include_str",
    "include_bytes",
    "line",
    "column",
    "file",
    "cfg",
    "compile_error",
    "hashmap",
    "btreemap",
    "hashset",
    "btreeset",
    "smallvec",
    "arr",
];

/// Whether a macro whose body reads as comma-separated expressions runs
/// them like a function call's arguments. Any other macro (the crate's own
/// `retry!`, a library's `run_operation!`) may run an argument never, or
/// only on failure, or many times.
pub fn evaluates_in_order(mac: &syn::Macro) -> bool {
    EVALUATED_IN_ORDER.contains(&macro_name(mac).as_str())
}

/// The last segment of a macro's path: `tokio::select` -> `select`.
pub fn macro_name(mac: &syn::Macro) -> String {
    mac.path
        .segments
        .last()
        .map(|segment| segment.ident.to_string())
        .unwrap_or_default()
}

/// The macro bodies of one file already read, keyed by where the macro's
/// brackets are in the file (see [`body`]).
///
/// The same macro is read many times per file: by the first pass's flow
/// walk, by the lint pass's walk again, and by rules that look inside macros
/// (`auto-ack`, `local-time`). Reading a body is a parse: 8% of a
/// crate-wide run on the registry's broker-using crates went there,
/// measured with `perf`, and 4% once each file kept its bodies. Each
/// [`crate::lint::ParsedSource`] holds them, and [`with_cache`] makes them
/// the ones [`body`] answers while that file is walked.
#[derive(Default, Clone)]
pub struct BodyCache(Rc<RefCell<Bodies>>);

/// Macro bodies by the byte range of their brackets.
type Bodies = HashMap<(usize, usize), Rc<MacroBody>>;

thread_local! {
    /// The cache of the file being walked on this thread, if any.
    static CURRENT: RefCell<Option<BodyCache>> = const { RefCell::new(None) };
}

/// Runs `f` with `cache` as the one [`body`] reads and fills: every macro
/// walked in `f` must belong to the one file `cache` is kept for, since a
/// body is found by its place in that file. The previous cache is put back
/// afterwards, even if `f` panics.
pub fn with_cache<R>(cache: &BodyCache, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<BodyCache>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|current| current.borrow_mut().replace(cache.clone()));
    let _restore = Restore(previous);
    f()
}

/// Reads a macro's body according to what the macro is; within
/// [`with_cache`], each macro of the file is read once.
///
/// The key is the byte range of the macro's brackets in the file: within
/// one file it names one macro, whatever copy of the tree it is met in
/// (walkers clone expressions that hold macros). A macro made up by the
/// linter (call-site spans, no place in the file) is read every time.
pub fn body(mac: &syn::Macro) -> Rc<MacroBody> {
    let range = mac.delimiter.span().join().byte_range();
    let key = (range.start, range.end);
    let cache = CURRENT.with(|current| current.borrow().clone());
    let Some(cache) = cache.filter(|_| key.1 > key.0) else {
        return Rc::new(read_body(mac));
    };
    if let Some(found) = cache.0.borrow().get(&key) {
        return Rc::clone(found);
    }
    // Read outside any borrow of the cache: a panic while parsing leaves
    // it usable.
    let read = Rc::new(read_body(mac));
    cache.0.borrow_mut().insert(key, Rc::clone(&read));
    read
}

/// Whether [`body`] reads this macro as [`MacroBody::Display`] or
/// [`MacroBody::Opaque`] by its name alone, before looking at its tokens.
///
/// A walk that treats both alike, as tokens that are only read (the flow
/// walk does), can skip the parse then: printing and logging macros are the
/// most common of all, and reading a body parses each of its arguments.
pub fn display_or_opaque_by_name(mac: &syn::Macro) -> bool {
    let name = macro_name(mac);
    matches!(
        name.as_str(),
        "macro_rules" | "json" | "html" | "view" | "rsx" | "html_nested"
    ) || DISPLAY_MACROS.contains(&name.as_str())
}

/// Reads a macro's body, uncached.
fn read_body(mac: &syn::Macro) -> MacroBody {
    let name = macro_name(mac);
    match name.as_str() {
        // [`display_or_opaque_by_name`] names the arms that end here
        // without a parse: keep the two in step.
        "macro_rules" => MacroBody::Opaque,
        "select" | "select_biased" => match mac.parse_body::<SelectBody>() {
            Ok(body) => MacroBody::Select(body.0),
            Err(_) => MacroBody::Opaque,
        },
        "join" | "try_join" => match mac.parse_body::<ExprList>() {
            Ok(list) => MacroBody::Concurrent(list.0),
            Err(_) => MacroBody::Opaque,
        },
        "json" | "html" | "view" | "rsx" | "html_nested" => MacroBody::Opaque,
        _ if DISPLAY_MACROS.contains(&name.as_str()) => {
            MacroBody::Display(display_args(mac.tokens.clone()))
        }
        "stream" | "try_stream" => match mac.parse_body_with(syn::Block::parse_within) {
            Ok(stmts) => MacroBody::Statements(stmts),
            Err(_) => MacroBody::Opaque,
        },
        _ => {
            if let Ok(list) = mac.parse_body::<ExprList>() {
                MacroBody::Sequential(list.0)
            } else if let Ok(stmts) = mac.parse_body_with(syn::Block::parse_within) {
                MacroBody::Statements(stmts)
            } else {
                MacroBody::Opaque
            }
        }
    }
}

/// Format and log macros mix expressions with `key = value`, `%value` and
/// `?value` (tracing) and `target: ...` (log). Each comma-separated piece is
/// read as an expression after dropping those sigils; pieces that still do
/// not parse are skipped (they only matter as display anyway).
fn display_args(tokens: TokenStream) -> Vec<Expr> {
    let mut pieces: Vec<TokenStream> = vec![TokenStream::new()];
    for token in tokens {
        match &token {
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ',' => {
                pieces.push(TokenStream::new())
            }
            _ => {
                if let Some(piece) = pieces.last_mut() {
                    piece.extend(std::iter::once(token));
                }
            }
        }
    }
    pieces
        .into_iter()
        .filter_map(|piece| {
            let mut tokens: Vec<proc_macro2::TokenTree> = piece.into_iter().collect();
            // `name = value` and `target: value`: keep the value.
            if let Some(position) = tokens.iter().position(|token| {
                matches!(token, proc_macro2::TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Alone)
            }) {
                tokens.drain(..=position);
            }
            // Leading `%` or `?` sigils of tracing.
            while matches!(tokens.first(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '%' || p.as_char() == '?')
            {
                tokens.remove(0);
            }
            syn::parse2::<Expr>(tokens.into_iter().collect()).ok()
        })
        .collect()
}

/// Comma-separated expressions, with tokio's optional leading `biased;`.
struct ExprList(Vec<Expr>);

impl Parse for ExprList {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        skip_biased(input);
        let list = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
        Ok(ExprList(list.into_iter().collect()))
    }
}

fn skip_biased(input: ParseStream) {
    let fork = input.fork();
    if let Ok(ident) = fork.parse::<syn::Ident>()
        && ident == "biased"
        && fork.peek(Token![;])
    {
        let _ = input.parse::<syn::Ident>();
        let _ = input.parse::<Token![;]>();
    }
}

/// The body of tokio's and futures' `select!`.
struct SelectBody(Vec<SelectBranch>);

impl Parse for SelectBody {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        skip_biased(input);
        let mut branches = Vec::new();
        while !input.is_empty() {
            let fork = input.fork();
            let is_fallback = (fork.parse::<Token![else]>().is_ok()
                || fork
                    .parse::<syn::Ident>()
                    .is_ok_and(|ident| ident == "default" || ident == "complete"))
                && fork.peek(Token![=>]);
            let (pat, future, guard) = if is_fallback {
                if input.peek(Token![else]) {
                    input.parse::<Token![else]>()?;
                } else {
                    input.parse::<syn::Ident>()?;
                }
                (None, None, None)
            } else {
                let pat = Pat::parse_multi_with_leading_vert(input)?;
                input.parse::<Token![=]>()?;
                let future: Expr = input.parse()?;
                let guard = if input.peek(Token![,]) && input.peek2(Token![if]) {
                    input.parse::<Token![,]>()?;
                    input.parse::<Token![if]>()?;
                    Some(input.parse::<Expr>()?)
                } else {
                    None
                };
                (Some(pat), Some(future), guard)
            };
            input.parse::<Token![=>]>()?;
            let handler: Expr = input.parse()?;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
            branches.push(SelectBranch {
                pat,
                future,
                guard,
                handler,
            });
        }
        Ok(SelectBody(branches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(source: &str) -> syn::Macro {
        syn::parse_str(source).expect("test macro parses")
    }

    #[test]
    fn reads_tokio_select_with_biased_guards_and_else() {
        let body = body(&mac(
            "tokio::select! { biased; Some(d) = consumer.next(), if open => { d.ack().await; } _ = shutdown.recv() => break, else => return }",
        ));
        let MacroBody::Select(branches) = &*body else {
            panic!("select not read")
        };
        assert_eq!(branches.len(), 3);
        assert!(branches[0].guard.is_some());
        assert!(branches[2].pat.is_none());
    }

    /// The flow walk skips the parse of the macros named here; what
    /// [`body`] makes of them must then be display or opaque, whatever
    /// their tokens, or the walk would miss what runs inside.
    #[test]
    fn macros_skipped_by_name_read_as_display_or_opaque() {
        let names = DISPLAY_MACROS.iter().chain(&[
            "macro_rules",
            "json",
            "html",
            "view",
            "rsx",
            "html_nested",
        ]);
        for name in names {
            for tokens in ["a(), b()", "let x = a(); b(x)", "", "x => y"] {
                let made = mac(&format!("{name}!({tokens})"));
                assert!(display_or_opaque_by_name(&made), "{name}");
                assert!(
                    matches!(read_body(&made), MacroBody::Display(_) | MacroBody::Opaque),
                    "{name}!({tokens}) is read as code"
                );
            }
        }
        for name in ["select", "join", "try_join", "vec", "stream", "retry"] {
            assert!(!display_or_opaque_by_name(&mac(&format!("{name}!(a())"))));
        }
    }

    #[test]
    fn reads_join_and_tracing_fields() {
        assert!(
            matches!(&*body(&mac("tokio::join!(a(), b())")), MacroBody::Concurrent(list) if list.len() == 2)
        );
        let MacroBody::Display(args) = &*body(&mac(
            "tracing::info!(at = %Local::now(), ?id, \"done {}\", x)",
        )) else {
            panic!("info! not display")
        };
        assert_eq!(args.len(), 4);
    }

    #[test]
    fn a_file_reads_each_macro_once_within_its_cache() {
        let file: syn::File = syn::parse_str("fn f() { tokio::join!(a(), b()); vec![c()]; }")
            .expect("test file parses");
        let mut macros = Vec::new();
        struct Macros<'m>(&'m mut Vec<syn::Macro>);
        impl<'ast> syn::visit::Visit<'ast> for Macros<'_> {
            fn visit_macro(&mut self, mac: &'ast syn::Macro) {
                self.0.push(mac.clone());
            }
        }
        syn::visit::Visit::visit_file(&mut Macros(&mut macros), &file);
        let [join, list] = &macros[..] else {
            panic!("two macros expected, got {}", macros.len())
        };
        // Without a cache every read is a new parse.
        assert!(!Rc::ptr_eq(&body(join), &body(join)));
        let cache = BodyCache::default();
        with_cache(&cache, || {
            let first = body(join);
            // A copy of the same macro (walkers clone expressions) is
            // found by its place in the file.
            assert!(Rc::ptr_eq(&first, &body(&join.clone())));
            assert!(matches!(&*first, MacroBody::Concurrent(list) if list.len() == 2));
            assert!(matches!(&*body(list), MacroBody::Sequential(list) if list.len() == 1));
            // One made up by the linter has no place: never cached.
            let made: syn::Macro = syn::parse_quote!(vec![d()]);
            assert!(!Rc::ptr_eq(&body(&made), &body(&made)));
        });
        assert_eq!(cache.0.borrow().len(), 2);
        // The cache is only in force inside `with_cache`.
        assert!(!Rc::ptr_eq(&body(join), &body(join)));
    }
}
