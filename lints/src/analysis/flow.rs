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
use std::rc::Rc;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Block, Expr, Stmt};

use quote::ToTokens;

use super::apis::{
    Known, Op, PublishInfo, Recognized, Via, classify_call, classify_segment, is_spawn_method,
};
use super::chain::{Chain, collect_idents, pattern_names};
use super::ids::{IdEvidence, Locals, id_evidence};
use super::macros::{self, MacroBody};
use super::summary::{HeaderEffect, IdSource, Resolution, Scope, Site};
use crate::finding::{Confidence, Region};

/// An arm of a branch point: (branch point id, arm index).
pub type Arm = (u32, u32);

/// One thing a function does.
#[derive(Debug, Clone)]
pub struct Event {
    /// Evaluation order inside the function.
    pub seq: u32,
    /// The arms this event is inside, outermost first.
    pub scope: Rc<[Arm]>,
    /// The concurrent tasks this event is inside, outermost first.
    pub task: Rc<[u32]>,
    /// The loops this event is inside, outermost first.
    pub loops: Rc<[u32]>,
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
    /// `awaited`: its future is awaited at once, so it does I/O. `args`:
    /// what its arguments read (for a method, not its receiver): a value
    /// handed to a call (`handle(msg)`, `store.add(msg)`), not only asked
    /// something (`msg.occurred_at()`, `events.sort_by_key(..)`).
    Call {
        name: String,
        awaited: bool,
        args: BTreeSet<String>,
    },
    /// A value handed back to the caller: a `return`, or the function
    /// body's tail (a plain value, not a branch or a loop); the event's
    /// reads are what the value reads.
    Return,
    /// `let names = <expr reading from>`, a pattern, a parameter.
    Bind {
        names: Vec<String>,
        from: BTreeSet<String>,
    },
}

/// A call that may reach one of the crate's own functions, as the
/// crate-wide pass resolves it (see [`super::summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// `process(..)`, `handlers::process(..)`, `Self::process(..)`,
    /// `Publisher::send(..)`: the path as written.
    Path(Vec<String>),
    /// `self.process(..)`.
    SelfMethod(String),
    /// `self.bus.emit(..)`, `ctx.kafka.send(..)`: a method of a field of
    /// `self` or of a parameter.
    Field {
        base: String,
        field: String,
        method: String,
    },
    /// `handler.handle(..)`: a method on a local (`Some`) or on the result
    /// of another call (`None`).
    Method {
        receiver: Option<String>,
        method: String,
    },
}

/// A call the first pass could not resolve yet, as the crate-wide pass
/// needs it.
#[derive(Debug, Clone)]
pub struct CallNote {
    pub callee: Callee,
    /// What each argument reads.
    pub args: Vec<BTreeSet<String>>,
    /// Whether each argument, as written, shows a message's own id.
    pub identified: Vec<bool>,
    /// Made in a task the function spawns.
    pub spawned: bool,
    /// Made in a loop.
    pub looped: bool,
    /// Where it is made: the `seq` the next event gets, so that the
    /// bindings before the call are those with a smaller one.
    pub seq: u32,
}

/// The events of one function.
#[derive(Debug, Clone)]
pub struct FnFlow {
    pub name: String,
    /// The type of the `impl` block the function is a method of.
    pub owner: Option<String>,
    /// The trait that `impl` block implements, or that declares the
    /// function as a default method.
    pub trait_name: Option<String>,
    /// The declared type of each parameter in [`FnFlow::params`] (its own
    /// name, references and smart pointers taken off; empty if unknown).
    pub param_types: Vec<String>,
    /// The function returns a value (its return type is not `()`).
    pub returns_value: bool,
    /// When the function returns headers or properties it builds: its name's
    /// place, the keys it sets and what the id scan says of its tail.
    pub header_return: Option<(Region, Vec<String>, super::ids::IdEvidence)>,
    /// The calls that no table recognised, with what each argument reads:
    /// the crate-wide pass resolves them to the crate's own functions.
    pub calls: Vec<CallNote>,
    /// The calls taken for a publish by their receiver's name alone
    /// (`event_queue.send(e)`): if one is the crate's own method, the
    /// second pass walks the function again and its body decides.
    pub guessed: Vec<Callee>,
    /// The function sends on a channel of the process (`sender.send(e)`).
    pub sends_in_process: bool,
    /// The closures handed to method calls, and the names their parameters
    /// bind: what the called function hands to its callback.
    pub closure_params: Vec<(Region, BTreeSet<String>)>,
    /// For a publish (by `seq`) whose id cannot be seen because the message
    /// comes from parameters: the parameters that, built with no id by the
    /// caller, leave it with no id.
    pub publish_sources: std::collections::HashMap<u32, Vec<usize>>,
    /// The names of the parameters other than `self`, in order (the first
    /// name a pattern binds).
    pub params: Vec<String>,
    pub events: Vec<Event>,
    /// Arms that end in `continue`, `return`, `break` or a panic: what
    /// follows the branch point does not run after them.
    pub diverging: HashSet<Arm>,
    /// The diverging arms that leave by returning an error (`return
    /// Err(..)`, `bail!`): a message settled there is one the function
    /// drops as it fails (a stale or malformed message), not one it hands
    /// back settled to a caller that goes on working on it.
    pub failing: HashSet<Arm>,
    /// Arms that run only when an expression failed (`Err(e) =>`, `if let
    /// Err(e) = ..`, the `else` of `if let Ok(..) = ..`), each with the
    /// first and last `seq` of the events of that expression: an operation
    /// among them did not take effect on the arm's path.
    pub failure_arms: std::collections::HashMap<Arm, (u32, u32)>,
    /// The tasks that outlive the call (a spawned future): what runs in
    /// them is not done by the time the function returns, unlike a `join!`
    /// branch or a callback's future that the function may await.
    pub detached: HashSet<u32>,
    /// The function mentions an outbox (a table, a type, a string), or a
    /// database's change feed, which a CDC tailer publishes from as a relay
    /// publishes from the outbox.
    pub mentions_outbox: bool,
    /// Names bound from a call that reads stored records
    /// (`store.list_pending().await?`, `get_outstanding_tasks()`): the
    /// data was durable before this function touched it.
    pub stored: BTreeSet<String>,
    /// The values messages are received from: the receiver of a receive
    /// (`consumer.next()`, `sub.recv()`, `channel.basic_consume(..)`). A
    /// message is what a receive returns, one per iteration; the consumer,
    /// stream or subscription it came from is not one, however it was bound.
    pub sources: BTreeSet<String>,
    /// The type a local is plainly of, by its own name (`Request`): from
    /// `let x: T = ..`, `let x = T::new(..)` or `let x = T { .. }`. Only
    /// what the text says; nothing is inferred.
    pub local_types: std::collections::HashMap<String, String>,
    /// What a `return` inside a loop reads: a polling loop that hands back
    /// the first message it gets (`loop { .. return Ok(message) }`).
    pub loop_returns: BTreeSet<String>,
}

/// Depth beyond which the walk stops descending: a guard for generated
/// code; the linter's worker threads have large stacks, but nothing is
/// gained from following 10 000 nested parentheses.
const MAX_DEPTH: usize = 400;

impl FnFlow {
    /// The values an event reads and those they were made from, back
    /// through the `let`s and assignments before it (the binding in force
    /// at each point: a name bound twice means its last value before).
    pub fn values_behind(&self, event: &Event) -> BTreeSet<String> {
        self.values_behind_at(&event.reads, event.seq)
    }

    /// The types of the values `names`, as far as the function says them:
    /// a parameter's declared type, or what a `let` plainly shows (see
    /// [`FnFlow::local_types`]). `self` is not a value sent anywhere.
    pub fn types_of(&self, names: &BTreeSet<String>) -> Vec<&str> {
        names
            .iter()
            .filter(|name| *name != "self")
            .filter_map(|name| {
                let declared = self
                    .params
                    .iter()
                    .position(|param| param == name)
                    .and_then(|position| self.param_types.get(position));
                self.local_types.get(name).or(declared).map(String::as_str)
            })
            .collect()
    }

    /// [`FnFlow::values_behind`] for the values `reads`, read at `at`.
    pub fn values_behind_at(&self, reads: &BTreeSet<String>, at: u32) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = reads.clone();
        let mut pending: Vec<(String, u32)> = names.iter().map(|name| (name.clone(), at)).collect();
        while let Some((name, at)) = pending.pop() {
            let Some(bind) = self.events.iter().rev().find(|bind| {
                bind.seq < at
                    && matches!(&bind.kind, EventKind::Bind { names: bound, .. } if bound.contains(&name))
            }) else {
                continue;
            };
            if let EventKind::Bind { from, .. } = &bind.kind {
                for source in from {
                    if names.len() < 64 && names.insert(source.clone()) {
                        pending.push((source.clone(), bind.seq));
                    }
                }
            }
        }
        names
    }

    /// Whether `a` runs, and completes, before `b` on the same path: same
    /// task, earlier, not in a different arm of the same branch, and not in
    /// an arm that leaves (via `continue`, `return`...) before `b`.
    pub fn runs_before(&self, a: &Event, b: &Event) -> bool {
        a.task == b.task && self.ordered(a, b)
    }

    /// As [`FnFlow::runs_before`], and also when `b` runs in a task that
    /// is spawned after `a` (`save(..).await; tokio::spawn(async move {
    /// publish(..) })`): the task starts only once `a` is done, so both
    /// effects happen, one after the other, with nothing to tie them.
    pub fn happens_before(&self, a: &Event, b: &Event) -> bool {
        b.task.starts_with(&a.task) && self.ordered(a, b)
    }

    /// `a` is walked before `b` on one path through the function.
    fn ordered(&self, a: &Event, b: &Event) -> bool {
        if a.seq >= b.seq {
            return false;
        }
        let common = a
            .scope
            .iter()
            .zip(b.scope.iter())
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

    /// Whether `event` runs only on a path where `op` failed: it is in the
    /// `Err` arm (or the `else` of an `if let Ok`) of an expression that
    /// evaluates `op`.
    pub fn after_failure_of(&self, op: &Event, event: &Event) -> bool {
        event.scope.iter().any(|arm| {
            self.failure_arms
                .get(arm)
                .is_some_and(|&(first, last)| (first..=last).contains(&op.seq))
        })
    }

    /// Whether `a` and `b` are in different arms of the same branch: no
    /// path runs both.
    pub fn exclusive(&self, a: &Event, b: &Event) -> bool {
        let common = a
            .scope
            .iter()
            .zip(b.scope.iter())
            .take_while(|(x, y)| x == y)
            .count();
        matches!((a.scope.get(common), b.scope.get(common)), (Some(x), Some(y)) if x.0 == y.0)
    }

    /// The variables derived from `roots`: the roots, everything bound
    /// together with them (`(msg, handler)`), and everything bound from
    /// an expression that reads one of them, transitively.
    pub fn derived_from(&self, roots: &BTreeSet<String>) -> BTreeSet<String> {
        self.derived_along(roots, None)
    }

    /// As [`FnFlow::derived_from`], on the paths through `along` only: a
    /// value bound in another arm of a branch `along` is in
    /// (`transfers.push(job)` in the `Some` arm, where `along` is the ack
    /// in the `None` arm) does not take the message along on its path.
    pub fn derived_along(
        &self,
        roots: &BTreeSet<String>,
        along: Option<&Event>,
    ) -> BTreeSet<String> {
        let mut tainted = roots.clone();
        for _ in 0..3 {
            let before = tainted.len();
            for event in self
                .events
                .iter()
                .filter(|event| along.is_none_or(|along| !self.exclusive(along, event)))
            {
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
///
/// With the file's `text` (the text it was parsed from), a function whose
/// text holds no second `fn` is not searched for nested functions: it can
/// hold none.
pub fn flows(items: &[syn::Item], known: &Known<'_>, text: Option<&str>) -> Vec<FnFlow> {
    let mut finder = FnFinder::new(known, None, text);
    for item in items {
        finder.visit_item(item);
    }
    finder.flows
}

/// Walks only the functions at these positions (in the order [`flows`]
/// lists them), and returns them with their positions: the crate-wide
/// pass walks again just the functions whose calls its summaries change.
pub fn flows_at(
    items: &[syn::Item],
    known: &Known<'_>,
    wanted: &BTreeSet<usize>,
    text: Option<&str>,
) -> Vec<(usize, FnFlow)> {
    let mut finder = FnFinder::new(known, Some((wanted, Vec::new())), text);
    let last = wanted.last().copied();
    for item in items {
        // Past the last wanted function, nothing more is walked.
        if last.is_none_or(|last| finder.seen > last) {
            break;
        }
        finder.visit_item(item);
    }
    let positions = finder
        .only
        .map(|(_, positions)| positions)
        .unwrap_or_default();
    positions.into_iter().zip(finder.flows).collect()
}

/// Walks only the functions that can call one of the crate's functions
/// that do something: those whose text (from `fn` to the closing brace)
/// holds one of `matches` (byte ranges of the names the crate index looks
/// for, see [`super::summary::CrateIndex::effect_matches`]), and every
/// function nested in one of them (a `use` in a function's body reaches the
/// functions nested in it). `None` when a match lies in a `use` item: an
/// alias (`use crate::bus::send as go`) lets a function call a helper by
/// another name, and the file is walked whole.
///
/// A function that names none of them makes no call the index resolves, so
/// its walk with the index finds what its walk without it found, in a file
/// whose text names no operation: nothing (see
/// [`super::FileAnalysis::with_index`]).
pub fn flows_touching(
    items: &[syn::Item],
    known: &Known<'_>,
    matches: &[std::ops::Range<usize>],
    text: Option<&str>,
) -> Option<Vec<FnFlow>> {
    let mut finder = FnFinder::new(known, None, text);
    let mut select = Select {
        matches,
        inside: 0,
        in_use: false,
    };
    for item in items {
        SelectingFinder {
            finder: &mut finder,
            select: &mut select,
        }
        .visit_item(item);
        if select.in_use {
            return None;
        }
    }
    Some(finder.flows)
}

/// Which functions [`flows_touching`] walks.
struct Select<'m> {
    matches: &'m [std::ops::Range<usize>],
    /// How many enclosing functions were walked.
    inside: usize,
    /// A match lies in a `use` item.
    in_use: bool,
}

impl Select<'_> {
    /// Whether a match lies within `from..to`; spans with no place in the
    /// text (`to <= from`) are taken to hold one.
    fn holds(&self, from: proc_macro2::Span, to: proc_macro2::Span) -> bool {
        let (lo, hi) = (from.byte_range().start, to.byte_range().end);
        hi <= lo
            || self
                .matches
                .iter()
                .any(|found| found.start >= lo && found.end <= hi)
    }

    fn wants(&self, sig: &syn::Signature, block: &Block) -> bool {
        self.inside > 0 || self.holds(sig.fn_token.span, block.brace_token.span.close())
    }
}

/// [`FnFinder`] walking only the functions [`Select`] wants, in the same
/// order and with the same owners.
struct SelectingFinder<'f, 'k, 'a, 'm> {
    finder: &'f mut FnFinder<'k, 'a>,
    select: &'f mut Select<'m>,
}

impl SelectingFinder<'_, '_, '_, '_> {
    /// Walks a function if wanted, then what is nested in it.
    fn function(&mut self, sig: &syn::Signature, block: &Block, nested: impl FnOnce(&mut Self)) {
        let wanted = self.select.wants(sig, block);
        if wanted {
            self.finder.walk(sig, block);
            self.select.inside += 1;
        } else {
            self.finder.seen += 1;
        }
        // Nested functions and `use` items are all the nested walk looks
        // for; a function whose text names neither holds none.
        if self.finder.may_nest(sig, block, &["fn", "use"]) {
            nested(self);
        }
        if wanted {
            self.select.inside -= 1;
        }
    }
}

impl<'ast> Visit<'ast> for SelectingFinder<'_, '_, '_, '_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.function(&item.sig, &item.block, |me| {
            syn::visit::visit_item_fn(me, item)
        });
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.function(&item.sig, &item.block, |me| {
            syn::visit::visit_impl_item_fn(me, item)
        });
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        match &item.default {
            Some(block) => self.function(&item.sig, block, |me| {
                syn::visit::visit_trait_item_fn(me, item)
            }),
            None => syn::visit::visit_trait_item_fn(self, item),
        }
    }

    fn visit_item_macro(&mut self, _: &'ast syn::ItemMacro) {
        // As `FnFinder`: `macro_rules!` bodies hold metavariables, not code.
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if self.select.holds(item.use_token.span, item.semi_token.span) {
            self.select.in_use = true;
        }
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let before = self.finder.enter_impl(item);
        syn::visit::visit_item_impl(self, item);
        (self.finder.owner, self.finder.trait_name) = before;
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        let before = (
            self.finder.owner.take(),
            self.finder.trait_name.replace(item.ident.to_string()),
        );
        syn::visit::visit_item_trait(self, item);
        (self.finder.owner, self.finder.trait_name) = before;
    }
}

struct FnFinder<'k, 'a> {
    known: &'k Known<'a>,
    flows: Vec<FnFlow>,
    /// The `impl` block being walked: its type and trait.
    owner: Option<String>,
    trait_name: Option<String>,
    /// When set, only the functions at these positions are walked, and the
    /// positions of those walked are recorded.
    only: Option<(&'k BTreeSet<usize>, Vec<usize>)>,
    /// How many functions were met so far.
    seen: usize,
    /// The text the file was parsed from, when known: see
    /// [`FnFinder::may_nest`].
    text: Option<&'k str>,
}

impl<'k, 'a> FnFinder<'k, 'a> {
    fn new(
        known: &'k Known<'a>,
        only: Option<(&'k BTreeSet<usize>, Vec<usize>)>,
        text: Option<&'k str>,
    ) -> Self {
        FnFinder {
            known,
            flows: Vec::new(),
            owner: None,
            trait_name: None,
            only,
            seen: 0,
            text,
        }
    }

    /// Whether the function (from its `fn` to its closing brace) may hold
    /// an item the nested walk looks for: `false` only when the file's text
    /// is known and, after the function's own `fn`, none of `words` occurs
    /// in its text. Every nested function (and `use` item) is spelt in
    /// that text, so the nested walk of a function without them finds
    /// nothing; searching the text is much cheaper than visiting every
    /// expression of the body.
    fn may_nest(&self, sig: &syn::Signature, block: &Block, words: &[&str]) -> bool {
        let Some(text) = self.text else {
            return true;
        };
        let from = sig.fn_token.span.byte_range().start;
        let to = block.brace_token.span.close().byte_range().end;
        match text.get(from..to) {
            Some(own) if own.starts_with("fn") => {
                let rest = &own[2..];
                words.iter().any(|word| rest.contains(word))
            }
            _ => true,
        }
    }

    /// Takes `item`'s type and trait as the owner of the functions walked
    /// next, and returns the ones they replace.
    fn enter_impl(&mut self, item: &syn::ItemImpl) -> (Option<String>, Option<String>) {
        let owner = super::summary::type_ref(&item.self_ty, self.known.imports).map(|ty| ty.name);
        let trait_name = item
            .trait_
            .as_ref()
            .and_then(|(path, _)| path.segments.last())
            .map(|segment| segment.ident.to_string());
        (
            std::mem::replace(&mut self.owner, owner),
            std::mem::replace(&mut self.trait_name, trait_name),
        )
    }
}

impl FnFinder<'_, '_> {
    fn walk(&mut self, sig: &syn::Signature, block: &Block) {
        let position = self.seen;
        self.seen += 1;
        if let Some((wanted, walked)) = &mut self.only {
            if !wanted.contains(&position) {
                return;
            }
            walked.push(position);
        }
        let mut walker = Walker::new(self.known, sig.ident.to_string());
        walker.text_span = Some((sig.fn_token.span, block.brace_token.span.close()));
        walker.file_text = self.text;
        walker.flow.owner = self.owner.clone();
        walker.flow.trait_name = self.trait_name.clone();
        walker.flow.returns_value = match &sig.output {
            syn::ReturnType::Default => false,
            syn::ReturnType::Type(_, ty) => returns_value(ty),
        };
        for input in &sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                let names = pattern_names(&typed.pat);
                walker
                    .flow
                    .params
                    .push(names.first().cloned().unwrap_or_default());
                walker
                    .flow
                    .param_types
                    .push(super::summary::param_type_name(
                        &typed.ty,
                        self.known.imports,
                    ));
                for name in &names {
                    walker.locals.bind(name.clone(), None);
                }
                walker.push(
                    EventKind::Bind {
                        names,
                        from: BTreeSet::new(),
                    },
                    Region::from_span(pat_span(&typed.pat)),
                    BTreeSet::new(),
                );
            }
        }
        // The body's tail, when it is a plain value, is handed back like a
        // `return`'s.
        match block.stmts.split_last() {
            Some((Stmt::Expr(tail, None), rest))
                if walker.flow.returns_value && !is_control_flow(tail) =>
            {
                walker.stmts(rest);
                walker.expr(tail);
                walker.push(
                    EventKind::Return,
                    Region::from_span(first_token_span(tail)),
                    handed_names(tail),
                );
            }
            _ => {
                walker.block(block);
            }
        }
        walker.note_header_return(sig, block);
        self.flows.push(walker.flow);
    }
}

impl<'ast> Visit<'ast> for FnFinder<'_, '_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.walk(&item.sig, &item.block);
        if self.may_nest(&item.sig, &item.block, &["fn"]) {
            syn::visit::visit_item_fn(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.walk(&item.sig, &item.block);
        if self.may_nest(&item.sig, &item.block, &["fn"]) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.walk(&item.sig, block);
            if !self.may_nest(&item.sig, block, &["fn"]) {
                return;
            }
        }
        syn::visit::visit_trait_item_fn(self, item);
    }

    fn visit_item_macro(&mut self, _: &'ast syn::ItemMacro) {
        // `macro_rules!` bodies hold metavariables, not code.
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let before = self.enter_impl(item);
        syn::visit::visit_item_impl(self, item);
        (self.owner, self.trait_name) = before;
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        let before = (
            self.owner.take(),
            self.trait_name.replace(item.ident.to_string()),
        );
        syn::visit::visit_item_trait(self, item);
        (self.owner, self.trait_name) = before;
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
    /// Calls to the crate's header builders met so far (by where the call
    /// starts), with the helper's place and how the call was resolved: a
    /// publish whose headers come from one points at it.
    header_helpers: Vec<((usize, usize), Box<Via>, Resolution)>,
    /// Where the function's text starts and ends (`fn` and its closing
    /// brace), to tell from its text whether any of its values can show a
    /// message id.
    text_span: Option<(proc_macro2::Span, proc_macro2::Span)>,
    /// Whether the function's text names a message id at all (see
    /// [`super::ids::names_an_id_word`]), read on first need.
    names_ids: Option<bool>,
    /// The text of the file, when known (see [`FnFinder::may_nest`]).
    file_text: Option<&'k str>,
    /// The arms, tasks and loops of the last event pushed, shared with the
    /// next event in the same place instead of copied for each.
    place: Option<Place>,
}

/// Where an event is: its arms, tasks and loops (see [`Event`]).
type Place = (Rc<[Arm]>, Rc<[u32]>, Rc<[u32]>);

impl<'k, 'a> Walker<'k, 'a> {
    fn new(known: &'k Known<'a>, name: String) -> Self {
        Walker {
            known,
            flow: FnFlow {
                name,
                owner: None,
                trait_name: None,
                param_types: Vec::new(),
                returns_value: false,
                header_return: None,
                calls: Vec::new(),
                guessed: Vec::new(),
                sends_in_process: false,
                closure_params: Vec::new(),
                publish_sources: Default::default(),
                params: Vec::new(),
                events: Vec::new(),
                diverging: HashSet::new(),
                failing: HashSet::new(),
                failure_arms: std::collections::HashMap::new(),
                detached: HashSet::new(),
                mentions_outbox: false,
                stored: BTreeSet::new(),
                sources: BTreeSet::new(),
                local_types: Default::default(),
                loop_returns: BTreeSet::new(),
            },
            locals: Locals::default(),
            seq: 0,
            scope: Vec::new(),
            task: Vec::new(),
            loops: Vec::new(),
            next_id: 0,
            depth: 0,
            await_next: false,
            header_helpers: Vec::new(),
            text_span: None,
            names_ids: None,
            file_text: None,
            place: None,
        }
    }

    /// Whether the function's text names one of the words a value showing
    /// a message id is made of (true when its text is not known).
    fn names_ids(&mut self) -> bool {
        let span = self.text_span;
        let file_text = self.file_text;
        *self.names_ids.get_or_insert_with(|| {
            // The function's text read in place from the file's, when the
            // file's text is known and holds it, instead of copied out.
            if let (Some(text), Some((from, to))) = (file_text, span)
                && from.start().line > 0
                && let Some(own) = text.get(from.byte_range().start..to.byte_range().end)
                && own.starts_with("fn")
            {
                return super::ids::names_an_id_word(own);
            }
            span.and_then(|(from, to)| from.join(to))
                .and_then(|span| span.source_text())
                .is_none_or(|text| super::ids::names_an_id_word(&text))
        })
    }

    /// The parameters a publish's message is built from, when its id cannot
    /// be seen: each parameter that, were it built right here with no id,
    /// would leave the publish with no id. The caller's argument decides.
    fn publish_sources(&self, chain: &Chain<'_>, index: usize) -> Vec<usize> {
        let stand_in: Expr = syn::parse_quote!(HelperValue::new());
        self.flow
            .params
            .iter()
            .enumerate()
            .filter(|(_, param)| !param.is_empty())
            .filter(|(_, param)| {
                let mut probe = self.locals.clone();
                probe.bind((*param).clone(), Some(stand_in.clone()));
                matches!(
                    classify_segment(chain, index, self.known, &probe),
                    Some(Recognized {
                        op: Op::Publish(PublishInfo {
                            id: IdEvidence::Absent,
                            ..
                        }),
                        ..
                    })
                )
            })
            .map(|(position, _)| position)
            .collect()
    }

    /// For a function that returns headers or properties: the keys it sets
    /// and what the id scan says of the value it returns.
    fn note_header_return(&mut self, sig: &syn::Signature, block: &Block) {
        let syn::ReturnType::Type(_, ty) = &sig.output else {
            return;
        };
        let returned = super::summary::returned_type_name(ty, self.known.imports);
        if !super::summary::is_header_type(&returned) {
            return;
        }
        let tail: Option<&Expr> = block.stmts.iter().rev().find_map(|stmt| match stmt {
            Stmt::Expr(expr, None) => Some(expr),
            Stmt::Expr(Expr::Return(ret), _) => ret.expr.as_deref(),
            _ => None,
        });
        let Some(tail) = tail else { return };
        // A Kafka record's key is its id, as at a publish.
        let extra: &[&str] = if matches!(returned.as_str(), "FutureRecord" | "BaseRecord") {
            &["key"]
        } else {
            &[]
        };
        let evidence = id_evidence(&[tail], &self.locals, extra);
        let keys = super::summary::header_keys(block);
        self.flow.header_return = Some((Region::from_span(sig.ident.span()), keys, evidence));
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
        let (scope, task, loops) = match &self.place {
            Some((scope, task, loops))
                if **scope == *self.scope && **task == *self.task && **loops == *self.loops =>
            {
                (Rc::clone(scope), Rc::clone(task), Rc::clone(loops))
            }
            _ => {
                let place: Place = (
                    self.scope.as_slice().into(),
                    self.task.as_slice().into(),
                    self.loops.as_slice().into(),
                );
                self.place = Some(place.clone());
                place
            }
        };
        self.flow.events.push(Event {
            seq: self.seq,
            scope,
            task,
            loops,
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
        if value.is_some_and(reads_stored_records) {
            self.flow.stored.extend(names.iter().cloned());
        }
        for name in &names {
            self.locals.bind(name.clone(), value.cloned());
        }
        if let [name] = names.as_slice() {
            match plain_type(pat, value) {
                Some(ty) => self.flow.local_types.insert(name.clone(), ty),
                None => self.flow.local_types.remove(name),
            };
        }
        self.push(
            EventKind::Bind { names, from },
            Region::from_span(pat_span(pat)),
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

    /// Runs `f` as the body of a callback kept for later (`Arc::new(|msg|
    /// ..)` handed to a `subscribe`): each callback is an arm of its own
    /// of one branch point, so what two callbacks do is never taken for
    /// one running after the other (a card reader's handler does not run
    /// before a door-state handler), while what runs before or after the
    /// registration, in the function itself, still is.
    fn callback(&mut self, f: impl FnOnce(&mut Self) -> BTreeSet<String>) -> BTreeSet<String> {
        let arm = self.fresh();
        let mut reads = BTreeSet::new();
        self.arm(CALLBACKS, arm, false, |walker| reads = f(walker));
        reads
    }

    /// Runs `f` in a new concurrent task; `detached` when the task outlives
    /// the function (spawned, or a callback).
    fn in_task(
        &mut self,
        detached: bool,
        f: impl FnOnce(&mut Self) -> BTreeSet<String>,
    ) -> BTreeSet<String> {
        let id = self.fresh();
        if detached {
            self.flow.detached.insert(id);
        }
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
                    if expr_fails(otherwise) {
                        self.flow.failing.insert((branch, 0));
                    }
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
        if !self.flow.mentions_outbox && mentions_outbox_or_change_feed(text) {
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
            // `loop { let m = receive()?; .. return Ok(m); }`: what leaves
            // a loop by `return` is handed back once, not consumed again and
            // again.
            Expr::Return(ret) => {
                let reads = match &ret.expr {
                    Some(value) => self.expr(value),
                    None => BTreeSet::new(),
                };
                if !self.loops.is_empty() {
                    self.flow.loop_returns.extend(reads.iter().cloned());
                }
                if let Some(value) = &ret.expr {
                    self.push(
                        EventKind::Return,
                        Region::from_span(ret.return_token.span),
                        handed_names(value),
                    );
                }
                reads
            }
            Expr::Path(path) => {
                // Once the function is known to mention an outbox, no name
                // needs printing for it again.
                if !self.flow.mentions_outbox
                    && let Some(segment) = path.path.segments.last()
                {
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
                    if [
                        "published_at",
                        "sent_at",
                        "dispatched_at",
                        "is_published",
                        "published = ",
                    ]
                    .iter()
                    .any(|marker| contains_ignoring_ascii_case(&text, marker))
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
                let first = self.seq + 1;
                let mut reads = self.expr(&expr_if.cond);
                let branch = self.fresh();
                // `if let Err(e) = op { .. }` runs its block when `op`
                // failed; `if let Ok(v) = op { .. } else { .. }` its `else`.
                if let Expr::Let(expr_let) = &*expr_if.cond
                    && self.seq >= first
                {
                    match result_variant(&expr_let.pat) {
                        Some(false) => {
                            self.flow
                                .failure_arms
                                .insert((branch, 0), (first, self.seq));
                        }
                        Some(true) => {
                            self.flow
                                .failure_arms
                                .insert((branch, 1), (first, self.seq));
                        }
                        None => {}
                    }
                }
                let then_diverges = block_diverges(&expr_if.then_branch);
                if block_fails(&expr_if.then_branch) {
                    self.flow.failing.insert((branch, 0));
                }
                self.arm(branch, 0, then_diverges, |walker| {
                    reads.extend(walker.block(&expr_if.then_branch));
                });
                if let Some((_, otherwise)) = &expr_if.else_branch {
                    let else_diverges = expr_diverges(otherwise);
                    if expr_fails(otherwise) {
                        self.flow.failing.insert((branch, 1));
                    }
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
                let first = self.seq + 1;
                let mut reads = self.expr(&expr_match.expr);
                let scrutinee = reads.clone();
                let last = self.seq;
                let branch = self.fresh();
                for (index, arm) in expr_match.arms.iter().enumerate() {
                    // `match op { Ok(v) => .., Err(e) => .. }`: the `Err` arm
                    // runs when `op` failed.
                    if result_variant(&arm.pat) == Some(false) && last >= first {
                        self.flow
                            .failure_arms
                            .insert((branch, index as u32), (first, last));
                    }
                    let diverges = expr_diverges(&arm.body);
                    if expr_fails(&arm.body) {
                        self.flow.failing.insert((branch, index as u32));
                    }
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
        // The publish the chain recognised, whose builder tail
        // (`.send_message().message_body(&body)`) says what it sends.
        let mut publish_event: Option<usize> = None;
        // After a receive, the calls of the chain that take no closure are
        // its request's builder and its sending (`.queue_url(..)`,
        // `.send()`, rusoto's `.sync()`): not work on a message. What it
        // received is bound right after it.
        let mut receive_tail = false;
        // An async closure handed to a call that is never awaited
        // (`consumer.set_delegate(move |d| async move { .. })`) is a
        // callback: its body runs later, on its own, like a spawned task.
        let chain_awaited = tail_awaited || chain.segments.iter().any(|s| s.awaited);
        for index in 0..chain.segments.len() {
            let segment = &chain.segments[index];
            self.note_outbox(&segment.method);
            self.note_helper_values(&segment.args);
            let callee = segment_callee(&chain, index).map(|callee| self.typed_local(callee));
            self.flow.sends_in_process |= super::apis::sends_on_channel(&chain, index);
            let recognized = match classify_segment(&chain, index, self.known, &self.locals) {
                // A client the crate keeps in a field, by its declared type.
                None => self.typed_client_op(&chain, index),
                // A publisher guessed from its receiver's name: the field's
                // type, or the crate's own method, knows better. A method
                // of the crate's own type that does nothing a rule cares
                // about (`event_queue.send(e)` with `event_queue:
                // Data<EventQueue>`, whose `send` feeds an in-process
                // channel) is not a publish, whatever the name suggests.
                Some(guess) if guess.api == "wrapper" => {
                    if self.known.index.is_none() {
                        self.flow.guessed.extend(callee.clone());
                    }
                    self.typed_client_op(&chain, index).or_else(|| {
                        (!self.resolves(callee.as_ref())
                            && !self.delivers_in_process(callee.as_ref()))
                        .then_some(guess)
                    })
                }
                // A commit guessed from a receiver named `tx`: a method of
                // the crate's own type (a Kafka transaction wrapper's
                // `commit`) is what its summary says instead.
                Some(guess) if guess.op == Op::DbCommit && guess.confidence < Confidence::High => {
                    if self.known.index.is_none() {
                        self.flow.guessed.extend(callee.clone());
                    }
                    (!self.resolves_exactly(callee.as_ref())).then_some(guess)
                }
                known => known,
            };
            let spawns = is_spawn_method(&segment.method, segment.args.len())
                || matches!(recognized, Some(Recognized { op: Op::Spawn, .. }));
            let mut args_reads = BTreeSet::new();
            let mut per_arg = Vec::new();
            // A closure in an operation's tail (`.ack(..).await.map_err(|e| ..)`)
            // or an error handler gets the call's error, not the message.
            let error_handler = in_operation || is_error_handler(&segment.method);
            let no_source = BTreeSet::new();
            let param_source = if error_handler {
                &no_source
            } else {
                &receiver_reads
            };
            for arg in &segment.args {
                let callback = !chain_awaited && is_async_closure(arg);
                // A spawned future outlives the call; a callback's futures
                // may still be awaited by the function (`map(|bus| async
                // move { .. })` then `join_all(..).await`).
                let arg_reads = if spawns || callback {
                    self.in_task(spawns, |walker| walker.closure_arg(arg, param_source))
                } else {
                    self.closure_arg(arg, param_source)
                };
                per_arg.push(arg_reads.clone());
                args_reads.extend(arg_reads);
            }
            // What the receiver read is this call's, and then the next
            // call's receiver's (below): moved along, not copied.
            let mut call_reads = std::mem::take(&mut receiver_reads);
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
                Some(mut recognized) => {
                    settles |= matches!(recognized.op, Op::Ack { .. } | Op::Nack);
                    if let Op::Publish(PublishInfo { id, .. }) = &recognized.op {
                        if self.known.index.is_none() && *id == IdEvidence::Unknown {
                            let sources = self.publish_sources(&chain, index);
                            if !sources.is_empty() {
                                self.flow.publish_sources.insert(self.seq + 1, sources);
                            }
                        }
                        if *id == IdEvidence::Absent
                            && recognized.via.is_none()
                            && let Some((via, resolution)) =
                                self.header_helper_behind(&segment.args, &call_reads)
                        {
                            if resolution == Resolution::ByName {
                                recognized.confidence =
                                    recognized.confidence.min(Confidence::Medium);
                            }
                            recognized.via = Some(via);
                        }
                    }
                    in_operation = matches!(
                        recognized.op,
                        Op::Ack { .. } | Op::Nack | Op::Publish(_) | Op::DbWrite { .. }
                    );
                    publish_event =
                        matches!(recognized.op, Op::Publish(_)).then_some(self.flow.events.len());
                    receive_tail = recognized.op == Op::Consume;
                    self.push(EventKind::Op(recognized), region, call_reads.clone());
                }
                // A receive's builder tail (see `receive_tail`).
                None if receive_tail
                    && !segment
                        .args
                        .iter()
                        .any(|arg| matches!(arg, Expr::Closure(_))) => {}
                // The builder tail of a publish names its body
                // (`.message_body(&body)`, `.payload(&bytes)`): the publish
                // reads it too, so where its body came from can be followed.
                None if in_operation => {
                    if let Some(at) = publish_event
                        && !is_error_handler(&segment.method)
                    {
                        self.flow.events[at]
                            .reads
                            .extend(args_reads.iter().cloned());
                    }
                }
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
                            via: None,
                        }),
                        region,
                        call_reads.clone(),
                    );
                }
                None => {
                    // Where the call starts is needed only for a helper
                    // that returns headers; finding it prints the whole
                    // call (receiver chain and closures) back into tokens.
                    let call_start = || {
                        let start = segment.expr.span().start();
                        (start.line, start.column)
                    };
                    let helper = match &callee {
                        Some(callee) => self.helper_call(
                            callee,
                            &call_start,
                            &segment.args,
                            &per_arg,
                            region,
                            &call_reads,
                        ),
                        None => None,
                    };
                    match helper {
                        Some(returned) => {
                            in_operation = true;
                            call_reads.extend(returned.iter().cloned());
                            reads.extend(returned);
                        }
                        None => self.push(
                            EventKind::Call {
                                name: segment.method.clone(),
                                awaited: segment.awaited
                                    || (tail_awaited && index + 1 == chain.segments.len()),
                                args: args_reads.clone(),
                            },
                            region,
                            call_reads.clone(),
                        ),
                    }
                }
            }
            // A method called on a local may change it
            // (`m.set_message_id(..)`, `headers.insert(..)`): remember the
            // call, for the id lookup of a later publish.
            let receiver: &Expr = if index == 0 {
                chain.root
            } else {
                &segment.expr.receiver
            };
            // `event.encode(&mut bytes)`: a buffer handed over mutably is
            // written with what the call is given; its id, if any, is
            // looked for there too.
            for arg in &segment.args {
                if let Expr::Reference(reference) = arg
                    && reference.mutability.is_some()
                    && let Some(name) = super::chain::root_ident(&reference.expr)
                    && self.locals.is_bound(&name)
                {
                    self.locals
                        .touch(&name, Expr::MethodCall(segment.expr.clone()));
                }
            }
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
            let mut names = BTreeSet::new();
            for input in &closure.inputs {
                names.extend(pattern_names(input));
                self.bind(input, receiver_reads.clone(), None);
            }
            if !names.is_empty() {
                self.flow
                    .closure_params
                    .push((Region::from_span(closure.span()), names));
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
        let args: Vec<&Expr> = call.args.iter().collect();
        self.note_helper_values(&args);
        let recognized = classify_call(call, self.known, &self.locals);
        let spawns = matches!(recognized, Some(Recognized { op: Op::Spawn, .. }));
        let mut reads = BTreeSet::new();
        let mut per_arg = Vec::new();
        let stores_closure = stores_a_callback(call);
        for arg in &call.args {
            let arg_reads = if spawns {
                self.in_task(true, |walker| walker.expr(arg))
            } else if stores_closure && matches!(arg, Expr::Closure(_)) {
                self.callback(|walker| walker.expr(arg))
            } else {
                self.expr(arg)
            };
            per_arg.push(arg_reads.clone());
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
            start: Region::from_span(first_token_span(&call.func)).start,
            end: Region::from_span(call.paren_token.span.close()).end,
        };
        let kind = match (recognized, self.local_ack(&name, &args)) {
            (Some(recognized), _) => EventKind::Op(recognized),
            (None, Some(message)) => EventKind::Op(Recognized {
                op: Op::Ack { message },
                api: "local",
                confidence: crate::finding::Confidence::Medium,
                via: None,
            }),
            (None, None) => {
                let callee = match &*call.func {
                    Expr::Path(path) if path.qself.is_none() => Some(Callee::Path(
                        path.path
                            .segments
                            .iter()
                            .map(|s| s.ident.to_string())
                            .collect(),
                    )),
                    _ => None,
                };
                if let Some(callee) = callee {
                    let call_start = || {
                        let start = call.span().start();
                        (start.line, start.column)
                    };
                    if let Some(returned) =
                        self.helper_call(&callee, &call_start, &args, &per_arg, region, &reads)
                    {
                        reads.extend(returned);
                        return reads;
                    }
                }
                EventKind::Call {
                    name,
                    awaited,
                    args: reads.clone(),
                }
            }
        };
        self.push(kind, region, reads.clone());
        reads
    }

    /// The crate-wide pass, at a call the tables did not recognise: records
    /// the call for the summaries and, when the crate index resolves it to
    /// functions that do something, pushes what they do as this call's
    /// events. `Some` (with the names the call's value derives from beyond
    /// its arguments) if it pushed anything.
    fn helper_call(
        &mut self,
        callee: &Callee,
        call_start: &dyn Fn() -> (usize, usize),
        args: &[&Expr],
        per_arg: &[BTreeSet<String>],
        region: Region,
        reads: &BTreeSet<String>,
    ) -> Option<BTreeSet<String>> {
        let Some((index, file)) = self.known.index else {
            // A call made in a spawned task is not done by the function:
            // its effects are not the function's (as for the function's own
            // operations in `summarise_fn`).
            let detached = self
                .task
                .iter()
                .any(|task| self.flow.detached.contains(task));
            // One call spawned outside a loop (fire and forget) still
            // publishes, after what came before it; it is noted as spawned.
            if !detached || self.loops.is_empty() {
                // Whether each argument, as written here, shows a message's
                // own id (a copied correlation id, a value named `id` or
                // `uuid`): a helper that publishes what it is handed is
                // identified by its callers' values.
                // Every value a function holds is made of its own tokens:
                // if its text names no id, none shows one, and the costly
                // look at each argument's tokens is spared.
                let may_show = self.names_ids();
                let identified = args
                    .iter()
                    .map(|arg| {
                        may_show
                            && shows_structure(arg)
                            && super::ids::shows_message_id(arg, &self.locals)
                    })
                    .collect();
                self.flow.calls.push(CallNote {
                    callee: callee.clone(),
                    args: per_arg.to_vec(),
                    identified,
                    spawned: detached,
                    looped: !self.loops.is_empty(),
                    seq: self.seq + 1,
                });
            }
            return None;
        };
        let scope = Scope {
            file,
            owner: self.flow.owner.as_deref(),
            params: &self.flow.params,
            param_types: &self.flow.param_types,
        };
        let (effects, resolution) = index.effects_of(&scope, callee)?;
        let sure = |confidence: Confidence| match resolution {
            Resolution::Exact => confidence,
            Resolution::ByName => confidence.min(Confidence::Medium),
        };
        let via = |site: &Site, caller_decides: bool| {
            Some(Box::new(Via {
                path: (site.file != file).then(|| index.files[site.file].path.clone()),
                region: site.region,
                function: site.function.clone(),
                caller_decides,
                note: None,
                then: None,
            }))
        };
        let mut ops = Vec::new();
        let mut returned = BTreeSet::new();
        if let Some(effect) = &effects.settles_received {
            // The caller works on a message the helper already settled: the
            // value of this call stands for that message.
            let name = format!("{}()", callee_name(callee));
            returned.insert(name.clone());
            ops.push(Recognized {
                op: Op::Ack {
                    message: BTreeSet::from([name]),
                },
                api: static_api(&effect.api),
                confidence: sure(effect.confidence),
                via: via(&effect.site, false),
            });
        } else if let Some(effect) = &effects.returns_consumed {
            ops.push(Recognized {
                op: Op::Consume,
                api: static_api(&effect.api),
                confidence: sure(effect.confidence),
                via: via(&effect.site, false),
            });
        }
        if let Some(effect) = &effects.write {
            ops.push(Recognized {
                op: Op::DbWrite {
                    committed: true,
                    outbox: false,
                },
                api: static_api(&effect.api),
                confidence: sure(effect.confidence),
                via: via(&effect.site, false),
            });
        }
        if let Some(publish) = &effects.publish {
            let mut headers_via = None;
            let (id, caller_decides) = match &publish.id {
                // The helper sets no id, but what the caller hands it for
                // the body may carry one: judged as if the publish were
                // written here. An argument that shows no id leaves the
                // helper's answer (no id) as it was.
                IdSource::Absent => {
                    let given: Vec<&Expr> = publish
                        .body_params
                        .iter()
                        .filter_map(|p| args.get(*p).copied())
                        .collect();
                    let evidence = if given.is_empty() {
                        IdEvidence::Absent
                    } else if given.iter().any(|arg| super::ids::names_an_id(arg)) {
                        // `publish_status(job_id, ..)`: the helper builds
                        // the body from an id the caller hands it.
                        let mut from = BTreeSet::new();
                        for arg in given.iter().filter(|arg| super::ids::names_an_id(arg)) {
                            collect_idents(arg.to_token_stream(), &mut from);
                        }
                        IdEvidence::Present {
                            from,
                            random: false,
                        }
                    } else {
                        id_evidence(&given, &self.locals, &[])
                    };
                    match evidence {
                        IdEvidence::Present { .. } => (evidence, false),
                        _ => (IdEvidence::Absent, false),
                    }
                }
                IdSource::FromParams(positions) => (
                    IdEvidence::Present {
                        from: positions
                            .iter()
                            .filter_map(|p| per_arg.get(*p))
                            .flatten()
                            .cloned()
                            .collect(),
                        random: false,
                    },
                    false,
                ),
                IdSource::Fresh => (
                    IdEvidence::Present {
                        from: BTreeSet::new(),
                        random: true,
                    },
                    false,
                ),
                IdSource::Fixed => (
                    IdEvidence::Present {
                        from: BTreeSet::new(),
                        random: false,
                    },
                    false,
                ),
                IdSource::OfParams(positions) => {
                    let given: Vec<&Expr> = positions
                        .iter()
                        .filter_map(|p| args.get(*p).copied())
                        .collect();
                    let extra: &[&str] = match publish.api.as_str() {
                        "rdkafka" => &["key"],
                        "iggy" => &["id"],
                        _ => &[],
                    };
                    if given.is_empty() {
                        (IdEvidence::Unknown, true)
                    } else {
                        let evidence = id_evidence(&given, &self.locals, extra);
                        if evidence == IdEvidence::Absent {
                            let given_reads: BTreeSet<String> = positions
                                .iter()
                                .filter_map(|p| per_arg.get(*p))
                                .flatten()
                                .cloned()
                                .collect();
                            headers_via = self.header_helper_behind(&given, &given_reads);
                        }
                        (evidence, true)
                    }
                }
                IdSource::Unknown => (IdEvidence::Unknown, false),
            };
            let mut confidence = sure(publish.confidence);
            let mut publish_via = via(&publish.site, caller_decides);
            if let (Some((headers, resolution)), Some(publish_via)) =
                (headers_via, &mut publish_via)
            {
                if resolution == Resolution::ByName {
                    confidence = confidence.min(Confidence::Medium);
                }
                publish_via.then = Some(headers);
            }
            ops.push(Recognized {
                op: Op::Publish(PublishInfo {
                    id,
                    dedup: publish.dedup,
                }),
                api: static_api(&publish.api),
                confidence,
                via: publish_via,
            });
        }
        // Settles last: a helper that works and then settles its argument
        // is judged in its own body; its call is not "settled, then work".
        for (position, effect) in &effects.acks {
            let Some(arg) = args.get(*position) else {
                continue;
            };
            let message = super::apis::message_of(&[*arg]);
            if message.is_empty() {
                continue;
            }
            ops.push(Recognized {
                op: Op::Ack { message },
                api: static_api(&effect.api),
                confidence: sure(effect.confidence),
                via: via(&effect.site, false),
            });
        }
        if let Some(headers) = &effects.headers {
            self.note_header_value(headers, call_start(), per_arg, resolution);
        }
        if ops.is_empty() {
            return None;
        }
        let spawned = effects
            .publish
            .as_ref()
            .is_some_and(|publish| publish.spawned);
        for recognized in ops {
            // The helper's fire-and-forget publish runs in a task of its
            // own, spawned by the call.
            if spawned && matches!(recognized.op, Op::Publish(_)) {
                let reads = reads.clone();
                self.in_task(true, |walker| {
                    walker.push(EventKind::Op(recognized), region, reads);
                    BTreeSet::new()
                });
            } else {
                self.push(EventKind::Op(recognized), region, reads.clone());
            }
        }
        Some(returned)
    }

    /// Whether a call resolves to functions of the crate that do something.
    /// `tx.commit()` on `let tx = TxProducer::new(..)`: a method called on
    /// a local whose type the walk knows is `TxProducer::commit`, resolved
    /// through the type's path rather than by the method's name alone.
    fn typed_local(&self, callee: Callee) -> Callee {
        match &callee {
            Callee::Method {
                receiver: Some(receiver),
                method,
            } if !self.flow.params.contains(receiver) => {
                match self.flow.local_types.get(receiver) {
                    Some(ty) => Callee::Path(vec![ty.clone(), method.clone()]),
                    None => callee,
                }
            }
            _ => callee,
        }
    }

    /// Whether a call certainly reaches functions of the crate (by path,
    /// `self`, or the receiver's declared type), whatever they do.
    fn resolves_exactly(&self, callee: Option<&Callee>) -> bool {
        let (Some((index, file)), Some(callee)) = (self.known.index, callee) else {
            return false;
        };
        let scope = Scope {
            file,
            owner: self.flow.owner.as_deref(),
            params: &self.flow.params,
            param_types: &self.flow.param_types,
        };
        // `TxProducer::commit` for a local of that type: the crate declares
        // the type and the method, though a `use` inside a function body
        // may keep the path from resolving.
        if let Callee::Path(path) = callee
            && let [ty, method] = path.as_slice()
            && index.has_own_method(ty, method)
        {
            return true;
        }
        matches!(index.resolve(&scope, callee), Some((_, Resolution::Exact)))
    }

    fn resolves(&self, callee: Option<&Callee>) -> bool {
        let (Some((index, file)), Some(callee)) = (self.known.index, callee) else {
            return false;
        };
        let scope = Scope {
            file,
            owner: self.flow.owner.as_deref(),
            params: &self.flow.params,
            param_types: &self.flow.param_types,
        };
        index.does_anything(&scope, callee)
    }

    /// Whether a call is certainly one of the crate's own functions, and
    /// each of them only hands its value to a channel of the process.
    fn delivers_in_process(&self, callee: Option<&Callee>) -> bool {
        let (Some((index, file)), Some(callee)) = (self.known.index, callee) else {
            return false;
        };
        let scope = Scope {
            file,
            owner: self.flow.owner.as_deref(),
            params: &self.flow.params,
            param_types: &self.flow.param_types,
        };
        index.delivers_in_process(&scope, callee)
    }

    /// Call number `index` of a chain on a client kept in a field of `self`
    /// or of a parameter (`ctx.kafka.send(..)`), by the field's declared type.
    fn typed_client_op(&self, chain: &Chain<'_>, index: usize) -> Option<Recognized> {
        let (crate_index, _) = self.known.index?;
        if chain.segments[..index]
            .iter()
            .any(|segment| !super::summary::is_transparent_method(&segment.method))
        {
            return None;
        }
        let mut root = chain.root;
        while let Expr::Reference(inner) = root {
            root = &inner.expr;
        }
        let Expr::Field(field) = root else {
            return None;
        };
        let (Expr::Path(base), syn::Member::Named(name)) = (&*field.base, &field.member) else {
            return None;
        };
        let base = base.path.get_ident()?.to_string();
        let base_type = if base == "self" {
            self.flow.owner.clone()?
        } else {
            let position = self.flow.params.iter().position(|param| *param == base)?;
            self.flow.param_types.get(position)?.clone()
        };
        let ty = crate_index.field_type(&base_type, &name.to_string())?;
        let segment = &chain.segments[index];
        let mut recognized =
            super::summary::typed_client_op(ty, &segment.method, &segment.args, &self.locals)?;
        // The finding rests on the field's declared type: point at it.
        if let Some((file, region)) = ty.declared {
            recognized.via = Some(Box::new(Via {
                path: (Some(file) != self.known.index.map(|(_, own)| own))
                    .then(|| crate_index.files[file].path.clone()),
                region,
                function: format!("{base_type}.{name}"),
                caller_decides: true,
                note: Some(format!(
                    "is declared a `{}::{}`",
                    ty.krate.as_deref().unwrap_or_default(),
                    ty.name
                )),
                then: None,
            }));
        }
        Some(recognized)
    }

    /// Notes, before a call is classified, which of its arguments are
    /// calls to the crate's header and property builders, so the id scan
    /// of a publish sees what they set.
    fn note_helper_values(&mut self, args: &[&Expr]) {
        let Some((index, file)) = self.known.index else {
            return;
        };
        for arg in args {
            let mut inner = *arg;
            loop {
                inner = match inner {
                    Expr::Reference(r) => &r.expr,
                    Expr::Await(a) => &a.base,
                    Expr::Try(t) => &t.expr,
                    Expr::Paren(p) => &p.expr,
                    _ => break,
                };
            }
            let Expr::Call(call) = inner else { continue };
            let Expr::Path(path) = &*call.func else {
                continue;
            };
            let callee = Callee::Path(
                path.path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect(),
            );
            let scope = Scope {
                file,
                owner: self.flow.owner.as_deref(),
                params: &self.flow.params,
                param_types: &self.flow.param_types,
            };
            if let Some((effects, resolution)) = index.effects_of(&scope, &callee)
                && let Some(headers) = &effects.headers
            {
                let per_arg: Vec<BTreeSet<String>> = call
                    .args
                    .iter()
                    .map(|arg| {
                        let mut names = BTreeSet::new();
                        collect_idents(arg.to_token_stream(), &mut names);
                        names
                    })
                    .collect();
                self.note_header_value(
                    headers,
                    super::ids::call_start(inner),
                    &per_arg,
                    resolution,
                );
            }
        }
    }

    /// Notes what id the headers a helper call returns carry.
    fn note_header_value(
        &mut self,
        headers: &HeaderEffect,
        start: (usize, usize),
        per_arg: &[BTreeSet<String>],
        resolution: Resolution,
    ) {
        let Some((index, file)) = self.known.index else {
            return;
        };
        let evidence = match &headers.id {
            IdSource::Absent => IdEvidence::Absent,
            IdSource::FromParams(positions) => IdEvidence::Present {
                from: positions
                    .iter()
                    .filter_map(|p| per_arg.get(*p))
                    .flatten()
                    .cloned()
                    .collect(),
                random: false,
            },
            IdSource::Fresh => IdEvidence::Present {
                from: BTreeSet::new(),
                random: true,
            },
            IdSource::Fixed => IdEvidence::Present {
                from: BTreeSet::new(),
                random: false,
            },
            IdSource::OfParams(_) | IdSource::Unknown => IdEvidence::Unknown,
        };
        self.locals.note_helper_at(start, evidence);
        if self.header_helpers.iter().any(|(at, _, _)| *at == start) {
            return;
        }
        let note = match &headers.id {
            IdSource::Absent if headers.keys.is_empty() => {
                String::from("builds the message, with no id,")
            }
            IdSource::Absent => format!(
                "builds the headers with {} and no id,",
                headers.keys.join(", ")
            ),
            _ => String::from("builds the headers"),
        };
        self.header_helpers.push((
            start,
            Box::new(Via {
                path: (headers.site.file != file)
                    .then(|| index.files[headers.site.file].path.clone()),
                region: headers.site.region,
                function: headers.site.function.clone(),
                caller_decides: true,
                note: Some(note),
                then: None,
            }),
            resolution,
        ));
    }

    /// The header helper whose value a publish reading `reads` (or built
    /// from `args`) carries, if any: for the finding's second label.
    fn header_helper_behind(
        &self,
        args: &[&Expr],
        reads: &BTreeSet<String>,
    ) -> Option<(Box<Via>, Resolution)> {
        if self.header_helpers.is_empty() {
            return None;
        }
        let mut starts = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut names: Vec<String> = reads.iter().cloned().collect();
        let mut exprs: Vec<Expr> = args.iter().map(|arg| (*arg).clone()).collect();
        loop {
            while let Some(expr) = exprs.pop() {
                collect_call_starts(&expr, &mut starts);
                let mut idents = BTreeSet::new();
                collect_idents(expr.to_token_stream(), &mut idents);
                names.extend(idents.into_iter().filter(|n| !seen.contains(n)));
            }
            // A few hops through locals is all a builder chain needs.
            let Some(name) = names.pop().filter(|_| seen.len() <= 32) else {
                break;
            };
            if seen.insert(name.clone()) {
                exprs.extend(self.locals.values_of(&name).iter().cloned());
            }
        }
        self.header_helpers
            .iter()
            .find(|(start, _, _)| starts.contains(start))
            .map(|(_, via, resolution)| (via.clone(), *resolution))
    }

    fn mac(&mut self, mac: &syn::Macro) -> BTreeSet<String> {
        let mut reads = BTreeSet::new();
        // A printing or logging macro's body is only read as tokens
        // (below): parsing its arguments would be wasted.
        if macros::display_or_opaque_by_name(mac) {
            self.display_tokens(mac, &mut reads);
            return reads;
        }
        match &*macros::body(mac) {
            MacroBody::Select(branches) => {
                // All futures are polled together; one handler runs.
                let mut futures = Vec::new();
                for branch in branches {
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
                for expr in exprs {
                    reads.extend(self.in_task(false, |walker| walker.expr(expr)));
                }
            }
            MacroBody::Sequential(exprs) if macros::evaluates_in_order(mac) => {
                for expr in exprs {
                    reads.extend(self.expr(expr));
                }
            }
            MacroBody::Sequential(exprs) => {
                // A macro of the crate or of a library (`run_operation!(
                // policy, op, recover)`, `retry!(..)`) decides whether, how
                // often and in which order its arguments run: a recovery
                // step may run only when the operation fails. Each argument
                // is an arm of its own, so nothing in one is taken to run
                // before or after another.
                let point = self.fresh();
                for (index, expr) in exprs.iter().enumerate() {
                    self.arm(point, index as u32, false, |walker| {
                        reads.extend(walker.expr(expr));
                    });
                }
            }
            MacroBody::Statements(stmts) => reads.extend(self.stmts(stmts)),
            MacroBody::Display(_) | MacroBody::Opaque => self.display_tokens(mac, &mut reads),
        }
        reads
    }

    /// A macro read as display only: no work, but the names still count as
    /// read (a `format!` that builds a payload).
    fn display_tokens(&mut self, mac: &syn::Macro, reads: &mut BTreeSet<String>) {
        // Printing the tokens only to learn what is known already would be
        // wasted: once the function mentions an outbox, it stays so.
        if !self.flow.mentions_outbox {
            let text = mac.tokens.to_string();
            self.note_outbox(&text);
        }
        collect_idents(mac.tokens.clone(), reads);
    }
}

/// The type a `let` says its value has: `let x: T`, `let x = T::new(..)`,
/// `let x = T { .. }` (through `?`, `.await` and references), by the
/// type's own name. A constructor is taken to return its type, as Rust's
/// naming convention has it.
fn plain_type(pat: &syn::Pat, value: Option<&Expr>) -> Option<String> {
    fn last_type(path: &syn::Path) -> Option<String> {
        let name = path.segments.last()?.ident.to_string();
        name.starts_with(|c: char| c.is_ascii_uppercase())
            .then_some(name)
    }
    if let syn::Pat::Type(typed) = pat {
        let mut ty = &*typed.ty;
        while let syn::Type::Reference(reference) = ty {
            ty = &reference.elem;
        }
        return match ty {
            syn::Type::Path(path) if path.qself.is_none() => last_type(&path.path),
            _ => None,
        };
    }
    let mut value = value?;
    loop {
        value = match value {
            Expr::Try(inner) => &inner.expr,
            Expr::Await(inner) => &inner.base,
            Expr::Reference(inner) => &inner.expr,
            Expr::Paren(inner) => &inner.expr,
            // What a constructor's error handling or a builder method
            // returns is still its value (`T::new(..).map_err(..)?`,
            // `.with_source(..)`).
            Expr::MethodCall(call)
                if matches!(
                    call.method.to_string().as_str(),
                    "map_err" | "unwrap" | "expect" | "context" | "with_context" | "wrap_err"
                ) || call.method.to_string().starts_with("with_") =>
            {
                &call.receiver
            }
            _ => break,
        };
    }
    match value {
        Expr::Struct(built) => last_type(&built.path),
        Expr::Call(call) => match &*call.func {
            // `T::new(..)`: the segment before the function's name.
            Expr::Path(path) if path.path.segments.len() >= 2 => {
                let segments = &path.path.segments;
                let owner = segments[segments.len() - 2].ident.to_string();
                owner
                    .starts_with(|c: char| c.is_ascii_uppercase())
                    .then_some(owner)
            }
            _ => None,
        },
        _ => None,
    }
}

/// What `Spanned::span` gives a pattern, without printing the plain
/// binding (`x`, `mut x`, `ref x`, met at every `let` and parameter) back
/// into tokens: its first token's span joined to its last's, as syn joins
/// them (a lone token's span as it is).
fn pat_span(pat: &syn::Pat) -> proc_macro2::Span {
    if let syn::Pat::Ident(binding) = pat
        && binding.attrs.is_empty()
        && binding.subpat.is_none()
    {
        let last = binding.ident.span();
        return match binding
            .by_ref
            .map(|token| token.span)
            .or(binding.mutability.map(|token| token.span))
        {
            Some(first) => first.join(last).unwrap_or(first),
            None => last,
        };
    }
    pat.span()
}

/// A span that starts where `Spanned::span` of `expr` starts: for a plain
/// path (`process`, `handlers::process`, `::x::y`), its first token's,
/// without printing the path back into tokens. For a call, a method call,
/// a field, `?`, `.await`, a macro, a struct literal, a literal, a
/// reference, parentheses or a tuple, it is `Spanned::span` itself (its
/// first token's span joined to its last's, as syn joins them), read from
/// the tree's tokens instead of printing the whole expression.
fn first_token_span(expr: &Expr) -> proc_macro2::Span {
    if let Expr::Path(path) = expr
        && path.attrs.is_empty()
        && path.qself.is_none()
    {
        if let Some(colons) = &path.path.leading_colon {
            return colons.spans[0];
        }
        if let Some(first) = path.path.segments.first() {
            return first.ident.span();
        }
    }
    if let (Some(first), Some(last)) = (first_span(expr), last_span(expr)) {
        return first.join(last).unwrap_or(first);
    }
    expr.span()
}

/// The span of the first token syn prints for `expr`, read from the tree
/// for the forms [`first_token_span`] knows (none with attributes).
fn first_span(expr: &Expr) -> Option<proc_macro2::Span> {
    let path_first = |path: &syn::Path| match &path.leading_colon {
        Some(colons) => Some(colons.spans[0]),
        None => path.segments.first().map(|segment| segment.ident.span()),
    };
    match expr {
        Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => path_first(&path.path),
        Expr::Call(call) if call.attrs.is_empty() => first_span(&call.func),
        Expr::MethodCall(call) if call.attrs.is_empty() => first_span(&call.receiver),
        Expr::Field(field) if field.attrs.is_empty() => first_span(&field.base),
        Expr::Try(expr) if expr.attrs.is_empty() => first_span(&expr.expr),
        Expr::Await(expr) if expr.attrs.is_empty() => first_span(&expr.base),
        Expr::Macro(mac) if mac.attrs.is_empty() => path_first(&mac.mac.path),
        Expr::Struct(lit) if lit.attrs.is_empty() && lit.qself.is_none() => path_first(&lit.path),
        Expr::Lit(lit) if lit.attrs.is_empty() => Some(lit.lit.span()),
        Expr::Reference(reference) if reference.attrs.is_empty() => Some(reference.and_token.span),
        Expr::Paren(paren) if paren.attrs.is_empty() => Some(paren.paren_token.span.join()),
        Expr::Tuple(tuple) if tuple.attrs.is_empty() => Some(tuple.paren_token.span.join()),
        _ => None,
    }
}

/// The span of the last token syn prints for `expr` (a bracketed group's
/// whole span), for the forms [`first_span`] knows.
fn last_span(expr: &Expr) -> Option<proc_macro2::Span> {
    match expr {
        Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => {
            let last = path.path.segments.last()?;
            matches!(last.arguments, syn::PathArguments::None).then(|| last.ident.span())
        }
        Expr::Call(call) if call.attrs.is_empty() => Some(call.paren_token.span.join()),
        Expr::MethodCall(call) if call.attrs.is_empty() => Some(call.paren_token.span.join()),
        Expr::Field(field) if field.attrs.is_empty() => Some(match &field.member {
            syn::Member::Named(name) => name.span(),
            syn::Member::Unnamed(index) => index.span,
        }),
        Expr::Try(expr) if expr.attrs.is_empty() => Some(expr.question_token.span),
        Expr::Await(expr) if expr.attrs.is_empty() => Some(expr.await_token.span),
        Expr::Macro(mac) if mac.attrs.is_empty() => Some(mac.mac.delimiter.span().join()),
        Expr::Struct(lit) if lit.attrs.is_empty() && lit.qself.is_none() => {
            Some(lit.brace_token.span.join())
        }
        Expr::Lit(lit) if lit.attrs.is_empty() => Some(lit.lit.span()),
        Expr::Reference(reference) if reference.attrs.is_empty() => last_span(&reference.expr),
        Expr::Paren(paren) if paren.attrs.is_empty() => Some(paren.paren_token.span.join()),
        Expr::Tuple(tuple) if tuple.attrs.is_empty() => Some(tuple.paren_token.span.join()),
        _ => None,
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

/// The variables a returned value hands over as they are: `event`,
/// `Some(event)`, `Ok((msg, tag))`, `Batch { items }`, `msg.clone()`; not
/// what a call computes from them (`reschedule(&delivery).await` hands
/// back the call's result, not the delivery).
fn handed_names(expr: &Expr) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut stack = vec![expr];
    while let Some(expr) = stack.pop() {
        match expr {
            Expr::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
                let name = path.path.segments[0].ident.to_string();
                if name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                    names.insert(name);
                }
            }
            Expr::Call(call)
                if matches!(&*call.func, Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| {
                    s.ident.to_string().starts_with(|c: char| c.is_ascii_uppercase())
                })) =>
            {
                stack.extend(call.args.iter());
            }
            Expr::Tuple(tuple) => stack.extend(tuple.elems.iter()),
            Expr::Array(array) => stack.extend(array.elems.iter()),
            Expr::Struct(item) => stack.extend(item.fields.iter().map(|field| &field.expr)),
            Expr::Reference(reference) => stack.push(&reference.expr),
            Expr::Paren(paren) => stack.push(&paren.expr),
            Expr::Try(tried) => stack.push(&tried.expr),
            Expr::MethodCall(call) if call.method == "clone" && call.args.is_empty() => {
                stack.push(&call.receiver)
            }
            _ => {}
        }
    }
    names
}

/// A branch, a loop or a block: its value is one of several, or comes at
/// the end of other work, so what it reads is not simply what it returns.
fn is_control_flow(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Block(_)
            | Expr::Async(_)
            | Expr::Unsafe(_)
            | Expr::Closure(_)
            | Expr::Macro(_)
    )
}

/// Whether a block leaves by returning an error: a statement that is
/// `return Err(..)`, `bail!(..)` or `Err(..)?`.
pub fn block_fails(block: &Block) -> bool {
    block.stmts.iter().any(|stmt| match stmt {
        Stmt::Expr(expr, _) => expr_fails(expr),
        Stmt::Macro(mac) => macros::macro_name(&mac.mac) == "bail",
        _ => false,
    })
}

/// Whether an expression leaves by returning an error (see
/// [`block_fails`]).
pub fn expr_fails(expr: &Expr) -> bool {
    let is_err = |expr: &Expr| {
        matches!(expr, Expr::Call(call)
            if matches!(&*call.func, Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == "Err")))
    };
    match expr {
        Expr::Return(ret) => ret.expr.as_deref().is_some_and(is_err),
        Expr::Try(tried) => is_err(&tried.expr),
        Expr::Macro(mac) => macros::macro_name(&mac.mac) == "bail",
        Expr::Block(block) => block_fails(&block.block),
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

/// The callee of call number `index` of a chain, for the crate-wide pass.
fn segment_callee(chain: &Chain<'_>, index: usize) -> Option<Callee> {
    let method = chain.segments[index].method.clone();
    if index > 0 {
        return Some(Callee::Method {
            receiver: None,
            method,
        });
    }
    let mut root = chain.root;
    while let Expr::Reference(inner) = root {
        root = &inner.expr;
    }
    Some(match root {
        Expr::Path(path) if path.path.is_ident("self") => Callee::SelfMethod(method),
        Expr::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            Callee::Method {
                receiver: Some(path.path.segments[0].ident.to_string()),
                method,
            }
        }
        Expr::Field(field) => match (&*field.base, &field.member) {
            (Expr::Path(base), syn::Member::Named(name)) if base.path.segments.len() == 1 => {
                Callee::Field {
                    base: base.path.segments[0].ident.to_string(),
                    field: name.to_string(),
                    method,
                }
            }
            _ => Callee::Method {
                receiver: None,
                method,
            },
        },
        _ => Callee::Method {
            receiver: None,
            method,
        },
    })
}

/// The branch point that every callback of a function is an arm of (no
/// real branch point has this number: they count up from 1).
const CALLBACKS: u32 = u32::MAX;

/// Whether a call keeps the closure it is given as a value for later
/// (`Arc::new(|client, msg| ..)`, `Box::new(move |m| ..)`): a handler that
/// runs when something calls it, not where it is written.
fn stores_a_callback(call: &syn::ExprCall) -> bool {
    let Expr::Path(path) = &*call.func else {
        return false;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    matches!(
        segments
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        [.., "Arc" | "Box" | "Rc", "new"]
    )
}

/// Which variant of a `Result` a pattern matches: `Some(true)` for
/// `Ok(..)`, `Some(false)` for `Err(..)`, `None` for anything else.
fn result_variant(pat: &syn::Pat) -> Option<bool> {
    let path = match pat {
        syn::Pat::TupleStruct(tuple) => &tuple.path,
        syn::Pat::Paren(inner) => return result_variant(&inner.pat),
        _ => return None,
    };
    match path.segments.last()?.ident.to_string().as_str() {
        "Ok" => Some(true),
        "Err" => Some(false),
        _ => None,
    }
}

/// The function's own name in a callee.
fn callee_name(callee: &Callee) -> String {
    match callee {
        Callee::Path(segments) => segments.last().cloned().unwrap_or_default(),
        Callee::SelfMethod(method)
        | Callee::Field { method, .. }
        | Callee::Method { method, .. } => method.clone(),
    }
}

/// The rules' static name for an API a summary recorded as text.
fn static_api(api: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "lapin",
        "rdkafka",
        "async-nats",
        "aws-sdk-sqs",
        "servicebus",
        "redis",
        "iggy",
        "fe2o3-amqp",
        "pulsar",
        "pubsub",
        "rumqttc",
        "fluvio",
        "broker",
        "wrapper",
        "user",
        "database",
        "mongodb",
        "local",
    ];
    KNOWN
        .iter()
        .copied()
        .find(|known| *known == api)
        .unwrap_or("helper")
}

/// Where every call inside `expr` starts.
fn collect_call_starts(expr: &Expr, out: &mut BTreeSet<(usize, usize)>) {
    struct Starts<'o>(&'o mut BTreeSet<(usize, usize)>);
    impl<'ast> Visit<'ast> for Starts<'_> {
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            let start = call.span().start();
            self.0.insert((start.line, start.column));
            syn::visit::visit_expr_call(self, call);
        }
    }
    Starts(out).visit_expr(expr);
}

/// Whether a return type hands a value back: not `()`, `Result<()>` or
/// `Option<()>`.
fn returns_value(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Tuple(tuple) => !tuple.elems.is_empty(),
        syn::Type::Path(path) => match path.path.segments.last() {
            Some(last) if matches!(last.ident.to_string().as_str(), "Result" | "Option") => {
                match &last.arguments {
                    syn::PathArguments::AngleBracketed(args) => match args.args.first() {
                        Some(syn::GenericArgument::Type(inner)) => returns_value(inner),
                        _ => true,
                    },
                    // `anyhow::Result` with its default, or an alias.
                    _ => true,
                }
            }
            _ => true,
        },
        _ => true,
    }
}

/// Names that say a function reads a database's log of committed changes:
/// a change-data-capture tailer, which publishes what was committed (the
/// log is its outbox) and stores its position after publishing, as a relay
/// marks rows sent. PostgreSQL's logical decoding functions
/// (`pg_logical_slot_get_changes`, `pg_logical_slot_peek_changes`) and
/// replication command (`START_REPLICATION`), and change-feed readers by
/// name (the workshop store's `changes_since`).
const CHANGE_FEED_MARKERS: [&str; 5] = [
    "pg_logical_slot_",
    "start_replication",
    "changes_since",
    "change_feed",
    "changefeed",
];

/// Whether `text` (an identifier, a method, a string) names an outbox or a
/// change feed.
fn mentions_outbox_or_change_feed(text: &str) -> bool {
    contains_ignoring_ascii_case(text, "outbox")
        || CHANGE_FEED_MARKERS
            .iter()
            .any(|marker| contains_ignoring_ascii_case(text, marker))
}

/// Whether `text`, with its ASCII letters lowercased, contains `marker`
/// (lowercase ASCII): what `text.to_ascii_lowercase().contains(marker)`
/// says, without a lowercased copy of every name the walk meets.
fn contains_ignoring_ascii_case(text: &str, marker: &str) -> bool {
    text.as_bytes()
        .windows(marker.len())
        .any(|window| window.eq_ignore_ascii_case(marker.as_bytes()))
}

/// Verbs of a call that reads stored records.
const STORED_READS: &[&str] = &[
    "get",
    "list",
    "find",
    "fetch",
    "load",
    "select",
    "query",
    "read",
    "scan",
    "pending",
    "outstanding",
    "due",
    "unsent",
    "unpublished",
];

/// Whether a value is the result of a call, awaited or not, whose name
/// says it reads stored records (`list_chunks(q).await?`,
/// `self.get_outstanding_tasks(None)`, `Task::find_due(&db)`), and that is
/// not a broker's receive.
fn reads_stored_records(value: &Expr) -> bool {
    let mut expr = value;
    loop {
        match expr {
            Expr::Try(inner) => expr = &inner.expr,
            Expr::Await(inner) => expr = &inner.base,
            Expr::Paren(inner) => expr = &inner.expr,
            _ => break,
        }
    }
    let name = match expr {
        Expr::MethodCall(call) => call.method.to_string(),
        Expr::Call(call) => match &*call.func {
            Expr::Path(path) => path
                .path
                .segments
                .last()
                .map(|segment| segment.ident.to_string())
                .unwrap_or_default(),
            _ => return false,
        },
        _ => return false,
    };
    let name = name.to_ascii_lowercase();
    !matches!(
        name.as_str(),
        "recv" | "receive" | "next" | "poll" | "fetch_messages"
    ) && name.split('_').any(|word| STORED_READS.contains(&word))
}

/// An argument whose id can be looked for: a struct literal, a local or a
/// field (through the values it was given), a constructor call; not a
/// literal, a closure or a macro.
fn shows_structure(arg: &Expr) -> bool {
    match arg {
        Expr::Reference(reference) => shows_structure(&reference.expr),
        Expr::Paren(paren) => shows_structure(&paren.expr),
        Expr::Struct(_) | Expr::Path(_) | Expr::Field(_) | Expr::Call(_) => true,
        Expr::MethodCall(call) => call.args.is_empty() && shows_structure(&call.receiver),
        _ => false,
    }
}

/// A method whose closure gets a call's error, not its value.
fn is_error_handler(method: &str) -> bool {
    matches!(
        method,
        "map_err" | "or" | "or_else" | "unwrap_or_else" | "inspect_err" | "ok_or_else"
    )
}

#[cfg(test)]
mod marker_tests {
    use super::*;

    /// The spans read from a binding's or a path's own tokens are those
    /// syn gives by printing them.
    #[test]
    fn a_binding_and_a_path_span_as_syn_spans_them() {
        let region = |span: proc_macro2::Span| Region::from_span(span);
        for source in [
            "x",
            "mut x",
            "ref x",
            "ref mut x",
            "r#type",
            "_",
            "(a, b)",
            "x @ 1..=2",
        ] {
            let pat = syn::parse::Parser::parse_str(syn::Pat::parse_single, source)
                .expect("test pattern parses");
            assert_eq!(region(pat_span(&pat)), region(pat.span()), "{source}");
        }
        for source in [
            "process",
            "handlers::process",
            "::x::y",
            "Vec::<u8>::new",
            "<T as X>::f",
        ] {
            let expr: Expr = syn::parse_str(source).expect("test path parses");
            assert_eq!(
                region(first_token_span(&expr)).start,
                region(expr.span()).start,
                "{source}"
            );
        }
        // Every other form: the whole span, as syn joins it.
        for source in [
            "Ok(order)",
            "Ok::<_, Error>(x)",
            "handlers::process(a, b)",
            "(f)(x)",
            "client.send(msg).await",
            "client.send(msg).await?",
            "self.bus.publish::<E>(e)",
            "self.inner.0",
            "a.b.c",
            "x?",
            "json!({ \"id\": id })",
            "vec![1, 2]",
            "::serde_json::json!(x)",
            "Event { id, at: now }",
            "crate::Event { id }",
            "\"text\"",
            "42",
            "true",
            "&mut buffer",
            "&self.items[0]",
            "&x.len()",
            "(a + b)",
            "(a, b)",
            "()",
            "Vec::<u8>::new().len()",
            "<T as X>::f(x)",
            "-x.len()",
            "f(x) + 1",
        ] {
            let expr: Expr = syn::parse_str(source).expect("test expression parses");
            assert_eq!(
                region(first_token_span(&expr)),
                region(expr.span()),
                "{source}"
            );
        }
    }

    #[test]
    fn markers_are_found_whatever_the_case_as_a_lowercased_copy_finds_them() {
        for text in [
            "OutboxRelay",
            "SELECT * FROM OUTBOX",
            "pg_logical_slot_get_changes",
            "PG_LOGICAL_SLOT_PEEK",
            "changesSince",
            "orders",
            "",
            "boîte OUTBOX",
        ] {
            assert_eq!(
                mentions_outbox_or_change_feed(text),
                text.to_ascii_lowercase().contains("outbox")
                    || CHANGE_FEED_MARKERS
                        .iter()
                        .any(|marker| text.to_ascii_lowercase().contains(marker)),
                "{text}"
            );
        }
        assert!(contains_ignoring_ascii_case(
            "Is_Published = 1",
            "is_published"
        ));
        assert!(!contains_ignoring_ascii_case("pub", "published"));
    }
}
