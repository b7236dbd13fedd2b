//! Cross-checks between the parts of the workshop: the catalogue, the book,
//! the exercises and the linter. The checks live in `tests/`.
