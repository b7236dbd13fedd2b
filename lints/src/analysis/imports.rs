//! Name resolution through `use` items, without types.
//!
//! A file says `use lapin::options::BasicConsumeOptions as Opts;` and later
//! `Opts { no_ack: true, .. }`: to know that `Opts` is lapin's type, the
//! rules resolve every path through the file's `use` items first. Groups,
//! renames, `self` and nested modules are followed; globs are remembered as
//! "maybe" so that `use chrono::prelude::*; Local::now()` still counts (with
//! the crate as evidence) while a bare `Local` with no import at all does
//! not.

use std::collections::{BTreeSet, HashMap};

use syn::visit::Visit;

/// The crates the rules know, by the name code uses for them (`-` becomes
/// `_`). Seeing one in a `use` item or at the head of a path is the evidence
/// that makes a generic method name such as `ack` or `send` meaningful.
pub const KNOWN_CRATES: &[&str] = &[
    "lapin",
    "amqprs",
    "rdkafka",
    "kafka",
    "async_nats",
    "aws_sdk_sqs",
    "rusoto_sqs",
    "azure_messaging_servicebus",
    "azservicebus",
    "redis",
    "google_cloud_pubsub",
    "gcloud_pubsub",
    "fe2o3_amqp",
    "fe2o3_amqp_types",
    "pulsar",
    "rumqttc",
    "paho_mqtt",
    "omniqueue",
    "amiquip",
    "apalis",
    "apalis_core",
    "apalis_redis",
    "apalis_sql",
    "apalis_amqp",
    "iggy",
    "iggy_common",
    "fluvio",
    "broker",
    "sqlx",
    "diesel",
    "diesel_async",
    "sea_orm",
    "tokio_postgres",
    "postgres",
    "deadpool_postgres",
    "bb8_postgres",
    "rusqlite",
    "mongodb",
    "chrono",
    "time",
    "jiff",
    "serde",
];

/// What one file imports.
#[derive(Debug, Default, Clone)]
pub struct Imports {
    /// Local name -> the full path it stands for: `Opts` ->
    /// `lapin::options::BasicConsumeOptions`.
    aliases: HashMap<String, Vec<String>>,
    /// `use a::b::*;` prefixes: any unresolved single name may come from them.
    globs: Vec<Vec<String>>,
    /// Known crates the file mentions, in a `use` item or as a path's head.
    crates: BTreeSet<&'static str>,
    /// The fields the file's structs declare as in-memory collections
    /// (`subscriptions: Vec<(String, Sub)>`, `jobs: Mutex<VecDeque<Job>>`):
    /// `self.subscriptions.push(..)` is bookkeeping, not a job queue's push.
    collection_fields: BTreeSet<String>,
}

impl Imports {
    /// Reads every `use` item of the file (including those inside functions
    /// and inline modules: one flat map is a good enough approximation for
    /// a linter, since shadowing an import with a different crate's name of
    /// the same spelling is rare) and every path head.
    pub fn of(items: &[syn::Item]) -> Imports {
        let mut collector = Collector::default();
        for item in items {
            collector.visit_item(item);
        }
        // A name the file gives one of its own modules (`mod kafka;`,
        // `use crate::kafka;`) is that module at a path's head, not the
        // crate of the same name: `kafka::handle(..)` calls the service's
        // own code.
        let Collector {
            mut imports,
            local_modules,
        } = collector;
        imports.crates.retain(|name| !local_modules.contains(*name));
        imports
    }

    /// Whether the file mentions this crate (by its code name, `async_nats`).
    pub fn has_crate(&self, name: &str) -> bool {
        self.crates.contains(name)
    }

    /// Whether one of the file's structs declares a field of this name as an
    /// in-memory collection.
    pub fn is_collection_field(&self, name: &str) -> bool {
        self.collection_fields.contains(name)
    }

    /// Whether the file mentions any of these crates.
    pub fn has_any(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.has_crate(name))
    }

    /// The full path a path stands for, as strings: `Opts { .. }` gives
    /// `["lapin", "options", "BasicConsumeOptions"]`. A path whose head is
    /// not imported is returned as written.
    pub fn resolve(&self, path: &syn::Path) -> Vec<String> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve_segments(segments)
    }

    /// [`Imports::resolve`] on already stringified segments.
    pub fn resolve_segments(&self, segments: Vec<String>) -> Vec<String> {
        let Some(first) = segments.first() else {
            return segments;
        };
        match self.aliases.get(first) {
            Some(full) => full
                .iter()
                .cloned()
                .chain(segments.into_iter().skip(1))
                .collect(),
            None => segments,
        }
    }

    /// Whether the name could come from a glob import of one of these crates.
    pub fn glob_from(&self, crates: &[&str]) -> bool {
        self.globs.iter().any(|prefix| {
            prefix
                .first()
                .is_some_and(|head| crates.contains(&head.as_str()))
        })
    }

    /// Whether a path, once resolved, names `last` inside one of `crates`
    /// (`chrono::Local`), or names `last` bare while one of those crates is
    /// glob-imported.
    pub fn names(&self, path: &syn::Path, crates: &[&str], last: &str) -> bool {
        let full = self.resolve(path);
        names_in(&full, crates, last)
            || (full.len() == 1 && full[0] == last && self.glob_from(crates))
    }
}

/// Whether `full` is `<one of crates>::..::last` or exactly the type
/// `...::last::<something>` with the crate head.
fn names_in(full: &[String], crates: &[&str], last: &str) -> bool {
    full.len() >= 2
        && crates.contains(&full[0].as_str())
        && full.iter().skip(1).any(|segment| segment == last)
}

#[derive(Default)]
struct Collector {
    imports: Imports,
    /// The names the file gives its own modules.
    local_modules: BTreeSet<String>,
}

impl Collector {
    fn note_crate(&mut self, head: &str) {
        if let Some(known) = KNOWN_CRATES.iter().find(|known| **known == head) {
            self.imports.crates.insert(known);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let ident = name.ident.to_string();
                if ident == "self" {
                    // `use lapin::{self, options::*}` binds `lapin`.
                    if let Some(last) = prefix.last().cloned() {
                        self.bind(last, prefix.clone());
                    }
                } else {
                    let mut full = prefix.clone();
                    full.push(ident.clone());
                    self.bind(ident, full);
                }
            }
            syn::UseTree::Rename(rename) => {
                let mut full = prefix.clone();
                let ident = rename.ident.to_string();
                if ident != "self" {
                    full.push(ident);
                }
                self.bind(rename.rename.to_string(), full);
            }
            syn::UseTree::Glob(_) => {
                let full = self.imports.resolve_segments(prefix.clone());
                if let Some(head) = full.first() {
                    self.note_crate(&head.clone());
                }
                self.imports.globs.push(full);
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    fn bind(&mut self, local: String, full: Vec<String>) {
        // `use crate::x` and `use super::x` keep their own names: they are
        // the user's modules, which may wrap a client crate but are not it.
        let full = if full
            .first()
            .is_some_and(|head| head == "crate" || head == "self" || head == "super")
        {
            self.local_modules.insert(local.clone());
            full
        } else {
            // An import may go through an earlier alias: `use lapin as amqp;
            // use amqp::options::*;`.
            self.imports.resolve_segments(full)
        };
        if let Some(head) = full.first() {
            self.note_crate(&head.clone());
        }
        self.imports.aliases.insert(local, full);
    }
}

/// The standard and common in-memory collections.
const COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "BinaryHeap",
    "LinkedList",
    "SmallVec",
    "IndexMap",
    "IndexSet",
    "DashMap",
];

/// Wrappers a collection is kept in.
const HOLDERS: &[&str] = &[
    "Arc", "Rc", "Mutex", "RwLock", "RefCell", "Cell", "Option", "Box",
];

/// Whether a field's type is an in-memory collection, possibly held in
/// `Arc`, `Mutex` and the like.
fn is_collection(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    let name = last.ident.to_string();
    if COLLECTIONS.contains(&name.as_str()) {
        return true;
    }
    if !HOLDERS.contains(&name.as_str()) {
        return false;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| match arg {
            syn::GenericArgument::Type(inner) => is_collection(inner),
            _ => false,
        }),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_field(&mut self, field: &'ast syn::Field) {
        if let Some(ident) = &field.ident
            && is_collection(&field.ty)
        {
            self.imports.collection_fields.insert(ident.to_string());
        }
        syn::visit::visit_field(self, field);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.local_modules.insert(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        self.use_tree(&mut prefix, &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() >= 2 {
            // Compared in place: this runs on every path of every file.
            let head = &path.segments[0].ident;
            if let Some(known) = KNOWN_CRATES.iter().find(|known| head == *known) {
                self.imports.crates.insert(known);
            }
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // `sqlx::query!(..)`, `tokio::select!` name crates in their paths.
        self.visit_path(&mac.path);
        // Paths inside macro bodies (`Local::now()` in `json!`) are tokens,
        // not paths; a `crate::` head there is rare enough to skip.
        scan_tokens_for_crates(self, mac.tokens.clone());
    }
}

/// Notes `known_crate ::` heads inside macro token streams.
fn scan_tokens_for_crates(collector: &mut Collector, tokens: proc_macro2::TokenStream) {
    let mut previous: Option<String> = None;
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(ident) => previous = Some(ident.to_string()),
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ':' => {
                if let Some(head) = previous.take() {
                    collector.note_crate(&head);
                }
            }
            proc_macro2::TokenTree::Group(group) => {
                previous = None;
                scan_tokens_for_crates(collector, group.stream());
            }
            _ => previous = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(source: &str) -> Imports {
        let file = syn::parse_file(source).expect("test source parses");
        Imports::of(&file.items)
    }

    fn path(source: &str) -> syn::Path {
        syn::parse_str(source).expect("test path parses")
    }

    #[test]
    fn follows_groups_renames_and_self() {
        let imports = imports(
            "use lapin::{self as amqp, options::{BasicConsumeOptions as Opts, BasicAckOptions}};",
        );
        assert_eq!(
            imports.resolve(&path("Opts")),
            ["lapin", "options", "BasicConsumeOptions"]
        );
        assert_eq!(
            imports.resolve(&path("amqp::Channel")),
            ["lapin", "Channel"]
        );
        assert!(imports.has_crate("lapin"));
        assert!(!imports.has_crate("rdkafka"));
    }

    #[test]
    fn globs_are_maybe() {
        let imports = imports("use chrono::prelude::*;");
        assert!(imports.names(&path("Local"), &["chrono"], "Local"));
        assert!(!imports.names(&path("Local"), &["time"], "Local"));
    }

    #[test]
    fn path_heads_and_macro_bodies_are_evidence() {
        let imports = imports(
            "fn f() { let c = rdkafka::ClientConfig::new(); json!({ \"t\": chrono::Utc::now() }); }",
        );
        assert!(imports.has_crate("rdkafka"));
        assert!(imports.has_crate("chrono"));
    }
}
