//! Test code, which the rules do not see unless asked (`include-tests`).
//!
//! A test acks before it checks, publishes without an id, reads the local
//! clock: that is what a test of a consumer does, on purpose, and reporting
//! it drowns the findings that matter in production code. Test code is:
//!
//! - an item under `#[cfg(test)]`, or under a `cfg` that needs `test`
//!   (`all(test, feature = "x")`, but not `any(test, x)`, which is also
//!   compiled outside tests);
//! - an item with a test attribute: `#[test]`, and any attribute whose last
//!   path segment is `test` (`#[tokio::test]`, `#[async_std::test]`,
//!   `#[sqlx::test]`), `#[rstest]`, `#[test_case(..)]` and `#[bench]`;
//! - a whole file under `#![cfg(test)]`;
//! - a file in the `tests/`, `benches/` or `examples/` folder of its package
//!   (see [`crate::package::Packages::is_test_file`]).
//!
//! Items are looked for at the top level, in inline modules, impls and
//! traits; not inside function bodies, where a test item is rare and the
//! walk would cost a visit of every expression of every file.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::spanned::Spanned;

/// The last path segments of attributes that make an item a test.
const TEST_ATTRIBUTES: &[&str] = &["test", "rstest", "test_case", "bench"];

/// Removes the test items from `items` (at any depth of inline modules,
/// impls and traits), or all of them if the file's inner attributes
/// (`file_attrs`) say the whole file is test code. Returns the first and
/// last line of each item removed, in no particular order.
pub fn strip_test_items(
    file_attrs: &[syn::Attribute],
    items: &mut Vec<syn::Item>,
) -> Vec<(usize, usize)> {
    let mut removed = Vec::new();
    if is_test(file_attrs) {
        removed.extend(items.iter().map(item_lines));
        items.clear();
        return removed;
    }
    strip_items(items, &mut removed);
    removed
}

fn strip_items(items: &mut Vec<syn::Item>, removed: &mut Vec<(usize, usize)>) {
    items.retain(|item| {
        let test = item_attrs(item).is_some_and(is_test);
        if test {
            removed.push(item_lines(item));
        }
        !test
    });
    for item in items {
        match item {
            syn::Item::Mod(module) => {
                if let Some((_, content)) = &mut module.content {
                    strip_items(content, removed);
                }
            }
            syn::Item::Impl(block) => block.items.retain(|inner| {
                let test = impl_item_attrs(inner).is_some_and(is_test);
                if test {
                    removed.push(impl_item_lines(inner));
                }
                !test
            }),
            syn::Item::Trait(block) => block.items.retain(|inner| {
                let test = trait_item_attrs(inner).is_some_and(is_test);
                if test {
                    removed.push(trait_item_lines(inner));
                }
                !test
            }),
            _ => {}
        }
    }
}

/// [`lines`] of an item. `lines` prints the whole item back into tokens to
/// find its first and last token, which for a test module is most of a
/// file; an item that begins with an outer attribute (a test item always
/// has one) and ends with a brace is read from those two tokens instead:
/// the same lines, without the copy.
fn item_lines(item: &syn::Item) -> (usize, usize) {
    let close = match item {
        syn::Item::Fn(item) => Some(&item.block.brace_token),
        syn::Item::Mod(syn::ItemMod {
            content: Some((brace, _)),
            ..
        }) => Some(brace),
        syn::Item::Impl(item) => Some(&item.brace_token),
        syn::Item::Trait(item) => Some(&item.brace_token),
        _ => None,
    };
    from_ends(item_attrs(item), close).unwrap_or_else(|| lines(item))
}

/// [`item_lines`] for an item of an `impl` block.
fn impl_item_lines(item: &syn::ImplItem) -> (usize, usize) {
    let close = match item {
        syn::ImplItem::Fn(item) => Some(&item.block.brace_token),
        _ => None,
    };
    from_ends(impl_item_attrs(item), close).unwrap_or_else(|| lines(item))
}

/// [`item_lines`] for an item of a trait.
fn trait_item_lines(item: &syn::TraitItem) -> (usize, usize) {
    let close = match item {
        syn::TraitItem::Fn(item) => item.default.as_ref().map(|block| &block.brace_token),
        _ => None,
    };
    from_ends(trait_item_attrs(item), close).unwrap_or_else(|| lines(item))
}

/// The lines from the `#` of the first outer attribute to the closing
/// brace: what [`lines`] finds for an item that prints as those first and
/// last tokens (the `{ .. }` group's span is the braces' joined span).
fn from_ends(
    attrs: Option<&[syn::Attribute]>,
    close: Option<&syn::token::Brace>,
) -> Option<(usize, usize)> {
    let first = attrs?
        .iter()
        .find(|attr| matches!(attr.style, syn::AttrStyle::Outer))?;
    let (first, last) = (
        first.pound_token.spans[0].start().line,
        close?.span.join().end().line,
    );
    Some((first, last.max(first)))
}

/// The first and last line a node spans, attributes included.
fn lines(node: &impl Spanned) -> (usize, usize) {
    let span = node.span();
    let (first, last) = (span.start().line, span.end().line);
    (first, last.max(first))
}

/// Whether these attributes make their item test code.
pub fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("cfg") {
            return match &attr.meta {
                syn::Meta::List(list) => needs_test(&list.tokens),
                _ => false,
            };
        }
        path.segments
            .last()
            .is_some_and(|last| TEST_ATTRIBUTES.iter().any(|name| last.ident == name))
    })
}

/// Whether the `cfg` predicate in `tokens` can only hold in a test build:
/// `test` itself, an `all(..)` with such a part, or an `any(..)` whose
/// every part is such. `not(..)` never is (`not(test)` is the opposite).
fn needs_test(tokens: &TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    match trees.as_slice() {
        [TokenTree::Ident(name)] => name == "test",
        [TokenTree::Ident(name), TokenTree::Group(group)]
            if group.delimiter() == Delimiter::Parenthesis =>
        {
            let parts = split_commas(group.stream());
            if name == "all" {
                parts.iter().any(needs_test)
            } else if name == "any" {
                !parts.is_empty() && parts.iter().all(needs_test)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// The comma-separated parts of a predicate list, empty parts dropped.
fn split_commas(tokens: TokenStream) -> Vec<TokenStream> {
    let mut parts = Vec::new();
    let mut current = Vec::new();
    for tree in tokens {
        match &tree {
            TokenTree::Punct(punct) if punct.as_char() == ',' => {
                parts.push(std::mem::take(&mut current));
            }
            _ => current.push(tree),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .map(|part| part.into_iter().collect())
        .collect()
}

fn item_attrs(item: &syn::Item) -> Option<&[syn::Attribute]> {
    Some(match item {
        syn::Item::Const(item) => &item.attrs,
        syn::Item::Enum(item) => &item.attrs,
        syn::Item::ExternCrate(item) => &item.attrs,
        syn::Item::Fn(item) => &item.attrs,
        syn::Item::ForeignMod(item) => &item.attrs,
        syn::Item::Impl(item) => &item.attrs,
        syn::Item::Macro(item) => &item.attrs,
        syn::Item::Mod(item) => &item.attrs,
        syn::Item::Static(item) => &item.attrs,
        syn::Item::Struct(item) => &item.attrs,
        syn::Item::Trait(item) => &item.attrs,
        syn::Item::TraitAlias(item) => &item.attrs,
        syn::Item::Type(item) => &item.attrs,
        syn::Item::Union(item) => &item.attrs,
        syn::Item::Use(item) => &item.attrs,
        _ => return None,
    })
}

fn impl_item_attrs(item: &syn::ImplItem) -> Option<&[syn::Attribute]> {
    Some(match item {
        syn::ImplItem::Const(item) => &item.attrs,
        syn::ImplItem::Fn(item) => &item.attrs,
        syn::ImplItem::Type(item) => &item.attrs,
        syn::ImplItem::Macro(item) => &item.attrs,
        _ => return None,
    })
}

fn trait_item_attrs(item: &syn::TraitItem) -> Option<&[syn::Attribute]> {
    Some(match item {
        syn::TraitItem::Const(item) => &item.attrs,
        syn::TraitItem::Fn(item) => &item.attrs,
        syn::TraitItem::Type(item) => &item.attrs,
        syn::TraitItem::Macro(item) => &item.attrs,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(text: &str) -> Vec<syn::Attribute> {
        let item: syn::ItemFn = syn::parse_str(&format!("{text} fn f() {{}}")).expect("an item");
        item.attrs
    }

    #[test]
    fn test_attributes_and_cfgs_that_need_test_are_test_code() {
        for text in [
            "#[test]",
            "#[tokio::test]",
            "#[tokio::test(flavor = \"multi_thread\")]",
            "#[async_std::test]",
            "#[rstest]",
            "#[test_case(1, 2)]",
            "#[cfg(test)]",
            "#[cfg(all(test, feature = \"kafka\"))]",
            "#[cfg(all(unix, any(test, test)))]",
            "#[inline] #[cfg(test)]",
        ] {
            assert!(is_test(&attrs(text)), "{text}");
        }
    }

    #[test]
    fn cfgs_that_also_hold_outside_tests_are_not() {
        for text in [
            "#[cfg(any(test, feature = \"testing\"))]",
            "#[cfg(not(test))]",
            "#[cfg(feature = \"test\")]",
            "#[cfg(any())]",
            "#[cfg_attr(test, allow(dead_code))]",
            "#[testing]",
            "#[inline]",
        ] {
            assert!(!is_test(&attrs(text)), "{text}");
        }
    }

    #[test]
    fn test_items_are_removed_at_every_level_but_function_bodies() {
        let mut file: syn::File = syn::parse_str(
            "fn keep() {}\n#[cfg(test)]\nmod tests {\n    fn helper() {}\n}\nmod inner {\n    #[test]\n    fn t() {}\n    fn kept() {}\n}\nimpl S {\n    #[cfg(test)]\n    fn only_in_tests() {}\n}\n",
        )
        .expect("parses");
        let mut removed = strip_test_items(&file.attrs, &mut file.items);
        removed.sort();
        assert_eq!(removed, [(2, 5), (7, 8), (12, 13)]);
        let syn::Item::Mod(inner) = &file.items[1] else {
            panic!("expected mod inner");
        };
        assert_eq!(
            inner.content.as_ref().map(|(_, items)| items.len()),
            Some(1)
        );
        let syn::Item::Impl(block) = &file.items[2] else {
            panic!("expected the impl");
        };
        assert!(block.items.is_empty());
    }

    #[test]
    fn a_file_under_cfg_test_is_removed_whole() {
        let mut file: syn::File =
            syn::parse_str("#![cfg(test)]\nfn a() {}\nfn b() {}\n").expect("parses");
        let removed = strip_test_items(&file.attrs, &mut file.items);
        assert_eq!(removed, [(2, 2), (3, 3)]);
        assert!(file.items.is_empty());
    }

    #[test]
    fn item_lines_read_from_the_ends_match_the_printed_item() {
        // Doc comments, several attributes, an inner attribute, a body
        // that ends on another line than the signature, and shapes that
        // fall back to printing (no outer attribute, no closing brace).
        let file: syn::File = syn::parse_str(
            "/// doc\n#[cfg(test)]\n#[allow(dead_code)]\nmod tests {\n    #![allow(unused)]\n    fn a() {}\n}\n\
             #[test]\nasync fn t() {\n    x();\n}\n\
             fn plain() {}\n\
             #[cfg(test)] impl S {\n    #[test] fn i() {\n    }\n    #[cfg(test)] const C: u8 = 1;\n}\n\
             #[cfg(test)]\ntrait T {\n    #[test] fn d() {\n    }\n    #[test]\n    fn r();\n}\n\
             #[cfg(test)]\nconst K: u8 =\n    2;\n\
             #[cfg(test)]\nmod outside;\n",
        )
        .expect("parses");
        for item in &file.items {
            assert_eq!(item_lines(item), lines(item));
            match item {
                syn::Item::Impl(block) => {
                    for inner in &block.items {
                        assert_eq!(impl_item_lines(inner), lines(inner));
                    }
                }
                syn::Item::Trait(block) => {
                    for inner in &block.items {
                        assert_eq!(trait_item_lines(inner), lines(inner));
                    }
                }
                _ => {}
            }
        }
    }
}
