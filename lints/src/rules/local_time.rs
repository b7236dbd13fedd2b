//! `local-time`: a local-time timestamp that reaches an event or stored data.

use std::collections::{BTreeMap, BTreeSet};

use syn::spanned::Spanned;
use syn::{Expr, Stmt};

use crate::analysis::imports::Imports;
use crate::analysis::macros::{self, MacroBody};
use crate::analysis::types::{MessageKind, TypeInfo};
use crate::analysis::{FileAnalysis, user_apis};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding, Region};

declare_rule! {
    /// ## What it does
    /// Finds timestamps taken in the machine's local time zone that end up
    /// in an event, a message or stored data: chrono's `Local::now()`,
    /// `Local::today()` and `.with_timezone(&Local)`, the time crate's
    /// `OffsetDateTime::now_local()`, jiff's `Zoned::now()`, fields of type
    /// `DateTime<Local>` in any type that derives `Serialize`, and fields of
    /// type `NaiveDateTime` in a serialized event, command or message type.
    ///
    /// ## Why is this bad?
    /// Events outlive the machine that wrote them. A consumer in another
    /// zone, a server moved to another region, or the night the clocks go
    /// back reads a local timestamp wrongly: orders appear to happen twice
    /// or in the wrong order, and a naive timestamp does not even say which
    /// zone it meant. Store and send UTC; convert to local time only to show
    /// it to a person.
    ///
    /// ## Example
    /// ```rust
    /// use chrono::{DateTime, Local};
    /// use serde::Serialize;
    ///
    /// #[derive(Serialize)]
    /// struct OrderPlaced {
    ///     order_id: String,
    ///     placed_at: DateTime<Local>,
    /// }
    ///
    /// fn placed(order_id: String) -> OrderPlaced {
    ///     OrderPlaced { order_id, placed_at: Local::now() }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use chrono::{DateTime, Local, Utc};
    /// use serde::Serialize;
    ///
    /// #[derive(Serialize)]
    /// struct OrderPlaced {
    ///     order_id: String,
    ///     placed_at: DateTime<Utc>,
    /// }
    ///
    /// fn placed(order_id: String) -> OrderPlaced {
    ///     // Local time is fine in a log line.
    ///     tracing::info!(at = %Local::now(), "order placed");
    ///     OrderPlaced { order_id, placed_at: Utc::now() }
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// The rule follows a local time through `let` bindings and
    /// conversions (`to_rfc3339()`, `naive_local()`, `format(..)`) inside
    /// one function; a value passed to a helper that only logs it is still
    /// reported, and one formatted into a string with `format!` and then
    /// published is not. A struct literal of a type declared elsewhere is
    /// data when the type's name says it is a message (`OrderEvent`,
    /// `AuditRecord`) or the field's name says it holds a time
    /// (`recorded_at`); so is a setter or builder call on a message
    /// (`message.set_sent_at(..)`, `OrderEvent::builder().occurred_at(..)`).
    /// Those rest on names, so they are `medium`; text formatted for a
    /// person (a pattern with no zone that is not a whole date and time,
    /// `format("%H:%M")`) in a time field of a type that is not a message
    /// is display, while a zone-less date and time
    /// (`format("%Y-%m-%d %H:%M:%S")`) is a timestamp wherever it is stored. A Unix timestamp
    /// (`.timestamp()`) is the same in every zone and is not reported. A value inserted into an in-memory map or set (a
    /// local one, or a collection field of a type that is not persisted) is
    /// not data; a serialized type that is not a message (an HTTP response
    /// body) is still taken for data. A type counts as a message when it derives
    /// `Serialize` and its name ends in `Event`, `Command`, `Message`,
    /// `Envelope` or `Notification`, is in the past tense (`OrderPlaced`,
    /// `InvoiceSent`), or has an `event_id` or `message_id` field, or when it
    /// is listed in the config's `wrappers.event-types`.
    ///
    /// ## Chapter
    /// Chapter 10, "You accepted bad event formats", its section on timestamps
    /// in local time: `event-formats/index.html#timestamps-in-local-time`.
    pub static LOCAL_TIME = {
        name: "local-time",
        summary: "a local-time timestamp that reaches an event, a message or stored data",
        chapter: "event-formats/index.html#timestamps-in-local-time",
        severity: Warning,
        check: check,
    }
}

const RULE: &str = "local-time";

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    let analysis = FileAnalysis::of(ctx, user_apis(ctx));
    fields(&analysis.types, ctx, out);
    // Every local-time source this rule knows comes from these crates.
    if !analysis.imports.has_any(&["chrono", "time", "jiff"]) {
        return;
    }
    // Nor can a file hold one whose text never names its type: most files
    // that use chrono use only `Utc`, and the walk below reads every
    // function.
    if !may_name_a_source(ctx.source) {
        return;
    }
    let declared = declared_types(ctx.items);
    let memory = in_memory_fields(ctx.items);
    let mut finder = Finder {
        imports: &analysis.imports,
        event_types: &user_apis(ctx).event_types,
        declared: &declared,
        memory: &memory,
        self_type: None,
        out,
    };
    for item in ctx.items {
        finder.item(item);
    }
}

/// The type names every local-time source is spelt with, written at the
/// call or, through a `use` item of the same file, in its path (`use
/// chrono::Local as Clock;`): `Local::now()`, `Local::today()`,
/// `with_timezone(&Local)`, `OffsetDateTime::now_local()`, `Zoned::now()`
/// (see `Walk::source` and `tokens_call_local_now`).
const SOURCE_TYPES: &[&str] = &["Local", "OffsetDateTime", "Zoned"];

/// Whether a file's text names a type a local-time source is made from:
/// `false` means the walk for sources would find none (a file's paths
/// resolve only through its own `use` items, whose text is in it).
fn may_name_a_source(text: &str) -> bool {
    SOURCE_TYPES.iter().any(|name| text.contains(name))
}

/// `DateTime<Local>` fields of serialized types, and `NaiveDateTime` fields
/// of serialized message types.
///
/// A `DateTime<Local>` field is the local zone written into the type
/// itself: whatever serializes it (a message, a queue item, a reply) sends
/// the writer's zone, so the field is reported in any type that derives
/// `Serialize`, whatever its name (`DoorState`, `NotifyQueueItem`). A naive
/// field says nothing about its zone (`Utc::now().naive_utc()` fills one
/// as well), so it is reported only in a message type, where a zone-less
/// time is read by other services.
fn fields(types: &[TypeInfo], ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    for info in types.iter().filter(|info| info.serialized) {
        for field in &info.fields {
            let ty = field.ty.as_str();
            let local = ty.contains("DateTime<Local>")
                || ty.contains("DateTime<chrono::Local>")
                || ty.contains("DateTime<chrono::offset::Local>");
            let naive = ty.contains("NaiveDateTime") || ty.contains("PrimitiveDateTime");
            let kind = crate::analysis::message_kind(info, ctx);
            let what = match kind {
                Some(_) if local || naive => "a serialized message type",
                // Known to be sent or stored by its derive, not by its name.
                None if local => "a serialized type",
                _ => continue,
            };
            out.push(Finding {
                rule: RULE,
                region: field.region,
                message: format!(
                    "`{}.{}` is a {} timestamp in {what}",
                    info.name,
                    field.name,
                    if local { "local-time" } else { "zone-less (naive)" }
                ),
                help: Some("store `DateTime<Utc>` (or an offset-carrying UTC time) and convert only for display".into()),
                labels: Vec::new(),
                confidence: kind_confidence(kind),
            });
        }
    }
}

/// How sure a type is a message: named in config, or holding a message's
/// own id field, it is; taken for one by its name (`...Event`, a past
/// tense), it is a guess, as `missing-idempotency-key` also rates it.
fn kind_confidence(kind: Option<MessageKind>) -> Confidence {
    match kind {
        Some(MessageKind::Configured | MessageKind::Identified) => Confidence::High,
        _ => Confidence::Medium,
    }
}

/// How the value of the expression being visited is used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Use {
    /// It is stored or sent: a field of a serialized type of this file, a
    /// `json!` body, a database bind, a client crate's publish.
    Data,
    /// It is handed to a call whose name usually stores or sends
    /// (`push`, `insert`, `save`): data, though known by a name only.
    LikelyData,
    /// It is passed to some function or method we cannot see into.
    Arg,
    /// It is returned from the function.
    Returned,
    /// It only reaches a log line or a display.
    Display,
    /// It is compared, converted to UTC, or reduced to a number (an hour,
    /// a Unix timestamp): the local zone does not reach data.
    Neutral,
    /// It is bound to variables; their uses decide.
    Bound,
    /// It is bound to variables as formatted text.
    BoundText,
    /// It is bound to variables as text for a person (`format("%H:%M")`).
    BoundDisplay,
    /// It is a field of a message whose type is not declared here but
    /// whose name says it is one (`OrderEvent { at: .. }`), or is set on a
    /// message (`message.set_sent_at(..)`): data in any form, though
    /// recognised by names.
    MessageField,
    /// It is a field, setter or builder call whose name says it holds a
    /// time (`recorded_at`, `set_timestamp`) on a type not declared here:
    /// data when machine-readable, display when formatted for a person.
    TimeField,
}

/// The form a tracked local time takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    /// The time itself (or a shifted, naive or truncated copy).
    Value,
    /// Text a machine reads back (`to_rfc3339()`, `to_string()`).
    Text,
    /// Text for a person (`format("%H:%M")`, a pattern with no zone).
    Display,
}

impl Use {
    /// The use of a local time formatted as text: text handed to some
    /// function or returned is display (a label, a file name, a log line)
    /// unless it lands in data.
    fn as_text(self) -> Use {
        match self {
            Use::Arg | Use::Returned => Use::Display,
            Use::Bound => Use::BoundText,
            other => other,
        }
    }

    /// The use of a local time formatted for a person: display everywhere
    /// but in data a type of this file or a message says it stores.
    fn as_display(self) -> Use {
        match self {
            Use::Arg | Use::Returned | Use::TimeField | Use::LikelyData => Use::Display,
            Use::Bound | Use::BoundText => Use::BoundDisplay,
            other => other,
        }
    }

    /// The use of a value of the given form.
    fn of_form(self, form: Form) -> Use {
        match form {
            Form::Value => self,
            Form::Text => self.as_text(),
            Form::Display => self.as_display(),
        }
    }
}

/// Functions and methods of the database, broker and serde APIs that
/// store, send or serialize what they are given: an SQL bind, a MongoDB
/// insert, a publish of a client crate, a serialization.
const STORE_APIS: &[&str] = &[
    "bind",
    "insert_one",
    "insert_many",
    "execute",
    "send_message",
    "basic_publish",
    "xadd",
    "write_event",
    "to_vec",
    "to_string_pretty",
    "to_writer",
    "to_value",
];

/// Names that usually store or send what they are given, but are also
/// the names of in-memory collections and builders (`vec.push(..)`,
/// `map.insert(..)`, `set.add(..)`): data by name only, so `medium`.
const LIKELY_SINKS: &[&str] = &[
    "insert",
    "send",
    "publish",
    "save",
    "create",
    "values",
    "set",
    "with_timestamp",
    "timestamp",
    "push",
    "add",
    "update",
    "upsert",
    "append",
    "emit",
];

struct Finder<'a, 'o> {
    imports: &'a Imports,
    /// The event types the user named in config (`wrappers.event-types`).
    event_types: &'a [String],
    /// The structs and enum variants this file declares, and whether each
    /// is persisted or sent (derives `Serialize` or a database model).
    declared: &'a BTreeMap<String, bool>,
    /// In-memory collection fields of the file's types that are not
    /// persisted: `(type, field)`.
    memory: &'a BTreeSet<(String, String)>,
    /// The type of the `impl` being walked, for `Self { .. }`.
    self_type: Option<String>,
    out: &'o mut Vec<Finding>,
}

/// One local-time source in a function.
struct Source {
    region: Region,
    what: String,
    confidence: Confidence,
}

impl Finder<'_, '_> {
    fn item(&mut self, item: &syn::Item) {
        match item {
            syn::Item::Fn(item) => self.body(&item.block),
            syn::Item::Impl(item) => {
                self.self_type = match &*item.self_ty {
                    syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                for inner in &item.items {
                    if let syn::ImplItem::Fn(method) = inner {
                        self.body(&method.block);
                    }
                }
                self.self_type = None;
            }
            syn::Item::Trait(item) => {
                for inner in &item.items {
                    if let syn::TraitItem::Fn(method) = inner
                        && let Some(block) = &method.default
                    {
                        self.body(block);
                    }
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    for item in items {
                        self.item(item);
                    }
                }
            }
            syn::Item::Const(item) => self.body_expr(&item.expr),
            syn::Item::Static(item) => self.body_expr(&item.expr),
            _ => {}
        }
    }

    fn body_expr(&mut self, expr: &Expr) {
        let mut walk = Walk::new(
            self.imports,
            self.event_types,
            self.declared,
            self.memory,
            self.self_type.clone(),
        );
        walk.expr(expr, Use::Data);
        self.report(walk);
    }

    /// One function: find the sources, then follow the variables they are
    /// bound to through the rest of the body (a few rounds, for
    /// `let now = Local::now(); let stamp = now.naive_local();`).
    fn body(&mut self, block: &syn::Block) {
        let mut walk = Walk::new(
            self.imports,
            self.event_types,
            self.declared,
            self.memory,
            self.self_type.clone(),
        );
        walk.block(block, Use::Returned);
        walk.following = true;
        for _ in 0..3 {
            if walk.tracked.is_empty() {
                break;
            }
            let before = walk.tracked.len();
            walk.block(block, Use::Returned);
            if walk.tracked.len() == before {
                break;
            }
        }
        self.report(walk);
    }

    fn report(&mut self, walk: Walk<'_>) {
        for (index, source) in walk.sources.iter().enumerate() {
            let Some((sink, strength)) = walk.sunk.get(&index) else {
                continue;
            };
            let mut labels = Vec::new();
            if *sink != source.region {
                labels.push(crate::finding::Label {
                    region: *sink,
                    message: "the local time reaches data here".into(),
                    path: None,
                });
            }
            self.out.push(Finding {
                rule: RULE,
                region: source.region,
                message: format!("`{}` takes the local time zone, and the value reaches stored or sent data", source.what),
                help: Some("use `Utc::now()` (or `OffsetDateTime::now_utc()`, `Timestamp::now()`); convert to local time only for display".into()),
                labels,
                confidence: source.confidence.min(*strength),
            });
        }
    }
}

/// The walk of one body.
struct Walk<'a> {
    imports: &'a Imports,
    /// The event types the user named in config.
    event_types: &'a [String],
    declared: &'a BTreeMap<String, bool>,
    memory: &'a BTreeSet<(String, String)>,
    /// Locals that are in-memory collections (`let mut seen = HashMap::new()`).
    memory_locals: BTreeSet<String>,
    self_type: Option<String>,
    sources: Vec<Source>,
    /// Source index -> where its value reached data, and how surely.
    sunk: BTreeMap<usize, (Region, Confidence)>,
    /// Variables that hold a local time: the source, and whether as text.
    tracked: BTreeMap<String, (usize, Form)>,
    /// The source whose value the expression being visited carries.
    carrying: Option<(usize, Form)>,
    /// Second and later rounds only follow variables (sources are known).
    following: bool,
    depth: usize,
}

impl<'a> Walk<'a> {
    fn new(
        imports: &'a Imports,
        event_types: &'a [String],
        declared: &'a BTreeMap<String, bool>,
        memory: &'a BTreeSet<(String, String)>,
        self_type: Option<String>,
    ) -> Self {
        Walk {
            imports,
            event_types,
            declared,
            memory,
            memory_locals: BTreeSet::new(),
            self_type,
            sources: Vec::new(),
            sunk: BTreeMap::new(),
            tracked: BTreeMap::new(),
            carrying: None,
            following: false,
            depth: 0,
        }
    }

    fn block(&mut self, block: &syn::Block, tail: Use) {
        let count = block.stmts.len();
        for (index, stmt) in block.stmts.iter().enumerate() {
            let last = index + 1 == count;
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &local.init {
                        let names = crate::analysis::chain::pattern_names(&local.pat);
                        let typed = quote::ToTokens::to_token_stream(&local.pat).to_string();
                        let value = quote::ToTokens::to_token_stream(&*init.expr).to_string();
                        // Maps and sets only: a `Vec` is as often a batch
                        // about to be sent.
                        let lookup = |text: &str| is_collection(text) && !text.contains("Vec");
                        if lookup(&typed) || lookup(value.split('(').next().unwrap_or_default()) {
                            self.memory_locals.extend(names.iter().cloned());
                        }
                        if let Some(carried) = self.value(&init.expr, Use::Bound) {
                            for name in names {
                                self.tracked.entry(name).or_insert(carried);
                            }
                        }
                        if let Some((_, otherwise)) = &init.diverge {
                            self.expr(otherwise, Use::Neutral);
                        }
                    }
                }
                Stmt::Expr(expr, semi) => {
                    let use_ = if last && semi.is_none() {
                        tail
                    } else {
                        Use::Neutral
                    };
                    self.expr(expr, use_);
                }
                Stmt::Macro(mac) => self.mac(&mac.mac, Use::Neutral),
                Stmt::Item(_) => {}
            }
        }
    }

    /// Visits `expr` used as `use_`, and returns the source its value
    /// carries, if any (for bindings).
    fn value(&mut self, expr: &Expr, use_: Use) -> Option<(usize, Form)> {
        let saved = self.carrying.take();
        self.expr(expr, use_);
        let carried = self.carrying.take();
        self.carrying = saved;
        carried
    }

    /// The value of a source reaches `use_` at `region`.
    fn reach(&mut self, source: usize, use_: Use, region: Region) {
        let strength = match use_ {
            Use::Data => Confidence::High,
            // Known to be data by names only.
            Use::MessageField | Use::TimeField | Use::LikelyData => Confidence::Medium,
            Use::Arg | Use::Returned => Confidence::Medium,
            Use::Bound => {
                self.carrying = Some((source, Form::Value));
                return;
            }
            Use::BoundText => {
                self.carrying = Some((source, Form::Text));
                return;
            }
            Use::BoundDisplay => {
                self.carrying = Some((source, Form::Display));
                return;
            }
            Use::Display | Use::Neutral => return,
        };
        let entry = self.sunk.entry(source).or_insert((region, strength));
        if strength > entry.1 {
            *entry = (region, strength);
        }
    }

    fn expr(&mut self, expr: &Expr, use_: Use) {
        if self.depth > 400 {
            return;
        }
        self.depth += 1;
        self.expr_inner(expr, use_);
        self.depth -= 1;
    }

    fn expr_inner(&mut self, expr: &Expr, use_: Use) {
        let region = Region::from_span(expr.span());
        // A source itself: `Local::now()`, `x.with_timezone(&Local)`.
        if !self.following
            && let Some((what, confidence)) = self.source(expr)
        {
            self.sources.push(Source {
                region,
                what,
                confidence,
            });
            let index = self.sources.len() - 1;
            self.reach(index, use_, region);
            if let Expr::MethodCall(call) = expr {
                self.expr(&call.receiver, Use::Neutral);
            }
            return;
        }
        if self.following && self.source(expr).is_some() {
            return;
        }
        match expr {
            Expr::Path(path) if path.path.segments.len() == 1 => {
                let name = path.path.segments[0].ident.to_string();
                if self.following
                    && let Some((source, form)) = self.tracked.get(&name).copied()
                {
                    self.reach(source, use_.of_form(form), region);
                }
            }
            Expr::MethodCall(_) => self.chain(expr, use_),
            Expr::Call(call) => {
                // `Some(x)`, `Ok(x)`, `Box::new(x)` keep the value as it is;
                // a storing function takes it as data; any other call as an
                // argument.
                let last = match &*call.func {
                    Expr::Path(p) => p
                        .path
                        .segments
                        .last()
                        .map(|s| s.ident.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                // `Timelike::hour(&now)`: a method in its fully qualified
                // form, reducing the time like `now.hour()` does.
                let qualified_reduction = matches!(&*call.func, Expr::Path(p)
                    if p.path.segments.len() >= 2
                        && p.path.segments[p.path.segments.len() - 2]
                            .ident
                            .to_string()
                            .starts_with(|c: char| c.is_ascii_uppercase()))
                    && REDUCTIONS.contains(&last.as_str());
                let arg_use = if qualified_reduction {
                    Use::Neutral
                } else if matches!(last.as_str(), "Some" | "Ok" | "Err" | "Box" | "from") {
                    use_
                } else if STORE_APIS.contains(&last.as_str()) {
                    Use::Data
                } else if LIKELY_SINKS.contains(&last.as_str()) {
                    Use::LikelyData
                } else {
                    Use::Arg
                };
                for arg in &call.args {
                    self.expr(arg, arg_use);
                }
            }
            Expr::Macro(mac) => self.mac(&mac.mac, use_),
            Expr::Binary(binary) => {
                // `now + Duration::hours(1)` and `now - TimeDelta::days(1)`
                // are still local times; a comparison or the difference of
                // two times is not.
                let shifted = match binary.op {
                    syn::BinOp::Add(_) => true,
                    syn::BinOp::Sub(_) => is_duration(&binary.right),
                    _ => false,
                };
                self.expr(&binary.left, if shifted { use_ } else { Use::Neutral });
                self.expr(&binary.right, Use::Neutral);
            }
            Expr::Reference(inner) => self.expr(&inner.expr, use_),
            Expr::Paren(inner) => self.expr(&inner.expr, use_),
            Expr::Group(inner) => self.expr(&inner.expr, use_),
            Expr::Try(inner) => self.expr(&inner.expr, use_),
            Expr::Await(inner) => self.expr(&inner.base, use_),
            Expr::Cast(inner) => self.expr(&inner.expr, Use::Neutral),
            Expr::Unary(inner) => self.expr(&inner.expr, Use::Neutral),
            Expr::Field(inner) => self.expr(&inner.base, Use::Neutral),
            Expr::Struct(strukt) => {
                // A type of this file that is neither serialized nor a
                // database model is in-memory state (a timer, a UI model);
                // one from elsewhere may be either.
                let name = strukt
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                let name = if name == "Self" {
                    self.self_type.clone().unwrap_or(name)
                } else {
                    name
                };
                let declared = self.declared.get(&name).copied();
                let message = declared.is_none() && self.names_message(&name);
                for field in &strukt.fields {
                    // A type from elsewhere (another module, another
                    // crate) is data when its name says it is a message,
                    // or in a field whose name says it holds a time.
                    let field_use = match declared {
                        Some(true) => Use::Data,
                        Some(false) => Use::Neutral,
                        None if message => Use::MessageField,
                        None => match &field.member {
                            syn::Member::Named(member) if is_time_field(&member.to_string()) => {
                                Use::TimeField
                            }
                            _ => Use::Arg,
                        },
                    };
                    self.expr(&field.expr, field_use);
                }
                if let Some(rest) = &strukt.rest {
                    self.expr(rest, Use::Neutral);
                }
            }
            Expr::Tuple(tuple) => tuple.elems.iter().for_each(|elem| self.expr(elem, use_)),
            Expr::Array(array) => array
                .elems
                .iter()
                .for_each(|elem| self.expr(elem, Use::Data)),
            Expr::Assign(assign) => {
                self.expr(&assign.left, Use::Neutral);
                // `self.at = x` and `event.at = x` store; `at = x` rebinds.
                let target = match &*assign.left {
                    Expr::Path(_) => Use::Bound,
                    Expr::Field(field) => self.field_store(field),
                    _ => Use::LikelyData,
                };
                let carried = self.value(&assign.right, target);
                if let (Some(carried), Some(name)) =
                    (carried, crate::analysis::chain::root_ident(&assign.left))
                {
                    self.tracked.entry(name).or_insert(carried);
                }
            }
            Expr::Return(ret) => {
                if let Some(value) = &ret.expr {
                    self.expr(value, Use::Returned);
                }
            }
            Expr::Block(block) => self.block(&block.block, use_),
            Expr::Unsafe(block) => self.block(&block.block, use_),
            Expr::Async(block) => self.block(&block.block, Use::Arg),
            Expr::Closure(closure) => self.expr(&closure.body, Use::Arg),
            Expr::If(expr_if) => {
                self.expr(&expr_if.cond, Use::Neutral);
                self.block(&expr_if.then_branch, use_);
                if let Some((_, otherwise)) = &expr_if.else_branch {
                    self.expr(otherwise, use_);
                }
            }
            Expr::Match(expr_match) => {
                self.expr(&expr_match.expr, Use::Neutral);
                for arm in &expr_match.arms {
                    self.expr(&arm.body, use_);
                }
            }
            Expr::Let(expr_let) => self.expr(&expr_let.expr, Use::Neutral),
            Expr::ForLoop(for_loop) => {
                self.expr(&for_loop.expr, Use::Neutral);
                self.block(&for_loop.body, Use::Neutral);
            }
            Expr::While(expr_while) => {
                self.expr(&expr_while.cond, Use::Neutral);
                self.block(&expr_while.body, Use::Neutral);
            }
            Expr::Loop(expr_loop) => self.block(&expr_loop.body, Use::Neutral),
            Expr::Index(index) => {
                self.expr(&index.expr, Use::Neutral);
                self.expr(&index.index, Use::Neutral);
            }
            _ => {}
        }
    }

    /// A method chain. Conversions to UTC and reductions to a number end
    /// the local zone's reach; formatting turns the value into text (which
    /// counts only where it lands in data); any other method's receiver is
    /// a different value, and its arguments are stored or passed on.
    fn chain(&mut self, expr: &Expr, use_: Use) {
        let Expr::MethodCall(call) = expr else { return };
        let method = call.method.to_string();
        let receiver_use = if neutralises(&method, call) {
            Use::Neutral
        } else if method == "format" && formats_for_a_person(call) {
            use_.as_display()
        } else if matches!(
            method.as_str(),
            "format" | "to_rfc3339" | "to_rfc2822" | "to_string" | "to_rfc3339_opts"
        ) {
            use_.as_text()
        } else if matches!(
            method.as_str(),
            "clone"
                | "naive_local"
                | "date"
                | "date_naive"
                | "time"
                | "into"
                | "to_owned"
                | "fixed_offset"
                // A local wall clock labelled UTC is still the local time.
                | "and_utc"
                | "unwrap"
                | "expect"
                | "single"
                | "earliest"
                | "latest"
                | "unwrap_or_default"
                | "ok"
                // Shifted or rounded, a local time stays local.
                | "checked_add"
                | "checked_sub"
                | "saturating_add"
                | "saturating_sub"
                | "checked_add_signed"
                | "checked_sub_signed"
                | "add"
                | "with_hour"
                | "with_minute"
                | "with_second"
                | "with_nanosecond"
                | "with_day"
                | "with_month"
                | "with_year"
                | "round"
                | "trunc_subsecs"
                | "round_subsecs"
                | "start_of_day"
                | "end_of_day"
                | "replace_time"
                | "replace_date"
                | "replace_hour"
                | "replace_minute"
                | "replace_second"
        ) {
            use_
        } else {
            Use::Neutral
        };
        self.expr(&call.receiver, receiver_use);
        // `Local.from_local_datetime(&ndt)`, `Utc.from_utc_datetime(..)`:
        // the time zone's own conversions, not a destination.
        let on_time_zone = matches!(&*call.receiver, Expr::Path(p) if p.path.segments.last().is_some_and(|s| matches!(s.ident.to_string().as_str(), "Local" | "Utc" | "FixedOffset" | "Tz")));
        // `self.seen.insert(k, now)` on an in-memory map of a type that is
        // not persisted, or on a local `HashMap`: memory, not data.
        let in_memory = match &*call.receiver {
            Expr::Field(field) => {
                matches!(&*field.base, Expr::Path(p) if p.path.is_ident("self"))
                    && matches!(&field.member, syn::Member::Named(name)
                        if self.self_type.as_ref().is_some_and(|ty| self.memory.contains(&(ty.clone(), name.to_string()))))
            }
            Expr::Path(path) => path
                .path
                .get_ident()
                .is_some_and(|name| self.memory_locals.contains(&name.to_string())),
            _ => false,
        };
        // `a.signed_duration_since(b)`, `a.cmp(&b)`: the other time is
        // measured against or compared, and only a number or an ordering
        // comes out.
        let arg_use = if on_time_zone || in_memory || REDUCTIONS.contains(&method.as_str()) {
            Use::Neutral
        } else if STORE_APIS.contains(&method.as_str()) {
            Use::Data
        } else if LIKELY_SINKS.contains(&method.as_str()) {
            Use::LikelyData
        } else if let Some(field_use) = self.setter_use(&method, &call.receiver) {
            field_use
        } else {
            Use::Arg
        };
        for arg in &call.args {
            self.expr(arg, arg_use);
        }
    }

    fn mac(&mut self, mac: &syn::Macro, use_: Use) {
        match &*macros::body(mac) {
            MacroBody::Display(args) => {
                for arg in args {
                    self.expr(arg, Use::Display);
                }
            }
            MacroBody::Sequential(exprs) | MacroBody::Concurrent(exprs) => {
                for expr in exprs {
                    self.expr(
                        expr,
                        if matches!(use_, Use::Neutral | Use::Display) {
                            Use::Data
                        } else {
                            use_
                        },
                    );
                }
            }
            MacroBody::Statements(stmts) => {
                let block = syn::Block {
                    brace_token: Default::default(),
                    stmts: stmts.clone(),
                };
                self.block(&block, use_);
            }
            MacroBody::Select(branches) => {
                for branch in branches {
                    if let Some(future) = &branch.future {
                        self.expr(future, Use::Neutral);
                    }
                    self.expr(&branch.handler, use_);
                }
            }
            MacroBody::Opaque => {
                let region = Region::from_span(mac.path.span());
                // `json!({ "at": stamp })`: a tracked variable in data.
                if self.following {
                    let mut names = std::collections::BTreeSet::new();
                    crate::analysis::chain::collect_idents(mac.tokens.clone(), &mut names);
                    for name in names {
                        if let Some((source, _)) = self.tracked.get(&name).copied() {
                            self.reach(source, Use::Data, region);
                        }
                    }
                }
                // `json!({ "at": Local::now() })`: data, read as tokens.
                if !self.following
                    && tokens_call_local_now(mac.tokens.clone())
                    && self.imports.has_crate("chrono")
                {
                    self.sources.push(Source {
                        region,
                        what: "Local::now()".into(),
                        confidence: Confidence::High,
                    });
                    let index = self.sources.len() - 1;
                    self.reach(index, Use::Data, region);
                }
            }
        }
    }

    /// Whether a type name says it is a message: it ends in `Event`,
    /// `Message`, `Command`, `Record`, `Envelope` or `Notification`, or the
    /// user listed it in `wrappers.event-types`.
    fn names_message(&self, name: &str) -> bool {
        self.event_types
            .iter()
            .any(|listed| listed.rsplit("::").next() == Some(name))
            || MESSAGE_SUFFIXES
                .iter()
                .any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
    }

    /// What assigning to a field stores into: a field of `self` in a type
    /// of this file is data when the type is persisted and in-memory state
    /// when not (a UI model's `self.last_tick`); a field of a variable
    /// named for a message is the message's; any other field may be
    /// either, known by its shape only.
    fn field_store(&self, field: &syn::ExprField) -> Use {
        let base = crate::analysis::chain::root_ident(&field.base);
        let on_self = matches!(&*field.base, Expr::Path(p) if p.path.is_ident("self"));
        if on_self {
            return match self.self_type.as_ref().and_then(|ty| self.declared.get(ty)) {
                Some(true) => Use::Data,
                Some(false) => Use::Neutral,
                None => Use::LikelyData,
            };
        }
        if base.is_some_and(|name| names_message_variable(&name)) {
            Use::MessageField
        } else {
            Use::LikelyData
        }
    }

    /// A setter or builder call that stores its argument in a message
    /// (`message.set_sent_at(..)`, `OrderEvent::builder().occurred_at(..)`)
    /// or in a field whose name says it holds a time (`.set_timestamp(..)`).
    fn setter_use(&self, method: &str, receiver: &Expr) -> Option<Use> {
        let field = method
            .strip_prefix("set_")
            .or_else(|| method.strip_prefix("with_"))
            .unwrap_or(method);
        let setter = field.len() < method.len();
        let chain = crate::analysis::chain::Chain::of(receiver);
        let on_message = crate::analysis::chain::root_ident(receiver)
            .is_some_and(|name| names_message_variable(&name))
            || chain.root_call().is_some_and(|(path, _)| {
                let segments: Vec<String> =
                    path.segments.iter().map(|s| s.ident.to_string()).collect();
                segments.len() >= 2 && self.names_message(&segments[segments.len() - 2])
            });
        if on_message && (setter || is_time_field(field)) {
            Some(Use::MessageField)
        } else if is_time_field(field) {
            Some(Use::TimeField)
        } else {
            None
        }
    }

    /// Whether `expr` produces a local time, and how sure we are.
    fn source(&self, expr: &Expr) -> Option<(String, Confidence)> {
        match expr {
            Expr::Call(call) => {
                let Expr::Path(func) = &*call.func else {
                    return None;
                };
                let full = self.imports.resolve(&func.path);
                let (last, ty) = match full.as_slice() {
                    [.., ty, last] => (last.as_str(), ty.as_str()),
                    _ => return None,
                };
                let resolved_from = |krate: &str| full.first().is_some_and(|head| head == krate);
                let confidence = |krate: &str| {
                    if resolved_from(krate) || self.imports.glob_from(&[krate]) {
                        Some(Confidence::High)
                    } else if self.imports.has_crate(krate) {
                        Some(Confidence::Medium)
                    } else {
                        None
                    }
                };
                match (ty, last) {
                    ("Local", "now" | "today") => {
                        confidence("chrono").map(|c| (format!("Local::{last}()"), c))
                    }
                    ("OffsetDateTime", "now_local") => {
                        confidence("time").map(|c| ("OffsetDateTime::now_local()".to_string(), c))
                    }
                    ("Zoned", "now") => confidence("jiff").map(|c| ("Zoned::now()".to_string(), c)),
                    _ => None,
                }
            }
            Expr::MethodCall(call) if call.method == "with_timezone" => {
                let arg = call.args.first()?;
                let is_local = match arg {
                    Expr::Reference(reference) => {
                        matches!(&*reference.expr, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Local"))
                    }
                    Expr::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Local"),
                    _ => false,
                };
                (is_local && self.imports.has_crate("chrono"))
                    .then(|| ("with_timezone(&Local)".to_string(), Confidence::High))
            }
            _ => None,
        }
    }
}

/// The endings of a type name that says it is a message.
const MESSAGE_SUFFIXES: &[&str] = &[
    "Event",
    "Message",
    "Command",
    "Record",
    "Envelope",
    "Notification",
    "Msg",
];

/// A variable named for a message: `event`, `msg`, `order_event`,
/// `outgoing_message`.
fn names_message_variable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "event",
        "evt",
        "message",
        "msg",
        "record",
        "envelope",
        "notification",
        "command",
    ]
    .iter()
    .any(|word| lower == *word || lower.ends_with(&format!("_{word}")))
}

/// Whether a field, setter or builder name says it holds a time:
/// `timestamp`, `ts`, `sent_at`, `created_time`, `event_date`.
fn is_time_field(name: &str) -> bool {
    let name = name.trim_start_matches("r#").to_ascii_lowercase();
    matches!(
        name.as_str(),
        "timestamp" | "ts" | "time" | "date" | "datetime" | "at"
    ) || [
        "_at",
        "_time",
        "_ts",
        "_timestamp",
        "_date",
        "_datetime",
        "_on",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

/// Whether a `format(..)` call's pattern is for a person: it names no
/// offset or zone and is not a whole date and time (`"%H:%M"`,
/// `"%d.%m.%Y"`), so nothing reads an instant back from it. A pattern with
/// `%z`, `%Z`, `%+` or `%s` is machine text; so is a zone-less date and
/// time of day (`"%Y-%m-%d %H:%M:%S"`): that is a timestamp, the classic
/// local one that nobody can place in time once it is stored or sent.
fn formats_for_a_person(call: &syn::ExprMethodCall) -> bool {
    match call.args.first().and_then(crate::analysis::apis::literal) {
        Some(pattern) => {
            let has = |specifiers: &[&str]| specifiers.iter().any(|s| pattern.contains(s));
            let zoned = has(&["%z", "%:z", "%::z", "%#z", "%Z", "%+", "%s"]);
            let timestamp = has(&["%Y", "%y", "%F", "%D", "%G"])
                && has(&["%H", "%I", "%T", "%R", "%X", "%k", "%l"]);
            !zoned && !timestamp
        }
        None => false,
    }
}

/// The structs and enum variants of the file, each with whether it is
/// persisted or sent: it derives `Serialize` or a database model trait.
fn declared_types(items: &[syn::Item]) -> BTreeMap<String, bool> {
    fn persisted(attrs: &[syn::Attribute]) -> bool {
        attrs.iter().any(|attr| {
            let text = quote::ToTokens::to_token_stream(attr).to_string();
            [
                "Serialize",
                "Insertable",
                "Queryable",
                "AsChangeset",
                "FromRow",
                "DeriveEntityModel",
                "Selectable",
                "Encode",
                "Message",
                "table_name",
                "sea_orm",
            ]
            .iter()
            .any(|marker| text.contains(marker))
        })
    }
    let mut out = BTreeMap::new();
    for item in items {
        match item {
            syn::Item::Struct(item) => {
                out.insert(item.ident.to_string(), persisted(&item.attrs));
            }
            syn::Item::Enum(item) => {
                let kept = persisted(&item.attrs);
                for variant in &item.variants {
                    out.insert(variant.ident.to_string(), kept);
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    out.extend(declared_types(items));
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether a type or constructor names an in-memory collection.
fn is_collection(text: &str) -> bool {
    [
        "HashMap",
        "BTreeMap",
        "HashSet",
        "BTreeSet",
        "VecDeque",
        "Vec",
        "IndexMap",
        "DashMap",
        "LruCache",
        "BinaryHeap",
    ]
    .iter()
    .any(|ty| {
        text.split(|c: char| !c.is_alphanumeric())
            .any(|word| word == *ty)
    })
}

/// The collection fields (`seen: HashMap<..>`) of the file's structs that
/// are neither serialized nor database models.
fn in_memory_fields(items: &[syn::Item]) -> BTreeSet<(String, String)> {
    let declared = declared_types(items);
    let mut out = BTreeSet::new();
    for item in items {
        match item {
            syn::Item::Struct(item) if declared.get(&item.ident.to_string()) == Some(&false) => {
                for field in &item.fields {
                    let ty = quote::ToTokens::to_token_stream(&field.ty).to_string();
                    if let Some(name) = &field.ident
                        && is_collection(&ty)
                    {
                        out.insert((item.ident.to_string(), name.to_string()));
                    }
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    out.extend(in_memory_fields(items));
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether `expr` is a span of time (`Duration::hours(1)`,
/// `TimeDelta::days(2)`, `chrono::Duration::minutes(5)`, `1.hours()`):
/// what a time minus it is still a time.
fn is_duration(expr: &Expr) -> bool {
    let text = quote::ToTokens::to_token_stream(expr).to_string();
    [
        "Duration",
        "TimeDelta",
        "Span",
        "days",
        "hours",
        "minutes",
        "seconds",
        "weeks",
    ]
    .iter()
    .any(|word| text.contains(word))
}

/// Methods that reduce a time to a number, measure it against another
/// (`signed_duration_since`) or compare them: the zone reaches neither
/// their result nor, for the last two, the other time they are given.
const REDUCTIONS: &[&str] = &[
    "duration_since",
    "signed_duration_since",
    "timestamp",
    "timestamp_millis",
    "timestamp_micros",
    "timestamp_nanos",
    "timestamp_nanos_opt",
    "unix_timestamp",
    "hour",
    "minute",
    "second",
    "nanosecond",
    "weekday",
    "day",
    "month",
    "year",
    "ordinal",
    "iso_week",
    "cmp",
    "partial_cmp",
    "lt",
    "gt",
    "le",
    "ge",
    "eq",
    "ne",
];

/// Methods after which the local zone no longer matters.
fn neutralises(method: &str, call: &syn::ExprMethodCall) -> bool {
    if REDUCTIONS.contains(&method) {
        return true;
    }
    match method {
        "with_timezone" => call.args.first().is_some_and(|arg| {
            let text = quote::ToTokens::to_token_stream(arg).to_string();
            text.contains("Utc") || text.contains("UTC")
        }),
        "to_utc"
        | "naive_utc"
        | "to_offset"
        | "timestamp_subsec_millis"
        | "unix_timestamp_nanos"
        | "offset"
        | "timezone"
        | "elapsed"
        | "timestamp_opt"
        | "to_zoned"
        | "in_tz"
        | "with_time_zone"
        | "timestamp_millis_opt"
        | "to_offset_utc"
        | "to_timestamp" => {
            !(method == "in_tz" || method == "to_zoned")
                || call.args.first().is_some_and(|arg| {
                    quote::ToTokens::to_token_stream(arg)
                        .to_string()
                        .contains("UTC")
                })
        }
        _ => false,
    }
}

/// `Local :: now` or `Local :: today` in a token stream.
fn tokens_call_local_now(tokens: proc_macro2::TokenStream) -> bool {
    let tokens: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(index, token)| match token {
        proc_macro2::TokenTree::Ident(ident) if ident == "Local" => {
            matches!(tokens.get(index + 3), Some(proc_macro2::TokenTree::Ident(next)) if next == "now" || next == "today")
        }
        proc_macro2::TokenTree::Group(group) => tokens_call_local_now(group.stream()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{Config, lint_source};

    fn local_time_lines(source: &str) -> Vec<usize> {
        lint_source(Path::new("src/lib.rs"), source, &Config::default())
            .findings
            .iter()
            .filter(|finding| finding.rule == "local-time")
            .map(|finding| finding.region.start.line)
            .collect()
    }

    /// The walk is skipped in a file that names no source type; a source
    /// renamed by a `use` item still names it there, and is still found.
    #[test]
    fn a_renamed_source_is_still_found() {
        let renamed = "use chrono::Local as Clock;\n\
            #[derive(serde::Serialize)]\n\
            pub struct OrderPlaced { pub at: String }\n\
            pub fn placed() -> OrderPlaced {\n\
            \x20   OrderPlaced { at: Clock::now().to_rfc3339() }\n\
            }\n";
        assert!(super::may_name_a_source(renamed));
        assert_eq!(local_time_lines(renamed), vec![5]);
        let utc_only = renamed.replace("Local as Clock", "Utc as Clock");
        assert!(!super::may_name_a_source(&utc_only));
        assert!(local_time_lines(&utc_only).is_empty());
    }
}
