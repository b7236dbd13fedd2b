//! The crate-wide pass: what each function of a crate does, as plain data.
//!
//! Real services spread one handler over many functions and files: the
//! consumer loop calls `process_message(&msg)`, and that helper publishes;
//! `read_message()` acks before its caller writes to the database;
//! `create_common_headers()` builds the properties of a publish. Seen one
//! function at a time, each half looks innocent.
//!
//! So linting a crate takes two passes over the same parsed files:
//!
//! 1. every function of every file is walked once ([`super::flow`]) and
//!    summarised here ([`FnSummary`]): which parameter it settles, whether it
//!    publishes and with which id, whether it commits a database write,
//!    whether it receives a message and settles or returns it, which keys
//!    the headers it returns carry; plus the crate's struct fields and their
//!    types, and crate-level facts ([`CrateFacts`]). Summaries are then
//!    combined along the calls between the crate's own functions, at most
//!    [`MAX_DEPTH`] levels, so a helper that calls a helper counts too.
//! 2. the rules walk each file again with the [`CrateIndex`] at hand, and a
//!    call that resolves to a summarised function is what the summary says
//!    it is, with a secondary label at the helper's line.
//!
//! Names are resolved without types: through `use` items, `mod` paths
//! (`crate::`, `super::`, a sibling crate's name), `self.` and `Self::`
//! methods, fields whose type the crate declares (`self.bus.emit(..)` when
//! `bus: EventBus`), parameters with a declared type, and, as a last resort,
//! by name (a trait method called on a value of unknown type). A finding that
//! rests on a by-name resolution is never `high`.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use quote::ToTokens;
use syn::visit::Visit;

use super::apis::{Op, PublishInfo};
use super::flow::{Callee, EventKind, FnFlow};
use super::ids::IdEvidence;
use super::imports::Imports;
use crate::finding::{Confidence, Region};

/// How many levels of helpers calling helpers a summary looks through:
/// enough for a loop → handler → publisher chain, and a fixed bound keeps
/// the combination linear in the size of the crate.
pub const MAX_DEPTH: usize = 3;

/// Where an effect happens: a file of the crate (an index into
/// [`CrateIndex::files`]) and a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub file: usize,
    pub region: Region,
    /// The function the effect is written in, for messages.
    pub function: String,
}

/// What a summarised publish's id is made of, relative to the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSource {
    /// No id is set, and the whole message is built in the function.
    Absent,
    /// The id is derived from these parameters (by position).
    FromParams(Vec<usize>),
    /// A random id, new on every call.
    Fresh,
    /// An id that depends on neither the parameters nor chance (a row read
    /// from the database, a constant key).
    Fixed,
    /// The message, record or properties come from these parameters: the
    /// caller's arguments decide whether there is an id.
    OfParams(Vec<usize>),
    /// Cannot tell.
    Unknown,
}

/// A publish a function makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishEffect {
    /// The client crate, as the rules name it (`lapin`, `rdkafka`).
    pub api: String,
    /// Whether that broker can deduplicate on a client-set id.
    pub dedup: bool,
    pub id: IdSource,
    /// With an [`IdSource::Absent`] id: the parameters (by position) the
    /// published body is made from. The helper sets no id of its own, but
    /// the value its caller hands it may carry one in the body (a reply
    /// whose `correlation_id` field copies the request's, an event with an
    /// `order_id`), which the caller's argument shows, as it would were the
    /// publish written in the caller.
    pub body_params: Vec<usize>,
    pub confidence: Confidence,
    pub site: Site,
    /// It runs in a task the function spawns and does not wait for: after
    /// what the caller did before the call, but not before what it does
    /// after (a settle, a reply).
    pub spawned: bool,
    /// It runs in a loop (a consumer loop that forwards, a relay): spawned,
    /// it is a task that runs on its own, not one fire-and-forget publish.
    pub looped: bool,
}

/// Any other effect: a settle, a database write, a receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub api: String,
    pub confidence: Confidence,
    pub site: Site,
}

/// A function that returns message headers or properties it builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderEffect {
    /// The keys it sets (`content-type`, `x-source`), for messages.
    pub keys: Vec<String>,
    /// Whether, and from what, it sets an id.
    pub id: IdSource,
    pub site: Site,
}

/// What one function does, as far as the rules care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Settles the message given as parameter N (positions, not counting
    /// `self`).
    pub acks: Vec<(usize, Effect)>,
    /// Publishes.
    pub publish: Option<PublishEffect>,
    /// Commits a database write (auto-committed statement, commit, closure
    /// transaction), with no outbox.
    pub write: Option<Effect>,
    /// Receives a message, settles it itself and returns (part of) it: the
    /// caller works on a message that is already settled.
    pub settles_received: Option<Effect>,
    /// Receives a message and returns it unsettled.
    pub returns_consumed: Option<Effect>,
    /// Returns headers or properties it builds.
    pub headers: Option<HeaderEffect>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.acks.is_empty()
            && self.publish.is_none()
            && self.write.is_none()
            && self.settles_received.is_none()
            && self.returns_consumed.is_none()
            && self.headers.is_none()
    }
}

/// A call a function makes to something that may be one of the crate's own
/// functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSummary {
    pub callee: Callee,
    /// For each argument, the caller's parameters (by position) it is
    /// derived from.
    pub args: Vec<Vec<usize>>,
    /// For each argument, whether it shows an id where it is written.
    pub identified: Vec<bool>,
    /// The call is made in a task the function spawns (outside a loop):
    /// only the callee's publish is the function's, as a spawned one.
    pub spawned: bool,
    /// The call is made in a loop: what it publishes, it publishes again
    /// and again.
    pub looped: bool,
    /// For each argument, the types of the values it is made of (see
    /// [`CrateFacts::published`]).
    pub arg_types: Vec<Vec<String>>,
}

/// One function of the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnSummary {
    pub name: String,
    /// The type of the `impl` block it is a method of.
    pub owner: Option<String>,
    /// The trait the `impl` block implements (or that declares a default
    /// method).
    pub trait_name: Option<String>,
    pub file: usize,
    /// The parameters other than `self`, and their declared types (the
    /// type's own name, wrappers such as `&`, `Arc<..>`, `State<..>` taken
    /// off), for resolving `param.method(..)` and `param.field.method(..)`.
    pub params: Vec<String>,
    pub param_types: Vec<String>,
    pub effects: Effects,
    pub calls: Vec<CallSummary>,
    /// It sends on a channel of the process and, as far as its own body
    /// shows, does nothing else a rule cares about.
    pub in_process: bool,
}

impl FnSummary {
    /// The function as the place its calls are made from.
    fn scope(&self) -> Scope<'_> {
        Scope {
            file: self.file,
            owner: self.owner.as_deref(),
            params: &self.params,
            param_types: &self.param_types,
        }
    }
}

/// A type as a field declares it: its own name, and the crate it comes
/// from when a `use` item or the path says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    pub name: String,
    pub krate: Option<String>,
    /// Where a field of this type is declared (file, place), for the label
    /// of a finding that rests on it.
    pub declared: Option<(usize, Region)>,
}

/// Facts about the crate as a whole, wherever in it they are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrateFacts {
    /// `store_offset*` is called somewhere.
    pub stores_offsets: bool,
    /// `enable.auto.offset.store` is set to `false` somewhere.
    pub offset_store_off: bool,
    /// `enable.auto.commit` is set to `false` somewhere.
    pub auto_commit_off: bool,
    /// `group.id` is set somewhere (`.set("group.id", ..)`, a method that
    /// names the group, such as an extension trait's `set_group_id`).
    pub group_id_set: bool,
    /// The functions that set `group.id` on the config they are given or
    /// called on (`fn with_group(&mut self, ..) { self.set("group.id", ..) }`):
    /// a config they are called on belongs to a consumer group.
    pub group_setters: BTreeSet<String>,
    /// The functions that return a Kafka `ClientConfig` they build, with
    /// what they set, from every file of the crate.
    pub kafka_config_helpers:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, Option<String>>>,
    /// The structs that derive `Serialize`: what can be a message's body.
    pub serialized: BTreeSet<String>,
    /// The enums that derive `Serialize`, with what each variant carries:
    /// the type a one-field tuple variant wraps (`SentMessage(SentMessage)`),
    /// the names of a struct variant's fields, nothing for a unit variant.
    pub serialized_enums: std::collections::BTreeMap<String, Vec<VariantPayload>>,
    /// An MQTT subscription asks for QoS 1 or 2 somewhere.
    pub mqtt_subscribes_with_acks: bool,
    /// `set_manual_acks(..)` is called somewhere with anything but `false`.
    pub mqtt_manual_acks: bool,
    /// Some file of the crate imports a broker client crate.
    pub messaging: bool,
    /// The crate's types whose values are published with no id set by the
    /// publish itself: sent straight (`producer.send(..)` of what was made
    /// from a `Reading`), or handed to a helper that publishes what it is
    /// given. Such a type is a message, whatever its name, and its body is
    /// where an id would have to be.
    pub published: BTreeSet<String>,
}

impl CrateFacts {
    fn merge(&mut self, other: &CrateFacts) {
        self.stores_offsets |= other.stores_offsets;
        self.offset_store_off |= other.offset_store_off;
        self.auto_commit_off |= other.auto_commit_off;
        self.group_id_set |= other.group_id_set;
        self.group_setters
            .extend(other.group_setters.iter().cloned());
        self.serialized.extend(other.serialized.iter().cloned());
        self.published.extend(other.published.iter().cloned());
        for (name, variants) in &other.serialized_enums {
            self.serialized_enums
                .entry(name.clone())
                .or_insert_with(|| variants.clone());
        }
        self.mqtt_subscribes_with_acks |= other.mqtt_subscribes_with_acks;
        self.mqtt_manual_acks |= other.mqtt_manual_acks;
        self.messaging |= other.messaging;
        for (name, settings) in &other.kafka_config_helpers {
            self.kafka_config_helpers
                .entry(name.clone())
                .or_insert_with(|| settings.clone());
        }
    }
}

/// What one variant of a serialized enum carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariantPayload {
    /// A one-field tuple variant: the type it wraps.
    Wraps(String),
    /// A struct variant: whether one of its fields identifies the message,
    /// as the type-level rule judges a variant.
    Fields { has_id: bool },
    /// A unit variant, or a payload that cannot be read.
    Nothing,
}

/// One file of the crate as the index knows it.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    /// Its module path from the crate root (`["handlers", "orders"]`); a
    /// sibling crate's files start with that crate's name.
    pub module: Vec<String>,
    pub imports: Imports,
    /// The file's text, for what is read from the text of the whole crate
    /// only when a rule asks (see [`CrateIndex::builds`]).
    pub text: std::sync::Arc<str>,
}

/// The first pass over one file.
#[derive(Debug, Clone)]
pub struct FileSummary {
    pub entry: FileEntry,
    pub fns: Vec<FnSummary>,
    pub fields: Vec<(String, String, TypeRef)>,
    pub facts: CrateFacts,
}

/// Every summary of a crate, and the names to find them by.
#[derive(Debug, Default)]
pub struct CrateIndex {
    pub files: Vec<FileEntry>,
    pub fns: Vec<FnSummary>,
    by_name: HashMap<String, Vec<usize>>,
    /// Struct name -> field name -> the field's type.
    fields: HashMap<String, HashMap<String, TypeRef>>,
    pub facts: CrateFacts,
    /// The crate names the index knows (`crate` and the sibling crates'
    /// names), to tell the crate's own paths from other crates'.
    crate_names: BTreeSet<String>,
    /// The package's own library name: a binary or a test of the package
    /// reaches the library's modules through it.
    own_name: Option<String>,
    /// Type name -> the traits the crate implements for it (`impl
    /// TicketDatabase for Database`), as the impl blocks' methods show:
    /// a method called on the type may be one of those traits' default
    /// methods.
    traits_of: HashMap<String, BTreeSet<String>>,
    /// The names of the functions that do something, and of the fields
    /// that hold another crate's client (`.kafka`), to tell cheaply whether
    /// a file can reach one (its text names none: nothing to do).
    effect_names: Option<aho_corasick::AhoCorasick>,
    /// The CamelCase names the crate's text builds a value of (a struct
    /// literal `Name { .. }`, a call `Name(..)`, an associated function or
    /// variant `Name::..`), declarations aside: a message type the crate
    /// never builds is one it only receives. Read from a file's text (see
    /// [`built_type_names`]) the first time a question needs it: few
    /// crates are ever asked, and only files whose text names the type.
    built: Vec<std::cell::OnceCell<BTreeSet<String>>>,
    /// What each call of each function resolves to (`calls[f][c]` is
    /// [`CrateIndex::resolve`] of `fns[f].calls[c]`): resolution does not
    /// depend on effects, so it is done once, not in every round of
    /// `combine` and every `callers_identify`.
    call_targets: Vec<Vec<Option<Targets>>>,
}

/// The functions a call may reach, and how it was resolved to them.
type Targets = (Vec<usize>, Resolution);

/// How a call was tied to its callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    /// Only by the method's name (a trait method on a value whose type is
    /// unknown): a finding that rests on it is not `high`.
    ByName,
    /// Through a path, a `use` item, `self`/`Self`, or a declared type.
    Exact,
}

/// Where a call is made from: what resolution needs of the caller.
pub struct Scope<'s> {
    pub file: usize,
    pub owner: Option<&'s str>,
    pub params: &'s [String],
    pub param_types: &'s [String],
}

/// Method names every standard type has: never resolved by name alone,
/// since `tx.send(..)` on a channel is not the crate's `Bus::send`.
const TOO_COMMON: &[&str] = &[
    "send",
    "recv",
    "try_send",
    "try_recv",
    "insert",
    "get",
    "get_mut",
    "push",
    "pop",
    "remove",
    "clone",
    "into",
    "from",
    "new",
    "default",
    "next",
    "poll",
    "map",
    "write",
    "read",
    "flush",
    "close",
    "lock",
    "spawn",
    "len",
    "is_empty",
    "iter",
    "to_string",
    "unwrap",
    "expect",
    "take",
    "replace",
    "extend",
    "contains",
    "drop",
    "fmt",
    "eq",
    "cmp",
    "hash",
    "as_ref",
    "borrow",
    "deref",
    "call",
    "run",
    "build",
    "finish",
    "await",
    "then",
    "and_then",
    "collect",
    "filter",
    "for_each",
    "set",
    "entry",
    "ok",
    "err",
    "join",
    "wait",
    "shutdown",
    "start",
    "stop",
];

impl CrateIndex {
    /// Builds the index from the first pass over every file, and combines
    /// the summaries along the crate's own calls.
    ///
    /// `own_name` is the package's library name; `siblings` the names of
    /// the path dependencies whose files are among `files` (their modules
    /// start with that name).
    pub fn build(
        files: Vec<FileSummary>,
        own_name: Option<String>,
        siblings: &[String],
    ) -> CrateIndex {
        let mut index = CrateIndex {
            own_name,
            ..CrateIndex::default()
        };
        index.crate_names.insert("crate".into());
        index.crate_names.extend(siblings.iter().cloned());
        for (number, file) in files.into_iter().enumerate() {
            index.facts.merge(&file.facts);
            for (owner, field, mut ty) in file.fields {
                if let Some((place, _)) = &mut ty.declared {
                    *place = number;
                }
                index.fields.entry(owner).or_default().insert(field, ty);
            }
            for mut summary in file.fns {
                summary.file = number;
                if let (Some(owner), Some(trait_name)) = (&summary.owner, &summary.trait_name) {
                    index
                        .traits_of
                        .entry(owner.clone())
                        .or_default()
                        .insert(trait_name.clone());
                }
                summary.effects.relocate(number);
                index
                    .by_name
                    .entry(summary.name.clone())
                    .or_default()
                    .push(index.fns.len());
                index.fns.push(summary);
            }
            index.files.push(file.entry);
        }
        index.built = index.files.iter().map(|_| Default::default()).collect();
        index.call_targets = index
            .fns
            .iter()
            .map(|summary| {
                let scope = summary.scope();
                summary
                    .calls
                    .iter()
                    .map(|call| index.resolve(&scope, &call.callee))
                    .collect()
            })
            .collect();
        index.combine();
        // What the crate hands to its publishing helpers is published too.
        let mut published = BTreeSet::new();
        for (summary, targets) in index.fns.iter().zip(&index.call_targets) {
            for (call, resolved) in summary.calls.iter().zip(targets) {
                let Some(effects) = index.shared_effects(resolved.as_ref()) else {
                    continue;
                };
                if let Some(publish) = &effects.publish
                    && publish.id == IdSource::Absent
                    && publish.dedup
                {
                    for &position in &publish.body_params {
                        if let Some(types) = call.arg_types.get(position) {
                            published.extend(types.iter().cloned());
                        }
                    }
                }
            }
        }
        index.facts.published.extend(published);
        let mut names: BTreeSet<String> = index
            .fns
            .iter()
            .filter(|summary| !summary.effects.is_empty())
            .map(|summary| summary.name.clone())
            .collect();
        // A client kept in a field (`ctx.kafka`) is recognised by the
        // field's type: a file that reaches one needs the index too.
        names.extend(
            index
                .fields
                .values()
                .flat_map(|fields| fields.iter())
                .filter(|(_, ty)| ty.krate.is_some())
                .map(|(field, _)| format!(".{field}")),
        );
        if !names.is_empty() {
            index.effect_names = aho_corasick::AhoCorasick::new(names).ok();
        }
        index
    }

    /// Whether any call the first pass met in `flow` (of file `file`)
    /// resolves to a function of the crate that does something, or is a
    /// method of a client kept in a field, or a publish guessed from a name
    /// is the crate's own method: then the file is walked again with the
    /// index.
    pub fn reaches_anything(&self, file: usize, flow: &FnFlow) -> bool {
        let scope = Scope {
            file,
            owner: flow.owner.as_deref(),
            params: &flow.params,
            param_types: &flow.param_types,
        };
        flow.calls.iter().any(|call| {
            let callee = &call.callee;
            // A call in a spawned task matters only for a fire-and-forget
            // publish (see `combine`).
            if call.spawned {
                return self.effects_of(&scope, callee).is_some_and(|(effects, _)| {
                    effects.publish.is_some_and(|publish| !publish.looped)
                });
            }
            if let Callee::Field { base, field, .. } = callee {
                let base_type = if base == "self" {
                    scope.owner.map(str::to_string)
                } else {
                    param_type(&scope, base)
                };
                if base_type
                    .and_then(|ty| self.field_type(&ty, field))
                    .is_some_and(|ty| ty.krate.is_some())
                {
                    return true;
                }
            }
            self.does_anything(&scope, callee)
        }) || flow
            .guessed
            .iter()
            .any(|callee| self.delivers_in_process(&scope, callee))
    }

    /// Whether a file's text may call one of the crate's functions that do
    /// something (it names one); `false` means the index changes nothing
    /// there.
    pub fn may_matter(&self, text: &str) -> bool {
        match &self.effect_names {
            Some(names) => names.is_match(text),
            None => false,
        }
    }

    /// Where a file's text names one of the crate's functions that do
    /// something, or a field that holds a client (every occurrence, as
    /// byte ranges; overlapping ones too): what [`CrateIndex::may_matter`]
    /// looks for.
    pub fn effect_matches(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        match &self.effect_names {
            Some(names) => names
                .find_overlapping_iter(text)
                .map(|found| found.range())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The index of `path`, if the crate holds it.
    pub fn file_of(&self, path: &std::path::Path) -> Option<usize> {
        self.files.iter().position(|file| file.path == path)
    }

    /// Whether the crate declares a serialized struct `name` with a field
    /// that identifies the message (`event_id`, `request_id`: see
    /// [`super::ids::is_id_name`]), or with a field of such a struct type:
    /// a value of that type, serialized as a message's body, carries an id
    /// a consumer can deduplicate on.
    /// Whether the crate builds a value of the type anywhere: a struct
    /// literal, a call or an associated function of it in the text of any
    /// of its files (see [`built_type_names`]).
    pub fn builds(&self, name: &str) -> bool {
        // A file whose text does not hold the name cannot build it.
        self.files
            .iter()
            .zip(&self.built)
            .filter(|(file, _)| file.text.contains(name))
            .any(|(file, built)| {
                built
                    .get_or_init(|| built_type_names(&file.text))
                    .contains(name)
            })
    }

    pub fn type_carries_id(&self, name: &str) -> bool {
        // An enum of messages (`AsyncMessage::SentMessage(SentMessage)`)
        // carries an id when every variant does.
        if let Some(variants) = self.facts.serialized_enums.get(name) {
            return !variants.is_empty()
                && variants.iter().all(|variant| match variant {
                    VariantPayload::Wraps(inner) => inner != name && self.struct_carries_id(inner),
                    VariantPayload::Fields { has_id } => *has_id,
                    VariantPayload::Nothing => false,
                });
        }
        self.struct_carries_id(name)
    }

    /// [`CrateIndex::type_carries_id`] for a struct.
    fn struct_carries_id(&self, name: &str) -> bool {
        if !self.facts.serialized.contains(name) {
            return false;
        }
        let has_own = |name: &str| {
            self.fields
                .get(name)
                .is_some_and(|fields| fields.keys().any(|field| super::ids::is_id_name(field)))
        };
        has_own(name)
            || self
                .fields
                .get(name)
                .is_some_and(|fields| fields.values().any(|ty| has_own(&ty.name)))
    }

    /// Whether what the publish sends is a value of one of the crate's
    /// serialized structs that has an id field (`AuditEvent { event_id, .. }`
    /// serialized into the payload): the id travels in the body, where any
    /// consumer can deduplicate on it. The values are those the call reads and
    /// those they were made from; a value's type is its parameter's declared
    /// type, or what its `let` plainly says.
    pub fn body_carries_id(&self, flow: &FnFlow, event: &super::flow::Event) -> bool {
        let names = flow.values_behind(event);
        names.iter().filter(|name| *name != "self").any(|name| {
            let declared = flow
                .params
                .iter()
                .position(|param| param == name)
                .and_then(|position| flow.param_types.get(position));
            flow.local_types
                .get(name)
                .or(declared)
                .is_some_and(|ty| self.type_carries_id(ty))
        })
    }

    /// Whether the function that `flow` is (of file `file`) publishes what
    /// its callers hand it, and every call of it in the crate hands it a
    /// body that shows an id (`publish_result(subject, Reply {
    /// correlation_id: request.correlation_id, .. })` from every handler):
    /// then its messages are identified, though the helper sets no id of
    /// its own. There must be at least one such call.
    pub fn callers_identify(&self, file: usize, flow: &FnFlow) -> bool {
        let targets: Vec<usize> = self
            .by_name
            .get(&flow.name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| self.fns[i].file == file && self.fns[i].owner == flow.owner)
            .collect();
        let Some(body_params) = targets.iter().find_map(|&i| {
            self.fns[i]
                .effects
                .publish
                .as_ref()
                .filter(|publish| publish.id == IdSource::Absent && !publish.body_params.is_empty())
                .map(|publish| &publish.body_params)
        }) else {
            return false;
        };
        let mut calls = 0;
        for (summary, targets_of_calls) in self.fns.iter().zip(&self.call_targets) {
            for (call, resolved) in summary.calls.iter().zip(targets_of_calls) {
                let Some((candidates, _)) = resolved else {
                    continue;
                };
                if !candidates.iter().any(|c| targets.contains(c)) {
                    continue;
                }
                calls += 1;
                let shows = body_params
                    .iter()
                    .any(|&p| call.identified.get(p).copied().unwrap_or(false));
                if !shows {
                    return false;
                }
            }
        }
        calls > 0
    }

    /// The type of `owner`'s field `field`, if the crate declares it.
    pub fn field_type(&self, owner: &str, field: &str) -> Option<&TypeRef> {
        self.fields.get(owner)?.get(field)
    }

    /// Folds callees' effects into their callers, [`MAX_DEPTH`] times at
    /// most; each round only adds, so it stops early when nothing changes.
    fn combine(&mut self) {
        for _ in 0..MAX_DEPTH {
            let mut changes = Vec::new();
            for (caller, summary) in self.fns.iter().enumerate() {
                for (call, resolved) in summary.calls.iter().zip(&self.call_targets[caller]) {
                    let Some(callee) = self.shared_effects(resolved.as_ref()) else {
                        continue;
                    };
                    let mut lifted = lift(&callee, &call.args);
                    if call.looped
                        && let Some(publish) = &mut lifted.publish
                    {
                        publish.looped = true;
                    }
                    if call.spawned {
                        lifted = Effects {
                            publish: lifted.publish.filter(|publish| !publish.looped).map(
                                |publish| PublishEffect {
                                    spawned: true,
                                    ..publish
                                },
                            ),
                            ..Effects::default()
                        };
                    }
                    changes.push((caller, lifted));
                }
            }
            let mut changed = false;
            for (caller, lifted) in changes {
                changed |= self.fns[caller].effects.absorb(lifted);
            }
            if !changed {
                break;
            }
        }
    }

    /// What a call does, if it resolves to functions of the crate that do
    /// something: the effects every candidate shares, and how the call was
    /// resolved.
    pub fn effects_of(&self, scope: &Scope<'_>, callee: &Callee) -> Option<(Effects, Resolution)> {
        let resolved = self.resolve(scope, callee);
        let resolution = resolved.as_ref()?.1;
        self.shared_effects(resolved.as_ref())
            .map(|effects| (effects, resolution))
    }

    /// The effects every candidate of a resolved call shares, if any.
    fn shared_effects(&self, resolved: Option<&(Vec<usize>, Resolution)>) -> Option<Effects> {
        let (candidates, _) = resolved?;
        let mut shared: Option<Effects> = None;
        for &candidate in candidates {
            let effects = &self.fns[candidate].effects;
            shared = Some(match shared {
                None => effects.clone(),
                Some(before) => before.intersect(effects),
            });
        }
        shared.filter(|effects| !effects.is_empty())
    }

    /// Whether the call is certainly one of the crate's own functions
    /// (through a path, `self`, or a declared type; not by name alone), and
    /// each of them does nothing but hand its value to a channel of the
    /// process: its body, read in the first pass, says so, whatever its
    /// receiver is called (`event_queue.send(e)` on the crate's own
    /// `EventQueue`, whose `send` feeds an `mpsc` channel).
    pub fn delivers_in_process(&self, scope: &Scope<'_>, callee: &Callee) -> bool {
        match self.resolve(scope, callee) {
            Some((candidates, Resolution::Exact)) => {
                !candidates.is_empty() && candidates.iter().all(|&i| self.fns[i].in_process)
            }
            _ => false,
        }
    }

    /// Whether [`CrateIndex::effects_of`] finds the call does something,
    /// without cloning every candidate's effects to say so: the lint pass
    /// asks this of every call of every function, to choose which functions
    /// to walk again.
    pub fn does_anything(&self, scope: &Scope<'_>, callee: &Callee) -> bool {
        let Some((candidates, _)) = self.resolve(scope, callee) else {
            return false;
        };
        let Some((first, rest)) = candidates.split_first() else {
            return false;
        };
        let first = &self.fns[*first].effects;
        let others = || rest.iter().map(|&other| &self.fns[other].effects);
        // What every candidate shares, as `Effects::intersect` keeps it.
        let all = |has: fn(&Effects) -> bool| has(first) && others().all(has);
        let shared = first.acks.iter().any(|(position, _)| {
            others().all(|other| other.acks.iter().any(|(p, _)| p == position))
        }) || all(|effects| effects.publish.is_some())
            || all(|effects| effects.write.is_some())
            || all(|effects| effects.settles_received.is_some())
            || all(|effects| effects.returns_consumed.is_some())
            || all(|effects| effects.headers.is_some());
        // Every test, fixture and accuracy set checks the shortcut against
        // the long way.
        debug_assert_eq!(shared, self.effects_of(scope, callee).is_some());
        shared
    }

    /// The functions a call may reach.
    pub fn resolve(&self, scope: &Scope<'_>, callee: &Callee) -> Option<(Vec<usize>, Resolution)> {
        match callee {
            Callee::Path(segments) => self.resolve_path(scope, segments),
            Callee::SelfMethod(method) => {
                let named = self.by_name.get(method)?;
                if let Some(owner) = scope.owner {
                    let own: Vec<usize> = named
                        .iter()
                        .copied()
                        .filter(|&i| self.fns[i].owner.as_deref() == Some(owner))
                        .collect();
                    if !own.is_empty() {
                        return Some((own, Resolution::Exact));
                    }
                }
                // A trait's method called on `self` in a default method, or
                // defined in another impl block of a trait the type has.
                self.by_method_name(method)
            }
            Callee::Field {
                base,
                field,
                method,
            } => {
                let base_type = if base == "self" {
                    scope.owner.map(str::to_string)
                } else {
                    param_type(scope, base)
                };
                if let Some(base_type) = base_type
                    && let Some(ty) = self.field_type(&base_type, field)
                    && let Some(found) = self.methods_of(&ty.name, method)
                {
                    return Some(found);
                }
                self.by_method_name(method)
            }
            Callee::Method { receiver, method } => {
                // A declared type the crate has methods for; a generic
                // (`handler: &H`) or a foreign type falls back to the name.
                if let Some(ty) = receiver.as_deref().and_then(|name| param_type(scope, name))
                    && let Some(found) = self.methods_of(&ty, method)
                {
                    return Some(found);
                }
                self.by_method_name(method)
            }
        }
    }

    /// The methods named `method` of type (or trait) `ty`.
    /// Whether the crate declares a type named `ty` with a method `method`
    /// (the type's own, not a trait it implements).
    pub fn has_own_method(&self, ty: &str, method: &str) -> bool {
        self.by_name.get(method).is_some_and(|named| {
            named
                .iter()
                .any(|&i| self.fns[i].owner.as_deref() == Some(ty))
        })
    }

    fn methods_of(&self, ty: &str, method: &str) -> Option<(Vec<usize>, Resolution)> {
        let named = self.by_name.get(method)?;
        let own: Vec<usize> = named
            .iter()
            .copied()
            .filter(|&i| self.fns[i].owner.as_deref() == Some(ty))
            .collect();
        if !own.is_empty() {
            return Some((own, Resolution::Exact));
        }
        // A default method of a trait the crate implements for the type
        // (`impl TicketDatabase for Database`, whose `create_ticket` is the
        // trait's own).
        if let Some(traits) = self.traits_of.get(ty) {
            let defaults: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| {
                    self.fns[i].owner.is_none()
                        && self.fns[i]
                            .trait_name
                            .as_ref()
                            .is_some_and(|name| traits.contains(name))
                })
                .collect();
            if !defaults.is_empty() {
                return Some((defaults, Resolution::Exact));
            }
        }
        // A trait object (`Arc<dyn Publisher>`): any implementation.
        let implementations: Vec<usize> = named
            .iter()
            .copied()
            .filter(|&i| self.fns[i].trait_name.as_deref() == Some(ty))
            .collect();
        (!implementations.is_empty()).then_some((implementations, Resolution::ByName))
    }

    /// Methods of any type with this name, for a receiver of unknown type.
    fn by_method_name(&self, method: &str) -> Option<(Vec<usize>, Resolution)> {
        if TOO_COMMON.contains(&method) {
            return None;
        }
        let methods: Vec<usize> = self
            .by_name
            .get(method)?
            .iter()
            .copied()
            .filter(|&i| self.fns[i].owner.is_some() || self.fns[i].trait_name.is_some())
            .collect();
        (!methods.is_empty()).then_some((methods, Resolution::ByName))
    }

    fn resolve_path(
        &self,
        scope: &Scope<'_>,
        segments: &[String],
    ) -> Option<(Vec<usize>, Resolution)> {
        let name = segments.last()?;
        let named = self.by_name.get(name)?;
        let file = self.files.get(scope.file)?;
        if let [single] = segments {
            // Imported by a `use` item: its path says where it is.
            let full = file.imports.resolve_segments(vec![single.clone()]);
            if full.len() > 1 {
                return self.in_module(named, &full[..full.len() - 1], &file.module);
            }
            // Defined in this file, or in this module.
            let here: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| self.fns[i].owner.is_none() && self.fns[i].file == scope.file)
                .collect();
            if !here.is_empty() {
                return Some((here, Resolution::Exact));
            }
            let module: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| {
                    self.fns[i].owner.is_none()
                        && self.files[self.fns[i].file].module == file.module
                })
                .collect();
            if !module.is_empty() {
                return Some((module, Resolution::Exact));
            }
            // A glob import or a re-export: by name, free functions only.
            let free: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| self.fns[i].owner.is_none())
                .collect();
            return (!free.is_empty()).then_some((free, Resolution::ByName));
        }
        let qualifier = &segments[..segments.len() - 1];
        if qualifier.len() == 1 && qualifier[0] == "Self" {
            let owner = scope.owner?;
            return self.methods_of(owner, name);
        }
        let full = file.imports.resolve_segments(qualifier.to_vec());
        let last = full.last()?;
        if last.starts_with(|c: char| c.is_ascii_uppercase()) {
            // `Type::function`: the crate's own type, whatever its module.
            return self.methods_of(last, name);
        }
        self.in_module(named, &full, &file.module)
    }

    /// The free functions among `named` defined in the module `path` names,
    /// seen from module `from`.
    fn in_module(
        &self,
        named: &[usize],
        path: &[String],
        from: &[String],
    ) -> Option<(Vec<usize>, Resolution)> {
        let module = self.absolute_module(path, from)?;
        let found: Vec<usize> = named
            .iter()
            .copied()
            .filter(|&i| {
                let summary = &self.fns[i];
                let file_module = &self.files[summary.file].module;
                summary.owner.is_none()
                    && (*file_module == module
                        // An inline `mod` or a re-export one level up.
                        || file_module.ends_with(&module[module.len().min(file_module.len())..])
                            && !module.is_empty()
                            && file_module.last() == module.last())
            })
            .collect();
        (!found.is_empty()).then_some((found, Resolution::Exact))
    }

    /// A module path written in `from` as a path from the crate root, or
    /// `None` when it leaves the crate (another crate's function).
    fn absolute_module(&self, path: &[String], from: &[String]) -> Option<Vec<String>> {
        let (head, rest) = path.split_first()?;
        match head.as_str() {
            "crate" => {
                // A sibling crate's file uses `crate::` for its own root.
                let prefix: Vec<String> = from
                    .first()
                    .filter(|first| self.crate_names.contains(*first))
                    .cloned()
                    .into_iter()
                    .collect();
                Some(prefix.into_iter().chain(rest.iter().cloned()).collect())
            }
            "self" => Some(from.iter().chain(rest).cloned().collect()),
            "super" => {
                let mut base = from.to_vec();
                base.pop();
                let mut rest = rest;
                while let Some((next, tail)) = rest.split_first() {
                    if next != "super" {
                        break;
                    }
                    base.pop();
                    rest = tail;
                }
                Some(base.into_iter().chain(rest.iter().cloned()).collect())
            }
            _ if self.own_name.as_deref() == Some(head.as_str()) => Some(rest.to_vec()),
            _ if self.crate_names.contains(head) => Some(path.to_vec()),
            // A module declared in this crate, written relative to here
            // (`handlers::process`) or to the root (2015 style).
            _ if self.files.iter().any(|file| file.module.contains(head)) => {
                let relative: Vec<String> = from.iter().chain(path).cloned().collect();
                if self.files.iter().any(|file| file.module == relative) {
                    Some(relative)
                } else {
                    Some(path.to_vec())
                }
            }
            _ => None,
        }
    }
}

/// The declared type of parameter `name`.
fn param_type(scope: &Scope<'_>, name: &str) -> Option<String> {
    let position = scope.params.iter().position(|param| param == name)?;
    scope
        .param_types
        .get(position)
        .filter(|ty| !ty.is_empty())
        .cloned()
}

impl Effects {
    /// Re-labels every site with the file's place in the index.
    fn relocate(&mut self, file: usize) {
        for (_, effect) in &mut self.acks {
            effect.site.file = file;
        }
        if let Some(publish) = &mut self.publish {
            publish.site.file = file;
        }
        for effect in [
            &mut self.write,
            &mut self.settles_received,
            &mut self.returns_consumed,
        ]
        .into_iter()
        .flatten()
        {
            effect.site.file = file;
        }
        if let Some(headers) = &mut self.headers {
            headers.site.file = file;
        }
    }

    /// What both do: a call that may reach either (two definitions, two
    /// implementations of a trait) is only sure to do what they share.
    fn intersect(self, other: &Effects) -> Effects {
        Effects {
            acks: self
                .acks
                .into_iter()
                .filter(|(position, _)| other.acks.iter().any(|(p, _)| p == position))
                .collect(),
            publish: self.publish.filter(|_| other.publish.is_some()),
            write: self.write.filter(|_| other.write.is_some()),
            settles_received: self
                .settles_received
                .filter(|_| other.settles_received.is_some()),
            returns_consumed: self
                .returns_consumed
                .filter(|_| other.returns_consumed.is_some()),
            headers: self.headers.filter(|_| other.headers.is_some()),
        }
    }

    /// Adds what a callee does to what this function does itself; true if
    /// anything was added. The function's own effects come first.
    fn absorb(&mut self, lifted: Effects) -> bool {
        let mut changed = false;
        for (position, effect) in lifted.acks {
            if !self.acks.iter().any(|(p, _)| *p == position) {
                self.acks.push((position, effect));
                changed = true;
            }
        }
        if self.publish.is_none() && lifted.publish.is_some() {
            self.publish = lifted.publish;
            changed = true;
        }
        if self.write.is_none() && lifted.write.is_some() {
            self.write = lifted.write;
            changed = true;
        }
        changed
    }
}

/// A callee's effects as its caller's, through the arguments of the call:
/// settling parameter N of the callee settles whatever caller parameter the
/// N-th argument came from. Only settles, publishes and writes travel up;
/// a received message or built headers are the direct caller's business.
fn lift(callee: &Effects, args: &[Vec<usize>]) -> Effects {
    let through = |positions: &[usize]| -> Vec<usize> {
        let mut out: Vec<usize> = positions
            .iter()
            .filter_map(|p| args.get(*p))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    };
    let acks = callee
        .acks
        .iter()
        .flat_map(|(position, effect)| {
            through(&[*position])
                .into_iter()
                .map(|caller| (caller, effect.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let publish = callee.publish.clone().map(|mut publish| {
        publish.id = match &publish.id {
            IdSource::FromParams(positions) => {
                let mapped = through(positions);
                if mapped.is_empty() {
                    IdSource::Fixed
                } else {
                    IdSource::FromParams(mapped)
                }
            }
            IdSource::OfParams(positions) => {
                let mapped = through(positions);
                if mapped.is_empty() {
                    IdSource::Unknown
                } else {
                    IdSource::OfParams(mapped)
                }
            }
            other => other.clone(),
        };
        publish.body_params = through(&publish.body_params);
        publish
    });
    Effects {
        acks,
        publish,
        write: callee.write.clone(),
        ..Effects::default()
    }
}

/// The first pass over one file: its functions' summaries (from the flows
/// of the same walk the rules use), its struct fields, its facts.
pub fn summarise_file(
    entry: FileEntry,
    items: &[syn::Item],
    flows: &[FnFlow],
    text: &str,
) -> FileSummary {
    let fns = flows.iter().map(summarise_fn).collect();
    let mut collector = Collector {
        imports: &entry.imports,
        fields: Vec::new(),
        facts: CrateFacts::default(),
        current_fn: None,
        current_impl: None,
    };
    // Struct fields sit at the top of a file or of its inline modules.
    let mut stack: Vec<&[syn::Item]> = vec![items];
    while let Some(items) = stack.pop() {
        for item in items {
            match item {
                syn::Item::Struct(item) => collector.fields_of(item),
                syn::Item::Enum(item) => collector.variants_of(item),
                syn::Item::Mod(module) => {
                    if let Some((_, inner)) = &module.content {
                        stack.push(inner);
                    }
                }
                _ => {}
            }
        }
    }
    // The facts need a walk of every expression: only in a file whose text
    // can hold one.
    if ["group", "store_offset", "auto.offset", "auto.commit"]
        .iter()
        .any(|word| text.contains(word))
    {
        for item in items {
            collector.visit_item(item);
        }
    }
    let fields = collector.fields;
    let mut facts = collector.facts;
    if facts.group_id_set || !facts.group_setters.is_empty() {
        facts.kafka_config_helpers = crate::rules::auto_ack::config_helpers(items);
    }
    facts.messaging = entry.imports.has_any(super::apis::MESSAGING_CRATES);
    for flow in flows {
        for (event, recognized) in flow.ops() {
            if let Op::Publish(PublishInfo {
                id: IdEvidence::Absent | IdEvidence::SharedKey,
                dedup: true,
            }) = &recognized.op
            {
                facts
                    .published
                    .extend(message_types(flow.types_of(&flow.values_behind(event))));
            }
        }
    }
    if text.contains("subscribe") || text.contains("manual_acks") {
        (facts.mqtt_subscribes_with_acks, facts.mqtt_manual_acks) =
            crate::rules::auto_ack::mqtt_facts(items);
    }
    FileSummary {
        entry,
        fns,
        fields,
        facts,
    }
}

/// Of the types a published value is made of, those that can be the
/// message: a type by its own name (see [`held_type_name`]), not one named
/// for the plumbing around a message (`KafkaConfig`, `AppState`,
/// `EventProducer`), whose fields a publish reads for a topic or a client,
/// nor for what goes in its headers (`RetryInfo`, `TraceMetadata`).
fn message_types(types: Vec<&str>) -> Vec<String> {
    const PLUMBING: [&str; 22] = [
        "Info",
        "Metadata",
        "Meta",
        "Headers",
        "Properties",
        "Attributes",
        "Config",
        "Configuration",
        "Settings",
        "Options",
        "Opts",
        "Args",
        "Cli",
        "Env",
        "Context",
        "Ctx",
        "State",
        "Client",
        "Producer",
        "Publisher",
        "Connection",
        "Pool",
    ];
    types
        .into_iter()
        .filter_map(held_type_name)
        .filter(|name| !PLUMBING.iter().any(|suffix| name.ends_with(suffix)))
        .map(str::to_string)
        .collect()
}

/// The type a value holds one of, by its own name: `Reading` for
/// `crate::model::Reading`, `Option<..>`, `Box<..>` or `Arc<..>` of it;
/// none for a collection or any other generic type.
pub fn held_type_name(ty: &str) -> Option<&str> {
    let mut ty = ty.trim_start_matches('&').trim_start_matches("mut ");
    while let Some(inner) = ["Option<", "Box<", "Arc<"].iter().find_map(|wrapper| {
        ty.strip_prefix(wrapper)
            .and_then(|rest| rest.strip_suffix('>'))
    }) {
        ty = inner;
    }
    let name = ty.rsplit("::").next()?;
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
        .filter(|name| name.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// The CamelCase names a text builds values of: followed by `{`, `(` or
/// `::` (not `::<`), unless declared or implemented there (after `struct`,
/// `enum`, `union`, `trait`, `type`, `impl`, `for`) or named as a return
/// type (`-> Name {`). A scan of the text, not of the tree: the types of a
/// crate are built in files the analysis does not otherwise walk.
pub fn built_type_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    let mut previous = "";
    let mut after_arrow = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            if word.starts_with(|c: char| c.is_ascii_uppercase()) && word != "Self" {
                let mut next = i;
                while next < bytes.len() && bytes[next] == b' ' {
                    next += 1;
                }
                let builds = match bytes.get(next) {
                    Some(b'{' | b'(') => true,
                    Some(b':') => {
                        bytes.get(next + 1) == Some(&b':') && bytes.get(next + 2) != Some(&b'<')
                    }
                    _ => false,
                };
                let declared = matches!(
                    previous,
                    "struct" | "enum" | "union" | "trait" | "type" | "impl" | "for"
                );
                // Most names (`Ok`, `Some`, `String`) come again and again:
                // allocate each once.
                if builds && !declared && !after_arrow && !names.contains(word) {
                    names.insert(word.to_string());
                }
            }
            previous = word;
            after_arrow = false;
            continue;
        }
        if c == b'>' && i > 0 && bytes[i - 1] == b'-' {
            after_arrow = true;
        } else if !c.is_ascii_whitespace() {
            previous = "";
        }
        i += 1;
    }
    names
}

/// A function's summary from its flow.
/// Where a publish's (or a header builder's) id comes from, as a summary
/// says it: `params_of` gives the parameters a set of names derives from.
/// A key shared by a partition identifies no message.
fn id_source(id: &IdEvidence, params_of: &dyn Fn(&BTreeSet<String>) -> Vec<usize>) -> IdSource {
    match id {
        IdEvidence::Absent | IdEvidence::SharedKey => IdSource::Absent,
        IdEvidence::Present { from, random } => {
            let positions = params_of(from);
            if !positions.is_empty() {
                IdSource::FromParams(positions)
            } else if *random {
                IdSource::Fresh
            } else {
                IdSource::Fixed
            }
        }
        IdEvidence::Unknown => IdSource::Unknown,
    }
}

fn summarise_fn(flow: &FnFlow) -> FnSummary {
    let site = |region: Region| Site {
        file: 0,
        region,
        function: flow.name.clone(),
    };
    // What each parameter's value flows into.
    let derived: Vec<BTreeSet<String>> = flow
        .params
        .iter()
        .map(|param| {
            if param.is_empty() {
                BTreeSet::new()
            } else {
                flow.derived_from(&BTreeSet::from([param.clone()]))
            }
        })
        .collect();
    // What the function receives from a broker itself (`let m =
    // consumer.recv().await?`), and what is made of it: settling that is
    // not settling a parameter, though it came out of one.
    let received: BTreeSet<String> = flow
        .events
        .windows(2)
        .filter_map(|pair| match (&pair[0].kind, &pair[1].kind) {
            (EventKind::Op(op), EventKind::Bind { names, .. }) if op.op == Op::Consume => {
                Some(names.clone())
            }
            _ => None,
        })
        .flatten()
        .collect();
    let received = if received.is_empty() {
        received
    } else {
        flow.derived_from(&received)
    };
    let params_of = |names: &BTreeSet<String>| -> Vec<usize> {
        if names.iter().any(|name| received.contains(name)) {
            return Vec::new();
        }
        derived
            .iter()
            .enumerate()
            .filter(|(_, tainted)| names.iter().any(|name| tainted.contains(name)))
            .map(|(index, _)| index)
            .collect()
    };
    let mut effects = Effects::default();
    let mut consumes = None;
    // A loop that returns what it received polls until a message comes,
    // and hands that one back: a one-shot read, however it is written.
    let polls_once =
        flow.returns_value && flow.loop_returns.iter().any(|name| received.contains(name));
    let mut own_ack = None;
    for (event, recognized) in flow.ops() {
        // Effects that came from another summary are combined later, along
        // the call, not here.
        if recognized.via.is_some() || recognized.api == "local" {
            continue;
        }
        // A spawned task's work is not done by the call: a constructor that
        // starts a publishing loop does not publish when it is called. A
        // publish spawned outside any loop (`tokio::spawn(async move {
        // producer.send(..) })`, fire and forget) is kept, as spawned: it
        // still happens after what the caller did before the call.
        let spawned = event.task.iter().any(|task| flow.detached.contains(task));
        if spawned && !(matches!(recognized.op, Op::Publish(_)) && event.loops.is_empty()) {
            continue;
        }
        let effect = || Effect {
            api: recognized.api.to_string(),
            confidence: recognized.confidence,
            site: site(event.region),
        };
        match &recognized.op {
            Op::Ack { message } => {
                // Settling a parameter means naming it (`d.ack()`,
                // `basic_ack(d.delivery_tag, ..)`): a value computed from
                // one (a topic name from a group name, ids read through a
                // client) is not the message the caller handed over.
                let positions: Vec<usize> = if message.iter().any(|name| received.contains(name)) {
                    Vec::new()
                } else {
                    flow.params
                        .iter()
                        .enumerate()
                        .filter(|(_, param)| !param.is_empty() && message.contains(*param))
                        .map(|(position, _)| position)
                        .collect()
                };
                // Settling a message and then failing (`msg.ack().await;
                // return Err(Expired)`) drops it: the caller's `?` leaves
                // too, so the helper hands back no settled message to work on.
                let dropped = event.scope.iter().any(|arm| flow.failing.contains(arm));
                if dropped {
                    continue;
                }
                // A consumer loop settles what it receives again and again;
                // only a one-shot `read_message()` hands a settled message
                // back.
                if positions.is_empty() && (event.loops.is_empty() || polls_once) {
                    own_ack.get_or_insert_with(effect);
                }
                for position in positions {
                    if !effects.acks.iter().any(|(p, _)| *p == position) {
                        effects.acks.push((position, effect()));
                    }
                }
            }
            Op::Consume if event.loops.is_empty() || polls_once => {
                consumes.get_or_insert_with(effect);
            }
            Op::Publish(PublishInfo { id, dedup }) => {
                let id = match (id, flow.publish_sources.get(&event.seq)) {
                    (IdEvidence::Unknown, Some(sources)) if !sources.is_empty() => {
                        IdSource::OfParams(sources.clone())
                    }
                    (id, _) => id_source(id, &params_of),
                };
                let body_params = if id == IdSource::Absent {
                    params_of(&event.reads)
                } else {
                    Vec::new()
                };
                let candidate = PublishEffect {
                    api: recognized.api.to_string(),
                    dedup: *dedup,
                    id,
                    body_params,
                    confidence: recognized.confidence,
                    site: site(event.region),
                    spawned,
                    looped: !event.loops.is_empty(),
                };
                // Keep the publish a rule would care most about: one the
                // call makes itself over a spawned one, then one with no id
                // over one with an id.
                let better = match &effects.publish {
                    None => true,
                    Some(current) => {
                        (current.spawned && !candidate.spawned)
                            || (current.spawned == candidate.spawned
                                && current.id != IdSource::Absent
                                && candidate.id == IdSource::Absent)
                    }
                };
                if better {
                    effects.publish = Some(candidate);
                }
            }
            Op::DbWrite {
                committed: true,
                outbox: false,
            }
            | Op::DbCommit
            | Op::DbTransaction
                if !flow.mentions_outbox =>
            {
                effects.write.get_or_insert_with(effect);
            }
            _ => {}
        }
    }
    if flow.returns_value
        && let Some(received) = consumes
    {
        match own_ack {
            Some(ack) => effects.settles_received = Some(ack),
            None => effects.returns_consumed = Some(received),
        }
    }
    if let Some((region, keys, id)) = &flow.header_return {
        let id = id_source(id, &params_of);
        effects.headers = Some(HeaderEffect {
            keys: keys.clone(),
            id,
            site: site(*region),
        });
    }
    let calls = flow
        .calls
        .iter()
        .map(|call| CallSummary {
            callee: call.callee.clone(),
            args: call.args.iter().map(params_of).collect(),
            identified: call.identified.clone(),
            spawned: call.spawned,
            looped: call.looped,
            arg_types: call
                .args
                .iter()
                .map(|reads| message_types(flow.types_of(&flow.values_behind_at(reads, call.seq))))
                .collect(),
        })
        .collect();
    FnSummary {
        name: flow.name.clone(),
        owner: flow.owner.clone(),
        trait_name: flow.trait_name.clone(),
        file: 0,
        params: flow.params.clone(),
        param_types: flow.param_types.clone(),
        in_process: flow.sends_in_process && effects.is_empty(),
        effects,
        calls,
    }
}

/// Struct fields and crate-level facts of one file.
struct Collector<'i> {
    imports: &'i Imports,
    fields: Vec<(String, String, TypeRef)>,
    facts: CrateFacts,
    /// The function being visited, for the group setters.
    current_fn: Option<String>,
    /// The `impl` block's type: an extension method on `ClientConfig`.
    current_impl: Option<String>,
}

impl Collector<'_> {
    fn in_fn(&mut self, name: String, visit: impl FnOnce(&mut Self)) {
        let before = self.current_fn.replace(name);
        visit(self);
        self.current_fn = before;
    }
}

impl Collector<'_> {
    fn variants_of(&mut self, item: &syn::ItemEnum) {
        if !super::types::is_serialized(&item.attrs) {
            return;
        }
        let variants = item
            .variants
            .iter()
            .map(|variant| match &variant.fields {
                syn::Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                    match type_ref(&fields.unnamed[0].ty, self.imports) {
                        Some(ty) => VariantPayload::Wraps(ty.name),
                        None => VariantPayload::Nothing,
                    }
                }
                // Judged as the type-level rule judges a variant: an
                // entity's id on a repeatable change does not count.
                syn::Fields::Named(fields) => {
                    let fields: Vec<_> = fields
                        .named
                        .iter()
                        .filter_map(super::types::field_info)
                        .collect();
                    VariantPayload::Fields {
                        has_id: super::types::fields_have_id(&variant.ident.to_string(), &fields),
                    }
                }
                _ => VariantPayload::Nothing,
            })
            .collect();
        self.facts
            .serialized_enums
            .insert(item.ident.to_string(), variants);
    }

    fn fields_of(&mut self, item: &syn::ItemStruct) {
        let owner = item.ident.to_string();
        if super::types::is_serialized(&item.attrs) {
            self.facts.serialized.insert(owner.clone());
        }
        for field in &item.fields {
            let Some(name) = &field.ident else { continue };
            if let Some(mut ty) = type_ref(&field.ty, self.imports) {
                ty.declared = Some((0, Region::from_span(name.span())));
                self.fields.push((owner.clone(), name.to_string(), ty));
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.in_fn(item.sig.ident.to_string(), |this| {
            syn::visit::visit_item_fn(this, item)
        });
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let owner = type_ref(&item.self_ty, self.imports).map(|ty| ty.name);
        let before = std::mem::replace(&mut self.current_impl, owner);
        syn::visit::visit_item_impl(self, item);
        self.current_impl = before;
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.in_fn(item.sig.ident.to_string(), |this| {
            syn::visit::visit_impl_item_fn(this, item)
        });
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        match method.as_str() {
            "set" if call.args.len() == 2 => {
                let key = super::apis::literal(&call.args[0]);
                let value = super::apis::literal(&call.args[1]).map(|v| v.to_ascii_lowercase());
                match (key.as_deref(), value.as_deref()) {
                    (Some("enable.auto.commit"), Some("false")) => {
                        self.facts.auto_commit_off = true
                    }
                    (Some("enable.auto.offset.store"), Some("false")) => {
                        self.facts.offset_store_off = true
                    }
                    (Some("group.id"), _) => {
                        self.facts.group_id_set = true;
                        // Only a method meant for it: on `ClientConfig` (an
                        // extension trait) or named for the group; a function
                        // that builds a whole consumer is a config helper.
                        if let Some(name) = &self.current_fn
                            && (self.current_impl.as_deref() == Some("ClientConfig")
                                || name.contains("group"))
                        {
                            self.facts.group_setters.insert(name.clone());
                        }
                    }
                    _ => {}
                }
            }
            "store_offset" | "store_offset_from_message" | "store_offsets" => {
                self.facts.stores_offsets = true
            }
            // An extension method that names the consumer group.
            name if name.contains("group_id") && !call.args.is_empty() => {
                self.facts.group_id_set = true
            }
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_lit_str(&mut self, text: &'ast syn::LitStr) {
        // `("group.id", ..)` in a config table or an extension trait.
        if text.value() == "group.id" {
            self.facts.group_id_set = true;
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Configs are often built inside `vec![..]` or a `select!` arm.
        let text = mac.tokens.to_string();
        if text.contains("\"group.id\"") {
            self.facts.group_id_set = true;
        }
        if text.contains("store_offset") {
            self.facts.stores_offsets = true;
        }
    }
}

/// Wrappers that hold a value without changing what it is: a field of type
/// `Arc<Mutex<FutureProducer>>` is a producer.
const TRANSPARENT: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Option",
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell",
    "State",
    "Extension",
    "Data",
    "Pin",
    "Cow",
    "OnceCell",
    "OnceLock",
    "Lazy",
    "ArcSwap",
];

/// The type a field or parameter holds, wrappers taken off.
pub fn type_ref(ty: &syn::Type, imports: &Imports) -> Option<TypeRef> {
    match ty {
        syn::Type::Reference(reference) => type_ref(&reference.elem, imports),
        syn::Type::Paren(paren) => type_ref(&paren.elem, imports),
        syn::Type::Group(group) => type_ref(&group.elem, imports),
        syn::Type::TraitObject(object) => object.bounds.iter().find_map(|bound| match bound {
            syn::TypeParamBound::Trait(bound) => path_type(&bound.path, imports),
            _ => None,
        }),
        syn::Type::ImplTrait(object) => object.bounds.iter().find_map(|bound| match bound {
            syn::TypeParamBound::Trait(bound) => path_type(&bound.path, imports),
            _ => None,
        }),
        syn::Type::Path(path) if path.qself.is_none() => path_type(&path.path, imports),
        _ => None,
    }
}

fn path_type(path: &syn::Path, imports: &Imports) -> Option<TypeRef> {
    let last = path.segments.last()?;
    let name = last.ident.to_string();
    if TRANSPARENT.contains(&name.as_str())
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args
            .args
            .iter()
            .find(|arg| matches!(arg, syn::GenericArgument::Type(_)))
    {
        return type_ref(inner, imports);
    }
    let full = imports.resolve(path);
    let krate = (full.len() > 1)
        .then(|| full.first().cloned())
        .flatten()
        .filter(|head| head != "crate" && head != "self" && head != "super");
    Some(TypeRef {
        name,
        krate,
        declared: None,
    })
}

/// The name of a function's return type, `Result`, `Option` and the
/// transparent wrappers taken off.
pub fn returned_type_name(ty: &syn::Type, imports: &Imports) -> String {
    if let syn::Type::Path(path) = ty
        && let Some(last) = path.path.segments.last()
        && matches!(last.ident.to_string().as_str(), "Result" | "Option")
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return returned_type_name(inner, imports);
    }
    param_type_name(ty, imports)
}

/// The type of a function parameter as resolution needs it: its name.
pub fn param_type_name(ty: &syn::Type, imports: &Imports) -> String {
    type_ref(ty, imports).map(|ty| ty.name).unwrap_or_default()
}

/// The keys a function's body sets on headers or properties: string
/// literals handed to `insert`/`header`/`add`/`append`, and `with_*`
/// property setters.
pub fn header_keys(block: &syn::Block) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'ast> Visit<'ast> for Keys {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            let method = call.method.to_string();
            if matches!(
                method.as_str(),
                "insert" | "header" | "add" | "append" | "set"
            ) {
                if let Some(key) = call.args.first().and_then(super::apis::literal) {
                    self.0.push(key);
                } else if let Some(key) = call.args.first() {
                    // `Header { key: "content-type", value: .. }`
                    let text = key.to_token_stream().to_string();
                    if let Some(start) = text.find("key : \"") {
                        let rest = &text[start + 7..];
                        if let Some(end) = rest.find('"') {
                            self.0.push(rest[..end].to_string());
                        }
                    }
                }
            } else if let Some(property) = method.strip_prefix("with_") {
                self.0.push(property.to_string());
            }
            syn::visit::visit_expr_method_call(self, call);
        }
    }
    let mut keys = Keys(Vec::new());
    keys.visit_block(block);
    keys.0.sort();
    keys.0.dedup();
    keys.0
}

/// Return types that are a message's headers or properties, or a message
/// or record a publish takes whole (what carries the id).
pub fn is_header_type(name: &str) -> bool {
    matches!(
        name,
        "FutureRecord"
            | "BaseRecord"
            | "PublishMessage"
            | "OwnedHeaders"
            | "BasicProperties"
            | "AMQPProperties"
            | "HeaderMap"
            | "FieldTable"
            | "Headers"
            | "MessageAttributes"
            | "Properties"
            | "ApplicationProperties"
    )
}

/// Methods that hand back the value they are called on, or a handle to
/// it: `state.redis.clone().rpush(..)` still talks to the field's client.
pub fn is_transparent_method(method: &str) -> bool {
    matches!(
        method,
        "clone" | "as_ref" | "lock" | "read" | "write" | "get" | "borrow" | "deref" | "to_owned"
    )
}

/// What a call on a client the crate keeps in a struct field does, by the
/// field's declared type: `ctx.kafka.send(record, timeout)` when `kafka:
/// FutureProducer` is rdkafka's, even in a file that never imports rdkafka.
/// Only the publishes whose crate-specific name the call-site tables cannot
/// tell from its name alone.
pub fn typed_client_op(
    ty: &TypeRef,
    method: &str,
    args: &[&syn::Expr],
    locals: &super::ids::Locals,
) -> Option<super::apis::Recognized> {
    use super::apis::Recognized;
    let krate = ty.krate.as_deref()?;
    let publish = |id: IdEvidence, dedup: bool, api: &'static str| {
        Some(Recognized {
            op: Op::Publish(PublishInfo { id, dedup }),
            api,
            confidence: Confidence::High,
            via: None,
        })
    };
    match (krate, ty.name.as_str(), method) {
        (
            "rdkafka",
            "FutureProducer" | "BaseProducer" | "ThreadedProducer",
            "send" | "send_result",
        ) => {
            let id = match args.first() {
                Some(record) => super::ids::id_evidence(&[record], locals, &["key"]),
                None => IdEvidence::Unknown,
            };
            publish(id, true, "rdkafka")
        }
        ("async_nats", "Client", "publish") => publish(IdEvidence::Absent, false, "async-nats"),
        ("async_nats", "Context" | "JetStreamContext", "publish") => {
            publish(IdEvidence::Absent, true, "async-nats")
        }
        ("async_nats", "Context" | "JetStreamContext", "send_publish" | "publish_with_headers")
            if args.len() >= 2 =>
        {
            publish(
                super::ids::id_evidence(&[args[1]], locals, &[]),
                true,
                "async-nats",
            )
        }
        // A job pushed onto a Redis list: delivered by whoever pops it,
        // with no broker-side deduplication.
        (
            "redis" | "deadpool_redis" | "bb8_redis",
            _,
            "lpush" | "rpush" | "lpush_exists" | "rpush_exists",
        ) => publish(IdEvidence::Unknown, false, "redis"),
        _ => None,
    }
}
