//! SQL text in Rust code, and what a statement does.
//!
//! Two rules read SQL: `dual-write` asks only whether a literal statement
//! writes; `lost-update` needs to know which table a `SELECT` reads, whether
//! it locks the rows, and which columns an `UPDATE` sets from which bound
//! parameter. The text is found here once ([`literal_sql`], [`macro_args`],
//! [`string_consts`]) and the statements are read with the `sqlparser`
//! crate ([`parse`]), never with patterns over the text: a comment, a string
//! literal or a column named `update_count` would fool a pattern.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, Expr as SqlExpr, ObjectName, SetExpr, Statement, TableFactor, Value,
    visit_expressions, visit_relations,
};
use sqlparser::dialect::{Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use syn::Expr;

use super::apis::literal;
use super::chain::Chain;

/// The arguments of a macro call (`sqlx::query!("..", a, b)`), read as Rust
/// expressions; `None` when the body is not a comma-separated list.
pub fn macro_args(mac: &syn::Macro) -> Option<Vec<Expr>> {
    mac.parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        .ok()
        .map(|list| list.into_iter().collect())
}

/// The literal SQL text a database call at `chain.segments[index]` carries:
/// the first argument of the chain's root (`sqlx::query("..")`,
/// `sqlx::query!("..", ..)`), else the first argument of the call itself
/// (`client.execute("..", &[..])`).
pub fn literal_sql(chain: &Chain<'_>, index: usize) -> Option<String> {
    match chain.root {
        Expr::Call(call) => call.args.first().and_then(literal),
        Expr::Macro(mac) => macro_args(&mac.mac).and_then(|args| args.first().and_then(literal)),
        _ => None,
    }
    .or_else(|| {
        chain
            .segments
            .get(index)
            .and_then(|segment| segment.args.first())
            .and_then(|first| literal(first))
    })
}

/// The string constants a file declares (`const UPDATE_STOCK: &str = ".."`),
/// at any depth of modules and `impl` blocks, by name: SQL is often kept in
/// one and passed by name.
pub fn string_consts(items: &[syn::Item]) -> HashMap<String, String> {
    fn walk(items: &[syn::Item], out: &mut HashMap<String, String>) {
        for item in items {
            match item {
                syn::Item::Const(c) => {
                    if let Some(text) = literal(&c.expr) {
                        out.insert(c.ident.to_string(), text);
                    }
                }
                syn::Item::Static(s) => {
                    if let Some(text) = literal(&s.expr) {
                        out.insert(s.ident.to_string(), text);
                    }
                }
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        walk(inner, out);
                    }
                }
                syn::Item::Impl(block) => {
                    for member in &block.items {
                        if let syn::ImplItem::Const(c) = member
                            && let Some(text) = literal(&c.expr)
                        {
                            out.insert(c.ident.to_string(), text);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = HashMap::new();
    walk(items, &mut out);
    out
}

/// What one statement does, as far as the lost update is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stmt {
    /// A `SELECT`: the tables it reads (lowercase, without schema or
    /// quotes) and whether it locks the rows it reads (`FOR UPDATE`,
    /// `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY SHARE`).
    Select {
        tables: BTreeSet<String>,
        locked: bool,
    },
    /// An `UPDATE` of one table.
    Update(Update),
    /// Anything else (an insert, a delete, `SET TRANSACTION ..`).
    Other,
}

/// An `UPDATE`'s table, its assignments and its `WHERE` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub table: String,
    pub sets: Vec<Assignment>,
    /// The columns the `WHERE` clause mentions (lowercase).
    pub where_columns: BTreeSet<String>,
    /// The statement has a `RETURNING` clause: a caller that fetches an
    /// optional row learns whether any row was updated.
    pub returning: bool,
}

/// `column = value` in an `UPDATE`'s `SET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub columns: Vec<String>,
    /// The 1-based numbers of the parameters the value uses: `$2` is 2, and
    /// the n-th bare `?` of the statement is n.
    pub params: BTreeSet<usize>,
    /// The value reads a column of the row (`stock - $1`, `COALESCE($1,
    /// stock)`, a sub-select): the database computes it from the row as
    /// it is when the update runs, so it is not a stale value written back.
    pub reads_row: bool,
}

/// The statements of `sql`, or `None` when no dialect parses it (a
/// template, a fragment, another language): a rule then says nothing.
pub fn parse(sql: &str) -> Option<Vec<Stmt>> {
    let postgres_style = sql
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'$' && pair[1].is_ascii_digit());
    let dialects: [&dyn Dialect; 4] = if postgres_style {
        [
            &PostgreSqlDialect {},
            &GenericDialect {},
            &MySqlDialect {},
            &SQLiteDialect {},
        ]
    } else {
        [
            &MySqlDialect {},
            &SQLiteDialect {},
            &GenericDialect {},
            &PostgreSqlDialect {},
        ]
    };
    let statements = dialects.iter().find_map(|dialect| {
        let sql = plain_locks(*dialect, sql)?;
        Parser::parse_sql(*dialect, &sql).ok()
    })?;
    Some(statements.iter().map(describe).collect())
}

/// `sql` with the row locks the parser does not know spelled as ones it
/// does: PostgreSQL's `FOR NO KEY UPDATE` and `FOR KEY SHARE` and MySQL's
/// `LOCK IN SHARE MODE` become `FOR UPDATE` and `FOR SHARE` (all that
/// matters here is that the rows are locked). Done on the dialect's tokens,
/// so a comment or a string that holds these words is left alone. `None`
/// when the text does not tokenize.
fn plain_locks(dialect: &dyn Dialect, sql: &str) -> Option<String> {
    let tokens = Tokenizer::new(dialect, sql).tokenize().ok()?;
    // The indices of the words, skipping whitespace and comments.
    let words: Vec<(usize, String)> = tokens
        .iter()
        .enumerate()
        .filter(|(_, token)| !matches!(token, Token::Whitespace(_)))
        .map(|(index, token)| match token {
            Token::Word(word) if word.quote_style.is_none() => {
                (index, word.value.to_ascii_uppercase())
            }
            _ => (index, String::new()),
        })
        .collect();
    let mut replace: HashMap<usize, &str> = HashMap::new();
    for (at, window) in words.windows(4).enumerate() {
        let w: Vec<&str> = window.iter().map(|(_, word)| word.as_str()).collect();
        match w.as_slice() {
            ["FOR", "NO", "KEY", "UPDATE"] => {
                replace.insert(words[at + 1].0, "");
                replace.insert(words[at + 2].0, "");
            }
            ["FOR", "KEY", "SHARE", _] => {
                replace.insert(words[at + 1].0, "");
            }
            ["LOCK", "IN", "SHARE", "MODE"] => {
                replace.insert(words[at].0, "FOR");
                replace.insert(words[at + 1].0, "");
                replace.insert(words[at + 3].0, "");
            }
            _ => {}
        }
    }
    // The last three words have no window of four of their own.
    if let [.., (_, a), (key, b), (_, c)] = words.as_slice()
        && a == "FOR"
        && b == "KEY"
        && c == "SHARE"
    {
        replace.insert(*key, "");
    }
    if replace.is_empty() {
        return Some(sql.to_string());
    }
    Some(
        tokens
            .iter()
            .enumerate()
            .map(|(index, token)| match replace.get(&index) {
                Some(text) => (*text).to_string(),
                None => token.to_string(),
            })
            .collect(),
    )
}

fn describe(statement: &Statement) -> Stmt {
    match statement {
        Statement::Query(query) => {
            let SetExpr::Select(_) = &*query.body else {
                return Stmt::Other;
            };
            Stmt::Select {
                tables: tables_in(statement),
                locked: !query.locks.is_empty(),
            }
        }
        Statement::Update {
            table,
            assignments,
            selection,
            returning,
            ..
        } => {
            let TableFactor::Table { name, .. } = &table.relation else {
                return Stmt::Other;
            };
            let numbers = param_numbers(statement);
            let sets = assignments
                .iter()
                .map(|assignment| {
                    let columns = match &assignment.target {
                        AssignmentTarget::ColumnName(name) => vec![last_name(name)],
                        AssignmentTarget::Tuple(names) => names.iter().map(last_name).collect(),
                    };
                    let (params, reads_row) = uses(&assignment.value, &numbers);
                    Assignment {
                        columns,
                        params,
                        reads_row,
                    }
                })
                .collect();
            let mut where_columns = BTreeSet::new();
            if let Some(selection) = selection {
                let _ = visit_expressions(selection, |expr| {
                    if let Some(column) = column_of(expr) {
                        where_columns.insert(column);
                    }
                    ControlFlow::<()>::Continue(())
                });
            }
            Stmt::Update(Update {
                table: last_name(name),
                sets,
                where_columns,
                returning: returning.is_some(),
            })
        }
        _ => Stmt::Other,
    }
}

/// Every table a statement reads, sub-queries included.
fn tables_in(statement: &Statement) -> BTreeSet<String> {
    let mut tables = BTreeSet::new();
    let _ = visit_relations(statement, |name| {
        tables.insert(last_name(name));
        ControlFlow::<()>::Continue(())
    });
    tables
}

/// The last part of a name, lowercase: `public."Accounts"` is `accounts`.
fn last_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident.value.to_ascii_lowercase())
        .unwrap_or_default()
}

fn column_of(expr: &SqlExpr) -> Option<String> {
    match expr {
        SqlExpr::Identifier(ident) => Some(ident.value.to_ascii_lowercase()),
        SqlExpr::CompoundIdentifier(parts) => {
            parts.last().map(|ident| ident.value.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Each placeholder of a statement, by where it starts, with its number:
/// `$n` and `?n` say theirs; bare `?`s are numbered in the order they
/// appear in the text, as the drivers bind them.
fn param_numbers(statement: &Statement) -> HashMap<(u64, u64), usize> {
    let mut found: Vec<((u64, u64), String)> = Vec::new();
    let _ = visit_expressions(statement, |expr| {
        if let SqlExpr::Value(value) = expr
            && let Value::Placeholder(text) = &value.value
        {
            let start = value.span.start;
            found.push(((start.line, start.column), text.clone()));
        }
        ControlFlow::<()>::Continue(())
    });
    found.sort();
    found.dedup();
    let mut next_bare = 0;
    found
        .into_iter()
        .filter_map(|(at, text)| {
            let digits = text.trim_start_matches(['$', '?']);
            if digits.is_empty() {
                if text != "?" {
                    return None;
                }
                next_bare += 1;
                return Some((at, next_bare));
            }
            digits.parse().ok().map(|n| (at, n))
        })
        .collect()
}

/// The parameters a value uses, and whether it reads a column.
fn uses(value: &SqlExpr, numbers: &HashMap<(u64, u64), usize>) -> (BTreeSet<usize>, bool) {
    let mut params = BTreeSet::new();
    let mut reads_row = false;
    let _ = visit_expressions(value, |expr| {
        match expr {
            SqlExpr::Value(value) => {
                if let Value::Placeholder(_) = &value.value {
                    let start = value.span.start;
                    if let Some(n) = numbers.get(&(start.line, start.column)) {
                        params.insert(*n);
                    }
                }
            }
            SqlExpr::Identifier(_)
            | SqlExpr::CompoundIdentifier(_)
            | SqlExpr::Subquery(_)
            | SqlExpr::Exists { .. }
            | SqlExpr::InSubquery { .. } => reads_row = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    (params, reads_row)
}

/// Whether a statement's text sets a transaction's isolation level to
/// `level` (`SERIALIZABLE` or `REPEATABLE READ`), however it is spelled
/// (`SET TRANSACTION ..`, `BEGIN ISOLATION LEVEL ..`, `SET SESSION
/// CHARACTERISTICS AS TRANSACTION ..`): read from the words, so comments
/// and case do not matter.
pub fn sets_isolation(sql: &str) -> Option<Isolation> {
    let words: Vec<String> = sql
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let at = words
        .windows(2)
        .position(|pair| pair[0] == "ISOLATION" && pair[1] == "LEVEL")?;
    match words.get(at + 2).map(String::as_str) {
        Some("SERIALIZABLE") => Some(Isolation::Serializable),
        Some("REPEATABLE") => Some(Isolation::RepeatableRead),
        _ => None,
    }
}

/// An isolation level that stops a lost update, on some database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    Serializable,
    /// Stops it on PostgreSQL (the second writer fails with 40001), not on
    /// MySQL/InnoDB, whose repeatable read lets the second write through.
    RepeatableRead,
}

/// Whether a statement locks a table or takes an advisory lock, which
/// serialises the read-modify-write as `FOR UPDATE` would.
pub fn takes_lock(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    upper.contains("PG_ADVISORY_XACT_LOCK")
        || upper.contains("PG_ADVISORY_LOCK")
        || upper.contains("GET_LOCK(")
        || upper
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|pair| pair[0] == "LOCK" && matches!(pair[1], "TABLE" | "TABLES"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(sql: &str) -> Update {
        match parse(sql).as_deref() {
            Some([Stmt::Update(update)]) => update.clone(),
            other => panic!("not one update: {other:?}"),
        }
    }

    #[test]
    fn a_set_from_a_parameter_is_not_computed_from_the_row() {
        let u = update("UPDATE products SET stock = $1 WHERE id = $2");
        assert_eq!(u.table, "products");
        assert_eq!(u.sets[0].params, BTreeSet::from([1]));
        assert!(!u.sets[0].reads_row);
        assert_eq!(u.where_columns, BTreeSet::from(["id".to_string()]));
    }

    #[test]
    fn an_atomic_set_reads_the_row() {
        let u = update("update public.\"Products\" set stock = stock - $1 where id = $2");
        assert_eq!(u.table, "products");
        assert!(u.sets[0].reads_row);
    }

    #[test]
    fn bare_question_marks_are_numbered_in_order() {
        let u = update("UPDATE t SET a = ?, b = ? WHERE id = ? AND version = ?");
        assert_eq!(u.sets[0].params, BTreeSet::from([1]));
        assert_eq!(u.sets[1].params, BTreeSet::from([2]));
        assert!(u.where_columns.contains("version"));
    }

    #[test]
    fn a_select_knows_its_tables_and_its_lock() {
        let parsed = parse(
            "SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.id = $1 FOR NO KEY UPDATE",
        );
        let Some([Stmt::Select { tables, locked }]) = parsed.as_deref() else {
            panic!("not a select: {parsed:?}");
        };
        assert!(tables.contains("accounts") && tables.contains("users"));
        assert!(*locked);
    }

    #[test]
    fn every_row_lock_strength_is_a_lock() {
        for sql in [
            "SELECT a FROM t WHERE id = $1 FOR UPDATE",
            "SELECT a FROM t WHERE id = $1 FOR NO KEY UPDATE",
            "SELECT a FROM t WHERE id = $1 FOR SHARE",
            "SELECT a FROM t WHERE id = $1 for key share",
            "SELECT a FROM t WHERE id = $1 FOR KEY SHARE SKIP LOCKED",
            "SELECT a FROM t WHERE id = ? LOCK IN SHARE MODE",
        ] {
            let parsed = parse(sql);
            assert!(
                matches!(parsed.as_deref(), Some([Stmt::Select { locked: true, .. }])),
                "{sql}: {parsed:?}"
            );
        }
        // The words in a string literal are not a lock.
        let parsed = parse("SELECT 'FOR NO KEY UPDATE' FROM t");
        assert!(matches!(
            parsed.as_deref(),
            Some([Stmt::Select { locked: false, .. }])
        ));
    }

    #[test]
    fn text_no_dialect_parses_is_none() {
        assert_eq!(parse("UPDATE SET WHERE ((("), None);
        assert_eq!(parse("{{ template }}"), None);
    }

    #[test]
    fn deeply_nested_sql_is_refused_without_overflowing_the_stack() {
        let depth = 20_000;
        let sql = format!(
            "UPDATE t SET a = {}$1{} WHERE id = $2",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        assert_eq!(parse(&sql), None);
        let select = format!("SELECT {}1{} FROM t", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(parse(&select), None);
    }

    #[test]
    fn isolation_levels_are_read_from_words() {
        assert_eq!(
            sets_isolation("set transaction isolation level serializable"),
            Some(Isolation::Serializable)
        );
        assert_eq!(
            sets_isolation("BEGIN ISOLATION LEVEL REPEATABLE READ"),
            Some(Isolation::RepeatableRead)
        );
        assert_eq!(sets_isolation("SET TRANSACTION READ ONLY"), None);
    }
}
