//! The API coverage table: which calls of which client crates the
//! recogniser ([`super::apis`]) knows, as data.
//!
//! A user deciding whether to trust the linter on their code needs to know
//! whether it reads *their* client crate, and how. That answer lives in one
//! place, `coverage.toml`, compiled in here. Two things read it:
//!
//! - the test `tests/api_coverage.rs`, which builds a small snippet from
//!   every row and checks that the recogniser classifies it as the row says
//!   (a row can only claim what the linter does);
//! - [`Coverage::markdown`], which renders the book's table
//!   ([`BOOK_PAGE`]); `cargo xtask figures` writes it, and `cargo xtask
//!   verify` and the same test fail when the committed page differs.
//!
//! So the page cannot say more, or less, than the recogniser does.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

/// The table, as written.
pub const TABLE: &str = include_str!("coverage.toml");

/// Where the rendered table lives, relative to the repository root. The
/// linter chapter includes it.
pub const BOOK_PAGE: &str = "book/src/figures/linter-api-coverage.md";

/// The whole table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// One entry per client crate, in the order the book shows them.
    #[serde(rename = "crate")]
    pub crates: Vec<CrateCoverage>,
}

/// What the linter knows of one crate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrateCoverage {
    /// The crate's name on crates.io (`aws-sdk-sqs`), or what the entry
    /// is about when it is not a crate (a team's own wrappers).
    pub name: String,
    /// The version whose source the rows were written from: a signature
    /// that changes in a later version is a row to add, not one to trust.
    /// None for an entry that is not a crate.
    #[serde(default)]
    pub version: Option<String>,
    /// Which of the book's two tables it goes in.
    pub kind: CrateKind,
    /// Put at the top of every snippet built from this crate's rows: the
    /// `use` items the file would have (they are the evidence the
    /// recogniser needs for generic names such as `ack` or `send`), and any
    /// item the rows share.
    #[serde(default)]
    pub prelude: String,
    /// The parameters of the function each snippet's `code` runs in
    /// (`channel: &Channel, delivery: Delivery`).
    #[serde(default)]
    pub params: String,
    /// Text shown in a column in addition to the rows' forms: what the
    /// crate does not have (no nack in Kafka), or why a cell is empty.
    #[serde(default)]
    pub notes: BTreeMap<Column, String>,
    /// The forms the recogniser knows, each with its test.
    #[serde(rename = "row")]
    pub rows: Vec<Row>,
}

/// A broker client or a database driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrateKind {
    Broker,
    Database,
}

/// One form of one operation, and the snippet that proves it is recognised.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// What the recogniser must make of `code`.
    pub op: RowOp,
    /// How the book shows the form (markdown, usually a code span). A row
    /// without one is a test only: a near miss that must not count, or the
    /// same form again with another expectation.
    #[serde(default)]
    pub form: Option<String>,
    /// Statements run in the snippet's function, with `params` in scope.
    pub code: String,
    /// Items added to the snippet's file for this row only (a trait, a
    /// helper function).
    #[serde(default)]
    pub items: String,
    /// For a publish: whether the recogniser must see a message id.
    #[serde(default)]
    pub id: Option<IdExpectation>,
    /// For a publish with an id: where the id is set, as the book's
    /// "Message id" column shows it.
    #[serde(default)]
    pub id_at: Option<String>,
    /// For a publish: whether the broker can deduplicate on the id (when
    /// it cannot, a missing id is not reported).
    #[serde(default)]
    pub dedup: Option<bool>,
    /// The confidence the recogniser must give it, when it is not `high`
    /// (a form known only by a receiver's name).
    #[serde(default)]
    pub confidence: Option<ConfidenceExpectation>,
    /// For an ack: a variable the ack must be taken to settle.
    #[serde(default)]
    pub settles: Option<String>,
}

/// What a row's snippet must be recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowOp {
    Consume,
    Ack,
    Nack,
    Publish,
    /// `auto-ack` reports the snippet.
    AutoAck,
    /// `auto-ack` does not report the snippet (the safe configuration).
    NoAutoAck,
    /// A write that commits on its own (a pool, a connection).
    DbWrite,
    /// A write inside a transaction that commits later.
    DbWriteInTransaction,
    DbCommit,
    /// A closure run in a transaction that commits when it returns.
    DbTransaction,
    /// Nothing: the snippet holds no operation (a channel's `send`).
    Nothing,
}

/// A publish's id, as the recogniser must see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdExpectation {
    Present,
    Absent,
    Unknown,
}

/// The confidence of a recognised call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfidenceExpectation {
    Low,
    Medium,
    High,
}

/// A column of the book's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Column {
    Consume,
    Ack,
    Nack,
    Publish,
    MessageId,
    AutoAck,
    Write,
    WriteInTransaction,
    Commit,
    Transaction,
}

impl Column {
    const BROKER: [Column; 6] = [
        Column::Consume,
        Column::Ack,
        Column::Nack,
        Column::Publish,
        Column::MessageId,
        Column::AutoAck,
    ];
    const DATABASE: [Column; 4] = [
        Column::Write,
        Column::WriteInTransaction,
        Column::Commit,
        Column::Transaction,
    ];

    fn title(self) -> &'static str {
        match self {
            Column::Consume => "Consume",
            Column::Ack => "Ack",
            Column::Nack => "Nack",
            Column::Publish => "Publish",
            Column::MessageId => "Message id",
            Column::AutoAck => "Auto-ack configuration",
            Column::Write => "Write (commits on its own)",
            Column::WriteInTransaction => "Write in a transaction",
            Column::Commit => "Commit",
            Column::Transaction => "Transaction closure",
        }
    }
}

impl RowOp {
    /// The column a row's form is shown in, if any.
    fn column(self) -> Option<Column> {
        match self {
            RowOp::Consume => Some(Column::Consume),
            RowOp::Ack => Some(Column::Ack),
            RowOp::Nack => Some(Column::Nack),
            RowOp::Publish => Some(Column::Publish),
            RowOp::AutoAck => Some(Column::AutoAck),
            RowOp::DbWrite => Some(Column::Write),
            RowOp::DbWriteInTransaction => Some(Column::WriteInTransaction),
            RowOp::DbCommit => Some(Column::Commit),
            RowOp::DbTransaction => Some(Column::Transaction),
            RowOp::NoAutoAck | RowOp::Nothing => None,
        }
    }
}

/// The table does not parse, or breaks one of its own rules.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("coverage.toml does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("coverage.toml: {krate}: {problem}")]
    Invalid { krate: String, problem: String },
}

/// The name of the function every snippet's `code` runs in.
pub const SNIPPET_FN: &str = "coverage_snippet";

impl Coverage {
    /// The compiled-in table, parsed and checked.
    pub fn load() -> Result<Coverage, CoverageError> {
        Coverage::parse(TABLE)
    }

    /// Parses a table and checks what the type system cannot: each
    /// crate has rows, only a publish says what its id is, and each shown
    /// form goes in a column of its crate's table.
    pub fn parse(text: &str) -> Result<Coverage, CoverageError> {
        let coverage: Coverage = toml::from_str(text)?;
        for krate in &coverage.crates {
            let invalid = |problem: String| CoverageError::Invalid {
                krate: krate.name.clone(),
                problem,
            };
            if krate.rows.is_empty() {
                return Err(invalid("no rows".into()));
            }
            let columns: &[Column] = match krate.kind {
                CrateKind::Broker => &Column::BROKER,
                CrateKind::Database => &Column::DATABASE,
            };
            for column in krate.notes.keys() {
                if !columns.contains(column) {
                    return Err(invalid(format!(
                        "a note for {column:?}, which its table does not have"
                    )));
                }
            }
            for row in &krate.rows {
                let publish = row.op == RowOp::Publish;
                if !publish && (row.id.is_some() || row.id_at.is_some() || row.dedup.is_some()) {
                    return Err(invalid(format!(
                        "a {:?} row says something about an id; only a publish has one",
                        row.op
                    )));
                }
                if row.id_at.is_some() && row.id != Some(IdExpectation::Present) {
                    return Err(invalid(
                        "a row shows where the id goes but does not expect one".into(),
                    ));
                }
                if row.settles.is_some() && row.op != RowOp::Ack {
                    return Err(invalid(format!(
                        "a {:?} row names what it settles; only an ack does",
                        row.op
                    )));
                }
                if let (Some(_), Some(column)) = (&row.form, row.op.column())
                    && !columns.contains(&column)
                {
                    return Err(invalid(format!(
                        "a {:?} row in a {:?} crate's table",
                        row.op, krate.kind
                    )));
                }
            }
        }
        Ok(coverage)
    }

    /// The book's page: a table of broker clients and one of databases.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "<!-- Generated from lints/src/analysis/coverage.toml by `cargo xtask figures`; \
             do not edit (`cargo xtask verify` and eda-lint's tests fail when it drifts). -->\n\n",
        );
        for (kind, columns) in [
            (CrateKind::Broker, &Column::BROKER[..]),
            (CrateKind::Database, &Column::DATABASE[..]),
        ] {
            let crates: Vec<&CrateCoverage> =
                self.crates.iter().filter(|c| c.kind == kind).collect();
            if crates.is_empty() {
                continue;
            }
            out.push_str("| Crate (version read) |");
            for column in columns {
                let _ = write!(out, " {} |", column.title());
            }
            out.push_str("\n|---|");
            for _ in columns {
                out.push_str("---|");
            }
            out.push('\n');
            for krate in crates {
                match &krate.version {
                    Some(version) => {
                        let _ = write!(out, "| `{}` {version} |", krate.name);
                    }
                    None => {
                        let _ = write!(out, "| {} |", krate.name);
                    }
                }
                for column in columns {
                    let _ = write!(out, " {} |", krate.cell(*column));
                }
                out.push('\n');
            }
            out.push('\n');
        }
        // One trailing newline, as an editor leaves it.
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
        out
    }
}

impl CrateCoverage {
    /// One cell: the forms of the rows shown in `column`, each once, then
    /// the crate's note for it.
    fn cell(&self, column: Column) -> String {
        let mut parts: Vec<String> = Vec::new();
        for row in &self.rows {
            let shown = match column {
                Column::MessageId => row.id_at.clone(),
                _ if row.op.column() == Some(column) => row.form.as_ref().map(|form| {
                    // A form known by a receiver's name is worth less, and
                    // `--min-confidence high` drops it: say so.
                    match row.confidence {
                        Some(ConfidenceExpectation::Medium) => format!("{form} (by name: medium)"),
                        Some(ConfidenceExpectation::Low) => format!("{form} (by name: low)"),
                        _ => form.clone(),
                    }
                }),
                _ => None,
            };
            if let Some(text) = shown
                && !parts.contains(&text)
            {
                parts.push(text);
            }
        }
        if let Some(note) = self.notes.get(&column) {
            parts.push(note.clone());
        }
        if parts.is_empty() {
            return "none".into();
        }
        // A `|` would end the cell, even inside a code span.
        parts.join("<br>").replace('|', "\\|")
    }

    /// The file a row is tested in: the prelude, the row's items, and a
    /// function that runs the row's code.
    pub fn snippet(&self, row: &Row) -> String {
        format!(
            "{prelude}\n{items}\n#[allow(unused)]\nasync fn {SNIPPET_FN}({params}) -> Result<(), Box<dyn std::error::Error>> {{\n{code}\n    Ok(())\n}}\n",
            prelude = self.prelude.trim_end(),
            items = row.items.trim_end(),
            params = self.params,
            code = row.code.trim_end(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_table_loads() {
        let coverage = Coverage::load().expect("coverage.toml is valid");
        assert!(coverage.crates.len() >= 10);
    }

    #[test]
    fn an_id_on_a_row_that_is_not_a_publish_is_an_error() {
        let error = Coverage::parse(
            r#"
            [[crate]]
            name = "x"
            version = "1"
            kind = "broker"
            [[crate.row]]
            op = "ack"
            code = "m.ack().await?;"
            id = "present"
            "#,
        )
        .expect_err("an ack has no id");
        assert!(error.to_string().contains("only a publish"), "{error}");
    }

    #[test]
    fn a_database_column_in_a_broker_table_is_an_error() {
        let error = Coverage::parse(
            r#"
            [[crate]]
            name = "x"
            version = "1"
            kind = "broker"
            [[crate.row]]
            op = "db-commit"
            form = "`tx.commit()`"
            code = "tx.commit().await?;"
            "#,
        )
        .expect_err("a broker table has no Commit column");
        assert!(error.to_string().contains("Broker"), "{error}");
    }

    #[test]
    fn cells_escape_pipes_and_say_none_when_empty() {
        let coverage = Coverage::parse(
            r#"
            [[crate]]
            name = "db"
            version = "1"
            kind = "database"
            notes = { commit = "on drop" }
            [[crate.row]]
            op = "db-transaction"
            form = "`conn.transaction(|tx| ..)`"
            code = ""
            "#,
        )
        .expect("valid");
        let page = coverage.markdown();
        assert!(page.contains("`conn.transaction(\\|tx\\| ..)`"), "{page}");
        assert!(page.contains("| none |"), "{page}");
        assert!(page.contains("| on drop |"), "{page}");
    }
}
