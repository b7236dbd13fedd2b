//! What the rules know beyond one expression: which names a file imports,
//! which calls consume, publish or settle messages, and what runs inside the
//! macros that matter (`tokio::select!`, `join!`).
//!
//! - [`UserApis`]: the in-house wrappers a team names in config, so that
//!   `bus.emit(..)` counts as a publish when the team says it is one.
//! - [`imports`]: names resolved through `use` items; which crates a file uses.
//! - [`macros`]: the bodies of `select!`, `join!` and friends, read as Rust.
//! - [`chain`]: method chains flattened (`client.send_message()..send()`).
//! - [`apis`]: which calls consume, publish, ack, nack or write, per crate.
//! - [`coverage`]: the API coverage table the book shows, as data.
//! - [`ids`]: whether a publish carries a message id, and what it is made of.
//! - [`sql`]: the SQL text of a database call, read with a SQL parser.
//! - [`flow`]: a function's calls in evaluation order, with branches and tasks.
//! - [`types`]: the event and message types a file declares.
//! - [`summary`]: the crate-wide pass (below).
//! - [`FileAnalysis`]: all of the above for one file, computed once and
//!   shared by the rules.
//!
//! ## Across functions and files
//!
//! One handler is usually spread over many functions and files, so a crate
//! is analysed in two passes over the same parsed files (each file is
//! parsed once; [`crate::run`] keeps a crate on one thread, since syntax
//! trees cannot cross threads):
//!
//! 1. [`FileAnalysis::first_pass`] walks every function once, and
//!    [`summary::summarise_file`] turns each [`flow::FnFlow`] into a
//!    [`summary::FnSummary`]: plain data (which parameter it settles,
//!    whether it publishes and with which id, whether it commits a write,
//!    whether it receives a message and settles or returns it, which keys
//!    the headers it returns carry, and the calls it makes). Struct fields'
//!    types and crate-level facts (offsets stored, `group.id` set) are
//!    collected beside them. [`summary::CrateIndex::build`] combines the
//!    summaries along the crate's own calls, [`summary::MAX_DEPTH`] levels
//!    at most.
//! 2. The rules ask [`FileAnalysis::of`], which walks the file again with
//!    the index in [`apis::Known::index`]: a call the tables do not know
//!    that resolves to a summarised function becomes that function's
//!    operations, each carrying an [`apis::Via`] (the helper's place, for
//!    the finding's second label). A file whose text names none of the
//!    functions that do something reuses its first-pass analysis.
//!
//! Resolution (in [`summary::CrateIndex::resolve`]) goes through `use`
//! items, `mod` paths, `self.`/`Self::`, declared field and parameter
//! types, and by name for a trait method on a value of unknown type; an
//! operation resolved by name only is never `high` confidence.

pub mod apis;
pub mod chain;
pub mod coverage;
pub mod flow;
pub mod ids;
pub mod imports;
pub mod macros;
pub mod sql;
pub mod summary;
pub mod types;

use std::cell::RefCell;
use std::rc::Rc;

use serde::Deserialize;

use crate::context::FileContext;

/// The in-house APIs a codebase wraps its broker and database in.
///
/// The rules recognise the real client crates on their own; many teams hide
/// them behind a thin layer of their own (`EventBus::emit`, `Inbox::done`),
/// and without these names the rules would stay silent on such code. Filled
/// from the config key `wrappers`. Each entry is either a bare function or
/// method name (`emit`) or a path (`bus::emit`, `EventBus::emit`): a bare
/// name matches any call of a method or function with that name, a path
/// matches a call whose path ends with those segments.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UserApis {
    /// Functions that publish or send a message to a broker
    /// (`publish_event`, `EventBus::emit`). `publish-before-ack`,
    /// `missing-idempotency-key` and `dual-write` treat a call to one as a
    /// publish, like `basic_publish`.
    #[serde(default)]
    pub publish: Vec<String>,
    /// Functions that settle a consumed message positively: ack, complete,
    /// commit an offset, delete from the queue (`Inbox::done`,
    /// `mark_handled`). `ack-before-processing` and `publish-before-ack`
    /// order the work of a handler against calls to these.
    #[serde(default)]
    pub ack: Vec<String>,
    /// Functions that receive a message from a broker (`next_job`,
    /// `Subscription::pull`). A binding they return is treated as a consumed
    /// message, whose handling the ordering rules follow.
    #[serde(default)]
    pub consume: Vec<String>,
    /// Type names that are events, commands or messages even though their
    /// names do not say so (`OrderPlaced`, `Envelope`). `missing-idempotency-key`
    /// and `local-time` check their fields like those of a type named
    /// `...Event` or `...Message`.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Functions that write a message to an outbox table in the same
    /// transaction as the business data (`outbox::enqueue`). A function that
    /// calls one is not a dual write, and a publish that goes through one is
    /// not a publish-before-ack.
    #[serde(default)]
    pub outbox: Vec<String>,
}

/// Everything the rules need to know about one file beyond its syntax tree.
pub struct FileAnalysis {
    pub imports: imports::Imports,
    pub flows: Vec<flow::FnFlow>,
    pub types: Vec<types::TypeInfo>,
}

/// The cached analysis and what it was computed from.
struct CacheEntry {
    source: String,
    items: (usize, usize),
    user: UserApis,
    /// The crate index it was computed with (its address and this file's
    /// place in it), `None` for none.
    index: Option<(usize, usize)>,
    analysis: Rc<FileAnalysis>,
}

/// The cache key of a crate index.
fn index_key(index: Option<(&summary::CrateIndex, usize)>) -> Option<(usize, usize)> {
    index.map(|(index, file)| (index as *const summary::CrateIndex as usize, file))
}

thread_local! {
    /// The last file analysed on this thread, keyed by its text and items:
    /// every rule asks for the analysis of the same file in turn, and it is
    /// computed once. The key compares the whole text (cheap next to
    /// parsing), so a new file at a reused address never gets a stale entry.
    static LAST: RefCell<Option<CacheEntry>> = const { RefCell::new(None) };
}

impl FileAnalysis {
    /// The analysis of the file in `ctx`, computed on first use.
    pub fn of(ctx: &FileContext<'_>, user: &UserApis) -> Rc<FileAnalysis> {
        // Handed over with the file (by the crate-wide pass): it was
        // computed for this very context, with the context's wrappers.
        if let Some(analysis) = &ctx.analysis
            && *user == *ctx.user_apis
        {
            return Rc::clone(analysis);
        }
        let key = (ctx.items.as_ptr() as usize, ctx.items.len());
        let index = index_key(ctx.crate_index);
        let cached = LAST.with(|last| {
            last.borrow().as_ref().and_then(|entry| {
                (entry.items == key
                    && entry.index == index
                    && entry.source == ctx.source
                    && entry.user == *user)
                    .then(|| Rc::clone(&entry.analysis))
            })
        });
        if let Some(analysis) = cached {
            return analysis;
        }
        let analysis = Rc::new(match ctx.crate_index {
            Some(index) => FileAnalysis::compute_in(ctx.items, Some(ctx.source), user, index),
            None => FileAnalysis::compute_for(ctx.items, Some(ctx.source), user),
        });
        FileAnalysis::prime(ctx, user, Rc::clone(&analysis));
        analysis
    }

    /// Makes `analysis` what [`FileAnalysis::of`] answers for `ctx` (and
    /// for a later context of the same text, items, index and wrappers).
    pub fn prime(ctx: &FileContext<'_>, user: &UserApis, analysis: Rc<FileAnalysis>) {
        LAST.with(|last| {
            *last.borrow_mut() = Some(CacheEntry {
                source: ctx.source.to_string(),
                items: (ctx.items.as_ptr() as usize, ctx.items.len()),
                user: user.clone(),
                index: index_key(ctx.crate_index),
                analysis,
            });
        });
    }

    /// The first pass of the crate-wide analysis: one walk, with neither
    /// the crate's summaries nor the file's own settle helpers (the crate
    /// index covers those). `walk_all` walks even a file that names no
    /// operation, for a crate that talks to a broker elsewhere: its
    /// functions may still call the ones that do.
    pub fn first_pass(
        items: &[syn::Item],
        source: &str,
        user: &UserApis,
        walk_all: bool,
    ) -> (FileAnalysis, bool) {
        let imports = imports::Imports::of(items);
        let known = apis::Known {
            imports: &imports,
            user,
            local_acks: Default::default(),
            index: None,
        };
        let walked = walk_all || may_have_ops(&imports, Some(source), user);
        let flows = if walked {
            flow::flows(items, &known, Some(source))
        } else {
            Vec::new()
        };
        let types = types::types(items, &imports, user);
        (
            FileAnalysis {
                imports,
                flows,
                types,
            },
            walked,
        )
    }

    /// The analysis with the crate's index, from the first pass's: when no
    /// call the first pass met resolves to a function of the crate that does
    /// something (or to a client kept in a field), the first pass's analysis
    /// is the answer, as it is; otherwise only the flows are walked again.
    /// `walked` says whether the first pass walked the file at all; if not,
    /// its text decides.
    pub fn with_index(
        first: FileAnalysis,
        walked: bool,
        items: &[syn::Item],
        source: &str,
        user: &UserApis,
        index: (&summary::CrateIndex, usize),
    ) -> FileAnalysis {
        let known = apis::Known {
            imports: &first.imports,
            user,
            local_acks: Default::default(),
            index: Some(index),
        };
        if !walked {
            // Not walked: its text decides whether to walk it now.
            if may_have_ops(&first.imports, Some(source), user) {
                let flows = flow::flows(items, &known, Some(source));
                return FileAnalysis { flows, ..first };
            }
            // It names no operation: only a call the index resolves can
            // do something here, and only a function that names one of the
            // crate's functions that do something (or a `use` that renames
            // one) can make such a call. The others are not walked.
            let matches = index.0.effect_matches(source);
            if matches.is_empty() {
                return first;
            }
            let flows = flow::flows_touching(items, &known, &matches, Some(source))
                .unwrap_or_else(|| flow::flows(items, &known, Some(source)));
            return FileAnalysis { flows, ..first };
        }
        // Walk again only the functions with a call the index resolves.
        let wanted: std::collections::BTreeSet<usize> = first
            .flows
            .iter()
            .enumerate()
            .filter(|(_, flow)| index.0.reaches_anything(index.1, flow))
            .map(|(position, _)| position)
            .collect();
        if wanted.is_empty() {
            return first;
        }
        let rewalked = flow::flows_at(items, &known, &wanted, Some(source));
        let mut analysis = first;
        for (position, flow) in rewalked {
            if let Some(slot) = analysis.flows.get_mut(position) {
                *slot = flow;
            }
        }
        analysis
    }

    /// The analysis with the crate's summaries at hand: a call to one of
    /// the crate's functions is what its summary says (see [`summary`]).
    pub fn compute_in(
        items: &[syn::Item],
        source: Option<&str>,
        user: &UserApis,
        index: (&summary::CrateIndex, usize),
    ) -> FileAnalysis {
        let imports = imports::Imports::of(items);
        let known = apis::Known {
            imports: &imports,
            user,
            local_acks: Default::default(),
            index: Some(index),
        };
        let matters = source.is_none_or(|text| index.0.may_matter(text));
        let flows = if matters || may_have_ops(&imports, source, user) {
            flow::flows(items, &known, source)
        } else {
            Vec::new()
        };
        let types = types::types(items, &imports, user);
        FileAnalysis {
            imports,
            flows,
            types,
        }
    }

    /// Computes the analysis without the cache.
    pub fn compute(items: &[syn::Item], user: &UserApis) -> FileAnalysis {
        FileAnalysis::compute_for(items, None, user)
    }

    /// Computes the analysis; with the file's text, the flow walk is
    /// skipped for files that can hold no operation at all (no broker or
    /// database crate, no configured wrapper, none of the words the
    /// name-based recognisers look for), which is most files of most
    /// codebases.
    pub fn compute_for(items: &[syn::Item], source: Option<&str>, user: &UserApis) -> FileAnalysis {
        let imports = imports::Imports::of(items);
        let mut known = apis::Known {
            imports: &imports,
            user,
            local_acks: Default::default(),
            index: None,
        };
        let mut flows = if may_have_ops(&imports, source, user) {
            flow::flows(items, &known, source)
        } else {
            Vec::new()
        };
        // The file's own settle helpers (`fn ack(&self, id)`): walk again,
        // so a call to one is an ack where it is called.
        let local_acks = flow::local_ack_summaries(&flows);
        if !local_acks.is_empty() {
            known.local_acks = local_acks;
            flows = flow::flows(items, &known, source);
        }
        let types = types::types(items, &imports, user);
        FileAnalysis {
            imports,
            flows,
            types,
        }
    }
}

/// Whether a file can hold an operation the flows recognise: a broker or
/// database crate, a configured wrapper, or one of the words the
/// name-based recognisers look for.
fn may_have_ops(imports: &imports::Imports, source: Option<&str>, user: &UserApis) -> bool {
    let has_user_apis = !(user.publish.is_empty()
        && user.ack.is_empty()
        && user.consume.is_empty()
        && user.outbox.is_empty());
    has_user_apis
        || apis::imports_operation_crate(imports)
        || source.is_none_or(|text| {
            ["publish", "emit", "produce", "send_event", "spawn"]
                .iter()
                .any(|word| text.contains(word))
        })
}

impl UserApis {
    /// No wrappers: what a file is linted with when the config names none.
    pub const NONE: UserApis = UserApis {
        publish: Vec::new(),
        ack: Vec::new(),
        consume: Vec::new(),
        event_types: Vec::new(),
        outbox: Vec::new(),
    };
}

/// The wrappers a file is linted with (the config's `wrappers` table).
pub fn user_apis<'a>(ctx: &FileContext<'a>) -> &'a UserApis {
    ctx.user_apis
}

/// What makes `info` a message, if anything: its name, its config entry
/// or its fields (see [`types::MessageKind`]), or else, in the crate-wide
/// pass, that the crate publishes values of it with no id on the publish.
pub fn message_kind(info: &types::TypeInfo, ctx: &FileContext<'_>) -> Option<types::MessageKind> {
    info.message_kind.or_else(|| {
        let (index, _) = ctx.crate_index?;
        (info.serialized && index.facts.published.contains(&info.name))
            .then_some(types::MessageKind::Published)
    })
}
