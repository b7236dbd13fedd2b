//! `lost-update`: a value read by a SQL `SELECT` and written back by an
//! `UPDATE` of the same table, with nothing that stops a second writer in
//! between.

use std::collections::{BTreeSet, HashMap, HashSet};

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Item};

use crate::analysis::apis::literal;
use crate::analysis::chain::{Chain, idents_in, pattern_names};
use crate::analysis::sql::{self, Isolation, Stmt};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding, Label, Position, Region};

declare_rule! {
    /// ## What it does
    /// Finds a function that reads a row with a SQL `SELECT` and writes a
    /// value computed from what it read back with an `UPDATE` of the same
    /// table, when nothing stops a concurrent writer in between: the
    /// `SELECT` takes no row lock (`FOR UPDATE`, `FOR NO KEY UPDATE`,
    /// `FOR SHARE`), the `UPDATE` does not compare a version (or the old
    /// value) in its `WHERE` clause with the rows it affected checked
    /// afterwards, and the function does not run a serializable transaction
    /// (or, on PostgreSQL, a repeatable read one). It reads the SQL text of
    /// sqlx (`query!`, `query`, `query_as`, `query_scalar`), tokio-postgres
    /// and rusqlite (`execute`, `query_one`, ..), diesel's `sql_query` and
    /// sea-orm's `Statement::from_sql_and_values`, literal or kept in a
    /// constant of the file, with a SQL parser.
    ///
    /// This rule is **opt-in**: it runs only when named, as in
    /// `select = ["all", "lost-update"]` or `--select all,lost-update`. It
    /// stays off by default until its precision on real code is measured at
    /// 0.9 or more on labels it was not tuned on. On the real-code labels
    /// it was tuned on (10 public repositories, 4 clear lost updates,
    /// 2026-12-06) it finds the 2 done through sea-orm's `update` and
    /// reports nothing else (2 TP, 0 FP, 2 FN: precision 1.00 on two
    /// findings, recall 0.50); it misses the 2 that read and write in two
    /// repository functions a handler calls in turn. Two findings on tuning
    /// labels are no measure of precision, so it stays opt-in.
    ///
    /// ## Why is this bad?
    /// Two consumers handle two events for the same product at once. Both
    /// read `stock = 10`, both compute `9`, both write `9`: one sale is
    /// lost. PostgreSQL's default isolation (read committed) and
    /// MySQL/InnoDB's default (repeatable read) both let this happen
    /// without any error. Let the database do the arithmetic
    /// (`SET stock = stock - $1`), lock the row when you read it
    /// (`SELECT .. FOR UPDATE`), or compare a version in the `UPDATE` and
    /// retry when no row was updated.
    ///
    /// ## Example
    /// ```rust
    /// use sqlx::PgPool;
    ///
    /// async fn reserve(pool: &PgPool, id: i64, quantity: i32) -> sqlx::Result<()> {
    ///     let mut tx = pool.begin().await?;
    ///     let stock: i32 = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
    ///         .bind(id)
    ///         .fetch_one(&mut *tx)
    ///         .await?;
    ///     let left = stock - quantity;
    ///     sqlx::query("UPDATE products SET stock = $1 WHERE id = $2")
    ///         .bind(left)
    ///         .bind(id)
    ///         .execute(&mut *tx)
    ///         .await?;
    ///     tx.commit().await
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use sqlx::PgPool;
    ///
    /// async fn reserve(pool: &PgPool, id: i64, quantity: i32) -> sqlx::Result<bool> {
    ///     let updated = sqlx::query(
    ///         "UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1",
    ///     )
    ///     .bind(quantity)
    ///     .bind(id)
    ///     .execute(pool)
    ///     .await?;
    ///     Ok(updated.rows_affected() == 1)
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// The read and the write must be in one function, with the SQL text
    /// in the call, in a local, or in a constant of the same file: a
    /// repository method that reads and another that writes, called one
    /// after the other by a handler, is not found (the shape of every lost
    /// update in the real code it was measured on); neither is SQL built
    /// with `format!`. A read-modify-write in a SQLite transaction is not
    /// reported: SQLite runs every transaction serializably. Of the ORMs,
    /// sea-orm's read-modify-write is followed (a model read with
    /// `Entity::find_by_id(..)` or `find()` and `.one`/`.all`, a field `Set`
    /// from it, `active.update(db)`); a read with `lock_exclusive()`,
    /// `lock_shared()` or `lock(..)`, and `Entity::update(a).filter(..)` on
    /// a version column, are not reported. diesel's `save_changes` is not
    /// followed. The value is followed
    /// through `let` bindings and assignments by name; a value that passes
    /// through a helper function is not followed. Text that no SQL dialect
    /// parses is skipped.
    ///
    /// ## Chapter
    /// Chapter 7, "Concurrency: the lost update":
    /// `lost-update/index.html`.
    pub static LOST_UPDATE = {
        name: "lost-update",
        summary: "a value read by a SELECT written back by an UPDATE with no lock, version check or serializable transaction",
        chapter: "lost-update/index.html",
        severity: Warning,
        opt_in: true,
        check: check,
    }
}

const RULE: &str = "lost-update";

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    // Most files run no SQL: nothing to parse.
    if !mentions_sql(ctx.source) {
        return;
    }
    let consts = sql::string_consts(ctx.items);
    let mysql = ctx.source.contains("MySql") || ctx.source.contains("mysql");
    // SQLite runs every transaction serializably (one writer at a time, and
    // a transaction that read a row another one has since written cannot
    // commit a write): a read-modify-write inside one is safe there.
    // A file that talks to SQLite only is judged as SQLite throughout; in a
    // file that also names another database, a function is, when it names
    // SQLite itself.
    let sqlite_only = (ctx.source.contains("Sqlite") || ctx.source.contains("sqlite"))
        && !["Pg", "postgres", "Postgres", "MySql", "mysql"]
            .iter()
            .any(|other| ctx.source.contains(other));
    let mut bodies = Vec::new();
    collect_fns(ctx.items, &mut bodies);
    for (name, block) in bodies {
        let mut walk = Walk::new(&consts);
        walk.visit_block(block);
        let sqlite = sqlite_only || {
            let tokens = block.to_token_stream().to_string();
            tokens.contains("sqlite") || tokens.contains("Sqlite")
        };
        walk.report(&name, block, Engine { mysql, sqlite }, out);
    }
}

/// Whether the file has a word a SQL statement this rule reads starts
/// with, or an ORM read and write it follows.
fn mentions_sql(source: &str) -> bool {
    let upper = source.to_ascii_uppercase();
    (upper.contains("UPDATE") && upper.contains("SELECT"))
        || (source.contains("find") && source.contains(".update("))
}

/// Every function body of the file, with the function's name.
fn collect_fns<'a>(items: &'a [Item], out: &mut Vec<(String, &'a syn::Block)>) {
    for item in items {
        match item {
            Item::Fn(f) => out.push((f.sig.ident.to_string(), &f.block)),
            Item::Impl(block) => {
                for member in &block.items {
                    if let syn::ImplItem::Fn(f) = member {
                        out.push((f.sig.ident.to_string(), &f.block));
                    }
                }
            }
            Item::Trait(t) => {
                for member in &t.items {
                    if let syn::TraitItem::Fn(f) = member
                        && let Some(block) = &f.default
                    {
                        out.push((f.sig.ident.to_string(), block));
                    }
                }
            }
            Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect_fns(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// One call that carries SQL text.
struct SqlCall {
    /// The call's place: from the `query!(`/`query(`/`execute(` to its end.
    region: Region,
    text: String,
    /// The text came from a constant, not from the call itself.
    from_const: bool,
    statements: Vec<Stmt>,
    /// What each bound parameter reads, by number - 1; `None` when the
    /// parameters are passed in a way this rule does not read.
    binds: Option<Vec<Bound>>,
    /// The methods called on the query after it (`rows_affected`,
    /// `fetch_optional`).
    methods: Vec<String>,
    /// The names its result is bound to.
    bound_to: Vec<String>,
    /// Where the call ends, to tell what is read after it.
    end: Position,
}

/// A bound parameter: the variables it reads, and the field path it is
/// when it is one (`user.name`), since a field assigned after the read is
/// not the read value any more.
struct Bound {
    reads: BTreeSet<String>,
    path: Option<String>,
}

struct Walk<'c> {
    consts: &'c HashMap<String, String>,
    calls: Vec<SqlCall>,
    /// Where each recorded text starts, so a chain seen from several of its
    /// calls is recorded once.
    seen: HashSet<(usize, usize)>,
    /// For each variable, the `SELECT` calls (by index) its value comes from.
    taint: HashMap<String, BTreeSet<usize>>,
    /// For a field assigned in the function (`user.balance = x`), the
    /// `SELECT`s its new value comes from.
    fields: HashMap<String, BTreeSet<usize>>,
    /// Every variable read, and where.
    reads: Vec<(String, Position)>,
    /// SQL text kept in a local first (`let update = "UPDATE ..";`).
    local_text: HashMap<String, String>,
    /// An ORM read takes a row lock somewhere in the function
    /// (sea-orm's `lock_exclusive()`, `lock(LockType::Update)`).
    orm_locked: bool,
    /// The ORM writes of a whole model (sea-orm's `active.update(db)`).
    orm_writes: Vec<OrmWrite>,
}

/// An ORM call that writes back a model: sea-orm's
/// `ActiveModelTrait::update` or `Entity::update(active).exec(db)`.
struct OrmWrite {
    region: Region,
    /// The path of the model it writes (`author_active`).
    model: String,
    /// The write compares a version in its own filter
    /// (`Entity::update(a).filter(Column::Version.eq(v))`): sea-orm then
    /// fails with `RecordNotUpdated` when a concurrent writer moved it.
    compares: bool,
}

impl<'c> Walk<'c> {
    fn new(consts: &'c HashMap<String, String>) -> Self {
        Walk {
            consts,
            calls: Vec::new(),
            seen: HashSet::new(),
            taint: HashMap::new(),
            fields: HashMap::new(),
            reads: Vec::new(),
            local_text: HashMap::new(),
            orm_locked: false,
            orm_writes: Vec::new(),
        }
    }

    /// The `SELECT`s a value read by `expr` comes from.
    fn sources(&self, names: &BTreeSet<String>) -> BTreeSet<usize> {
        names
            .iter()
            .filter_map(|name| self.taint.get(name))
            .flatten()
            .copied()
            .collect()
    }

    /// Binds the names of `pat` to the value of `expr`, whose evaluation
    /// recorded the SQL calls from index `first_call` on.
    fn bind(&mut self, pat: &syn::Pat, expr: &Expr, first_call: usize) {
        let names = pattern_names(pat);
        let mut from = self.sources(&idents_in(expr));
        for (index, call) in self.calls.iter_mut().enumerate().skip(first_call) {
            if call
                .statements
                .iter()
                .any(|s| matches!(s, Stmt::Select { .. }))
            {
                from.insert(index);
            }
            call.bound_to.extend(names.iter().cloned());
        }
        for name in names {
            self.taint.insert(name, from.clone());
        }
    }

    /// Records the SQL call `chain` (ending at `expr`) carries, if any.
    fn record(&mut self, chain: &Chain<'_>, expr: &Expr) {
        self.record_orm(chain);
        let methods: Vec<String> = chain.segments.iter().map(|s| s.method.clone()).collect();
        let end = Region::from_span(expr.span()).end;
        let root_binds = |chain: &Chain<'_>| -> Option<Vec<Bound>> {
            Some(bounds(
                chain
                    .segments
                    .iter()
                    .filter(|s| s.method == "bind")
                    .filter_map(|s| s.args.first().copied()),
            ))
        };
        match chain.root {
            Expr::Macro(mac) if is_query_macro(&mac.mac.path) => {
                let Some(args) = sql::macro_args(&mac.mac) else {
                    return;
                };
                let Some(at) = args.iter().position(|arg| self.text_of(arg).is_some()) else {
                    return;
                };
                let binds = bounds(args[at + 1..].iter());
                let start = Region::from_span(mac.mac.path.span()).start;
                self.push(&args[at], start, end, Some(binds), methods.clone());
            }
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else {
                    return;
                };
                let Some(last) = path.path.segments.last() else {
                    return;
                };
                let start = Region::from_span(call.func.span()).start;
                let name = last.ident.to_string();
                let args: Vec<&Expr> = call.args.iter().collect();
                match name.as_str() {
                    "query" | "query_as" | "query_scalar" | "query_with" | "query_as_with"
                    | "query_scalar_with" | "sql_query" => {
                        if let Some(text) = args.first() {
                            self.push(text, start, end, root_binds(chain), methods.clone());
                        }
                    }
                    "from_sql_and_values" | "from_string" => {
                        if let Some(text) = args.get(1) {
                            let binds = args.get(2).and_then(|values| elements(values));
                            self.push(text, start, end, binds, methods.clone());
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        // `client.execute("..", &[&a])`, `conn.query_row("..", params![a], ..)`.
        for segment in &chain.segments {
            if !matches!(
                segment.method.as_str(),
                "execute"
                    | "query"
                    | "query_one"
                    | "query_opt"
                    | "query_raw"
                    | "query_row"
                    | "query_map"
                    | "exec"
                    | "exec_drop"
                    | "exec_first"
                    | "batch_execute"
                    | "execute_batch"
                    | "prepare"
                    | "prepare_cached"
            ) {
                continue;
            }
            let Some(text) = segment.args.first() else {
                continue;
            };
            let binds = if segment.method.starts_with("prepare") {
                None
            } else {
                segment.args.get(1).and_then(|params| elements(params))
            };
            let start = Region::from_span(segment.expr.method.span()).start;
            let end = Region::from_span(segment.expr.span()).end;
            self.push(text, start, end, binds, methods.clone());
        }
    }

    /// Records an ORM read or write `chain` makes, if any: sea-orm's
    /// `Entity::find_by_id(..)` / `Entity::find()` ending in `.one(db)` or
    /// `.all(db)`, and a model written back with `active.update(db)` or
    /// `Entity::update(active)..exec(db)`.
    fn record_orm(&mut self, chain: &Chain<'_>) {
        let root_call = match chain.root {
            Expr::Call(call) => match &*call.func {
                // `Entity::find_by_id`: a type's function, not a free one.
                Expr::Path(path) if path.path.segments.len() >= 2 => path
                    .path
                    .segments
                    .last()
                    .map(|last| (last.ident.to_string(), call, path)),
                _ => None,
            },
            _ => None,
        };
        if let Some((name, call, path)) = &root_call
            && matches!(name.as_str(), "find_by_id" | "find")
            && chain
                .segments
                .iter()
                .any(|s| matches!(s.method.as_str(), "one" | "all"))
        {
            let at = Region::from_span(call.span()).start;
            if !self.seen.insert((at.line, at.column)) {
                return;
            }
            let locked = chain.segments.iter().any(|s| {
                matches!(
                    s.method.as_str(),
                    "lock" | "lock_shared" | "lock_exclusive" | "lock_with_behavior"
                )
            });
            self.orm_locked |= locked;
            // `User::find_by_id` reads `user`; `user::Entity::find_by_id`
            // names the entity by its module.
            let names: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect();
            let entity = names[..names.len() - 1]
                .iter()
                .rev()
                .find(|name| *name != "Entity")
                .unwrap_or(&names[0])
                .to_ascii_lowercase();
            let end = Region::from_span(chain.root.span()).end;
            self.calls.push(SqlCall {
                region: Region { start: at, end },
                text: String::new(),
                from_const: false,
                statements: vec![Stmt::Select {
                    tables: BTreeSet::from([entity]),
                    locked,
                }],
                binds: None,
                methods: chain.segments.iter().map(|s| s.method.clone()).collect(),
                bound_to: Vec::new(),
                end,
            });
            return;
        }
        // `Entity::update(active).filter(..).exec(db)`.
        if let Some((name, call, _)) = &root_call
            && name == "update"
            && chain.has("exec")
            && let Some(model) = call.args.first().and_then(field_path)
        {
            let at = Region::from_span(call.span()).start;
            if !self.seen.insert((at.line, at.column)) {
                return;
            }
            let compares = chain
                .segments
                .iter()
                .filter(|s| s.method == "filter")
                .flat_map(|s| s.args.iter())
                .any(|arg| {
                    let tokens = arg.to_token_stream().to_string().to_ascii_lowercase();
                    is_version_column(&tokens)
                });
            self.orm_writes.push(OrmWrite {
                region: Region {
                    start: at,
                    end: Region::from_span(call.span()).end,
                },
                model,
                compares,
            });
            return;
        }
        // `active.update(db)`: the receiver is the model written.
        for segment in &chain.segments {
            if segment.method != "update" || segment.args.len() != 1 {
                continue;
            }
            let Some(model) = field_path(&segment.expr.receiver) else {
                continue;
            };
            let at = Region::from_span(segment.expr.span()).start;
            if !self.seen.insert((at.line, at.column)) {
                continue;
            }
            self.orm_writes.push(OrmWrite {
                region: Region::from_span(segment.expr.span()),
                model,
                compares: false,
            });
        }
    }

    /// The SQL text of an argument: a literal, or a constant of the file.
    fn text_of(&self, arg: &Expr) -> Option<(String, bool)> {
        if let Some(text) = literal(arg) {
            return Some((text, false));
        }
        let inner = match arg {
            Expr::Reference(r) => &*r.expr,
            other => other,
        };
        let Expr::Path(path) = inner else { return None };
        if let Some(ident) = path.path.get_ident()
            && let Some(text) = self.local_text.get(&ident.to_string())
        {
            return Some((text.clone(), false));
        }
        let name = path.path.segments.last()?.ident.to_string();
        self.consts.get(&name).map(|text| (text.clone(), true))
    }

    fn push(
        &mut self,
        text_arg: &Expr,
        start: Position,
        end: Position,
        binds: Option<Vec<Bound>>,
        methods: Vec<String>,
    ) {
        let Some((text, from_const)) = self.text_of(text_arg) else {
            return;
        };
        let at = Region::from_span(text_arg.span()).start;
        if !self.seen.insert((at.line, at.column)) {
            return;
        }
        let Some(statements) = sql::parse(&text) else {
            // Not SQL any dialect reads: nothing to say about it.
            return;
        };
        self.calls.push(SqlCall {
            region: Region { start, end },
            text,
            from_const,
            statements,
            binds,
            methods,
            bound_to: Vec::new(),
            end,
        });
    }

    /// Whether a value bound as a parameter comes from the `SELECT` `select`.
    fn comes_from(&self, bound: &Bound, select: usize) -> bool {
        if let Some(path) = &bound.path
            && let Some(from) = self.fields.get(path)
        {
            return from.contains(&select);
        }
        self.sources(&bound.reads).contains(&select)
    }

    fn report(&self, function: &str, block: &syn::Block, engine: Engine, out: &mut Vec<Finding>) {
        // A transaction that cannot lose the update, or a lock on the
        // whole table, covers every pair in the function.
        let isolation = self
            .calls
            .iter()
            .filter_map(|call| sql::sets_isolation(&call.text))
            .chain(rust_isolation(block))
            .any(|level| level == Isolation::Serializable || !engine.mysql);
        if isolation
            || (engine.sqlite && begins_transaction(block))
            || self.orm_locked
            || self.calls.iter().any(|call| sql::takes_lock(&call.text))
        {
            return;
        }
        self.report_orm(function, out);
        for (u_index, update_call) in self.calls.iter().enumerate() {
            for stmt in &update_call.statements {
                let Stmt::Update(update) = stmt else { continue };
                let Some(binds) = &update_call.binds else {
                    continue;
                };
                // The unlocked reads of the same table before this write.
                let reads: Vec<usize> = self.calls[..u_index]
                    .iter()
                    .enumerate()
                    .filter(|(_, call)| {
                        call.statements.iter().any(|s| {
                            matches!(s, Stmt::Select { tables, locked: false } if tables.contains(&update.table))
                        })
                    })
                    .map(|(index, _)| index)
                    .collect();
                let written_back = reads.iter().copied().find(|select| {
                    update.sets.iter().any(|set| {
                        !set.reads_row
                            && set.params.iter().any(|n| {
                                binds
                                    .get(n - 1)
                                    .is_some_and(|bound| self.comes_from(bound, *select))
                            })
                    })
                });
                let Some(select) = written_back else { continue };
                let compares = update.where_columns.iter().any(|column| {
                    is_version_column(column)
                        || update.sets.iter().any(|set| set.columns.contains(column))
                });
                let checked = update_call.methods.iter().any(|m| m == "rows_affected")
                    || (update.returning
                        && update_call
                            .methods
                            .iter()
                            .any(|m| matches!(m.as_str(), "fetch_optional" | "query_opt")))
                    || self.reads.iter().any(|(name, at)| {
                        *at > update_call.end && update_call.bound_to.contains(name)
                    });
                if compares && checked {
                    continue;
                }
                let read = &self.calls[select];
                let confidence = if read.from_const || update_call.from_const {
                    Confidence::Medium
                } else {
                    Confidence::High
                };
                let help = if compares {
                    "check the rows the UPDATE affected and retry when none was (the version moved), or lock the row with SELECT .. FOR UPDATE"
                } else {
                    "compute the value in the UPDATE (`SET x = x - $1`), lock the row with SELECT .. FOR UPDATE, or compare a version in the WHERE clause and retry"
                };
                out.push(Finding {
                    rule: RULE,
                    region: update_call.region,
                    message: format!(
                        "`{function}` writes back to `{}` a value it read with a SELECT that took no lock: a concurrent writer's update in between is lost",
                        update.table
                    ),
                    help: Some(help.into()),
                    labels: vec![Label::here(
                        read.region,
                        "read here, with no FOR UPDATE",
                    )],
                    confidence,
                });
                break;
            }
        }
    }
}

impl Walk<'_> {
    /// An ORM write of a model one of whose fields was set from a value an
    /// unlocked read returned. The fields that only name the row (`id`) are
    /// left out: setting the key from the row read is how an ORM finds the
    /// row, not a value written back.
    fn report_orm(&self, function: &str, out: &mut Vec<Finding>) {
        for write in &self.orm_writes {
            if write.compares {
                continue;
            }
            let prefix = format!("{}.", write.model);
            let read = self
                .fields
                .iter()
                .filter(|(path, _)| {
                    path.strip_prefix(&prefix)
                        .is_some_and(|field| field != "id" && !field.contains('.'))
                })
                .flat_map(|(_, from)| from.iter().copied())
                .filter(|index| *index < self.calls.len())
                .filter_map(|index| match self.calls[index].statements.first() {
                    Some(Stmt::Select {
                        tables,
                        locked: false,
                    }) => Some((index, tables)),
                    _ => None,
                })
                // The last read before the write is the row written back:
                // earlier ones (the list a loop walks) only led to it.
                .max_by_key(|(index, _)| *index);
            let Some((index, tables)) = read else {
                continue;
            };
            let table = tables.iter().next().cloned().unwrap_or_default();
            out.push(Finding {
                rule: RULE,
                region: write.region,
                message: format!(
                    "`{function}` writes back to `{table}` a model field computed from a value it read with no lock: a concurrent writer's update in between is lost"
                ),
                help: Some(
                    "let the database do the arithmetic (`update_many().col_expr(col, Expr::col(col).add(n))`), read with `.lock_exclusive()` in a transaction, or filter the update on a version column and retry when it fails".into(),
                ),
                labels: vec![Label::here(
                    self.calls[index].region,
                    "read here, with no lock",
                )],
                // The model and its fields are followed by name only.
                confidence: Confidence::Medium,
            });
        }
    }
}

impl<'ast> Visit<'ast> for Walk<'_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        let Some(init) = &local.init else {
            return;
        };
        if let (syn::Pat::Ident(name), Some(text)) = (&local.pat, literal(&init.expr)) {
            self.local_text.insert(name.ident.to_string(), text);
        }
        let first = self.calls.len();
        self.visit_expr(&init.expr);
        if let Some((_, diverge)) = &init.diverge {
            self.visit_expr(diverge);
        }
        self.bind(&local.pat, &init.expr, first);
        // `let active = ActiveModel { karma: Set(user.karma + 1), .. }`:
        // each field set is a field of the model written later.
        if let Expr::Struct(model) = &*init.expr
            && let Some(name) = pattern_names(&local.pat).into_iter().next()
        {
            for field in &model.fields {
                if let syn::Member::Named(member) = &field.member {
                    let from = self.sources(&idents_in(&field.expr));
                    self.fields.insert(format!("{name}.{member}"), from);
                }
            }
        }
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::MethodCall(_) | Expr::Macro(_) | Expr::Call(_) => {
                let chain = Chain::of(expr);
                self.record(&chain, expr);
                if let Expr::Path(path) = chain.root
                    && path.path.segments.len() == 1
                {
                    // The root is read by the chain.
                    let at = Region::from_span(expr.span()).start;
                    self.reads
                        .push((path.path.segments[0].ident.to_string(), at));
                }
                syn::visit::visit_expr(self, expr);
            }
            Expr::Path(path) => {
                if let Some(ident) = path.path.get_ident() {
                    let at = Region::from_span(expr.span()).start;
                    self.reads.push((ident.to_string(), at));
                }
            }
            Expr::Assign(assign) => {
                let first = self.calls.len();
                self.visit_expr(&assign.right);
                let from = self.sources(&idents_in(&assign.right));
                let mut from_calls = from;
                for (index, call) in self.calls.iter().enumerate().skip(first) {
                    if call
                        .statements
                        .iter()
                        .any(|s| matches!(s, Stmt::Select { .. }))
                    {
                        from_calls.insert(index);
                    }
                }
                if let Some(path) = field_path(&assign.left) {
                    if path.contains('.') {
                        self.fields.insert(path, from_calls);
                    } else {
                        self.taint.insert(path, from_calls);
                    }
                }
            }
            Expr::Binary(binary) if is_compound_assign(&binary.op) => {
                self.visit_expr(&binary.right);
                let from = self.sources(&idents_in(&binary.right));
                if let Some(path) = field_path(&binary.left) {
                    let slot = if path.contains('.') {
                        self.fields.entry(path).or_default()
                    } else {
                        self.taint.entry(path).or_default()
                    };
                    slot.extend(from);
                }
            }
            Expr::ForLoop(for_loop) => {
                let first = self.calls.len();
                self.visit_expr(&for_loop.expr);
                self.bind(&for_loop.pat, &for_loop.expr, first);
                self.visit_block(&for_loop.body);
            }
            Expr::Let(let_expr) => {
                let first = self.calls.len();
                self.visit_expr(&let_expr.expr);
                self.bind(&let_expr.pat, &let_expr.expr, first);
            }
            Expr::Match(match_expr) => {
                let first = self.calls.len();
                self.visit_expr(&match_expr.expr);
                for arm in &match_expr.arms {
                    self.bind(&arm.pat, &match_expr.expr, first);
                }
                for arm in &match_expr.arms {
                    self.visit_arm(arm);
                }
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    // Items nested in a function are functions of their own.
    fn visit_item(&mut self, _item: &'ast Item) {}
}

fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitOrAssign(_)
            | BitAndAssign(_)
            | BitXorAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// `sqlx::query!`, `query_as!`, `query_scalar!` and their `_unchecked` forms.
fn is_query_macro(path: &syn::Path) -> bool {
    path.segments.last().is_some_and(|segment| {
        matches!(
            segment.ident.to_string().trim_end_matches("_unchecked"),
            "query" | "query_as" | "query_scalar"
        )
    })
}

/// What each of a list of bound values reads.
fn bounds<'e>(exprs: impl Iterator<Item = &'e Expr>) -> Vec<Bound> {
    exprs
        .map(|expr| Bound {
            reads: idents_in(expr),
            path: field_path(expr),
        })
        .collect()
}

/// The values of a parameter list: `&[&a, &b]`, `[a.into()]`, `vec![..]`,
/// `params![..]`, `(a, b)`.
fn elements(expr: &Expr) -> Option<Vec<Bound>> {
    match expr {
        Expr::Reference(r) => elements(&r.expr),
        Expr::Paren(p) => elements(&p.expr),
        Expr::Array(array) => Some(bounds(array.elems.iter())),
        Expr::Tuple(tuple) => Some(bounds(tuple.elems.iter())),
        Expr::Macro(mac) => sql::macro_args(&mac.mac).map(|args| bounds(args.iter())),
        _ => None,
    }
}

/// The field path an expression names, looking through `&`, `*`,
/// `.clone()` and conversions: `&user.balance` is `user.balance`.
fn field_path(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Reference(r) => field_path(&r.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => field_path(&u.expr),
        Expr::Paren(p) => field_path(&p.expr),
        Expr::MethodCall(call)
            if call.args.is_empty()
                && matches!(
                    call.method.to_string().as_str(),
                    "clone" | "to_owned" | "to_string" | "as_str" | "as_ref" | "into"
                ) =>
        {
            field_path(&call.receiver)
        }
        Expr::Path(path) => path.path.get_ident().map(|ident| ident.to_string()),
        Expr::Field(field) => {
            let base = field_path(&field.base)?;
            let member = match &field.member {
                syn::Member::Named(ident) => ident.to_string(),
                syn::Member::Unnamed(index) => index.index.to_string(),
            };
            Some(format!("{base}.{member}"))
        }
        _ => None,
    }
}

/// What the file says about the database it talks to.
#[derive(Clone, Copy)]
struct Engine {
    /// MySQL/InnoDB: its repeatable read does not stop a lost update.
    mysql: bool,
    /// SQLite: every transaction is serializable.
    sqlite: bool,
}

/// Whether the function starts a transaction: `pool.begin()`,
/// `conn.transaction()`, `BEGIN` in SQL.
fn begins_transaction(block: &syn::Block) -> bool {
    let tokens = block.to_token_stream().to_string();
    tokens.contains(". begin ()")
        || tokens.contains(". transaction ()")
        || tokens.contains(". transaction_with_behavior (")
        || tokens.contains("\"BEGIN")
}

/// A column that versions a row, for an optimistic compare.
fn is_version_column(column: &str) -> bool {
    [
        "version",
        "revision",
        "etag",
        "lock",
        "updated_at",
        "modified_at",
        "seq",
    ]
    .iter()
    .any(|word| column.contains(word))
}

/// A Rust-side isolation level in the function: diesel's
/// `.build_transaction().serializable()` / `.repeatable_read()`.
fn rust_isolation(block: &syn::Block) -> Option<Isolation> {
    let tokens = block.to_token_stream().to_string();
    if tokens.contains("serializable ()") || tokens.contains("Serializable") {
        Some(Isolation::Serializable)
    } else if tokens.contains("repeatable_read ()") || tokens.contains("RepeatableRead") {
        Some(Isolation::RepeatableRead)
    } else {
        None
    }
}
