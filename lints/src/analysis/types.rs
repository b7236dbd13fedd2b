//! The event, command and message types a file declares.
//!
//! Two rules look at type declarations rather than calls: an event type that
//! is serialized without an id (`missing-idempotency-key`) and one whose
//! timestamp is in local time (`local-time`). Both need to know which types
//! are messages: a serialized type whose name says so (`OrderPlacedEvent`,
//! `ShipCommand`, `Envelope`), or one the user listed in `wrappers.event-types`.

use quote::ToTokens;
use syn::spanned::Spanned;

use super::UserApis;
use super::ids::{is_id_name, is_shared_id};
use super::imports::Imports;
use crate::finding::Region;

/// A struct or enum of the file, as the type rules see it.
#[derive(Debug, Clone)]
pub struct TypeInfo {
    pub name: String,
    /// Where the type's name is.
    pub region: Region,
    /// `#[derive(Serialize)]` (or `serde::Serialize`).
    pub serialized: bool,
    /// `#[derive(Deserialize)]`: the crate can receive a value of it.
    pub deserialized: bool,
    /// Why the type counts as a message, if it does.
    pub message_kind: Option<MessageKind>,
    /// Named fields (of a struct, or of every struct variant of an enum).
    pub fields: Vec<FieldInfo>,
    /// An enum's struct variants, each with its own named fields: each
    /// variant is a message of its own, and needs its own id.
    pub variants: Vec<(String, Vec<FieldInfo>)>,
    /// An enum whose variants hold no named fields (they wrap other types,
    /// which are checked on their own), or a tuple struct.
    pub wraps_only: bool,
    /// The types an enum's one-field tuple variants wrap, as written
    /// (`TodoUpdated(TodoUpdatedEvent)`).
    pub wrapped: Vec<String>,
    pub generic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Listed by the user in `wrappers.event-types`.
    Configured,
    /// Named `...Event`, `...Command`, `...Message`, `...Envelope`...
    Named,
    /// Named for something that happened, in the past tense:
    /// `OrderPlaced`, `PaymentCaptured`, `InvoiceSent`, or an enum whose
    /// variants are. That is how domain events are named, and other
    /// serialized types (requests, responses, rows, settings) almost never
    /// are.
    PastTense,
    /// None of the above, but it has a field that only a message has
    /// (`event_id`, `message_id`, `command_id`): it is a message whatever
    /// its name. (It has an id, so only `local-time` looks at it.)
    Identified,
    /// None of the above by its name, but the crate publishes values of it
    /// with no id on the publish (see
    /// [`crate::analysis::summary::CrateFacts::published`]).
    Published,
}

#[derive(Debug, Clone)]
pub struct FieldInfo {
    pub name: String,
    /// The type as written, without spaces: `DateTime<Local>`.
    pub ty: String,
    pub region: Region,
    /// `#[serde(flatten)]`: its fields are the message's own.
    pub flattened: bool,
}

impl TypeInfo {
    /// Whether one of the fields identifies the message. A correlation,
    /// causation, trace or session id is shared by many messages, so it
    /// does not count; any other `..._id`, `id`, `key`-like or `Uuid` field
    /// does (an `order_id` on `OrderPlaced` identifies that event), as does
    /// a flattened metadata or header field that may carry one, and a
    /// version or sequence number (with the entity's key, it names the event).
    pub fn has_id(&self) -> bool {
        self.unidentified_variant().is_none() && fields_have_id(&self.name, &self.fields)
    }

    /// An enum's struct variant with no field that identifies it
    /// (`ProductAddedToCart { product_id }` beside `ProductCreated { id, .. }`):
    /// the fields of all variants together would hide it.
    pub fn unidentified_variant(&self) -> Option<&str> {
        self.variants
            .iter()
            .find(|(name, fields)| !fields.is_empty() && !fields_have_id(name, fields))
            .map(|(name, _)| name.as_str())
    }
}

/// Words of an event's name for a change that can happen to one entity
/// again and again: an `OrderUpdated` or a `ProductAddedToCart` carries the
/// order's or the product's id, which every such change shares, so that id
/// does not tell one occurrence from the next (an `OrderPlaced` happens
/// once per order, and its `order_id` does).
const REPEATABLE: &[&str] = &[
    "Updated",
    "Changed",
    "Modified",
    "Edited",
    "Added",
    "Removed",
    "Adjusted",
    "Incremented",
    "Decremented",
    "Moved",
    "Toggled",
    "Renamed",
    "Progressed",
];

/// Words of a message's name for what happens to an entity only once: its
/// id names the occurrence.
const ONCE: &[&str] = &[
    "Create",
    "Created",
    "Register",
    "Registered",
    "Delete",
    "Deleted",
];

/// Whether a message of this name is a change that can happen to one
/// entity again and again (`OrderUpdated`): see [`REPEATABLE`].
pub(crate) fn is_repeatable(type_name: &str) -> bool {
    words(type_name)
        .iter()
        .any(|word| REPEATABLE.contains(word))
}

/// Whether one of `fields` identifies a message of type (or variant) `name`.
pub(crate) fn fields_have_id(type_name: &str, fields: &[FieldInfo]) -> bool {
    let repeatable = is_repeatable(type_name);
    // The ids that name what the message is about, not a party to it: a
    // `user_id` is shared by everything a user does, but on
    // `UserRegistered` it names the one user the event is about (the
    // name's first word). What is created, registered or deleted once
    // (`CreateUserCommand { user_id }`, `AccountDeleted { account_id }`)
    // is named by its id wherever its word sits in the name.
    let name_words = words(type_name);
    let once = name_words.iter().any(|word| ONCE.contains(word));
    let subjects: Vec<String> = name_words
        .iter()
        .take(if once { name_words.len() } else { 1 })
        .map(|word| format!("{}_id", word.to_ascii_lowercase()))
        .collect();
    // An envelope: it wraps a payload whose type it does not know.
    let envelope = fields.iter().any(|field| {
        matches!(field.name.as_str(), "payload" | "data" | "body")
            && (field.ty.ends_with("Value")
                || field.ty.starts_with("Vec<u8")
                || field.ty == "String"
                || field.ty == "Bytes")
    });
    fields.iter().any(|field| {
        let ty = field.ty.as_str();
        let id_typed = [
            "Uuid",
            "Ulid",
            "MessageId",
            "EventId",
            "CommandId",
            "IdempotencyKey",
        ]
        .iter()
        .any(|id| ty == *id || ty.ends_with(&format!("::{id}")) || ty == format!("Option<{id}>"));
        let carries = ["Meta", "Header", "Envelope", "Context"]
            .iter()
            .any(|part| ty.contains(part))
            // A flattened map or JSON value (`#[serde(flatten)] data:
            // Value`) puts whatever fields the sender chose at the top
            // level, an id among them or not: nothing to judge here.
            || (field.flattened
                && (ty.ends_with("Value")
                    || ["HashMap<", "BTreeMap<", "Map<", "IndexMap<"]
                        .iter()
                        .any(|map| ty.contains(map))));
        let name = field.name.trim_start_matches("r#").to_ascii_lowercase();
        let about_subject = subjects.contains(&name);
        let shared = is_shared_id(&name) && !about_subject;
        // An entity's version or sequence number, with the entity's
        // key, identifies the event too (`sku` + `version`); not an
        // envelope's `version` next to the payload it wraps, which is the
        // version of its format.
        let versioned = matches!(
            name.as_str(),
            "version" | "sequence" | "sequence_number" | "seq" | "revision"
        ) && !(name == "version" && envelope);
        // On a repeatable change, an entity's `..._id` names the
        // entity, not the change; an id of the message itself still counts.
        let entity = repeatable
            && name.ends_with("_id")
            && !matches!(
                name.as_str(),
                "event_id" | "message_id" | "msg_id" | "command_id" | "change_id" | "update_id"
            );
        !shared
            && !entity
            && (is_id_name(&field.name) || about_subject || id_typed || carries || versioned)
    })
}

const MESSAGE_SUFFIXES: &[&str] = &[
    "Event",
    "Command",
    "Cmd",
    "Message",
    "Msg",
    "Envelope",
    "Notification",
];

/// Words that end in `-ed` but do not name something that happened, or
/// that qualify a type rather than report an event (`LinkShared` is an
/// event; `ConfigShared` is rare next to `Shared` alone, but adjectives like
/// these are how non-event types end when they do).
const NOT_PARTICIPLES: &[&str] = &[
    "Embed",
    "Speed",
    "Breed",
    "Greed",
    "Tweed",
    "Creed",
    "Proceed",
    "Exceed",
    "Succeed",
    "Indeed",
    "Hundred",
    "Kindred",
    "Sacred",
    "Wicked",
    "Naked",
    "Detailed",
    "Limited",
    "Nested",
    "Mixed",
    "Fixed",
    "Advanced",
    "Extended",
    "Compressed",
    "Encrypted",
    "Signed",
    "Unsigned",
    "Typed",
    "Tagged",
    "Keyed",
    "Timed",
    "Cached",
    "Combined",
    "Parsed",
    "Serialized",
    "Normalized",
    "Flattened",
    "Localized",
    "Scoped",
    "Bounded",
    "Based",
    "Weighted",
    "Paginated",
    "Embedded",
    "Seeded",
    "Boxed",
    "Pinned",
    "Owned",
    "Borrowed",
    "Shared",
    "Managed",
    "Unmanaged",
    "Required",
    "Optional",
    "Deprecated",
    "Detached",
];

/// Past participles that do not end in `-ed`, as event names use them.
const IRREGULAR_PARTICIPLES: &[&str] = &[
    "Sent",
    "Paid",
    "Built",
    "Made",
    "Sold",
    "Held",
    "Lost",
    "Won",
    "Begun",
    "Drawn",
    "Given",
    "Taken",
    "Written",
    "Chosen",
    "Frozen",
    "Hidden",
    "Spent",
    "Split",
    "Withdrawn",
    "Undone",
];

/// The CamelCase words of a type name.
fn words(name: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    for (index, c) in name.char_indices().skip(1) {
        if c.is_ascii_uppercase() {
            words.push(&name[start..index]);
            start = index;
        }
    }
    words.push(&name[start..]);
    words
}

/// Particles of phrasal verbs: `CheckedOut`, `SignedUp`, `RolledBack`.
const PARTICLES: &[&str] = &["Out", "Up", "In", "Off", "Back", "Down", "Over", "Away"];

/// Whether `word` is a past participle as event names use them.
fn participle(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && !NOT_PARTICIPLES.contains(&word)
        && ((word.len() >= 5 && word.ends_with("ed")) || IRREGULAR_PARTICIPLES.contains(&word))
}

/// `OrderPlaced`, `InvoiceSent`, `CartCheckedOut`: at least two words, the
/// last a past participle (or one followed by its particle).
fn past_tense(name: &str) -> bool {
    let mut words = words(name);
    if words.len() >= 3 && words.last().is_some_and(|last| PARTICLES.contains(last)) {
        words.pop();
    }
    let [.., before, last] = words.as_slice() else {
        return false;
    };
    // `IOError`-style runs of capitals are acronyms, not words.
    before.len() >= 2 && participle(last)
}

/// An enum of events: most of its variants are named for something that
/// happened (`UserRegistered`, or just `Created` in an `OrderEvent`).
fn past_tense_variants(variants: &[String], named_as_message: bool) -> bool {
    let happened = variants
        .iter()
        .filter(|variant| {
            past_tense(variant)
                || (named_as_message && words(variant).last().is_some_and(|w| participle(w)))
        })
        .count();
    !variants.is_empty() && happened * 2 >= variants.len()
}

/// The structs and enums of the file (including those in inline modules).
pub fn types(items: &[syn::Item], _imports: &Imports, user: &UserApis) -> Vec<TypeInfo> {
    let mut out = Vec::new();
    collect(items, user, &mut out);
    out
}

fn collect(items: &[syn::Item], user: &UserApis, out: &mut Vec<TypeInfo>) {
    for item in items {
        match item {
            syn::Item::Struct(item) => {
                // Field types are only read for serialized types.
                let fields: Vec<FieldInfo> = if is_serialized(&item.attrs) {
                    item.fields.iter().filter_map(field_info).collect()
                } else {
                    Vec::new()
                };
                let wraps_only = fields.is_empty() && !item.fields.is_empty();
                out.push(info(
                    &item.ident,
                    &item.attrs,
                    fields,
                    wraps_only,
                    !item.generics.params.is_empty(),
                    &[],
                    user,
                ));
            }
            syn::Item::Enum(item) if !is_serialized(&item.attrs) => {
                out.push(info(
                    &item.ident,
                    &item.attrs,
                    Vec::new(),
                    true,
                    false,
                    &[],
                    user,
                ));
            }
            syn::Item::Enum(item) => {
                let fields: Vec<FieldInfo> = item
                    .variants
                    .iter()
                    .flat_map(|variant| variant.fields.iter().filter_map(field_info))
                    .collect();
                let wraps_only = item
                    .variants
                    .iter()
                    .all(|variant| !matches!(variant.fields, syn::Fields::Named(_)));
                let variants: Vec<String> = item
                    .variants
                    .iter()
                    .map(|variant| variant.ident.to_string())
                    .collect();
                let mut enum_info = info(
                    &item.ident,
                    &item.attrs,
                    fields,
                    wraps_only,
                    !item.generics.params.is_empty(),
                    &variants,
                    user,
                );
                enum_info.wrapped = item
                    .variants
                    .iter()
                    .filter_map(|variant| match &variant.fields {
                        syn::Fields::Unnamed(fields) if fields.unnamed.len() == 1 => Some(
                            fields.unnamed[0]
                                .ty
                                .to_token_stream()
                                .to_string()
                                .replace(' ', ""),
                        ),
                        _ => None,
                    })
                    .collect();
                enum_info.variants = item
                    .variants
                    .iter()
                    .filter(|variant| matches!(variant.fields, syn::Fields::Named(_)))
                    .map(|variant| {
                        (
                            variant.ident.to_string(),
                            variant.fields.iter().filter_map(field_info).collect(),
                        )
                    })
                    .collect();
                out.push(enum_info);
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect(items, user, out);
                }
            }
            _ => {}
        }
    }
}

pub(crate) fn field_info(field: &syn::Field) -> Option<FieldInfo> {
    let ident = field.ident.as_ref()?;
    let flattened = field.attrs.iter().any(|attr| {
        attr.path().is_ident("serde")
            && attr.meta.require_list().is_ok_and(|list| {
                list.tokens
                    .to_string()
                    .split(',')
                    .any(|part| part.trim() == "flatten")
            })
    });
    Some(FieldInfo {
        name: ident.to_string(),
        ty: field.ty.to_token_stream().to_string().replace(' ', ""),
        region: Region::from_span(field.span()),
        flattened,
    })
}

fn info(
    ident: &syn::Ident,
    attrs: &[syn::Attribute],
    fields: Vec<FieldInfo>,
    wraps_only: bool,
    generic: bool,
    variants: &[String],
    user: &UserApis,
) -> TypeInfo {
    let name = ident.to_string();
    let named_as_message = MESSAGE_SUFFIXES.iter().any(|suffix| name.ends_with(suffix));
    let serialized = is_serialized(attrs);
    let message_kind = if user
        .event_types
        .iter()
        .any(|listed| listed.rsplit("::").next() == Some(name.as_str()))
    {
        Some(MessageKind::Configured)
    } else if past_tense_variants(variants, named_as_message) {
        // `enum DomainEvent { UserRegistered { .. }, EmailVerified { .. } }`.
        Some(MessageKind::PastTense)
    } else if named_as_message {
        Some(MessageKind::Named)
    } else if past_tense(&name) {
        Some(MessageKind::PastTense)
    } else if fields.iter().any(|field| {
        matches!(
            field.name.trim_start_matches("r#"),
            "event_id" | "message_id" | "msg_id" | "command_id" | "idempotency_key"
        )
    }) {
        Some(MessageKind::Identified)
    } else {
        None
    };
    TypeInfo {
        name,
        region: Region::from_span(ident.span()),
        serialized,
        deserialized: is_deserialized(attrs),
        message_kind,
        fields,
        variants: Vec::new(),
        wrapped: Vec::new(),
        wraps_only,
        generic,
    }
}

/// `#[derive(Deserialize)]` or `#[derive(serde::Deserialize)]`.
fn is_deserialized(attrs: &[syn::Attribute]) -> bool {
    derives(attrs, "Deserialize")
}

/// `#[derive(Serialize)]` or `#[derive(serde::Serialize)]` (a derive of
/// `Deserialize` only also reads as one).
pub fn is_serialized(attrs: &[syn::Attribute]) -> bool {
    derives(attrs, "Serialize")
}

/// Whether a `#[derive(..)]` names `name` (as the end of a longer name too).
fn derives(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("derive") && attr.meta.to_token_stream().to_string().contains(name)
    })
}
