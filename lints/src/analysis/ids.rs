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
use syn::visit::Visit;

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
    /// As [`IdEvidence::Absent`], but with a key built from constants and a
    /// partition or shard number (`format!("{PREFIX}_{shard}")`): shared by
    /// every message of the partition, so no id. The partition number is
    /// recognised partly by its name, so a finding resting on this is not
    /// `high`.
    SharedKey,
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
    /// Names whose value is made, at least in part, from a value built
    /// elsewhere (a parameter) that they shadow: `let task = Arc::new(task)`
    /// wraps the caller's task, whose id this function cannot see.
    from_elsewhere: std::collections::HashSet<String>,
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
        // A binding that shadows a name with a value made from that same
        // name (`if let Some(id) = id`, `let id = id.clone()`) is made from
        // the earlier binding's values: keep them, or the new binding
        // would only point at itself and where the value came from (a
        // received message's correlation id, say) would be forgotten.
        let shadows_itself = value
            .as_ref()
            .is_some_and(|value| value_mentions(value, &name));
        let was_from_elsewhere = self.is_bound(&name)
            && (self.values_of(&name).is_empty() || self.from_elsewhere.contains(&name));
        if shadows_itself && was_from_elsewhere {
            self.from_elsewhere.insert(name.clone());
        } else if !shadows_itself {
            self.from_elsewhere.remove(&name);
        }
        let entry = self.values.entry(name).or_default();
        if !shadows_itself {
            entry.clear();
        }
        entry.extend(value);
    }

    /// Whether the name's value was built, at least in part, elsewhere: a
    /// parameter, or a local that wraps the parameter it shadows.
    pub fn built_elsewhere(&self, name: &str) -> bool {
        self.values_of(name).is_empty() || self.from_elsewhere.contains(name)
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

/// Whether `value` names the variable `name`, as [`mentions`] reads its
/// tokens. Printing an expression back into tokens costs about as much as
/// cloning it, and most `let`s do not mention the name they bind: a visit
/// of the tree that meets no identifier spelt `name` (nor in the tokens of
/// a macro or an attribute) answers no at once; only when it meets one are
/// the tokens read, which can tell a field or method after a `.`.
fn value_mentions(value: &Expr, name: &str) -> bool {
    spelt_in(value, name) && mentions(value.to_token_stream(), name)
}

/// Whether an identifier spelt `name` may be among the tokens of `value`:
/// `false` only when it is certainly not. A keyword, weak or strict, is
/// printed as an identifier but is not one in the tree, and code syn keeps
/// as raw tokens (`Verbatim`) is not visited: for those the answer is
/// `true`, and the tokens decide.
fn spelt_in(value: &Expr, name: &str) -> bool {
    if KEYWORDS.contains(&name) {
        return true;
    }
    let mut spelt = Spelt { name, found: false };
    spelt.visit_expr(value);
    spelt.found
}

/// Every Rust keyword, strict, reserved and weak (and `_`).
const KEYWORDS: &[&str] = &[
    "_",
    "abstract",
    "as",
    "async",
    "auto",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "default",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "macro_rules",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "raw",
    "ref",
    "return",
    "safe",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Looks for an identifier spelt `name` anywhere in a tree.
struct Spelt<'n> {
    name: &'n str,
    found: bool,
}

impl<'ast> syn::visit::Visit<'ast> for Spelt<'_> {
    fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
        if ident == self.name {
            self.found = true;
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        syn::visit::visit_macro(self, mac);
        self.found |= tokens_spell(&mac.tokens, self.name);
    }

    fn visit_meta_list(&mut self, list: &'ast syn::MetaList) {
        syn::visit::visit_meta_list(self, list);
        self.found |= tokens_spell(&list.tokens, self.name);
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        if self.found {
            return;
        }
        match expr {
            Expr::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_type(&mut self, ty: &'ast syn::Type) {
        match ty {
            syn::Type::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_type(self, ty),
        }
    }

    fn visit_pat(&mut self, pat: &'ast syn::Pat) {
        match pat {
            syn::Pat::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_pat(self, pat),
        }
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        match item {
            syn::Item::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_item(self, item),
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        match item {
            syn::ImplItem::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_impl_item(self, item),
        }
    }

    fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
        match item {
            syn::TraitItem::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_trait_item(self, item),
        }
    }

    fn visit_foreign_item(&mut self, item: &'ast syn::ForeignItem) {
        match item {
            syn::ForeignItem::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_foreign_item(self, item),
        }
    }

    fn visit_type_param_bound(&mut self, bound: &'ast syn::TypeParamBound) {
        match bound {
            syn::TypeParamBound::Verbatim(_) => self.found = true,
            _ => syn::visit::visit_type_param_bound(self, bound),
        }
    }
}

/// Whether some identifier in `tokens`, at any depth, is spelt `name`.
fn tokens_spell(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => tokens_spell(&group.stream(), name),
        _ => false,
    })
}

/// Whether `tokens` name the variable `name` (not as a field or method
/// after a `.`).
fn mentions(tokens: TokenStream, name: &str) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(index, token)| match token {
        TokenTree::Ident(ident) => {
            ident == name
                && !(index > 0
                    && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '.'))
        }
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
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
/// partition id is shared by many messages, so it does not count (a
/// correlation id copied from a received message is recognised apart, in
/// `scan_tokens`).
pub fn is_id_name(name: &str) -> bool {
    let normal = snake_case(name.trim_matches('"').trim_start_matches("r#")).replace('-', "_");
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
        || normal == "identifier"
        || normal.ends_with("_identifier")
        // A content hash (`blobhash`, `tx_hash`) is a natural key: the
        // same content, the same message. A credential's hash
        // (`key_hash`, `password_hash`) names who sent it, not what.
        || (normal.ends_with("hash")
            && !["key", "password", "token", "secret"]
                .iter()
                .any(|credential| normal.trim_end_matches("hash").trim_end_matches('_').ends_with(credential)))
}

/// A name in snake case: JSON keys and serde-renamed fields are often in
/// camel case (`callId`, `eventID`), the same words as `call_id`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Ids many messages share, also as the end of a longer name
/// (`query_user_id`, `kafka_partition_id`).
pub fn is_shared_id(name: &str) -> bool {
    is_shared_id_word(name)
        || name
            .match_indices('_')
            .any(|(at, _)| is_shared_id_word(&name[at + 1..]))
}

fn is_shared_id_word(name: &str) -> bool {
    matches!(
        name,
        "correlation_id"
            | "causation_id"
            | "trace_id"
            | "span_id"
            | "session_id"
            | "tenant_id"
            | "partition_id"
            | "shard_id"
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
        shared_key: false,
    };
    for expr in exprs {
        scan.scan(expr, true, 0);
    }
    match scan.found {
        Some((from, random)) => IdEvidence::Present { from, random },
        None if scan.visible && scan.shared_key => IdEvidence::SharedKey,
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
    /// A key was set, and judged a partition key rather than an id.
    shared_key: bool,
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
                IdEvidence::SharedKey => self.shared_key = true,
                IdEvidence::Unknown => {
                    if on_root_path {
                        self.visible = false;
                    }
                }
            }
            return;
        }
        scan_tokens(
            expr.to_token_stream(),
            self.extra_setters,
            self.locals,
            &mut Found {
                id: &mut self.found,
                shared_key: &mut self.shared_key,
            },
        );
        // `if delay > 0 { Props::default().with_headers(..) } else {
        // Props::default() }`: the publish takes one of the branches'
        // values, each judged as the argument itself would be.
        if on_root_path && let Some(tails) = branch_values(expr) {
            match tails {
                Some(tails) => {
                    for tail in tails {
                        self.scan(tail, true, depth + 1);
                    }
                }
                None => self.visible = false,
            }
            return;
        }
        let root = root_ident(expr);
        if on_root_path {
            if !is_visible(expr) {
                self.visible = false;
            }
            // A variable that is not a local built here (a parameter, a
            // field of `self`, a global) was built elsewhere.
            if let Some(root) = &root
                && !builds_elements(expr)
                && (!self.locals.is_bound(root) || self.locals.built_elsewhere(root))
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

/// The values a branching expression can take: the tails of an `if` with
/// an `else`, of a `match`'s arms (an arm that leaves, `return` or
/// `continue`, gives none) and of a block. `None` when the expression does
/// not branch; `Some(None)` when a branch has no value we can see (an `if`
/// without `else`, a block that ends in a statement).
fn branch_values(expr: &Expr) -> Option<Option<Vec<&Expr>>> {
    fn block_tail(block: &syn::Block) -> Option<&Expr> {
        match block.stmts.last() {
            Some(syn::Stmt::Expr(tail, None)) => Some(tail),
            _ => None,
        }
    }
    fn leaves(expr: &Expr) -> bool {
        match expr {
            Expr::Return(_) | Expr::Continue(_) | Expr::Break(_) => true,
            Expr::Macro(mac) => {
                mac.mac.path.is_ident("panic") || mac.mac.path.is_ident("unreachable")
            }
            // `Err(e) => { log(e); return Ok(()); }`
            Expr::Block(block) => match block.block.stmts.last() {
                Some(syn::Stmt::Expr(last, _)) => leaves(last),
                Some(syn::Stmt::Macro(mac)) => {
                    mac.mac.path.is_ident("panic") || mac.mac.path.is_ident("unreachable")
                }
                _ => false,
            },
            _ => false,
        }
    }
    match expr {
        Expr::If(branch) => {
            let Some((_, otherwise)) = &branch.else_branch else {
                return Some(None);
            };
            Some(block_tail(&branch.then_branch).map(|then| vec![then, &**otherwise]))
        }
        Expr::Match(choice) => {
            let tails: Vec<&Expr> = choice
                .arms
                .iter()
                .map(|arm| &*arm.body)
                .filter(|body| !leaves(body))
                .collect();
            Some((!tails.is_empty()).then_some(tails))
        }
        Expr::Block(block) => Some(block_tail(&block.block).map(|tail| vec![tail])),
        Expr::Paren(inner) => branch_values(&inner.expr),
        _ => None,
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
                // `Publish::with_properties(body, key, props)`,
                // `Message::with_body(..)`: built from what it is handed.
                && (function.starts_with("with_") || matches!(
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
                ))
        }
        _ => false,
    }
}

/// What [`scan_tokens`] finds: the id's names and whether it is random,
/// and whether a key was judged a partition key.
struct Found<'f> {
    id: &'f mut Option<(BTreeSet<String>, bool)>,
    shared_key: &'f mut bool,
}

fn scan_tokens(tokens: TokenStream, extra_setters: &[&str], locals: &Locals, out: &mut Found<'_>) {
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
                // The same setting written as a struct literal's field
                // (`FutureRecord { key: Some(&key), .. }`); `None` sets
                // nothing.
                let field_setting = (!after_dot
                    && extra_setters.contains(&name.as_str())
                    && is_field_name(&tokens, index))
                .then(|| field_value(tokens.get(index + 2..).unwrap_or_default()))
                .filter(|value| !value.is_empty() && value.to_string() != "None");
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
                // `with_correlation_id(delivery.properties.correlation_id()..)`,
                // `correlation_id: request.correlation_id`: a reply that
                // copies the request's id is identified by the request it
                // answers, which a redelivery repeats (a made-up
                // correlation id identifies nothing).
                let copied_correlation =
                    if name == "correlation_id" || CORRELATION_SETTERS.contains(&name.as_str()) {
                        let value = if after_dot && CORRELATION_SETTERS.contains(&name.as_str()) {
                            args.clone()
                        } else if !after_dot && is_field_name(&tokens, index) {
                            Some(field_value(&tokens[index + 2..]))
                        } else {
                            None
                        };
                        value.filter(|value| {
                            copies_received_id(value.clone(), locals, &mut BTreeSet::new())
                        })
                    } else {
                        None
                    };
                // `headers.insert(state.tid_header, id.clone())`: a header
                // under a key kept elsewhere (a field, a constant) whose
                // value is an id-named value; the key's name cannot be read
                // here, the value's can. A literal key is read by name
                // below.
                let keyed_id = (after_dot && matches!(name.as_str(), "insert" | "append"))
                    .then_some(args.as_ref())
                    .flatten()
                    .and_then(|args| {
                        let args: Vec<TokenTree> = args.clone().into_iter().collect();
                        let mut parts =
                            args.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','));
                        let (key, value) = (parts.next()?, parts.next()?);
                        let literal_key = matches!(key, [TokenTree::Literal(_), ..]);
                        (!literal_key && !key.is_empty() && names_an_id_tokens(value))
                            .then(|| value.iter().cloned().collect::<TokenStream>())
                    });
                if let Some(value) = copied_correlation {
                    record(out.id, value);
                } else if let Some(value) = keyed_id {
                    record(out.id, value);
                } else if reused_properties {
                    record(
                        out.id,
                        tokens[index - 2..index - 1].iter().cloned().collect(),
                    );
                } else if is_setter || field_setting.is_some() {
                    // A constant key (`.key("events")`) is shared by every
                    // message: a partition key, not an id; so is a key made
                    // of constants and a shard number
                    // (`format!("{PREFIX}_{shard}")`). An explicit id setter
                    // (`.message_id("ord-1-created")`) sets an id even when
                    // it is a literal.
                    let args = field_setting.or(args).unwrap_or_default();
                    let explicit = ID_SETTERS.contains(&name.as_str());
                    if explicit {
                        record(out.id, args);
                    } else if name == "key" && is_partition_key(&args, locals) {
                        *out.shared_key = true;
                    } else if !is_constant(&args) {
                        record(out.id, args);
                    }
                } else if is_field {
                    record(
                        out.id,
                        tokens[index + 2..].iter().take(8).cloned().collect(),
                    );
                } else if ID_CONSTANTS.contains(&name.as_str()) {
                    record(
                        out.id,
                        tokens[index + 1..].iter().take(8).cloned().collect(),
                    );
                }
            }
            TokenTree::Literal(literal) => {
                let text = literal.to_string();
                if text.starts_with('"') && is_id_name(&text) {
                    // A header or field named like an id, with its value next.
                    record(
                        out.id,
                        tokens[index + 1..].iter().take(8).cloned().collect(),
                    );
                }
            }
            TokenTree::Group(group) => {
                match group.delimiter() {
                    proc_macro2::Delimiter::Brace => shorthand_id_fields(group.stream(), out.id),
                    // Only a function's or a constructor's arguments
                    // (`Result::success(attachment_id, ..)`). Not a
                    // method's: a builder's method names what it sets
                    // (`.set_ordering_key(order_id)` is no id; the id
                    // setters are read above). Not a macro's: an id written
                    // into a text (`format!("product {} is low",
                    // evt.product_id)`) is prose, not a field a consumer
                    // can deduplicate on.
                    proc_macro2::Delimiter::Parenthesis if is_function_call(&tokens, index) => {
                        positional_id_args(group.stream(), out.id)
                    }
                    _ => {}
                }
                scan_tokens(group.stream(), extra_setters, locals, out)
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// `Receipt { order_id, email }`: a field initialised by shorthand from a
/// variable of its own name is an id field like `order_id: order_id`.
fn shorthand_id_fields(tokens: TokenStream, found: &mut Option<(BTreeSet<String>, bool)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_comma = |token: Option<&TokenTree>| matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == ',');
    for (index, token) in tokens.iter().enumerate() {
        let TokenTree::Ident(ident) = token else {
            continue;
        };
        let alone = (index == 0 || is_comma(tokens.get(index - 1)))
            && (index + 1 == tokens.len() || is_comma(tokens.get(index + 1)));
        if alone && is_id_name(&ident.to_string()) {
            record(found, TokenStream::from(token.clone()));
        }
    }
}

/// `TranscriptionResult::success(attachment_id, text)`,
/// `Status::new(&job.job_id, ..)`: a value named like an id handed on
/// whole, as an argument, to what builds the message puts that id in the
/// message, as the field `attachment_id: attachment_id` would.
fn positional_id_args(tokens: TokenStream, found: &mut Option<(BTreeSet<String>, bool)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for argument in tokens.split(|token| matches!(token, TokenTree::Punct(p) if p.as_char() == ','))
    {
        if names_an_id_tokens(argument) {
            record(found, argument.iter().cloned().collect());
        }
    }
}

/// Whether the parenthesised group at `tokens[index]` holds the arguments
/// of a function or constructor called by path (`success(..)`,
/// `Type::new(..)`): preceded by a name that follows no `.`, and is not a
/// macro's `!`.
fn is_function_call(tokens: &[TokenTree], index: usize) -> bool {
    let Some(name_at) = index.checked_sub(1) else {
        return false;
    };
    let TokenTree::Ident(name) = &tokens[name_at] else {
        return false;
    };
    let is_punct =
        |at: usize, c: char| matches!(&tokens[at], TokenTree::Punct(p) if p.as_char() == c);
    if name_at > 0 && is_punct(name_at - 1, '.') {
        return false;
    }
    // The type the function belongs to: `Type` in `Type::success(..)`, or
    // the name itself for a tuple struct or variant (`Settled(..)`).
    let owner = if name_at >= 3 && is_punct(name_at - 1, ':') && is_punct(name_at - 2, ':') {
        match &tokens[name_at - 3] {
            TokenTree::Ident(owner) => owner.to_string(),
            _ => return false,
        }
    } else {
        name.to_string()
    };
    // A message type's own constructor. A wrapper or a conversion
    // (`String::from(user_id)`, `Some(..)`, `Arc::new(..)`) holds a value
    // whose meaning the field it fills gives, not its own.
    owner.starts_with(|c: char| c.is_ascii_uppercase()) && !WRAPPERS.contains(&owner.as_str())
}

/// Types whose constructors wrap or convert a value without naming it.
const WRAPPERS: &[&str] = &[
    "Some", "Ok", "Err", "Box", "Arc", "Rc", "Cow", "String", "Vec", "Bytes", "BytesMut", "From",
    "Into", "Duration", "Cell", "RefCell", "Mutex", "RwLock", "Option", "Result", "Json", "Value",
    "Uuid", "Ulid", "Decimal",
];

/// Whether an argument's tokens are an id-named value and nothing else:
/// `order_id`, `&job.job_id`, `msg.order_id.clone()`, `id.to_string()`.
fn names_an_id_tokens(argument: &[TokenTree]) -> bool {
    let is_punct =
        |token: &TokenTree, c: char| matches!(token, TokenTree::Punct(p) if p.as_char() == c);
    let mut rest = argument;
    while let Some((first, tail)) = rest.split_first() {
        match first {
            TokenTree::Punct(p) if p.as_char() == '&' => rest = tail,
            TokenTree::Ident(ident) if ident == "mut" => rest = tail,
            _ => break,
        }
    }
    // Conversions that keep the value: `.clone()`, `.to_string()`.
    while rest.len() >= 3 {
        let n = rest.len();
        let keeps = matches!(&rest[n - 1], TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Parenthesis && g.stream().is_empty())
            && matches!(&rest[n - 2], TokenTree::Ident(method) if KEEPS_VALUE.contains(&method.to_string().as_str()))
            && is_punct(&rest[n - 3], '.');
        if !keeps {
            break;
        }
        rest = &rest[..n - 3];
    }
    // `name` or `a.b.name`: identifiers joined by dots, the last one named
    // like an id.
    if rest.is_empty() || rest.len().is_multiple_of(2) {
        return false;
    }
    let joined = rest.iter().enumerate().all(|(index, token)| {
        if index % 2 == 0 {
            matches!(token, TokenTree::Ident(_))
        } else {
            is_punct(token, '.')
        }
    });
    joined && matches!(rest.last(), Some(TokenTree::Ident(last)) if is_id_name(&last.to_string()))
}

/// Methods that hand on the value they are called on, converted.
const KEEPS_VALUE: &[&str] = &["clone", "to_string", "to_owned", "into", "as_str", "as_ref"];

/// Whether an expression is an id-named value and nothing else (see
/// `positional_id_args`): a caller handing it to a helper that builds the
/// message from it puts that id in the message.
pub fn names_an_id(expr: &Expr) -> bool {
    let tokens: Vec<TokenTree> = expr.to_token_stream().into_iter().collect();
    names_an_id_tokens(&tokens)
}

/// Names of a message's own id, as opposed to an entity's (`job_id` is
/// shared by every progress update of the job).
const MESSAGE_ID_NAMES: &[&str] = &[
    "id",
    "uuid",
    "message_id",
    "msg_id",
    "event_id",
    "request_id",
    "command_id",
    "idempotency_key",
    "dedup_key",
    "deduplication_id",
];

/// Whether a value handed to a helper identifies the message the helper
/// builds from it: it copies a received message's id (`correlation_id:
/// request.correlation_id`), or it holds a value named as a message's own
/// id (`Finished::new(uuid)`, `Reply { message_id, .. }`), itself or in
/// the value its local was given. An entity's id (`job_id`) does not
/// count: many messages about the job share it.
pub fn shows_message_id(expr: &Expr, locals: &Locals) -> bool {
    // The value's own tokens, and for a local the values it was given (one
    // step: further back, an `id` is as likely another row's).
    fn names_one(tokens: TokenStream, locals: Option<&Locals>) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                MESSAGE_ID_NAMES.contains(&name.as_str())
                    || locals.is_some_and(|locals| {
                        locals
                            .values_of(&name)
                            .iter()
                            .any(|value| names_one(value.to_token_stream(), None))
                    })
            }
            TokenTree::Group(group) => names_one(group.stream(), locals),
            _ => false,
        })
    }
    let tokens = expr.to_token_stream();
    copies_received_id(tokens.clone(), locals, &mut BTreeSet::new())
        || names_one(tokens, Some(locals))
}

/// Whether `text` holds one of the names [`shows_message_id`] looks for
/// (`MESSAGE_ID_NAMES`, `RECEIVED_IDS`) as a word. Without one, no
/// value built from that text shows a message id: [`shows_message_id`]
/// answers only on finding one of them as a name among a value's tokens
/// (or its locals'). Anything but an ASCII letter, digit or `_` ends a
/// word, so `r#id` or `éid` count too: the answer may be a needless yes,
/// never a wrong no.
pub fn names_an_id_word(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| MESSAGE_ID_NAMES.contains(&word) || RECEIVED_IDS.contains(&word))
}

/// The setters of a correlation id, across the client crates.
const CORRELATION_SETTERS: &[&str] = &[
    "with_correlation_id",
    "set_correlation_id",
    "correlation_id",
];

/// Accessors of a received message's own id: a value read through one of
/// them is that message's id.
const RECEIVED_IDS: &[&str] = &["correlation_id", "message_id"];

/// Whether `tokens[index]` is a struct field's name: followed by a single
/// `:`, not a path's `::`.
fn is_field_name(tokens: &[TokenTree], index: usize) -> bool {
    matches!(tokens.get(index + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
        && !matches!(tokens.get(index + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':')
}

/// A struct field's value: the tokens up to the next top-level comma.
fn field_value(tokens: &[TokenTree]) -> TokenStream {
    tokens
        .iter()
        .take_while(|token| !matches!(token, TokenTree::Punct(p) if p.as_char() == ','))
        .cloned()
        .collect()
}

/// Whether a value reads a received message's id (`.correlation_id()`,
/// `.message_id()` on some value), directly or through the locals it was
/// built from (each looked at once: `seen`).
fn copies_received_id(tokens: TokenStream, locals: &Locals, seen: &mut BTreeSet<String>) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(index, token)| match token {
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            let after_dot = index > 0
                && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.as_char() == '.');
            if after_dot {
                RECEIVED_IDS.contains(&name.as_str())
            } else {
                seen.insert(name.clone())
                    && locals
                        .values_of(&name)
                        .iter()
                        .any(|value| copies_received_id(value.to_token_stream(), locals, seen))
            }
        }
        TokenTree::Group(group) => copies_received_id(group.stream(), locals, seen),
        _ => false,
    })
}

/// What the parts of a key are, as far as identifying a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// The same for every message: a literal, a constant.
    Constant,
    /// A partition, shard or bucket number: shared by every message of that
    /// partition.
    Partition,
    /// Anything else that varies, such as an entity's id: it may identify
    /// the message.
    Identifying,
}

/// Words that name a partition, shard or bucket number, or a group that
/// owns many messages (a tenant, an organisation, a region): a key made of
/// one is shared by every message of that group.
const PARTITION_WORDS: &[&str] = &[
    "shard",
    "shards",
    "partition",
    "partitions",
    "bucket",
    "slot",
    "vnode",
    "lane",
    "tenant",
    "org",
    "organization",
    "organisation",
    "workspace",
    "namespace",
    "region",
    "cluster",
    "datacenter",
];

/// Whether a name has a word of [`PARTITION_WORDS`], as a whole word of a
/// snake_case or camelCase name (`tenant_id`, `shardNo`; not `order`).
fn names_partition(name: &str) -> bool {
    words(name).any(|word| PARTITION_WORDS.contains(&word.as_str()))
}

/// Whether a name is the name of a partition or group: its last word,
/// past `id`, `key`, `no` and the like, is one (`tenant_id`, `shardNo`,
/// `partition_key`; not `shard_of_order`).
fn is_partition_name(name: &str) -> bool {
    words(name)
        .filter(|word| {
            !matches!(
                word.as_str(),
                "id" | "key" | "no" | "num" | "number" | "idx" | "index" | "name" | "uuid"
            )
        })
        .last()
        .is_some_and(|word| PARTITION_WORDS.contains(&word.as_str()))
}

/// The lowercase words of a snake_case or camelCase name.
fn words(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split('_').flat_map(|part| {
        let mut words = Vec::new();
        let mut current = String::new();
        for c in part.chars() {
            if c.is_ascii_uppercase() && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            current.push(c.to_ascii_lowercase());
        }
        if !current.is_empty() {
            words.push(current);
        }
        words
    })
}

/// Whether a record key is a partition key: every part of it that varies
/// is a partition or shard number (a name, field or accessor that says so,
/// or a value reduced modulo a count, `n % SHARDS`), the rest constants.
/// Such a key is shared by every message of its partition and identifies
/// none. A key with any other varying part (`order.id`,
/// `format!("order-{}", id)`) may identify the message and still counts.
fn is_partition_key(value: &TokenStream, locals: &Locals) -> bool {
    syn::parse2::<Expr>(value.clone())
        .is_ok_and(|expr| part(&expr, locals, &mut BTreeSet::new()) == Part::Partition)
}

fn part(expr: &Expr, locals: &Locals, seen: &mut BTreeSet<String>) -> Part {
    match expr {
        Expr::Lit(_) => Part::Constant,
        Expr::Path(path) => match path.path.get_ident() {
            Some(ident) => named_part(&ident.to_string(), locals, seen),
            None => {
                let constant = path.path.segments.last().is_some_and(|segment| {
                    segment
                        .ident
                        .to_string()
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                });
                if constant {
                    Part::Constant
                } else {
                    Part::Identifying
                }
            }
        },
        Expr::Field(field) => match &field.member {
            syn::Member::Named(name) if names_partition(&name.to_string()) => Part::Partition,
            _ => Part::Identifying,
        },
        Expr::MethodCall(call) => {
            let method = call.method.to_string();
            if names_partition(&method) {
                Part::Partition
            } else if matches!(
                method.as_str(),
                "to_string" | "to_owned" | "clone" | "into" | "as_str" | "as_bytes" | "as_ref"
            ) {
                part(&call.receiver, locals, seen)
            } else if matches!(method.as_str(), "map" | "unwrap" | "expect" | "as_deref") {
                // `tenant_id.map(|id| id.to_string())`: the closure only
                // reshapes the value inside the option.
                part(&call.receiver, locals, seen)
            } else if matches!(
                method.as_str(),
                "unwrap_or" | "unwrap_or_else" | "unwrap_or_default"
            ) {
                // An optional key with a fallback (`.unwrap_or_else(||
                // "gateway".into())`) is made of the option and the
                // fallback.
                let mut made_of = part(&call.receiver, locals, seen);
                for arg in &call.args {
                    let fallback = match arg {
                        Expr::Closure(closure) => part(&closure.body, locals, seen),
                        other => part(other, locals, seen),
                    };
                    made_of = made_of.max(fallback);
                }
                made_of
            } else {
                Part::Identifying
            }
        }
        Expr::Call(call) => match &*call.func {
            Expr::Path(func)
                if func
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| names_partition(&s.ident.to_string())) =>
            {
                Part::Partition
            }
            _ => Part::Identifying,
        },
        Expr::Binary(binary) => {
            if matches!(binary.op, syn::BinOp::Rem(_)) {
                Part::Partition
            } else {
                part(&binary.left, locals, seen).max(part(&binary.right, locals, seen))
            }
        }
        Expr::Reference(inner) => part(&inner.expr, locals, seen),
        Expr::Paren(inner) => part(&inner.expr, locals, seen),
        Expr::Group(inner) => part(&inner.expr, locals, seen),
        Expr::Unary(inner) => part(&inner.expr, locals, seen),
        Expr::Cast(inner) => part(&inner.expr, locals, seen),
        Expr::Try(inner) => part(&inner.expr, locals, seen),
        Expr::Macro(mac) => formatted_part(&mac.mac, locals, seen),
        _ => Part::Identifying,
    }
}

/// A variable: a local by the value it was built from, anything else (a
/// parameter) by its name. Each local is looked at once per key (`seen`):
/// its part is already in the result the second time.
fn named_part(name: &str, locals: &Locals, seen: &mut BTreeSet<String>) -> Part {
    if name.starts_with(|c: char| c.is_ascii_uppercase()) || !seen.insert(name.to_string()) {
        return Part::Constant;
    }
    // A variable named for a tenant or a shard holds one, whatever it was
    // parsed or looked up from (`if let Ok(tenant_id) = Uuid::parse_str(..)`);
    // one that only mentions a shard (`shard_of_order`) is judged by its value.
    if is_partition_name(name) {
        return Part::Partition;
    }
    let values = locals.values_of(name);
    if values.is_empty() {
        return Part::Identifying;
    }
    values
        .iter()
        .map(|value| part(value, locals, seen))
        .max()
        .unwrap_or(Part::Identifying)
}

/// `format!("{PREFIX}_{shard}")`, `format!("{}_{}", PREFIX, shard)`: the
/// parts are the names the literal captures and the arguments.
fn formatted_part(mac: &syn::Macro, locals: &Locals, seen: &mut BTreeSet<String>) -> Part {
    let name = mac
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    if !matches!(name.as_str(), "format" | "concat") {
        return Part::Identifying;
    }
    let Ok(args) =
        mac.parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
    else {
        return Part::Identifying;
    };
    let mut result = Part::Constant;
    for (index, arg) in args.iter().enumerate() {
        let arg_part = match arg {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) if index == 0 => inline_captures(&text.value())
                .iter()
                .map(|captured| named_part(captured, locals, seen))
                .max()
                .unwrap_or(Part::Constant),
            // A named argument (`shard_id = shard.id().number()`): a name
            // that says partition or shard holds one, whatever the value is
            // read from; any other is judged by its value.
            Expr::Assign(assign) => match &*assign.left {
                Expr::Path(path)
                    if path
                        .path
                        .get_ident()
                        .is_some_and(|ident| is_partition_name(&ident.to_string())) =>
                {
                    Part::Partition
                }
                _ => part(&assign.right, locals, seen),
            },
            other => part(other, locals, seen),
        };
        result = result.max(arg_part);
    }
    result
}

/// The names a format string captures inline: `{shard}`, `{PREFIX:>4}`;
/// not `{}`, `{0}` or an escaped `{{`.
fn inline_captures(format: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = format;
    while let Some(start) = rest.find('{') {
        rest = &rest[start + 1..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            out.push(name);
        }
    }
    out
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
    #[test]
    fn partition_words_are_whole_words_of_the_name() {
        for name in [
            "tenant_id",
            "tenantId",
            "shard",
            "shardNo",
            "org_id",
            "partition_key",
        ] {
            assert!(super::names_partition(name), "{name}");
        }
        for name in ["order_id", "orderId", "organ", "sharding_key_of_user", "id"] {
            assert!(!super::names_partition(name), "{name}");
        }
        for name in ["tenant_id", "shardNo", "partition_key", "org"] {
            assert!(super::is_partition_name(name), "{name}");
        }
        for name in ["shard_of_order", "order_id", "tenant_order"] {
            assert!(!super::is_partition_name(name), "{name}");
        }
    }

    use super::*;

    fn expr(source: &str) -> Expr {
        syn::parse_str(source).expect("test expression parses")
    }

    #[test]
    fn the_tree_scan_agrees_with_the_tokens_on_whether_a_value_names_a_variable() {
        // (value, name): the quick scan may only say no where the tokens do.
        for (source, name) in [
            ("id.clone()", "id"),
            ("msg.id", "id"),
            ("msg.id()", "id"),
            ("format!(\"{}\", id)", "id"),
            ("vec![a.b, id]", "id"),
            ("&raw const id", "raw"),
            ("{ #[cfg(id)] let x = 1; x }", "id"),
            ("|id| id + 1", "id"),
            ("x..id", "id"),
            ("'id: loop { break 'id; }", "id"),
            ("other.clone()", "id"),
            ("Some(identity)", "id"),
            ("r#type.len()", "r#type"),
            ("r#type.len()", "type"),
        ] {
            let value = expr(source);
            assert_eq!(
                value_mentions(&value, name),
                mentions(value.to_token_stream(), name),
                "{source} / {name}"
            );
        }
        assert!(!spelt_in(&expr("other.clone()"), "id"));
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
    fn a_partition_key_is_not_an_id_but_an_entity_key_is() {
        let mut locals = Locals::default();
        locals.bind("shard".into(), Some(expr("message.partition()")));
        locals.bind("key".into(), Some(expr("format!(\"{PREFIX}_{shard}\")")));
        locals.bind("customer".into(), None);
        let key_of = |value: &str| {
            id_evidence(
                &[&expr(&format!("FutureRecord::to(\"t\").key({value})"))],
                &locals,
                &["key"],
            )
        };
        for partition in [
            "&key",
            "&format!(\"{}-{}\", PREFIX, shard)",
            "&(account.number % SHARDS).to_string()",
            "&shard_no.to_string()",
        ] {
            assert_eq!(key_of(partition), IdEvidence::SharedKey, "{partition}");
        }
        for entity in [
            "&order.id",
            "&format!(\"order-{}\", id)",
            "&format!(\"{PREFIX}-{order_id}\")",
            "&customer",
        ] {
            assert!(
                matches!(key_of(entity), IdEvidence::Present { .. }),
                "{entity}"
            );
        }
        assert_eq!(
            inline_captures("{{literal}} {PREFIX}_{shard:>4} {} {0}"),
            vec!["PREFIX".to_string(), "shard".to_string()]
        );
    }

    /// Locals built from each other many times over are each looked at
    /// once: without that, the walk is exponential in their number.
    #[test]
    fn chains_of_locals_are_followed_in_linear_time() {
        let mut locals = Locals::default();
        for index in 0..8 {
            locals.bind(format!("l{index}"), Some(expr("message.partition()")));
        }
        for index in 8..300 {
            let previous: Vec<String> = (1..=8).map(|back| format!("l{}", index - back)).collect();
            let value = format!("format!(\"{}\", {})", "{}".repeat(8), previous.join(", "));
            locals.bind(format!("l{index}"), Some(expr(&value)));
        }
        let started = std::time::Instant::now();
        let record = expr("FutureRecord::to(\"t\").key(&l299)");
        assert_eq!(
            id_evidence(&[&record], &locals, &["key"]),
            IdEvidence::SharedKey
        );
        let reply = expr("BasicProperties::default().with_correlation_id(l299)");
        assert_eq!(id_evidence(&[&reply], &locals, &[]), IdEvidence::Absent);
        // A guard against an exponential walk (which would take hours), not
        // a speed test: generous, so a loaded machine cannot fail it.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
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

    #[test]
    fn a_shorthand_field_is_a_field() {
        let locals = Locals::default();
        assert!(matches!(
            id_evidence(&[&expr("Receipt { order_id, email }")], &locals, &[]),
            IdEvidence::Present { .. }
        ));
        assert_eq!(
            id_evidence(&[&expr("Receipt { email, total }")], &locals, &[]),
            IdEvidence::Absent
        );
    }
}
