//! Method chains, flattened.
//!
//! `client.delete_message().queue_url(&u).receipt_handle(h).send().await?`
//! is one operation spread over five calls; what it is depends on the whole
//! chain (its operation method, `delete_message`), not on its last call
//! (`send`). A [`Chain`] lists the calls from the inside out, looking
//! through `.await`, `?` and parentheses.

use quote::ToTokens;
use syn::Expr;

/// One method call in a chain.
pub struct Segment<'a> {
    pub method: String,
    pub args: Vec<&'a Expr>,
    /// The method call expression itself (from its receiver to its `)`).
    pub expr: &'a syn::ExprMethodCall,
    /// The call's future is awaited right away (`.insert(row).await`): it
    /// does I/O, whatever its name suggests.
    pub awaited: bool,
}

/// A receiver and the method calls made on it, innermost first.
pub struct Chain<'a> {
    /// The expression the chain starts from: `client`, `sqlx::query("..")`,
    /// `BasicProperties::default()`.
    pub root: &'a Expr,
    pub segments: Vec<Segment<'a>>,
}

impl<'a> Chain<'a> {
    /// Flattens the chain that ends at `expr`.
    pub fn of(expr: &'a Expr) -> Chain<'a> {
        let mut segments = Vec::new();
        let mut current = expr;
        let mut awaited = false;
        loop {
            match current {
                Expr::MethodCall(call) => {
                    segments.push(Segment {
                        method: call.method.to_string(),
                        args: call.args.iter().collect(),
                        expr: call,
                        awaited,
                    });
                    awaited = false;
                    current = &call.receiver;
                }
                Expr::Await(inner) => {
                    awaited = true;
                    current = &inner.base;
                }
                Expr::Try(inner) => current = &inner.expr,
                Expr::Paren(inner) => current = &inner.expr,
                Expr::Group(inner) => current = &inner.expr,
                _ => break,
            }
        }
        segments.reverse();
        Chain {
            root: current,
            segments,
        }
    }

    /// Whether some call in the chain is `method`.
    pub fn has(&self, method: &str) -> bool {
        self.segments.iter().any(|segment| segment.method == method)
    }

    /// The arguments of the first call to `method` in the chain.
    pub fn args_of(&self, method: &str) -> Option<&[&'a Expr]> {
        self.segments
            .iter()
            .find(|segment| segment.method == method)
            .map(|segment| segment.args.as_slice())
    }

    /// The root as a call with a path: `sqlx::query("..")` gives the path
    /// and the arguments.
    pub fn root_call(&self) -> Option<(&'a syn::Path, Vec<&'a Expr>)> {
        match self.root {
            Expr::Call(call) => match &*call.func {
                Expr::Path(path) => Some((&path.path, call.args.iter().collect())),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The variable an expression is about: `msg` for `msg`, `&msg`,
/// `msg.data`, `msg.payload()`, `&*msg`, `msg.clone()`; `self.consumer` gives
/// `consumer`, because `self` says nothing about which value it is.
pub fn root_ident(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            Some(path.path.segments[0].ident.to_string())
        }
        Expr::Field(field) => {
            if let Expr::Path(path) = &*field.base
                && path.path.is_ident("self")
            {
                return match &field.member {
                    syn::Member::Named(ident) => Some(ident.to_string()),
                    syn::Member::Unnamed(_) => None,
                };
            }
            root_ident(&field.base)
        }
        Expr::MethodCall(call) => root_ident(&call.receiver),
        Expr::Reference(reference) => root_ident(&reference.expr),
        Expr::Unary(unary) => root_ident(&unary.expr),
        Expr::Paren(paren) => root_ident(&paren.expr),
        Expr::Group(group) => root_ident(&group.expr),
        Expr::Try(inner) => root_ident(&inner.expr),
        Expr::Await(inner) => root_ident(&inner.base),
        Expr::Cast(cast) => root_ident(&cast.expr),
        Expr::Index(index) => root_ident(&index.expr),
        _ => None,
    }
}

/// Every variable-like identifier an expression mentions, including inside
/// macro bodies (scanned as tokens) and closures. Used to follow data: a
/// value derived from a consumed message carries the message's name along.
pub fn idents_in(expr: &Expr) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    collect_idents(expr.to_token_stream(), &mut out);
    out
}

/// The lowercase identifiers of a token stream that are not directly
/// preceded by `.` (method and field names are not variables) and not
/// followed by `::` or `(`-as-path (types, functions).
pub fn collect_idents(
    tokens: proc_macro2::TokenStream,
    out: &mut std::collections::BTreeSet<String>,
) {
    let tokens: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            proc_macro2::TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let after_dot = index > 0
                    && matches!(&tokens[index - 1], proc_macro2::TokenTree::Punct(p) if p.as_char() == '.');
                let before_path = matches!(tokens.get(index + 1), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':')
                    && matches!(tokens.get(index + 2), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':');
                let starts_lower = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
                if !after_dot && !before_path && starts_lower && !is_keyword(&name) {
                    out.insert(name);
                }
            }
            proc_macro2::TokenTree::Group(group) => collect_idents(group.stream(), out),
            _ => {}
        }
    }
}

fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "let"
            | "mut"
            | "ref"
            | "move"
            | "async"
            | "await"
            | "if"
            | "else"
            | "match"
            | "for"
            | "in"
            | "while"
            | "loop"
            | "return"
            | "break"
            | "continue"
            | "fn"
            | "self"
            | "crate"
            | "super"
            | "as"
            | "true"
            | "false"
            | "unsafe"
            | "where"
            | "impl"
            | "dyn"
            | "_"
    )
}

/// The names a pattern binds.
pub fn pattern_names(pat: &syn::Pat) -> Vec<String> {
    // `let _: usize = ..` binds nothing: the type is not a name.
    if let syn::Pat::Type(typed) = pat {
        return pattern_names(&typed.pat);
    }
    // The common `x`, `mut x` and `_`, read from the tree: what the token
    // scan below finds in them, without printing them back into tokens.
    match pat {
        syn::Pat::Ident(binding) if binding.attrs.is_empty() && binding.subpat.is_none() => {
            let name = binding.ident.to_string();
            let starts_lower = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
            return if starts_lower && !is_keyword(&name) {
                vec![name]
            } else {
                Vec::new()
            };
        }
        syn::Pat::Wild(wild) if wild.attrs.is_empty() => return Vec::new(),
        _ => {}
    }
    let mut out = std::collections::BTreeSet::new();
    // Bindings in patterns are lowercase identifiers; enum variants and
    // types are capitalised, so the same scan works.
    collect_idents(pat.to_token_stream(), &mut out);
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree-read names of a plain binding are the token scan's.
    #[test]
    fn a_plain_binding_names_what_its_tokens_name() {
        for source in [
            "x",
            "mut x",
            "ref mut x",
            "_",
            "_x",
            "r#type",
            "Foo",
            "self",
            "x @ Some(y)",
            "(a, _)",
        ] {
            let pat = syn::parse::Parser::parse_str(syn::Pat::parse_single, source)
                .expect("test pattern parses");
            let mut scanned = std::collections::BTreeSet::new();
            collect_idents(pat.to_token_stream(), &mut scanned);
            let scanned: Vec<String> = scanned.into_iter().collect();
            assert_eq!(pattern_names(&pat), scanned, "{source}");
        }
    }
}
