//! ```` ```mermaid ```` fenced blocks become diagrams.
//!
//! The approach of mdbook-mermaid: the block becomes `<pre class="mermaid">`,
//! and the vendored `mermaid.min.js` (`book/assets/mermaid/`) draws it as an
//! SVG when the page loads, so the book needs no network. One difference: the
//! diagram's source is in the `data-diagram` attribute (HTML-escaped), and
//! `book/assets/mermaid-init.js` moves it into the element before drawing,
//! which keeps diagram syntax out of the search index. Written here rather than taken from the
//! `mdbook-mermaid` crate because that crate drags its command-line
//! dependencies (clap, env_logger, toml_edit, another pulldown-cmark) into
//! every learner's first build, for twenty lines of work.
//!
//! It runs after mdBook's `links` preprocessor, so a diagram can be
//! `{{#include}}`d from a trace file that a test writes.

use std::ops::Range;

use mdbook_markdown::pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

/// The in-process preprocessor for ```` ```mermaid ```` blocks.
pub struct MermaidPreprocessor;

impl Preprocessor for MermaidPreprocessor {
    fn name(&self) -> &str {
        "mermaid"
    }

    fn run(
        &self,
        _ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        book.for_each_mut(|item| {
            if let BookItem::Chapter(chapter) = item
                && let Some(replaced) = render_mermaid_blocks(&chapter.content)
            {
                chapter.content = replaced;
            }
        });
        Ok(book)
    }

    fn supports_renderer(&self, renderer: &str) -> mdbook_preprocessor::errors::Result<bool> {
        Ok(renderer == "html")
    }
}

/// A mermaid block: where it is in the Markdown, and its diagram source.
struct MermaidBlock {
    range: Range<usize>,
    source: String,
}

/// Rewrites every mermaid block of a chapter; `None` if there is none.
pub fn render_mermaid_blocks(markdown: &str) -> Option<String> {
    let blocks = find_mermaid_blocks(markdown);
    if blocks.is_empty() {
        return None;
    }
    let mut rewritten = String::with_capacity(markdown.len());
    let mut copied_up_to = 0;
    for block in blocks {
        rewritten.push_str(&markdown[copied_up_to..block.range.start]);
        // Blank lines around it make the <pre> an HTML block of its own. The
        // source goes in an attribute, not in the text, because mdBook's
        // search indexes every text node: readers searching "idempotency key"
        // would get diagram syntax (`M-->>C: sent`) as results.
        rewritten.push_str("\n\n<pre class=\"mermaid\" data-diagram=\"");
        rewritten.push_str(&escape_html(&block.source.replace("\r\n", "\n")));
        rewritten.push_str("\"></pre>\n\n");
        copied_up_to = block.range.end;
    }
    rewritten.push_str(&markdown[copied_up_to..]);
    Some(rewritten)
}

/// Uses the Markdown parser, not a regex, so that a ```` ```mermaid ```` shown
/// inside a longer fence (to teach the syntax) is left alone.
fn find_mermaid_blocks(markdown: &str) -> Vec<MermaidBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<MermaidBlock> = None;
    for (event, range) in Parser::new_ext(markdown, Options::all()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.split_whitespace().next() == Some("mermaid") =>
            {
                current = Some(MermaidBlock {
                    range,
                    source: String::new(),
                });
            }
            Event::Text(text) => {
                if let Some(block) = current.as_mut() {
                    block.source.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(block) = current.take() {
                    blocks.push(block);
                }
            }
            _ => {}
        }
    }
    blocks
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mermaid_fence_becomes_an_escaped_pre() {
        let markdown =
            "Before\n\n```mermaid\nsequenceDiagram\n  A->>B: ack <now> & \"then\"\n```\n\nAfter\n";
        let html = render_mermaid_blocks(markdown).expect("one block");
        assert!(html.starts_with("Before\n\n"));
        assert!(html.contains(
            "<pre class=\"mermaid\" data-diagram=\"sequenceDiagram\n  A-&gt;&gt;B: ack &lt;now&gt; &amp; &quot;then&quot;\n\"></pre>"
        ));
        assert!(html.ends_with("\n\nAfter\n"));
    }

    #[test]
    fn other_fences_and_fences_inside_fences_are_left_alone() {
        let markdown =
            "````markdown\n```mermaid\ngraph TD\n```\n````\n\n```rust\nfn main() {}\n```\n";
        assert!(render_mermaid_blocks(markdown).is_none());
    }

    #[test]
    fn a_fence_inside_a_list_item_is_rewritten() {
        let markdown = "- step\n\n  ```mermaid\n  graph TD\n  A-->B\n  ```\n";
        let html = render_mermaid_blocks(markdown).expect("one block");
        assert!(
            html.contains("<pre class=\"mermaid\" data-diagram=\"graph TD\nA--&gt;B\n\"></pre>"),
            "{html}"
        );
    }
}
