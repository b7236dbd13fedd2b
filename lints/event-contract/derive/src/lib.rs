//! `#[derive(Event)]`, the compile-time half of the `event-contract` crate.
//! Use it through `event_contract::Event`: the code it generates names
//! `::event_contract`, where the trait and its runtime checks live (a
//! proc-macro crate can export nothing but macros).
//!
//! What it refuses, each with an error on the field at fault:
//!
//! - a struct with no id field: no field marked `#[event(id)]` and none
//!   named `id` or `event_id`;
//! - an id whose type cannot be a stable identifier: an integer (a counter
//!   restarts after a deploy, and two producers count the same numbers), a
//!   float, a `bool` or `char`, an `Option` (an id that may be missing is no
//!   id), a time (two events can share one). Any other type must implement
//!   `event_contract::StableId`, which the compiler checks;
//! - a time without its offset from UTC, in any field, also inside
//!   `Option`, `Vec` and the like: `chrono::DateTime<Local>`,
//!   `chrono::NaiveDateTime`, `time::PrimitiveDateTime`, and
//!   `std::time::Instant` (a monotonic clock reading that means nothing
//!   outside the process that took it).
//!
//! The types are matched by name, as the macro sees them before name
//! resolution: a type imported under another name (`use chrono::Local as
//! Here;`) escapes the check. That is the price of a derive macro, which
//! runs before the compiler knows what a path means.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{ToTokens, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Field, Fields, GenericArgument, Ident, PathArguments, PathSegment, Type,
    parse_macro_input,
};

/// Derives `event_contract::Event` for a struct with named fields. See the
/// `event-contract` crate for the contract and the field attributes
/// `#[event(id)]` and `#[event(required)]`.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// What `#[event(...)]` says about one field.
#[derive(Default)]
struct FieldMarks {
    /// `#[event(id)]`: this field identifies the event.
    id: bool,
    /// `#[event(required)]`: `validate()` fails when it is empty.
    required: bool,
}

/// Collects every error before giving up, so that one build reports every
/// field at fault instead of one per build.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    name,
                    format!(
                        "`#[derive(Event)]` needs a struct with named fields: a consumer reads \
                         an event's fields by name, and `{name}` has none"
                    ),
                ));
            }
        },
        Data::Enum(_) | Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                name,
                format!(
                    "`#[derive(Event)]` works on a struct: give each kind of event its own \
                     struct, each with its own id and contract, rather than deriving it on \
                     `{name}`"
                ),
            ));
        }
    };

    let rename_all = serde_rename(&input.attrs, "rename_all");
    let wire_name = |field: &Field| {
        serde_rename(&field.attrs, "rename").unwrap_or_else(|| {
            let name = field_name(field);
            match &rename_all {
                Some(rule) => apply_rename_rule(rule, &name),
                None => name,
            }
        })
    };

    let mut errors = Errors::default();
    let mut marked = Vec::with_capacity(fields.len());
    for field in fields {
        marked.push((field, marks(field, &mut errors)));
    }

    let id_field = pick_id(name, &marked, &mut errors);
    if let Some(field) = id_field {
        check_id_type(field, &mut errors);
    }
    for (field, _) in &marked {
        refuse_local_time(&field.ty, &mut errors);
    }
    errors.finish()?;
    let Some(id_field) = id_field else {
        // pick_id reported the missing id, so finish() returned above.
        return Err(syn::Error::new(Span::call_site(), "no id field"));
    };

    let id_ident = &id_field.ident;
    let id_name = wire_name(id_field);
    let id_ty = &id_field.ty;
    // Spanned on the field's type, so that "is not a stable event id"
    // points at the field, not at the derive.
    let id_type = quote_spanned! {id_ty.span()=> type Id = #id_ty; };
    // The impl's header checks the same bound; with the same span, the
    // compiler reports one error instead of a second one on the derive.
    let event_trait = quote_spanned! {id_ty.span()=> ::event_contract::Event };

    let required = marked
        .iter()
        .filter(|(_, marks)| marks.required)
        .map(|(field, _)| {
            let ident = &field.ident;
            let field_name = wire_name(field);
            quote_spanned! {field.ty.span()=>
                if !::event_contract::Presence::is_present(&self.#ident) {
                    problems.push(::event_contract::Problem::Missing { field: #field_name });
                }
            }
        });

    let timestamps = marked
        .iter()
        .filter(|(field, _)| carries_an_offset(&field.ty))
        .map(|(field, _)| {
            let ident = &field.ident;
            let field_name = wire_name(field);
            quote_spanned! {field.ty.span()=>
                if let ::core::option::Option::Some(offset_seconds) =
                    ::event_contract::Timestamp::offset_from_utc(&self.#ident)
                {
                    if offset_seconds != 0 {
                        problems.push(::event_contract::Problem::NotUtc {
                            field: #field_name,
                            offset_seconds,
                        });
                    }
                }
            }
        });

    let event_name = name.to_string();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    // The whole impl carries the id field's span: its only error in
    // practice is an id type that is not `StableId`, which the compiler
    // would otherwise report once more on `#[derive(Event)]`.
    Ok(quote_spanned! {id_ty.span()=>
        impl #impl_generics #event_trait for #name #ty_generics #where_clause {
            const NAME: &'static str = #event_name;
            const ID_FIELD: &'static str = #id_name;
            #id_type

            fn id(&self) -> &Self::Id {
                &self.#id_ident
            }

            fn validate(&self) -> ::core::result::Result<(), ::event_contract::ContractError> {
                let mut problems = ::std::vec::Vec::new();
                if ::event_contract::StableId::is_blank(::event_contract::Event::id(self)) {
                    problems.push(::event_contract::Problem::BlankId { field: #id_name });
                }
                #(#required)*
                #(#timestamps)*
                ::event_contract::ContractError::check(#event_name, problems)
            }
        }
    })
}

/// The field's name in Rust (`r#type` as `type`).
fn field_name(field: &Field) -> String {
    field
        .ident
        .as_ref()
        .map(|ident| ident.unraw().to_string())
        .unwrap_or_default()
}

/// What serde's `#[serde(key = "...")]` (or `key(deserialize = "...")`)
/// says among `attrs`: the names `validate()` reports must be the ones the
/// producer writes in the payload, not the Rust ones. Anything in a serde
/// attribute that does not parse as expected is serde's to report.
fn serde_rename(attrs: &[syn::Attribute], key: &str) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ignored = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(key) {
                if meta.input.peek(syn::Token![=]) {
                    let name: syn::LitStr = meta.value()?.parse()?;
                    found = Some(name.value());
                } else {
                    meta.parse_nested_meta(|side| {
                        let name: syn::LitStr = side.value()?.parse()?;
                        if side.path.is_ident("deserialize") {
                            found = Some(name.value());
                        }
                        Ok(())
                    })?;
                }
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                let inner;
                syn::parenthesized!(inner in meta.input);
                inner.parse::<proc_macro2::TokenStream>()?;
            }
            Ok(())
        });
    }
    found
}

/// A field's name under serde's `rename_all` rule; an unknown rule leaves
/// it as it is (serde refuses to compile one anyway).
fn apply_rename_rule(rule: &str, snake: &str) -> String {
    let words: Vec<&str> = snake.split('_').filter(|word| !word.is_empty()).collect();
    let capitalised = |word: &str| {
        let mut chars = word.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    match rule {
        "lowercase" => snake.to_lowercase(),
        "UPPERCASE" => snake.to_uppercase(),
        "PascalCase" => words.iter().map(|word| capitalised(word)).collect(),
        "camelCase" => words
            .iter()
            .enumerate()
            .map(|(index, word)| {
                if index == 0 {
                    (*word).to_owned()
                } else {
                    capitalised(word)
                }
            })
            .collect(),
        "SCREAMING_SNAKE_CASE" => snake.to_uppercase(),
        "kebab-case" => words.join("-"),
        "SCREAMING-KEBAB-CASE" => words.join("-").to_uppercase(),
        _ => snake.to_owned(),
    }
}

/// Reads the `#[event(...)]` attributes of one field.
fn marks(field: &Field, errors: &mut Errors) -> FieldMarks {
    let mut marks = FieldMarks::default();
    for attr in &field.attrs {
        if !attr.path().is_ident("event") {
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("id") {
                marks.id = true;
                Ok(())
            } else if meta.path.is_ident("required") {
                marks.required = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown `#[event(...)]` option: a field takes `id` (this field identifies \
                     the event) or `required` (`validate()` fails when it is empty)",
                ))
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    marks
}

/// The field that identifies the event: the one marked `#[event(id)]`, or
/// else the one named `id` or `event_id`.
fn pick_id<'a>(
    name: &Ident,
    fields: &[(&'a Field, FieldMarks)],
    errors: &mut Errors,
) -> Option<&'a Field> {
    let mut chosen: Option<&Field> = None;
    for (field, marks) in fields {
        if !marks.id {
            continue;
        }
        match chosen {
            None => chosen = Some(field),
            Some(first) => errors.spanned(
                &field.ident,
                format!(
                    "`{name}` marks two fields `#[event(id)]` (`{}` and `{}`): an event has \
                     one id, the one consumers deduplicate on",
                    field_name(first),
                    field_name(field)
                ),
            ),
        }
    }
    if chosen.is_some() {
        return chosen;
    }
    let named = fields.iter().map(|(field, _)| *field).find(|field| {
        field
            .ident
            .as_ref()
            .is_some_and(|ident| ident == "id" || ident == "event_id")
    });
    if named.is_none() {
        errors.spanned(
            name,
            format!(
                "event `{name}` has no id field: a consumer needs one to recognise a \
                 redelivery, a retry or a replay of the same event. Add `id: uuid::Uuid` (or \
                 an id derived from the business key), or mark the field that identifies the \
                 event with `#[event(id)]`"
            ),
        );
    }
    named
}

/// Refuses the id types that can never be a stable identifier. Every other
/// type must implement `StableId`, which the generated `type Id` asks the
/// compiler to check.
fn check_id_type(field: &Field, errors: &mut Errors) {
    let ty = &field.ty;
    let field_name = field_name(field);
    let Some(segment) = last_segment(ty) else {
        return;
    };
    let type_name = segment.ident.to_string();
    let why = match type_name.as_str() {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => {
            "a counter is not a stable event id: it starts again after a restart or a \
             deploy, and two producers count the same numbers, so a consumer would drop a \
             new event as a duplicate of an old one"
        }
        "f32" | "f64" | "bool" | "char" => "it cannot tell one event from another",
        "Option" => {
            "an id that may be missing is no id: a consumer cannot deduplicate an event \
             without one. Make the field required, and let `validate()` refuse a blank one"
        }
        "Instant" | "SystemTime" | "DateTime" | "NaiveDateTime" | "OffsetDateTime"
        | "PrimitiveDateTime" => {
            "a time is not an identity: two events can happen within one tick of the \
             clock, and a clock can be set back"
        }
        _ => return,
    };
    errors.spanned(
        ty,
        format!(
            "`{}` cannot be the id of an event (field `{field_name}`): {why}. Use \
             `uuid::Uuid`, a `String` derived from the business key, or a newtype that \
             implements `event_contract::StableId`",
            ty.to_token_stream().to_string().replace(' ', "")
        ),
    );
}

/// Reports every time without its offset from UTC in `ty`, generic
/// arguments included (`Option<NaiveDateTime>` is as ambiguous as
/// `NaiveDateTime`).
fn refuse_local_time(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Path(path) => {
            if let Some(segment) = path.path.segments.last()
                && let Some(why) = local_time(segment)
            {
                errors.spanned(ty, why);
                return;
            }
            for segment in &path.path.segments {
                for inner in type_arguments(segment) {
                    refuse_local_time(inner, errors);
                }
            }
        }
        Type::Reference(reference) => refuse_local_time(&reference.elem, errors),
        Type::Array(array) => refuse_local_time(&array.elem, errors),
        Type::Slice(slice) => refuse_local_time(&slice.elem, errors),
        Type::Group(group) => refuse_local_time(&group.elem, errors),
        Type::Paren(paren) => refuse_local_time(&paren.elem, errors),
        Type::Tuple(tuple) => {
            for elem in &tuple.elems {
                refuse_local_time(elem, errors);
            }
        }
        _ => {}
    }
}

/// Why this path segment names a time that another machine cannot place
/// on the timeline, if it does.
fn local_time(segment: &PathSegment) -> Option<String> {
    const SEND_UTC: &str = "Send `chrono::DateTime<Utc>` or `time::OffsetDateTime` in UTC";
    match segment.ident.to_string().as_str() {
        "NaiveDateTime" => Some(format!(
            "`NaiveDateTime` has no offset from UTC: a consumer in another time zone, or \
             the same one after a daylight-saving change, reads another instant. {SEND_UTC}"
        )),
        "PrimitiveDateTime" => Some(format!(
            "`time::PrimitiveDateTime` has no offset from UTC: a consumer cannot tell which \
             instant it names. {SEND_UTC}"
        )),
        "Instant" => Some(format!(
            "`Instant` is a reading of this process's monotonic clock: it means nothing to \
             another process and cannot be serialized. {SEND_UTC}"
        )),
        "DateTime" => {
            let zone = type_arguments(segment).next().and_then(last_segment)?;
            (zone.ident == "Local").then(|| {
                format!(
                    "`DateTime<Local>` is the producer's wall clock: it moves with the \
                     server's time zone and daylight saving, so two producers' events cannot \
                     be compared, and one hour each autumn happens twice. {SEND_UTC}"
                )
            })
        }
        _ => None,
    }
}

/// A type whose offset from UTC `validate()` checks at run time: chrono's
/// `DateTime<Tz>` (for `DateTime<FixedOffset>`) and `time::OffsetDateTime`
/// (what `OffsetDateTime::now_local()` returns), also inside an `Option`.
fn carries_an_offset(ty: &Type) -> bool {
    let Some(segment) = last_segment(ty) else {
        return false;
    };
    match segment.ident.to_string().as_str() {
        "OffsetDateTime" | "DateTime" => true,
        "Option" => type_arguments(segment)
            .next()
            .is_some_and(carries_an_offset),
        _ => false,
    }
}

/// The last segment of a plain type path: `Uuid` in `uuid::Uuid`.
fn last_segment(ty: &Type) -> Option<&PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

/// The type arguments of one path segment: `T` in `Option<T>`.
fn type_arguments(segment: &PathSegment) -> impl Iterator<Item = &Type> {
    let arguments = match &segment.arguments {
        PathArguments::AngleBracketed(arguments) => Some(&arguments.args),
        _ => None,
    };
    arguments.into_iter().flatten().filter_map(|argument| {
        if let GenericArgument::Type(ty) = argument {
            Some(ty)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::apply_rename_rule;

    #[test]
    fn fields_are_renamed_as_serde_renames_them() {
        let cases = [
            ("camelCase", "order_event_id", "orderEventId"),
            ("PascalCase", "order_event_id", "OrderEventId"),
            ("kebab-case", "order_event_id", "order-event-id"),
            ("SCREAMING-KEBAB-CASE", "order_event_id", "ORDER-EVENT-ID"),
            ("SCREAMING_SNAKE_CASE", "order_event_id", "ORDER_EVENT_ID"),
            ("lowercase", "order_event_id", "order_event_id"),
            ("UPPERCASE", "id", "ID"),
            ("snake_case", "order_event_id", "order_event_id"),
        ];
        for (rule, field, payload) in cases {
            assert_eq!(apply_rename_rule(rule, field), payload, "{rule}");
        }
    }
}
