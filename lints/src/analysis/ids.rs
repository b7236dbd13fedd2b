//! Does a publish carry an id that identifies the message?
//!
//! Each client crate puts the id somewhere else: lapin's
//! `BasicProperties::with_message_id`, a Kafka record's `key` or an id
//! header, the `Nats-Msg-Id` header, SQS's `message_deduplication_id`,
//! Service Bus's `set_message_id`, an iggy message's `id`, redis's `IDMP`.
//! This module looks for those in the arguments of a publish and in the
//! local variables they were built from, and says which names the id was
//! made of (so `publish-before-ack` can tell an id derived from the consumed
//! message from a random one).

use std::collections::{BTreeSet, HashMap};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::Expr;

use super::chain::{Chain, root_ident};

/// What we know about a publish's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdEvidence {
    /// It sets an id; these are the variables the id was computed from, and
    /// whether it is random (`Uuid::new_v4()`), which makes it useless for
    /// deduplicating a redelivery.
    Present {
        from: BTreeSet<String>,
        random: bool,
    },
    /// Everything that goes into the publish is visible here and none of it
    /// is an id.
    Absent,
    /// Part of the message was built elsewhere (a parameter, a helper
    /// function): we cannot tell, so no rule reports it.
    Unknown,
}

/// The local variables of a function as the walk has met them: each name
/// with the expressions that gave it its value (`let`, `=`) or changed it
/// (`m.set_message_id(..)`, `headers.insert(..)`).
#[derive(Debug, Default, Clone)]
pub struct Locals {
    values: HashMap<String, Vec<Expr>>,
    /// Calls to the crate's own helpers that return headers or properties
    /// (`create_common_headers()`), by the call's position, with what the
    /// crate-wide pass says about the id they carry: such a value is built
    /// where the summary saw it, not out of sight.
    helpers: HashMap<(usize, usize), IdEvidence>,
}

impl Locals {
    /// Starts tracking a variable (a `let`, a parameter, a pattern). A
    /// parameter has no expression: it is known to be local but built
    /// elsewhere.
    pub fn bind(&mut self, name: String, value: Option<Expr>) {
        let entry = self.values.entry(name).or_default();
        entry.clear();
        entry.extend(value);
    }

    /// Records an assignment or a mutating call on a known variable.
    pub fn touch(&mut self, name: &str, change: Expr) {
        if let Some(entry) = self.values.get_mut(name) {
            entry.push(change);
        }
    }

    pub fn is_bound(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn values_of(&self, name: &str) -> &[Expr] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Records that `call` (a call to a helper of the crate) returns headers
    /// or properties whose id is `evidence`.
    pub fn note_helper(&mut self, call: &Expr, evidence: IdEvidence) {
        self.helpers.insert(call_key(call), evidence);
    }

    /// [`Locals::note_helper`] for the call that starts at `start` (line,
    /// column), as [`call_start`] gives it.
    pub fn note_helper_at(&mut self, start: (usize, usize), evidence: IdEvidence) {
        self.helpers.insert(start, evidence);
    }

    /// Whether `call` was noted as a helper call by [`Locals::note_helper`].
    pub fn is_helper_call(&self, call: &Expr) -> bool {
        self.helper_value(call).is_some()
    }

    /// What a helper call's value carries, if `expr` is a noted one
    /// (looking through `&`, `.await`, `?` and parentheses).
    fn helper_value(&self, expr: &Expr) -> Option<&IdEvidence> {
        if self.helpers.is_empty() {
            return None;
        }
        match expr {
            Expr::Reference(inner) => self.helper_value(&inner.expr),
            Expr::Await(inner) => self.helper_value(&inner.base),
            Expr::Try(inner) => self.helper_value(&inner.expr),
            Expr::Paren(inner) => self.helper_value(&inner.expr),
            Expr::Call(_) => self.helpers.get(&call_key(expr)),
            _ => None,
        }
    }
}

/// Where a call starts, as a key.
fn call_key(call: &Expr) -> (usize, usize) {
    call_start(call)
}

/// Where an expression starts: (line, column).
pub fn call_start(expr: &Expr) -> (usize, usize) {
    let start = syn::spanned::Spanned::span(expr).start();
    (start.line, start.column)
}

/// Method names that set an identifying id. `key` (Kafka records) and `id`
/// (iggy's message builder) are added by the caller for their crate.
const ID_SETTERS: &[&str] = &[
    "with_message_id",
    "message_id",
    "set_message_id",
    "message_deduplication_id",
    "set_message_deduplication_id",
    "idmp",
    "idmpauto",
    "with_idempotency_key",
    "idempotency_key",
    "set_idempotency_key",
    "with_event_id",
    "event_id",
];

/// Constants that name an id header.
const ID_CONSTANTS: &[&str] = &[
    "NATS_MESSAGE_ID",
    "MESSAGE_ID",
    "IDEMPOTENCY_KEY",
    "EVENT_ID",
    "NATS_MSG_ID",
];

/// Header, attribute, field or struct-member names that carry a message's
/// own id: `id`, `message_id`, `Nats-Msg-Id`, `idempotency-key`, and any
/// other `..._id` that names what the message is about (`order_id` on
/// `OrderPlaced`). A correlation, causation, trace, session, tenant or
/// partition id is shared by many messages, so it does not count.
pub fn is_id_name(name: &str) -> bool {
    let normal = name
        .trim_matches('"')
        .trim_start_matches("r#")
        .to_ascii_lowercase()
        .replace('-', "_");
    let normal = normal.trim_start_matches("x_").trim_start_matches("ce_");
    if is_shared_id(normal) {
        return false;
    }
    matches!(
        normal,
        "id" | "messageid"
            | "eventid"
            | "nats_msg_id"
            | "idempotency_key"
            | "idempotencykey"
            | "dedup_key"
            | "deduplication_key"
            | "uuid"
    ) || normal.ends_with("_id")
        || normal.ends_with("_uuid")
}

/// Ids many messages share.
pub fn is_shared_id(name: &str) -> bool {
    matches!(
        name,
        "correlation_id"
            | "causation_id"
            | "trace_id"
            | "span_id"
            | "session_id"
            | "tenant_id"
            | "partition_id"
            | "group_id"
            | "message_group_id"
            | "parent_id"
            | "conversation_id"
            | "request_correlation_id"
            | "client_id"
            | "producer_id"
            | "consumer_id"
            | "app_id"
            | "user_id"
            | "reply_to_id"
    )
}

/// Random ids: fresh on every attempt, so a redelivery publishes a new one.
const RANDOM_MARKERS: &[&str] = &[
    "new_v4",
    "now_v7",
    "new_v7",
    "now_v1",
    "nanoid",
    "thread_rng",
    "random",
    "rng",
];

/// Looks for an id in `exprs` and in the locals they were built from.
/// `extra_setters` are the crate-specific ones (`key` for Kafka records).
/// The expressions themselves (the properties, the record, the message)
/// must be built where we can see them for an "absent" answer: if one comes
/// from a parameter or a helper call, the answer is `Unknown`.
pub fn id_evidence(exprs: &[&Expr], locals: &Locals, extra_setters: &[&str]) -> IdEvidence {
    let mut scan = Scan {
        locals,
        extra_setters,
        seen: BTreeSet::new(),
        visible: true,
        found: None,
    };
    for expr in exprs {
        scan.scan(expr, true, 0);
    }
    match scan.found {
        Some((from, random)) => IdEvidence::Present { from, random },
        None if scan.visible => IdEvidence::Absent,
        None => IdEvidence::Unknown,
    }
}

/// The walk state of one [`id_evidence`] question.
struct Scan<'l> {
    locals: &'l Locals,
    extra_setters: &'l [&'l str],
    seen: BTreeSet<String>,
    /// Whether the message object itself (the properties, the record) is
    /// built where we can see it.
    visible: bool,
    found: Option<(BTreeSet<String>, bool)>,
}

impl Scan<'_> {
    /// Looks at `expr`. `on_root_path` is true for the publish's own
    /// argument and for the locals it is a copy or a builder of: only their
    /// origin decides visibility. Other names the expression mentions (the
    /// payload, the consumed message) are searched for an id, but where they
    /// come from does not matter.
    fn scan(&mut self, expr: &Expr, on_root_path: bool, depth: usize) {
        if depth > 4 {
            if on_root_path {
                self.visible = false;
            }
            return;
        }
        // A helper of the crate built this value: its summary says what
        // id it carries.
        if let Some(evidence) = self.locals.helper_value(expr) {
            match evidence {
                IdEvidence::Present { from, random } => {
                    let entry = self.found.get_or_insert_with(|| (BTreeSet::new(), false));
                    entry.0.extend(from.iter().cloned());
                    entry.1 |= *random;
                }
                IdEvidence::Absent => {}
                IdEvidence::Unknown => {
                    if on_root_path {
                        self.visible = false;
                    }
                }
            }
            return;
        }
        scan_tokens(expr.to_token_stream(), self.extra_setters, &mut self.found);
        let root = root_ident(expr);
        if on_root_path {
            if !is_visible(expr) {
                self.visible = false;
            }
            // A variable that is not a local built here (a parameter, a
            // field of `self`, a global) was built elsewhere.
            if let Some(root) = &root
                && !builds_elements(expr)
                && (!self.locals.is_bound(root) || self.locals.values_of(root).is_empty())
            {
                self.visible = false;
            }
        }
        let mut names = BTreeSet::new();
        super::chain::collect_idents(expr.to_token_stream(), &mut names);
        for name in names {
            if !self.seen.insert(name.clone()) || !self.locals.is_bound(&name) {
                continue;
            }
            let follows_root = on_root_path && root.as_deref() == Some(name.as_str());
            let locals = self.locals;
            for value in locals.values_of(&name) {
                self.scan(value, follows_root, depth + 1);
            }
        }
    }
}

/// Whether an expression is built right here from constructors and
/// builders (as opposed to a call to some function we cannot see into).
fn is_visible(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) | Expr::Struct(_) | Expr::Array(_) | Expr::Macro(_) | Expr::Tuple(_) => true,
        Expr::Reference(reference) => is_visible(&reference.expr),
        Expr::Path(_) | Expr::Field(_) => true,
        Expr::MethodCall(_) | Expr::Await(_) | Expr::Try(_) | Expr::Paren(_) => {
            let chain = Chain::of(expr);
            let root_visible = match chain.root {
                Expr::Call(call) => is_constructor(&call.func),
                other => !matches!(other, Expr::MethodCall(_)) && is_visible(other),
            };
            // `bodies.iter().map(|b| Entry::builder().body(b).build()).collect()`:
            // the elements are built here, whatever the input was.
            root_visible || builds_elements(expr)
        }
        Expr::Call(call) => is_constructor(&call.func),
        _ => false,
    }
}

/// `bodies.iter().map(|b| Entry::builder().body(b).build()).collect()`:
/// a collection whose elements are built here, whatever the input was.
fn builds_elements(expr: &Expr) -> bool {
    let chain = Chain::of(expr);
    chain.segments.iter().any(|segment| {
        matches!(segment.method.as_str(), "map" | "filter_map" | "flat_map")
            && segment.args.iter().any(|arg| match arg {
                Expr::Closure(closure) => is_visible(tail(&closure.body)),
                _ => false,
            })
    })
}

/// The value a closure body produces: its tail expression.
fn tail(body: &Expr) -> &Expr {
    match body {
        Expr::Block(block) => match block.block.stmts.last() {
            Some(syn::Stmt::Expr(expr, None)) => tail(expr),
            _ => body,
        },
        _ => body,
    }
}

/// `Type::new`, `Type::default`, `Type::builder`, `FutureRecord::to`,
/// `Bytes::from`, `Some(..)`: constructors, whose result holds nothing but
/// what the chain after them adds.
fn is_constructor(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [single] => matches!(single.as_str(), "Some" | "Ok" | "Box" | "Vec" | "vec"),
        [.., ty, function] => {
            ty.starts_with(|c: char| c.is_ascii_uppercase())
                && matches!(
                    function.as_str(),
                    "new"
                        | "default"
                        | "builder"
                        | "build"
                        | "to"
                        | "from"
                        | "from_static"
                        | "copy_from_slice"
                        | "with_capacity"
                        | "empty"
                        | "from_slice"
                        | "from_str"
                )
        }
        _ => false,
    }
}

fn scan_tokens(
    tokens: TokenStream,
    extra_setters: &[&str],
    found: &mut Option<(BTreeSet<String>, bool)>,
) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let after_dot = index > 0
                    && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '.');
                let args = match tokens.get(index + 1) {
                    Some(TokenTree::Group(group))
                        if group.delimiter() == proc_macro2::Delimiter::Parenthesis =>
                    {
                        Some(group.stream())
                    }
                    _ => None,
                };
                let is_setter = after_dot
                    && args.is_some()
                    && (ID_SETTERS.contains(&name.as_str())
                        || extra_setters.contains(&name.as_str()));
                // `message_id: Some(..)` in a struct literal (the legacy
                // Service Bus options), `id: ..` in a message struct.
                let is_field = !after_dot
                    && is_id_name(&name)
                    && matches!(tokens.get(index + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                    && !matches!(tokens.get(index + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                // `delivery.properties.clone()`: the consumed message's own
                // properties, and with them its message id.
                let reused_properties = after_dot
                    && name == "properties"
                    && args.is_none()
                    && index >= 2
                    && matches!(&tokens[index - 2], TokenTree::Ident(_))
                    // Whole (`.properties.clone()`, `.properties`) or for its
                    // id; not for one other property (`.correlation_id()`).
                    && match (tokens.get(index + 1), tokens.get(index + 2)) {
                        (Some(TokenTree::Punct(p)), Some(TokenTree::Ident(next)))
                            if p.as_char() == '.' =>
                        {
                            matches!(next.to_string().as_str(), "clone" | "message_id" | "to_owned")
                        }
                        _ => true,
                    };
                if reused_properties {
                    record(
                        found,
                        tokens[index - 2..index - 1].iter().cloned().collect(),
                    );
                } else if is_setter {
                    // A constant key (`.key("events")`) is shared by every
                    // message: a partition key, not an id. An explicit id
                    // setter (`.message_id("ord-1-created")`) sets an id
                    // even when it is a literal.
                    let args = args.unwrap_or_default();
                    if ID_SETTERS.contains(&name.as_str()) || !is_constant(&args) {
                        record(found, args);
                    }
                } else if is_field {
                    record(found, tokens[index + 2..].iter().take(8).cloned().collect());
                } else if ID_CONSTANTS.contains(&name.as_str()) {
                    record(found, tokens[index + 1..].iter().take(8).cloned().collect());
                }
            }
            TokenTree::Literal(literal) => {
                let text = literal.to_string();
                if text.starts_with('"') && is_id_name(&text) {
                    // A header or field named like an id, with its value next.
                    record(found, tokens[index + 1..].iter().take(8).cloned().collect());
                }
            }
            TokenTree::Group(group) => scan_tokens(group.stream(), extra_setters, found),
            TokenTree::Punct(_) => {}
        }
    }
}

/// Whether a value names no variable and interpolates nothing: the same
/// for every message.
fn is_constant(value: &TokenStream) -> bool {
    let mut names = BTreeSet::new();
    super::chain::collect_idents(value.clone(), &mut names);
    // Conversions, and `format!` itself (`format!("{}", "2")` is as
    // constant as `"2"`).
    names.retain(|name| {
        !matches!(
            name.as_str(),
            "into" | "to_string" | "to_owned" | "from" | "format" | "as_str" | "as_bytes"
        )
    });
    names.is_empty() && !captures_in_literals(value.clone())
}

/// Whether a string literal in `tokens` captures a variable inline
/// (`"order-{id}"`); `"{}"` and `"{:?}"` placeholders capture nothing.
fn captures_in_literals(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Literal(literal) => {
            let text = literal.to_string();
            text.starts_with('"')
                && text
                    .split('{')
                    .skip(1)
                    .any(|after| after.starts_with(|c: char| c.is_alphabetic() || c == '_'))
        }
        TokenTree::Group(group) => captures_in_literals(group.stream()),
        _ => false,
    })
}

/// The evidence of an id passed straight to its setter
/// (`.message_deduplication_id(format!("{order_id}-reminder"))`): present,
/// even as a literal (an explicit id, however odd, is not a missing one).
pub fn setter_value_evidence(args: &[&Expr]) -> IdEvidence {
    let value: TokenStream = args.iter().map(|arg| arg.to_token_stream()).collect();
    if args.is_empty() {
        return IdEvidence::Absent;
    }
    let mut found = None;
    record(&mut found, value);
    match found {
        Some((from, random)) => IdEvidence::Present { from, random },
        None => IdEvidence::Unknown,
    }
}

fn record(found: &mut Option<(BTreeSet<String>, bool)>, value: TokenStream) {
    let mut from = BTreeSet::new();
    super::chain::collect_idents(value.clone(), &mut from);
    let text = value.to_string();
    let random = RANDOM_MARKERS.iter().any(|marker| text.contains(marker))
        || text.contains("Ulid :: new")
        || text.contains("Uuid :: new ()");
    let entry = found.get_or_insert_with(|| (BTreeSet::new(), false));
    entry.0.extend(from);
    entry.1 |= random;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(source: &str) -> Expr {
        syn::parse_str(source).expect("test expression parses")
    }

    #[test]
    fn finds_setters_headers_and_fields() {
        let locals = Locals::default();
        for source in [
            "BasicProperties::default().with_message_id(order.id.to_string().into())",
            "Publish::build().payload(p).message_id(format!(\"{}\", delivery.id))",
            "SendMessageOptions { broker_properties: Some(SettableBrokerProperties { message_id: Some(id), ..Default::default() }), ..Default::default() }",
        ] {
            assert!(
                matches!(
                    id_evidence(&[&expr(source)], &locals, &[]),
                    IdEvidence::Present { .. }
                ),
                "{source}"
            );
        }
        assert_eq!(
            id_evidence(&[&expr("BasicProperties::default()")], &locals, &[]),
            IdEvidence::Absent
        );
        assert!(matches!(
            id_evidence(
                &[&expr("FutureRecord::to(\"t\").key(&k)")],
                &locals,
                &["key"]
            ),
            IdEvidence::Present { .. }
        ));
    }

    #[test]
    fn follows_locals_and_gives_up_on_parameters() {
        let mut locals = Locals::default();
        locals.bind("headers".into(), Some(expr("HeaderMap::new()")));
        locals.touch(
            "headers",
            expr("headers.insert(NATS_MESSAGE_ID, id.as_str())"),
        );
        assert!(matches!(
            id_evidence(&[&expr("headers")], &locals, &[]),
            IdEvidence::Present { .. }
        ));
        locals.bind("props".into(), None);
        assert_eq!(
            id_evidence(&[&expr("props")], &locals, &[]),
            IdEvidence::Unknown
        );
        assert_eq!(
            id_evidence(&[&expr("build_props(x)")], &locals, &[]),
            IdEvidence::Unknown
        );
        let random = id_evidence(
            &[&expr(
                "Msg::new().with_message_id(Uuid::new_v4().to_string())",
            )],
            &locals,
            &[],
        );
        assert!(matches!(random, IdEvidence::Present { random: true, .. }));
    }
}
