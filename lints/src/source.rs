//! The text of one file: cleaning it up for the tokenizer, and converting
//! between byte offsets and the 1-based line / 1-based character column
//! positions that findings carry.

use crate::finding::{Position, Region};

/// The byte-order mark some editors put at the start of a UTF-8 file.
const BOM: &str = "\u{feff}";

/// Prepares a file's text for `proc_macro2`: drops a byte-order mark and
/// blanks a `#!` shebang line, as rustc does. Blanking (rather than cutting)
/// keeps every later byte offset and every line number unchanged, so spans
/// still point at the user's file.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    // `#![attr]` is an inner attribute, not a shebang.
    if text.starts_with("#!") && !text[2..].trim_start().starts_with('[') {
        let end = text.find('\n').unwrap_or(text.len());
        let mut owned = String::with_capacity(text.len());
        owned.extend(std::iter::repeat_n(' ', end));
        owned.push_str(&text[end..]);
        return std::borrow::Cow::Owned(owned);
    }
    std::borrow::Cow::Borrowed(text)
}

/// Where each line starts, to turn positions into byte offsets and back.
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the first character of each line; `line_starts[0] == 0`.
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The text of a 1-based line, without its line ending; empty past the end.
    pub fn line(&self, line: usize) -> &'a str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        self.text[start..end.max(start)].trim_end_matches('\r')
    }

    /// The byte offset where a 1-based line starts (the end of the text past the last line).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The byte offset of a position, clamped to the text.
    pub fn offset(&self, position: Position) -> usize {
        let start = self.line_start(position.line);
        let line = self.line(position.line);
        let in_line = line
            .char_indices()
            .nth(position.column.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        (start + in_line).min(self.text.len())
    }

    /// The 1-based position of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_index];
        // Step back to a character boundary if the offset fell inside one.
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        Position {
            line: line_index + 1,
            column: self.text[start..end].chars().count() + 1,
        }
    }

    /// The text a region covers (empty if it is inverted).
    pub fn slice(&self, region: Region) -> &'a str {
        let start = self.offset(region.start);
        let end = self.offset(region.end);
        if start <= end {
            &self.text[start..end]
        } else {
            ""
        }
    }
}

/// The byte offset of the first invalid byte of a non-UTF-8 file, as a
/// position, so the diagnostic can point at it.
pub fn invalid_utf8_position(bytes: &[u8], error: &std::str::Utf8Error) -> Position {
    let valid = &bytes[..error.valid_up_to()];
    // The prefix is valid UTF-8 by definition of `valid_up_to`.
    let text = std::str::from_utf8(valid).unwrap_or_default();
    LineIndex::new(text).position(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_through_offsets_with_multibyte_chars() {
        let index = LineIndex::new("fn a() {}\r\nlet é = 1;\nlast");
        let position = Position { line: 2, column: 6 };
        let offset = index.offset(position);
        assert_eq!(&index.text()[offset..offset + 1], " ");
        assert_eq!(index.position(offset), position);
        assert_eq!(index.line(1), "fn a() {}");
        assert_eq!(index.line(3), "last");
        assert_eq!(index.line(4), "");
    }

    #[test]
    fn a_shebang_is_blanked_but_an_inner_attribute_is_kept() {
        assert_eq!(
            sanitize("#!/usr/bin/env x\nfn a(){}"),
            "                \nfn a(){}"
        );
        assert_eq!(sanitize("#![allow(x)]\n"), "#![allow(x)]\n");
        assert_eq!(sanitize("\u{feff}fn a(){}"), "fn a(){}");
    }
}
