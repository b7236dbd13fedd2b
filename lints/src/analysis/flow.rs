//! The order in which a function does things.
//!
//! The ordering rules ask questions like "is this ack followed, on the same
//! path, by work on the message it settles?". A [`FnFlow`] answers them: it
//! walks one function body in evaluation order and records every call it
//! recognises as an [`Event`], together with
//!
//! - its branch path (which arm of which `if`/`match`/`select!` it is in),
//!   so two arms are alternatives, not a sequence, and an arm that ends in
//!   `continue`/`return` (a message acked and discarded) does not run
//!   before what follows it;
//! - its task (a `tokio::spawn`ed future or a `join!` branch runs
//!   concurrently with the code around it, never "before" or "after" it);
//! - the variables it reads, and which variables each `let` derives from
//!   which, so a rule can follow a consumed message through
//!   `let order = serde_json::from_slice(&delivery.data)?`.

use std::collections::{BTreeSet, HashSet};

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, Stmt};

use super::apis::{Known, Op, Recognized, classify_call, classify_segment, is_spawn_method};
use super::chain::{Chain, collect_idents, pattern_names};
use super::ids::Locals;
use super::macros::{self, MacroBody};
use crate::finding::{Confidence, Region};

/// An arm of a branch point: (branch point id, arm index).
pub type Arm = (u32, u32);

/// One thing a function does.
#[derive(Debug, Clone)]
pub struct Event {
    /// Evaluation order inside the function.
    pub seq: u32,
    /// The arms this event is inside, outermost first.
    pub scope: Vec<Arm>,
    /// The concurrent tasks this event is inside, outermost first.
    pub task: Vec<u32>,
    /// The loops this event is inside, outermost first.
    pub loops: Vec<u32>,
    pub kind: EventKind,
    pub region: Region,
    /// The variables the call reads (receiver and arguments).
    pub reads: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    /// A call a rule cares about.
    Op(Recognized),
    /// Any other call: a candidate "work" call if it reads the message.
    /// `awaited`: its future is awaited at once, so it does I/O.
    Call { name: String, awaited: bool },
    /// `let names = <expr reading from>`, a pattern, a parameter.
    Bind {
        names: Vec<String>,
        from: BTreeSet<String>,
    },
}

/// The events of one function.
#[derive(Debug, Clone)]
pub struct FnFlow {
    pub name: String,
    /// The names of the parameters other than `self`, in order (the first
    /// name a pattern binds).
    pub params: Vec<String>,
    pub events: Vec<Event>,
    /// Arms that end in `continue`, `return`, `break` or a panic: what
    /// follows the branch point does not run after them.
    pub diverging: HashSet<Arm>,
    /// The function mentions an outbox (a table, a type, a string).
    pub mentions_outbox: bool,
    /// The values messages are received from: the receiver of a receive
    /// (`consumer.next()`, `sub.recv()`, `channel.basic_consume(..)`). A
    /// message is what a receive returns, one per iteration; the consumer,
    /// stream or subscription it came from is not one, however it was bound.
    pub sources: BTreeSet<String>,
}

/// Depth beyond which the walk stops descending: a guard for generated
/// code; the linter's worker threads have large stacks, but nothing is
/// gained from following 10 000 nested parentheses.
const MAX_DEPTH: usize = 400;

impl FnFlow {
    /// Whether `a` runs, and completes, before `b` on the same path: same
    /// task, earlier, not in a different arm of the same branch, and not in
    /// an arm that leaves (via `continue`, `return`...) before `b`.
    pub fn runs_before(&self, a: &Event, b: &Event) -> bool {
        if a.seq >= b.seq || a.task != b.task {
            return false;
        }
        let common = a
            .scope
            .iter()
            .zip(&b.scope)
            .take_while(|(x, y)| x == y)
            .count();
        if let (Some(x), Some(y)) = (a.scope.get(common), b.scope.get(common))
            && x.0 == y.0
        {
            return false;
        }
        a.scope[common..]
            .iter()
            .all(|arm| !self.diverging.contains(arm))
    }

    /// The variables derived from `roots`: the roots, everything bound
    /// together with them (`(msg, handler)`), and everything bound from
    /// an expression that reads one of them, transitively.
    pub fn derived_from(&self, roots: &BTreeSet<String>) -> BTreeSet<String> {
        let mut tainted = roots.clone();
        for _ in 0..3 {
            let before = tainted.len();
            for event in &self.events {
                if let EventKind::Bind { names, from } = &event.kind
                    && (names.iter().any(|name| tainted.contains(name)) && names.len() > 1
                        || from.iter().any(|name| tainted.contains(name)))
                {
                    tainted.extend(names.iter().cloned());
                }
            }
            if tainted.len() == before {
                break;
            }
        }
        tainted
    }

    /// When `name` was last bound before `seq` (parameters bind at 0).
    pub fn bound_before(&self, name: &str, seq: u32) -> bool {
        self.events.iter().any(|event| {
            event.seq < seq && matches!(&event.kind, EventKind::Bind { names, .. } if names.iter().any(|n| n == name))
        })
    }

    /// The recognised operations, with their events.
    pub fn ops(&self) -> impl Iterator<Item = (&Event, &Recognized)> {
        self.events.iter().filter_map(|event| match &event.kind {
            EventKind::Op(recognized) => Some((event, recognized)),
            _ => None,
        })
    }

    /// Whether the function runs a Kafka producer transaction.
    pub fn has_kafka_transaction(&self) -> bool {
        self.ops()
            .any(|(_, r)| matches!(r.op, Op::KafkaTransaction))
    }
}

/// Every function of the file, each walked on its own (a nested `fn`
/// inside a body is its own function; closures and async blocks belong to
/// the function they are written in).
pub fn flows(items: &[syn::Item], known: &Known<'_>) -> Vec<FnFlow> {
    let mut finder = FnFinder {
        known,
        flows: Vec::new(),
    };
    for item in items {
        finder.visit_item(item);
    }
    finder.flows
}

struct FnFinder<'k, 'a> {
    known: &'k Known<'a>,
    flows: Vec<FnFlow>,
}

impl FnFinder<'_, '_> {
    fn walk(&mut self, sig: &syn::Signature, block: &Block) {
        let mut walker = Walker::new(self.known, sig.ident.to_string());
        for input in &sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                let names = pattern_names(&typed.pat);
                walker
                    .flow
                    .params
                    .push(names.first().cloned().unwrap_or_default());
                for name in &names {
                    walker.locals.bind(name.clone(), None);
                }
                walker.push(
                    EventKind::Bind {
                        names,
                        from: BTreeSet::new(),
                    },
                    Region::from_span(typed.pat.span()),
                    BTreeSet::new(),
                );
            }
        }
        walker.block(block);
        self.flows.push(walker.flow);
    }
}

impl<'ast> Visit<'ast> for FnFinder<'_, '_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.walk(&item.sig, &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.walk(&item.sig, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.walk(&item.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, item);
    }

    fn visit_item_macro(&mut self, _: &'ast syn::ItemMacro) {
        // `macro_rules!` bodies hold metavariables, not code.
    }
}

struct Walker<'k, 'a> {
    known: &'k Known<'a>,
    flow: FnFlow,
    locals: Locals,
    seq: u32,
    scope: Vec<Arm>,
    task: Vec<u32>,
    loops: Vec<u32>,
    next_id: u32,
    depth: usize,
    /// The method chain about to be walked is awaited (`x.insert(r).await`).
    await_next: bool,
}

impl<'k, 'a> Walker<'k, 'a> {
    fn new(known: &'k Known<'a>, name: String) -> Self {
        Walker {
            known,
            flow: FnFlow {
                name,
                params: Vec::new(),
                events: Vec::new(),
                diverging: HashSet::new(),
                mentions_outbox: false,
                sources: BTreeSet::new(),
            },
            locals: Locals::default(),
            seq: 0,
            scope: Vec::new(),
            task: Vec::new(),
            loops: Vec::new(),
            next_id: 0,
            depth: 0,
            await_next: false,
        }
    }

    /// A call to one of the file's own functions that settles the message
    /// it is given: the message that call settles.
    fn local_ack(&self, name: &str, args: &[&Expr]) -> Option<BTreeSet<String>> {
        let positions = self.known.local_acks.get(name)?;
        let settled: Vec<&Expr> = positions
            .iter()
            .filter_map(|&i| args.get(i).copied())
            .collect();
        let message = super::apis::message_of(&settled);
        (!message.is_empty()).then_some(message)
    }

    fn fresh(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn push(&mut self, kind: EventKind, region: Region, reads: BTreeSet<String>) {
        self.seq += 1;
        self.flow.events.push(Event {
            seq: self.seq,
            scope: self.scope.clone(),
            task: self.task.clone(),
            loops: self.loops.clone(),
            kind,
            region,
            reads,
        });
    }

    fn bind(&mut self, pat: &syn::Pat, from: BTreeSet<String>, value: Option<&Expr>) {
        let names = pattern_names(pat);
        if names.is_empty() {
            return;
        }
        for name in &names {
            self.locals.bind(name.clone(), value.cloned());
        }
        self.push(
            EventKind::Bind { names, from },
            Region::from_span(pat.span()),
            BTreeSet::new(),
        );
    }

    /// Runs `f` inside arm `arm` of branch point `branch`, and records
    /// whether the arm leaves.
    fn arm(&mut self, branch: u32, arm: u32, diverges: bool, f: impl FnOnce(&mut Self)) {
        self.scope.push((branch, arm));
        if diverges {
            self.flow.diverging.insert((branch, arm));
        }
        f(self);
        self.scope.pop();
    }

    fn in_task(&mut self, f: impl FnOnce(&mut Self) -> BTreeSet<String>) -> BTreeSet<String> {
        let id = self.fresh();
        self.task.push(id);
        let reads = f(self);
        self.task.pop();
        reads
    }

    fn block(&mut self, block: &Block) -> BTreeSet<String> {
        let mut reads = BTreeSet::new();
        for stmt in &block.stmts {
            reads.extend(self.stmt(stmt));
        }
        reads
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> BTreeSet<String> {
        let mut reads = BTreeSet::new();
        for stmt in stmts {
            reads.extend(self.stmt(stmt));
        }
        reads
    }

    fn stmt(&mut self, stmt: &Stmt) -> BTreeSet<String> {
        match stmt {
            Stmt::Local(local) => {
                let Some(init) = &local.init else {
                    self.bind(&local.pat, BTreeSet::new(), None);
                    return BTreeSet::new();
                };
                let reads = self.expr(&init.expr);
                if let Some((_, otherwise)) = &init.diverge {
                    // `let Ok(x) = .. else { ack; continue };`: the else
                    // block is an arm that always leaves.
                    let branch = self.fresh();
                    self.arm(branch, 0, true, |walker| {
                        walker.expr(otherwise);
                    });
                }
                self.bind(&local.pat, reads.clone(), Some(&init.expr));
                reads
            }
            Stmt::Item(_) => BTreeSet::new(),
            Stmt::Expr(expr, _) => self.expr(expr),
            Stmt::Macro(mac) => self.mac(&mac.mac),
        }
    }

    fn note_outbox(&mut self, text: &str) {
        if !self.flow.mentions_outbox && text.to_ascii_lowercase().contains("outbox") {
            self.flow.mentions_outbox = true;
        }
    }

    fn expr(&mut self, expr: &Expr) -> BTreeSet<String> {
        if self.depth > MAX_DEPTH {
            return BTreeSet::new();
        }
        self.depth += 1;
        let reads = self.expr_inner(expr);
        self.depth -= 1;
        reads
    }

    fn expr_inner(&mut self, expr: &Expr) -> BTreeSet<String> {
        match expr {
            Expr::Path(path) => {
                if let Some(segment) = path.path.segments.last() {
                    self.note_outbox(&segment.ident.to_string());
                }
                if path.path.segments.len() == 1 && path.qself.is_none() {
                    let name = path.path.segments[0].ident.to_string();
                    if name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                        return BTreeSet::from([name]);
                    }
                }
                BTreeSet::new()
            }
            Expr::Lit(lit) => {
                if let syn::Lit::Str(text) = &lit.lit {
                    let text = text.value();
                    self.note_outbox(&text);
                    // A relay by another name: SQL that reads or marks
                    // events as published.
                    let lower = text.to_ascii_lowercase();
                    if [
                        "published_at",
                        "sent_at",
                        "dispatched_at",
                        "is_published",
                        "published = ",
                    ]
                    .iter()
                    .any(|marker| lower.contains(marker))
                    {
                        self.flow.mentions_outbox = true;
                    }
                }
                BTreeSet::new()
            }
            Expr::MethodCall(_) => self.method_chain(expr),
            Expr::Await(inner) if matches!(&*inner.base, Expr::MethodCall(_) | Expr::Call(_)) => {
                self.await_next = true;
                self.expr(&inner.base)
            }
            Expr::Call(call) => match desugar_trait_call(call) {
                Some(method_call) => self.method_chain(&method_call),
                None => self.call(call),
            },
            Expr::Macro(mac) => self.mac(&mac.mac),
            Expr::Block(block) => self.block(&block.block),
            Expr::Unsafe(block) => self.block(&block.block),
            Expr::Async(block) => self.block(&block.block),
            Expr::TryBlock(block) => self.block(&block.block),
            Expr::Closure(closure) => self.expr(&closure.body),
            Expr::If(expr_if) => {
                let mut reads = self.expr(&expr_if.cond);
                let branch = self.fresh();
                let then_diverges = block_diverges(&expr_if.then_branch);
                self.arm(branch, 0, then_diverges, |walker| {
                    reads.extend(walker.block(&expr_if.then_branch));
                });
                if let Some((_, otherwise)) = &expr_if.else_branch {
                    let else_diverges = expr_diverges(otherwise);
                    self.arm(branch, 1, else_diverges, |walker| {
                        reads.extend(walker.expr(otherwise));
                    });
                }
                reads
            }
            Expr::Let(expr_let) => {
                let reads = self.expr(&expr_let.expr);
                self.bind(&expr_let.pat, reads.clone(), Some(&expr_let.expr));
                reads
            }
            Expr::Match(expr_match) => {
                let mut reads = self.expr(&expr_match.expr);
                let scrutinee = reads.clone();
                let branch = self.fresh();
                for (index, arm) in expr_match.arms.iter().enumerate() {
                    let diverges = expr_diverges(&arm.body);
                    self.arm(branch, index as u32, diverges, |walker| {
                        walker.bind(&arm.pat, scrutinee.clone(), Some(&expr_match.expr));
                        if let syn::Pat::Guard(guard) = &arm.pat {
                            reads.extend(walker.expr(&guard.guard));
                        }
                        reads.extend(walker.expr(&arm.body));
                    });
                }
                reads
            }
            Expr::While(expr_while) => {
                let id = self.fresh();
                self.loops.push(id);
                let mut reads = self.expr(&expr_while.cond);
                reads.extend(self.block(&expr_while.body));
                self.loops.pop();
                reads
            }
            Expr::ForLoop(for_loop) => {
                let reads = self.expr(&for_loop.expr);
                let id = self.fresh();
                self.loops.push(id);
                self.bind(&for_loop.pat, reads.clone(), Some(&for_loop.expr));
                let mut all = reads;
                all.extend(self.block(&for_loop.body));
                self.loops.pop();
                all
            }
            Expr::Loop(expr_loop) => {
                let id = self.fresh();
                self.loops.push(id);
                let reads = self.block(&expr_loop.body);
                self.loops.pop();
                reads
            }
            Expr::Assign(assign) => {
                let reads = self.expr(&assign.right);
                let left = self.expr(&assign.left);
                if let Some(name) = super::chain::root_ident(&assign.left) {
                    self.locals.touch(&name, (*assign.right).clone());
                    self.push(
                        EventKind::Bind {
                            names: vec![name],
                            from: reads.clone(),
                        },
                        Region::from_span(assign.left.span()),
                        BTreeSet::new(),
                    );
                }
                reads.into_iter().chain(left).collect()
            }
            _ => {
                // Every other expression: its sub-expressions, in order.
                let mut children = Children::default();
                syn::visit::visit_expr(&mut children, expr);
                let mut reads = BTreeSet::new();
                for child in children.exprs {
                    reads.extend(self.expr(child));
                }
                for block in children.blocks {
                    reads.extend(self.block(block));
                }
                reads
            }
        }
    }

    fn method_chain(&mut self, expr: &Expr) -> BTreeSet<String> {
        let tail_awaited = std::mem::take(&mut self.await_next);
        let chain = Chain::of(expr);
        // A call on a block (`async { .. }.instrument(span)`) gets the
        // block's value, not everything read inside it: the block's own
        // calls are events of their own already.
        let mut reads = match block_like(chain.root) {
            Some(block) => self.block_value(block),
            None => self.expr(chain.root),
        };
        let mut receiver_reads = reads.clone();
        // The chain settles a message: its value is the broker's answer
        // (`if let Err(e) = msg.ack().await`), not the message.
        let mut settles = false;
        // After an operation is recognised, the calls that follow in the
        // chain are its builder tail (`.receipt_handle(..).send()`), not
        // separate work.
        let mut in_operation = false;
        // An async closure handed to a call that is never awaited
        // (`consumer.set_delegate(move |d| async move { .. })`) is a
        // callback: its body runs later, on its own, like a spawned task.
        let chain_awaited = tail_awaited || chain.segments.iter().any(|s| s.awaited);
        for index in 0..chain.segments.len() {
            let segment = &chain.segments[index];
            self.note_outbox(&segment.method);
            let recognized = classify_segment(&chain, index, self.known, &self.locals);
            let spawns = is_spawn_method(&segment.method, segment.args.len())
                || matches!(recognized, Some(Recognized { op: Op::Spawn, .. }));
            let mut args_reads = BTreeSet::new();
            // A closure in an operation's tail (`.ack(..).await.map_err(|e| ..)`)
            // or an error handler gets the call's error, not the message.
            let error_handler = in_operation
                || matches!(
                    segment.method.as_str(),
                    "map_err" | "or_else" | "unwrap_or_else" | "inspect_err" | "ok_or_else"
                );
            let param_source = if error_handler {
                BTreeSet::new()
            } else {
                receiver_reads.clone()
            };
            for arg in &segment.args {
                let callback = !chain_awaited && is_async_closure(arg);
                let arg_reads = if spawns || callback {
                    self.in_task(|walker| walker.closure_arg(arg, &param_source))
                } else {
                    self.closure_arg(arg, &param_source)
                };
                args_reads.extend(arg_reads);
            }
            let mut call_reads = receiver_reads.clone();
            call_reads.extend(args_reads.iter().cloned());
            let region = Region {
                start: Region::from_span(segment.expr.method.span()).start,
                end: Region::from_span(segment.expr.paren_token.span.close()).end,
            };
            if is_receive(&segment.method, recognized.as_ref()) {
                let receiver: &Expr = if index == 0 {
                    chain.root
                } else {
                    &segment.expr.receiver
                };
                self.flow.sources.extend(super::chain::root_ident(receiver));
            }
            match recognized {
                Some(recognized) => {
                    settles |= matches!(recognized.op, Op::Ack { .. } | Op::Nack);
                    in_operation = matches!(
                        recognized.op,
                        Op::Ack { .. } | Op::Nack | Op::Publish(_) | Op::DbWrite { .. }
                    );
                    self.push(EventKind::Op(recognized), region, call_reads.clone());
                }
                None if in_operation => {}
                None if self.local_ack(&segment.method, &segment.args).is_some() => {
                    let message = self
                        .local_ack(&segment.method, &segment.args)
                        .unwrap_or_default();
                    in_operation = true;
                    settles = true;
                    self.push(
                        EventKind::Op(Recognized {
                            op: Op::Ack { message },
                            api: "local",
                            confidence: crate::finding::Confidence::Medium,
                        }),
                        region,
                        call_reads.clone(),
                    );
                }
                None => self.push(
                    EventKind::Call {
                        name: segment.method.clone(),
                        awaited: segment.awaited
                            || (tail_awaited && index + 1 == chain.segments.len()),
                    },
                    region,
                    call_reads.clone(),
                ),
            }
            // A method called on a local may change it
            // (`m.set_message_id(..)`, `headers.insert(..)`): remember the
            // call, for the id lookup of a later publish.
            let receiver: &Expr = if index == 0 {
                chain.root
            } else {
                &segment.expr.receiver
            };
            if let Some(name) = super::chain::root_ident(receiver)
                && self.locals.is_bound(&name)
            {
                if is_mutator(&segment.method) {
                    self.locals
                        .touch(&name, Expr::MethodCall(segment.expr.clone()));
                }
                // `batch.push(consumer.recv().await?)`: the collection now
                // holds what the arguments read.
                if is_collector(&segment.method) && !args_reads.is_empty() {
                    self.push(
                        EventKind::Bind {
                            names: vec![name],
                            from: args_reads.clone(),
                        },
                        region,
                        BTreeSet::new(),
                    );
                }
            }
            reads.extend(args_reads);
            receiver_reads = call_reads;
        }
        if settles {
            return BTreeSet::new();
        }
        reads
    }

    /// Walks a block and returns what its value reads: its tail
    /// expression's names (`{ ..; x }` reads `x`), nothing when it ends in
    /// a statement.
    fn block_value(&mut self, block: &Block) -> BTreeSet<String> {
        let Some((last, rest)) = block.stmts.split_last() else {
            return BTreeSet::new();
        };
        self.stmts(rest);
        let tail = self.stmt(last);
        match last {
            Stmt::Expr(_, None) => tail,
            _ => BTreeSet::new(),
        }
    }

    /// An argument; a closure's parameters derive from the receiver it is
    /// called on (`stream.for_each(|msg| ..)`).
    fn closure_arg(&mut self, arg: &Expr, receiver_reads: &BTreeSet<String>) -> BTreeSet<String> {
        // A closure's body runs later (or never): what it reads is not read
        // by the call it is passed to.
        if let Expr::Closure(closure) = arg {
            for input in &closure.inputs {
                self.bind(input, receiver_reads.clone(), None);
            }
            self.expr(arg);
            return BTreeSet::new();
        }
        // An async block handed to a call (`runtime.block_on(async { .. })`)
        // is a future: the call runs it, and the block's calls are events of
        // their own; the call does not read what the block reads (as for a
        // function's argument, in `call`).
        if let Expr::Async(_) = arg {
            self.expr(arg);
            return BTreeSet::new();
        }
        self.expr(arg)
    }

    fn call(&mut self, call: &syn::ExprCall) -> BTreeSet<String> {
        // `fulfil(&order).await`: the call's future is awaited at once.
        let awaited = std::mem::take(&mut self.await_next);
        let recognized = classify_call(call, self.known, &self.locals);
        let spawns = matches!(recognized, Some(Recognized { op: Op::Spawn, .. }));
        let mut reads = BTreeSet::new();
        for arg in &call.args {
            let arg_reads = if spawns {
                self.in_task(|walker| walker.expr(arg))
            } else {
                self.expr(arg)
            };
            // A closure or an async block handed to a call
            // (`Box::pin(async move { .. })`) runs later, on its own: the
            // call does not read what the block reads.
            if !matches!(arg, Expr::Closure(_) | Expr::Async(_)) {
                reads.extend(arg_reads);
            }
        }
        let name = match &*call.func {
            Expr::Path(path) => path
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            other => {
                reads.extend(self.expr(other));
                String::new()
            }
        };
        self.note_outbox(&name);
        let region = Region {
            start: Region::from_span(call.func.span()).start,
            end: Region::from_span(call.paren_token.span.close()).end,
        };
        let args: Vec<&Expr> = call.args.iter().collect();
        let kind = match (recognized, self.local_ack(&name, &args)) {
            (Some(recognized), _) => EventKind::Op(recognized),
            (None, Some(message)) => EventKind::Op(Recognized {
                op: Op::Ack { message },
                api: "local",
                confidence: crate::finding::Confidence::Medium,
            }),
            (None, None) => EventKind::Call { name, awaited },
        };
        self.push(kind, region, reads.clone());
        reads
    }

    fn mac(&mut self, mac: &syn::Macro) -> BTreeSet<String> {
        let mut reads = BTreeSet::new();
        match macros::body(mac) {
            MacroBody::Select(branches) => {
                // All futures are polled together; one handler runs.
                let mut futures = Vec::new();
                for branch in &branches {
                    let future_reads = match &branch.future {
                        Some(future) => self.expr(future),
                        None => BTreeSet::new(),
                    };
                    reads.extend(future_reads.iter().cloned());
                    futures.push(future_reads);
                }
                let point = self.fresh();
                for (index, (branch, future_reads)) in branches.iter().zip(futures).enumerate() {
                    let diverges = expr_diverges(&branch.handler);
                    self.arm(point, index as u32, diverges, |walker| {
                        if let Some(pat) = &branch.pat {
                            walker.bind(pat, future_reads, branch.future.as_ref());
                        }
                        if let Some(guard) = &branch.guard {
                            reads.extend(walker.expr(guard));
                        }
                        reads.extend(walker.expr(&branch.handler));
                    });
                }
            }
            MacroBody::Concurrent(exprs) => {
                for expr in &exprs {
                    reads.extend(self.in_task(|walker| walker.expr(expr)));
                }
            }
            MacroBody::Sequential(exprs) => {
                for expr in &exprs {
                    reads.extend(self.expr(expr));
                }
            }
            MacroBody::Statements(stmts) => reads.extend(self.stmts(&stmts)),
            MacroBody::Display(_) | MacroBody::Opaque => {
                // Display only: no work, but the names still count as
                // read (a `format!` that builds a payload).
                let text = mac.tokens.to_string();
                self.note_outbox(&text);
                collect_idents(mac.tokens.clone(), &mut reads);
            }
        }
        reads
    }
}

/// The block of a block-like expression (`{ .. }`, `async { .. }`,
/// `unsafe { .. }`), through parentheses.
fn block_like(expr: &Expr) -> Option<&Block> {
    match expr {
        Expr::Block(block) => Some(&block.block),
        Expr::Async(block) => Some(&block.block),
        Expr::Unsafe(block) => Some(&block.block),
        Expr::Paren(inner) => block_like(&inner.expr),
        _ => None,
    }
}

/// Whether a call receives messages from its receiver: a recognised
/// consume, or a stream's or channel's receive (`next`, `recv`,
/// `try_next`), which a consumer, a stream and a subscription all have.
fn is_receive(method: &str, recognized: Option<&Recognized>) -> bool {
    matches!(
        recognized,
        Some(Recognized {
            op: Op::Consume,
            ..
        })
    ) || matches!(
        method,
        "next" | "try_next" | "recv" | "try_recv" | "recv_many" | "recv_async" | "next_message"
    )
}

/// `|d| async move { .. }` or `async |d| { .. }`.
fn is_async_closure(expr: &Expr) -> bool {
    match expr {
        Expr::Closure(closure) => {
            closure.asyncness.is_some()
                || match &*closure.body {
                    Expr::Async(_) => true,
                    // `move |d| { let repo = repo.clone(); async move { .. } }`
                    Expr::Block(block) => matches!(
                        block.block.stmts.last(),
                        Some(Stmt::Expr(Expr::Async(_), None))
                    ),
                    _ => false,
                }
        }
        _ => false,
    }
}

/// Traits whose methods are called in the fully qualified form
/// (`AsyncCommands::xadd(&mut con, ..)`, `Consumer::commit_message(&c, ..)`)
/// often enough to matter; besides these, any trait named `...Commands` or
/// `...Ext`.
const CALLED_TRAITS: &[&str] = &[
    "Consumer",
    "Producer",
    "ConnectionLike",
    "ActiveModelTrait",
    "EntityTrait",
    "ConnectionTrait",
    "TransactionTrait",
    "Executor",
];

/// `Trait::method(receiver, args..)` read as `receiver.method(args..)`, so
/// that the fully qualified form of a broker or database call is
/// recognised like the method form. Only for the traits above: a path like
/// `Message::new(x)` is a constructor, not a method of `x`.
fn desugar_trait_call(call: &syn::ExprCall) -> Option<Expr> {
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let segments: Vec<&syn::PathSegment> = func.path.segments.iter().collect();
    let [.., owner, method] = segments.as_slice() else {
        return None;
    };
    let owner_name = owner.ident.to_string();
    let is_trait = CALLED_TRAITS.contains(&owner_name.as_str())
        || (owner_name.len() > "Commands".len() && owner_name.ends_with("Commands"))
        || owner_name == "Commands"
        || (owner_name.len() > 3 && owner_name.ends_with("Ext"));
    let method_name = method.ident.to_string();
    if !is_trait
        || func.qself.is_some()
        || matches!(method_name.as_str(), "new" | "default" | "from" | "builder")
    {
        return None;
    }
    let mut args = call.args.iter();
    let receiver = args.next()?.clone();
    Some(Expr::MethodCall(syn::ExprMethodCall {
        attrs: call.attrs.clone(),
        receiver: Box::new(receiver),
        dot_token: Default::default(),
        method: method.ident.clone(),
        turbofish: None,
        paren_token: call.paren_token,
        args: args.cloned().collect(),
    }))
}

/// The file's functions that settle a message they are given, by name,
/// with the parameter positions they settle. A name defined several times
/// counts only for the positions every definition settles.
pub fn local_ack_summaries(flows: &[FnFlow]) -> std::collections::BTreeMap<String, Vec<usize>> {
    let mut by_name: std::collections::BTreeMap<String, Option<BTreeSet<usize>>> =
        std::collections::BTreeMap::new();
    for flow in flows {
        let settled: BTreeSet<usize> = flow
            .ops()
            .filter_map(|(_, recognized)| match &recognized.op {
                Op::Ack { message } if recognized.api != "local" => Some(message),
                _ => None,
            })
            .flat_map(|message| {
                flow.params
                    .iter()
                    .enumerate()
                    .filter(|(_, param)| !param.is_empty() && message.contains(*param))
                    .map(|(index, _)| index)
            })
            .collect();
        let entry = by_name.entry(flow.name.clone()).or_insert(None);
        *entry = Some(match entry.take() {
            None => settled,
            Some(before) => before.intersection(&settled).copied().collect(),
        });
    }
    by_name
        .into_iter()
        .filter_map(|(name, positions)| {
            let positions: Vec<usize> = positions?.into_iter().collect();
            (!positions.is_empty()).then_some((name, positions))
        })
        .collect()
}

/// Methods that put their arguments into their receiver.
fn is_collector(method: &str) -> bool {
    matches!(
        method,
        "push" | "push_back" | "push_front" | "insert" | "extend" | "append" | "push_str"
    )
}

/// Methods whose call may change their receiver, for the id lookup.
fn is_mutator(method: &str) -> bool {
    method.starts_with("set_")
        || method.starts_with("with_")
        || method.starts_with("insert")
        || method.starts_with("append")
        || method.starts_with("add")
        || method.starts_with("push")
        || matches!(
            method,
            "extend" | "header" | "headers" | "message_id" | "properties"
        )
}

/// Whether a block always leaves the enclosing code before its end.
pub fn block_diverges(block: &Block) -> bool {
    block.stmts.iter().any(|stmt| match stmt {
        Stmt::Expr(expr, _) => expr_diverges(expr),
        Stmt::Macro(mac) => macro_diverges(&mac.mac),
        _ => false,
    })
}

/// Whether an expression always leaves (`continue`, `return`, `break`, a
/// panic, `process::exit`).
pub fn expr_diverges(expr: &Expr) -> bool {
    match expr {
        Expr::Continue(_) | Expr::Return(_) | Expr::Break(_) => true,
        Expr::Macro(mac) => macro_diverges(&mac.mac),
        Expr::Block(block) => block_diverges(&block.block),
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "exit"))
        }
        _ => false,
    }
}

fn macro_diverges(mac: &syn::Macro) -> bool {
    matches!(
        macros::macro_name(mac).as_str(),
        "panic" | "unreachable" | "bail" | "todo" | "unimplemented"
    )
}

/// The direct sub-expressions and blocks of an expression (one level).
#[derive(Default)]
struct Children<'ast> {
    exprs: Vec<&'ast Expr>,
    blocks: Vec<&'ast Block>,
}

impl<'ast> Visit<'ast> for Children<'ast> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        self.exprs.push(expr);
    }

    fn visit_block(&mut self, block: &'ast Block) {
        self.blocks.push(block);
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}

    fn visit_macro(&mut self, _: &'ast syn::Macro) {}
}

/// The confidence of a finding that rests on two events.
pub fn both(a: Confidence, b: Confidence) -> Confidence {
    a.min(b)
}
