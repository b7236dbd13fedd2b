//! Internal links of the built book: every relative `href`/`src` must point
//! to a file that exists, and every `#anchor` to an `id` on that page.
//!
//! It reads the HTML that mdBook wrote, not the Markdown, so it sees exactly
//! what a reader can click: links written in Markdown, in raw HTML, and the
//! ones mdBook generates (navigation, table of contents).

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::Problem;

/// Pages not checked: `404.html` uses absolute links on purpose (it may be
/// served from any depth) and `print.html` repeats every chapter's links.
const SKIPPED_PAGES: [&str; 2] = ["404.html", "print.html"];

/// Checks every page under `out_dir`.
pub fn check_links(out_dir: &Path) -> anyhow::Result<Vec<Problem>> {
    let mut pages = Vec::new();
    collect_html_files(out_dir, &mut pages)?;
    pages.sort();
    let mut anchors = AnchorCache::default();
    let mut problems = Vec::new();
    for page in &pages {
        let relative = page.strip_prefix(out_dir).unwrap_or(page);
        if SKIPPED_PAGES
            .iter()
            .any(|skipped| relative == Path::new(skipped))
        {
            continue;
        }
        let html = std::fs::read_to_string(page)
            .map_err(|error| anyhow::anyhow!("{}: cannot read: {error}", page.display()))?;
        for link in links_in(&html) {
            if let Some(problem) = check_link(out_dir, page, &link, &mut anchors)? {
                problems.push(Problem {
                    file: page.clone(),
                    message: problem,
                });
            }
        }
    }
    Ok(problems)
}

fn collect_html_files(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| anyhow::anyhow!("{}: cannot list: {error}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_html_files(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "html")
        {
            found.push(path);
        }
    }
    Ok(())
}

/// The ids of the pages read so far, to check `#anchors` once per page.
#[derive(Default)]
struct AnchorCache {
    by_page: HashMap<PathBuf, HashSet<String>>,
}

impl AnchorCache {
    fn ids_of(&mut self, page: &Path) -> anyhow::Result<&HashSet<String>> {
        if !self.by_page.contains_key(page) {
            let html = std::fs::read_to_string(page)
                .map_err(|error| anyhow::anyhow!("{}: cannot read: {error}", page.display()))?;
            self.by_page.insert(page.to_path_buf(), ids_in(&html));
        }
        Ok(&self.by_page[page])
    }
}

/// Returns what is wrong with one link, if anything.
fn check_link(
    out_dir: &Path,
    page: &Path,
    link: &str,
    anchors: &mut AnchorCache,
) -> anyhow::Result<Option<String>> {
    if is_external(link) {
        return Ok(None);
    }
    if link.starts_with('/') {
        return Ok(Some(format!(
            "link `{link}` is absolute: it breaks when the book is not served at the root; make it relative"
        )));
    }
    let (path_part, fragment) = match link.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (link, None),
    };
    let path_part = path_part.split('?').next().unwrap_or(path_part);
    let page_dir = page.parent().unwrap_or(out_dir);
    let target = if path_part.is_empty() {
        page.to_path_buf()
    } else {
        let Some(resolved) = resolve(page_dir, &percent_decode(path_part)) else {
            return Ok(Some(format!("link `{link}` leaves the book")));
        };
        resolved
    };
    if !target.starts_with(out_dir) {
        return Ok(Some(format!("link `{link}` leaves the book")));
    }
    let target = if target.is_dir() {
        target.join("index.html")
    } else {
        target
    };
    if !target.is_file() {
        let hint = if path_part.ends_with(".md") {
            " (a link to a chapter's .md file that is not in SUMMARY.md?)"
        } else {
            ""
        };
        return Ok(Some(format!(
            "link `{link}` points to a missing file{hint}"
        )));
    }
    if let Some(fragment) = fragment.filter(|fragment| !fragment.is_empty())
        && target
            .extension()
            .is_some_and(|extension| extension == "html")
    {
        let fragment = percent_decode(fragment);
        if !anchors.ids_of(&target)?.contains(&fragment) {
            let shown = target.strip_prefix(out_dir).unwrap_or(&target);
            return Ok(Some(format!(
                "link `{link}`: {} has no anchor `#{fragment}`",
                shown.display()
            )));
        }
    }
    Ok(None)
}

fn is_external(link: &str) -> bool {
    if link.starts_with("//") || link.is_empty() {
        return true;
    }
    // A scheme is letters, digits, `+`, `-`, `.` before the first `:`, and
    // comes before any `/`, `?` or `#`.
    match link.find(':') {
        Some(colon) => {
            let scheme = &link[..colon];
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// Joins a relative path onto a directory, resolving `.` and `..` by hand so
/// that a missing target can still be named; `None` if it climbs past `/`.
fn resolve(dir: &Path, relative: &str) -> Option<PathBuf> {
    let mut resolved = dir.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !resolved.pop() {
                    return None;
                }
            }
            Component::Normal(part) => resolved.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(resolved)
}

/// Undoes the `%XX` escapes of a URL path or fragment, as a browser would
/// before asking for the file: the link checker and `serve` resolve the same
/// names. A `%` not followed by two hex digits stays as written.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            decoded.push(byte);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The `href` and `src` attributes of the page's tags.
fn links_in(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for tag in tags(html) {
        for (name, value) in tag.attributes {
            if name == "href" || name == "src" {
                links.push(decode_entities(&value));
            }
        }
    }
    links
}

/// The `id` (and legacy `name`) attributes: the anchors a link can target.
fn ids_in(html: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    for tag in tags(html) {
        for (name, value) in tag.attributes {
            if name == "id" || (name == "name" && tag.name == "a") {
                ids.insert(decode_entities(&value));
            }
        }
    }
    ids
}

struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// A small tag scanner: enough for the HTML mdBook writes. It skips
/// comments and the bodies of `<script>` and `<style>`, where `href="` may
/// appear as text.
fn tags(html: &str) -> Vec<Tag> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(close) = find_tag_end(rest) else {
            break;
        };
        let inside = &rest[1..close];
        rest = &rest[close + 1..];
        if inside.starts_with('/') || inside.starts_with('!') || inside.starts_with('?') {
            continue;
        }
        let tag = parse_tag(inside);
        if tag.name == "script" || tag.name == "style" {
            let end_tag = format!("</{}", tag.name);
            rest = rest.find(&end_tag).map_or("", |end| &rest[end..]);
        }
        found.push(tag);
    }
    found
}

/// The index of the `>` closing the tag that starts `text`, skipping `>`
/// inside quoted attribute values.
fn find_tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (index, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), c) if c == open => quote = None,
            (None, '>') => return Some(index),
            _ => {}
        }
    }
    None
}

fn parse_tag(inside: &str) -> Tag {
    let inside = inside.trim_end_matches('/');
    let name_end = inside
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inside.len());
    let name = inside[..name_end].to_ascii_lowercase();
    let mut attributes = Vec::new();
    let mut rest = inside[name_end..].trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let value = if let Some(after_equals) = rest.strip_prefix('=') {
            let after_equals = after_equals.trim_start();
            let (value, remaining) = match after_equals.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let body = &after_equals[1..];
                    let end = body.find(quote).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_equals
                        .find(char::is_whitespace)
                        .unwrap_or(after_equals.len());
                    (&after_equals[..end], &after_equals[end..])
                }
            };
            rest = remaining.trim_start();
            value.to_string()
        } else {
            String::new()
        };
        if !key.is_empty() {
            attributes.push((key, value));
        }
    }
    Tag { name, attributes }
}

/// Decodes the entities that appear in attribute values mdBook writes.
fn decode_entities(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(files: &[(&str, &str)]) -> tempdir::TempBook {
        tempdir::TempBook::new(files)
    }

    /// A throw-away built book on disk.
    mod tempdir {
        use std::path::PathBuf;

        pub struct TempBook(pub PathBuf);

        impl TempBook {
            pub fn new(files: &[(&str, &str)]) -> TempBook {
                let dir = std::env::temp_dir().join(format!(
                    "xtask-links-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                let _ = std::fs::remove_dir_all(&dir);
                for (path, content) in files {
                    let path = dir.join(path);
                    std::fs::create_dir_all(path.parent().expect("has parent"))
                        .expect("create dir");
                    std::fs::write(path, content).expect("write");
                }
                TempBook(dir)
            }
        }

        impl Drop for TempBook {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn good_links_pass_and_broken_ones_are_named() {
        let built = book(&[
            (
                "index.html",
                r##"<a href="a/index.html#why">ok</a> <a href="a/">dir</a>
                   <a href="https://example.com/x">ext</a> <a href="mailto:x@y">m</a>
                   <a href="#top">self</a> <h1 id="top">T</h1>
                   <img src="missing.png"> <a href="a/index.html#nope">bad anchor</a>
                   <a href="/abs.html">abs</a> <a href="../../etc/passwd">out</a>
                   <script>let s = '<a href="gone.html">';</script>
                   <!-- <a href="commented.html"> -->"##,
            ),
            (
                "a/index.html",
                r##"<h2 id="why">Why</h2><a href='../index.html#top'>up</a>"##,
            ),
        ]);
        let problems = check_links(&built.0).expect("readable");
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert!(messages[0].contains("missing.png"), "{messages:#?}");
        assert!(messages[1].contains("no anchor `#nope`"), "{messages:#?}");
        assert!(messages[2].contains("absolute"), "{messages:#?}");
        assert!(messages[3].contains("leaves the book"), "{messages:#?}");
    }

    #[test]
    fn percent_encoded_paths_and_anchors_resolve() {
        let built = book(&[
            (
                "index.html",
                r##"<a href="my%20page.html#caf%C3%A9">x</a>"##,
            ),
            ("my page.html", r#"<h2 id="café">Café</h2>"#),
        ]);
        assert!(check_links(&built.0).expect("readable").is_empty());
    }

    #[test]
    fn schemes_are_recognised() {
        assert!(is_external("https://x"));
        assert!(is_external("mailto:a@b"));
        assert!(!is_external("a/b.html#c:d"));
        assert!(!is_external("page.html"));
    }
}
