//! `auto-ack`: a consumer that lets the broker or client settle messages on
//! delivery.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;
use syn::Expr;
use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::analysis::apis::literal;
use crate::analysis::chain::{Chain, pattern_names, root_ident};
use crate::analysis::imports::Imports;
use crate::analysis::macros::{self, MacroBody};
use crate::analysis::{FileAnalysis, user_apis};
use crate::context::FileContext;
use crate::declare_rule;
use crate::finding::{Confidence, Finding, Region};

declare_rule! {
    /// ## What it does
    /// Finds consumers configured so that a message counts as handled the
    /// moment it is delivered: lapin's (also through a crate that re-exports
    /// its `BasicConsumeOptions`) and amiquip's `no_ack: true`; amqprs's
    /// `manual_ack(false)` / `auto_ack(true)` (not on a reply queue such as
    /// RabbitMQ's direct reply-to, which takes only `no_ack` consumers, and
    /// where a lost reply is the requester's timeout); an rdkafka consumer
    /// whose config does not set `enable.auto.commit` to `"false"` (the
    /// later `set` of a key wins, as in librdkafka) (unless
    /// it sets `enable.auto.offset.store` to `"false"` and stores offsets
    /// itself after processing); async-nats `AckPolicy::None`; Service Bus
    /// receive-and-delete; redis streams `noack()`; fe2o3-amqp
    /// `auto_accept(true)`; iggy's default auto-commit and its
    /// `poll_messages(.., true)`; rumqttc without
    /// manual acks; paho-mqtt subscriptions at QoS 1 or 2 (it has no manual
    /// acks); fluvio's automatic offsets; and the workshop broker's
    /// receive-and-delete mode, auto-commit consumer and Kafka-style
    /// `ClientConfig` (read as rdkafka's).
    ///
    /// ## Why is this bad?
    /// Your app will crash at the worst possible time. If the broker has
    /// already forgotten the message (or the offset is already committed)
    /// when the crash comes, the message is lost: at-most-once delivery,
    /// chosen by a default nobody read. Settle a message yourself, after
    /// its work is done.
    ///
    /// ## Example
    /// ```rust
    /// use lapin::options::BasicConsumeOptions;
    /// use lapin::types::FieldTable;
    ///
    /// async fn consume(channel: &lapin::Channel) -> lapin::Result<lapin::Consumer> {
    ///     channel
    ///         .basic_consume(
    ///             "orders".into(),
    ///             "billing".into(),
    ///             BasicConsumeOptions { no_ack: true, ..Default::default() },
    ///             FieldTable::default(),
    ///         )
    ///         .await
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust
    /// use lapin::options::BasicConsumeOptions;
    /// use lapin::types::FieldTable;
    ///
    /// async fn consume(channel: &lapin::Channel) -> lapin::Result<lapin::Consumer> {
    ///     // no_ack: false (the default): ack each delivery after handling it.
    ///     channel
    ///         .basic_consume("orders".into(), "billing".into(), BasicConsumeOptions::default(), FieldTable::default())
    ///         .await
    /// }
    /// ```
    ///
    /// ## Known limitations
    /// An rdkafka config is read where it is built with `ClientConfig::new()`
    /// and literal `set` calls, and counts as a consumer's when it sets a
    /// `group.id`; a config loaded from a file or a map is not judged. A
    /// config built by a helper of the same file (`fn base_config() ->
    /// ClientConfig`) starts from the helper's literal settings, and a
    /// method of the file's own trait implemented for `ClientConfig`
    /// (`.consumer_group("billing")`) sets what its body sets. A config
    /// built and created in one function is judged on its own; one handed
    /// back to a caller is trusted when auto-commit is switched off anywhere
    /// in the file. rumqttc is reported only when the file
    /// subscribes with QoS 1 or 2, and `MqttOptions` are judged by the
    /// function that builds them (or, when it returns them, by the file).
    /// A subscription counts with its QoS written in the call or in the
    /// `SubscribeFilter`s handed to it. Options that go into a client made
    /// in the same function which subscribes nowhere in it are a
    /// publisher's, with nothing to acknowledge, when another client of that
    /// function is the one that subscribes, or when nothing in the file
    /// subscribes and the client is handed to no call.
    /// paho-mqtt is reported at each subscription whose QoS is written as 1
    /// or 2 (a QoS held in a variable is not judged).
    ///
    /// ## Chapter
    /// Chapter 3, "You did not read the configuration": `configuration/index.html`.
    pub static AUTO_ACK = {
        name: "auto-ack",
        summary: "a consumer set up so that the broker or client settles messages on delivery",
        chapter: "configuration/index.html",
        severity: Warning,
        check: check,
    }
}

const RULE: &str = "auto-ack";

/// lapin's consume options, by a name no other crate uses.
const REEXPORTED_OPTIONS: &str = "BasicConsumeOptions";

/// lapin's `BasicConsumeOptions` reached through a crate that re-exports it
/// (a team's RabbitMQ wrapper: `use iml_rabbit::BasicConsumeOptions`): the
/// name is lapin's own, so `no_ack: true` on it is lapin's auto-ack, though
/// the file never names lapin. Known by the name only, so `medium`.
fn reexported_options(path: &syn::Path) -> Option<Confidence> {
    path.segments
        .last()
        .is_some_and(|segment| segment.ident == REEXPORTED_OPTIONS)
        .then_some(Confidence::Medium)
}

fn check(ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
    let analysis = FileAnalysis::of(ctx, user_apis(ctx));
    // Every setting this rule knows belongs to one of these crates.
    if !analysis.imports.has_any(&[
        "lapin",
        "amqprs",
        "amiquip",
        "paho_mqtt",
        "rdkafka",
        "async_nats",
        "azure_messaging_servicebus",
        "azservicebus",
        "redis",
        "fe2o3_amqp",
        "rumqttc",
        "iggy",
        "iggy_common",
        "fluvio",
        "broker",
    ]) && !ctx.source.contains(REEXPORTED_OPTIONS)
    {
        return;
    }
    let mut file = FileFacts::of(ctx.items);
    // The crate-wide pass: offsets stored, config helpers and methods that
    // name the group, wherever in the crate they are written.
    if let Some((index, _)) = ctx.crate_index {
        let facts = &index.facts;
        file.stores_offsets |= facts.stores_offsets;
        // Settings that judge a config handed back to its caller (one
        // created here is judged on its own settings) hold crate-wide.
        file.auto_commit_off |= facts.auto_commit_off;
        file.offset_store_off |= facts.offset_store_off;
        for (name, settings) in &facts.kafka_config_helpers {
            file.config_helpers
                .entry(name.clone())
                .or_insert_with(|| settings.clone());
        }
        file.group_setters
            .extend(facts.group_setters.iter().cloned());
        // rumqttc: the options are often built in a config module and the
        // subscription made in another; manual acks turned on anywhere in
        // the crate may be the ones these options get.
        file.subscribes_with_acks |= facts.mqtt_subscribes_with_acks;
        file.manual_acks |= facts.mqtt_manual_acks;
    }
    let mut finder = Finder {
        imports: &analysis.imports,
        file: &file,
        current_fn: None,
        in_reply_consume: false,
        out,
    };
    for item in ctx.items {
        finder.visit_item(item);
    }
}

/// Facts that decide a consumer's fate from elsewhere in the file.
#[derive(Default)]
struct FileFacts {
    /// `set("enable.auto.commit", "false")` somewhere.
    auto_commit_off: bool,
    /// `set("enable.auto.offset.store", "false")` somewhere.
    offset_store_off: bool,
    /// `store_offset*` called somewhere.
    stores_offsets: bool,
    /// `set_manual_acks(..)` somewhere with anything but a literal `false`.
    manual_acks: bool,
    /// A subscription with QoS 1 or 2 (rumqttc).
    subscribes_with_acks: bool,
    /// Whether this file's own code (not the crate-wide facts merged in)
    /// makes such a subscription.
    own_subscribes_with_acks: bool,
    /// The values a QoS 1 or 2 subscription is made on (`client` in
    /// `client.subscribe(topic, QoS::AtLeastOnce)`).
    subscribed: BTreeSet<String>,
    /// rumqttc clients made from options held in a local: (the options'
    /// local, the client's local), from `let (client, eventloop) =
    /// AsyncClient::new(options, cap)`.
    mqtt_clients: Vec<(String, String)>,
    /// `MqttOptions::new(..)` calls bound to a local, by where the call
    /// starts: (line, column) to the local's name.
    mqtt_options: BTreeMap<(usize, usize), String>,
    /// The locals handed to a call as an argument
    /// (`subscribe_topics(&mut client, ..)`): what is done with them there
    /// is not seen here.
    passed: BTreeSet<String>,
    /// Functions of the file that return a Kafka `ClientConfig` they
    /// started (`fn base_config() -> ClientConfig`), with what they set: a
    /// consumer built from one starts from those settings.
    config_helpers: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// Methods of the file's own traits implemented for `ClientConfig`
    /// (`fn consumer_group(&mut self, g) -> &mut Self { self.set("group.id",
    /// g) }`), with what they set: calling one in a config chain sets those
    /// keys as a literal `set` would.
    config_extensions: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// Methods of the crate that set `group.id` on the config they are
    /// called on (an extension trait's `with_group`): from the crate-wide
    /// pass.
    group_setters: std::collections::BTreeSet<String>,
}

/// A file's MQTT facts for the crate-wide pass: (a subscription asks for
/// QoS 1 or 2, manual acks may be turned on).
pub(crate) fn mqtt_facts(items: &[syn::Item]) -> (bool, bool) {
    let facts = FileFacts::of(items);
    (facts.subscribes_with_acks, facts.manual_acks)
}

/// The functions of a file that return a Kafka `ClientConfig` they build,
/// with what they set: the crate-wide pass gathers them from every file.
pub(crate) fn config_helpers(
    items: &[syn::Item],
) -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    FileFacts::of(items).config_helpers
}

impl FileFacts {
    fn of(items: &[syn::Item]) -> FileFacts {
        let mut facts = FileFacts::default();
        for item in items {
            facts.visit_item(item);
        }
        facts
    }

    /// A rumqttc subscription, or a filter for one, whose tokens ask for
    /// QoS 1 or 2: the file subscribes with acks. Whether it did.
    fn note_subscription_qos(&mut self, text: &str) -> bool {
        let acked = text.contains("AtLeastOnce") || text.contains("ExactlyOnce");
        if acked {
            self.subscribes_with_acks = true;
            self.own_subscribes_with_acks = true;
        }
        acked
    }

    /// Records the locals a call is handed, once the function has a
    /// rumqttc client (only a client's name is ever looked up).
    fn note_passed<'e>(&mut self, args: impl IntoIterator<Item = &'e Expr>) {
        if !self.mqtt_clients.is_empty() {
            self.passed.extend(args.into_iter().filter_map(root_ident));
        }
    }

    /// Records `sig` as a config helper if it returns a `ClientConfig` it
    /// builds from `ClientConfig::new()`.
    fn note_config_helper(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let returns_config = match &sig.output {
            syn::ReturnType::Type(_, ty) => {
                ty.to_token_stream().to_string().ends_with("ClientConfig")
            }
            syn::ReturnType::Default => false,
        };
        if !returns_config {
            return;
        }
        let mut config = KafkaConfig::default();
        config.visit_block(block);
        if config.origin.is_some() && !config.opaque {
            self.config_helpers
                .insert(sig.ident.to_string(), config.settings);
        }
    }
}

impl<'ast> Visit<'ast> for FileFacts {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let Some(init) = &local.init
            && let Expr::Call(call) = strip_try_await(&init.expr)
            && let Expr::Path(func) = &*call.func
        {
            // Runs on every `let` of the file: the last two segments are
            // compared in place.
            let mut segments = func.path.segments.iter().rev();
            let (Some(function), Some(owner)) = (segments.next(), segments.next()) else {
                return syn::visit::visit_local(self, local);
            };
            let (function, owner) = (&function.ident, &owner.ident);
            if owner == "MqttOptions"
                && (function == "new" || function == "parse_url" || function == "try_from")
            {
                // `let mut options = MqttOptions::new(..)`
                if let Some(name) = pattern_names(&local.pat).into_iter().next() {
                    let start = call.span().start();
                    self.mqtt_options.insert((start.line, start.column), name);
                }
            } else if function == "new"
                && (owner == "AsyncClient" || owner == "Client")
                && let syn::Pat::Tuple(tuple) = &local.pat
                // `let (client, eventloop) = AsyncClient::new(options, 10)`
                && let (Some(client), Some(options)) = (
                    tuple
                        .elems
                        .first()
                        .and_then(|first| pattern_names(first).into_iter().next()),
                    call.args.first().and_then(root_ident),
                )
            {
                self.mqtt_clients.push((options, client));
            }
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        // `impl ClientConfigExt for ClientConfig { .. }` (`ClientConfig` is
        // rdkafka's, so only a trait impl can add methods to it).
        let for_config = item.trait_.is_some()
            && item
                .self_ty
                .to_token_stream()
                .to_string()
                .ends_with("ClientConfig");
        if for_config {
            for member in &item.items {
                let syn::ImplItem::Fn(method) = member else {
                    continue;
                };
                if method.sig.receiver().is_none() {
                    continue;
                }
                let mut config = KafkaConfig::default();
                config.visit_block(&method.block);
                if !config.settings.is_empty() {
                    self.config_extensions
                        .insert(method.sig.ident.to_string(), config.settings);
                }
            }
        }
        syn::visit::visit_item_impl(self, item);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.note_config_helper(&item.sig, &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.note_config_helper(&item.sig, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        self.note_passed(&call.args);
        // `SubscribeFilter::new(topic, QoS::AtLeastOnce)`, handed to
        // `subscribe_many` later.
        if let Expr::Path(func) = &*call.func
            && names_subscribe_filter(&func.path)
        {
            self.note_subscription_qos(&call.args.to_token_stream().to_string());
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_struct(&mut self, strukt: &'ast syn::ExprStruct) {
        // `SubscribeFilter { path, qos: QoS::AtLeastOnce }`.
        if names_subscribe_filter(&strukt.path) {
            self.note_subscription_qos(&strukt.fields.to_token_stream().to_string());
        }
        syn::visit::visit_expr_struct(self, strukt);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.note_passed(&call.args);
        let method = call.method.to_string();
        match method.as_str() {
            "set" if call.args.len() == 2 => {
                let key = literal(&call.args[0]);
                let value = literal(&call.args[1]).map(|v| v.to_ascii_lowercase());
                match (key.as_deref(), value.as_deref()) {
                    (Some("enable.auto.commit"), Some("false")) => self.auto_commit_off = true,
                    (Some("enable.auto.offset.store"), Some("false")) => {
                        self.offset_store_off = true
                    }
                    _ => {}
                }
            }
            "store_offset" | "store_offset_from_message" | "store_offsets" => {
                self.stores_offsets = true
            }
            // `set_manual_acks(settings.manual_acks)`: a value we cannot
            // read may be true, so only a literal `false` leaves acks on.
            "set_manual_acks"
                if call
                    .args
                    .first()
                    .is_some_and(|arg| arg.to_token_stream().to_string() != "false") =>
            {
                self.manual_acks = true;
            }
            "subscribe" | "try_subscribe" | "subscribe_many" => {
                if self.note_subscription_qos(&call.args.to_token_stream().to_string())
                    && let Some(root) = root_ident(&call.receiver)
                {
                    self.subscribed.insert(root);
                }
            }
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit_macro_body(self, mac);
    }
}

/// Whether a consumed queue is a reply queue (`"amq.rabbitmq.reply-to"`,
/// `&self.reply_queue_name`, or a chain that starts from one): RabbitMQ's
/// direct reply-to accepts only `no_ack` consumers, and a reply lost in a
/// crash surfaces as the requester's timeout, which it already handles; an
/// automatic ack there loses no work.
fn names_replies(expr: &Expr) -> bool {
    expr.to_token_stream()
        .to_string()
        .to_ascii_lowercase()
        .contains("reply")
}

/// Whether a path names rumqttc's `SubscribeFilter` (the type, or a
/// function of it such as `SubscribeFilter::new`).
fn names_subscribe_filter(path: &syn::Path) -> bool {
    path.segments
        .iter()
        .any(|segment| segment.ident == "SubscribeFilter")
}

/// An expression with `?` and `.await` taken off.
fn strip_try_await(expr: &Expr) -> &Expr {
    match expr {
        Expr::Try(inner) => strip_try_await(&inner.expr),
        Expr::Await(inner) => strip_try_await(&inner.base),
        other => other,
    }
}

/// Visits what a macro's body holds, for visitors that keep no references.
fn visit_macro_body<V: for<'x> Visit<'x>>(visitor: &mut V, mac: &syn::Macro) {
    match &*macros::body(mac) {
        MacroBody::Select(branches) => {
            for branch in branches {
                if let Some(future) = &branch.future {
                    visitor.visit_expr(future);
                }
                visitor.visit_expr(&branch.handler);
            }
        }
        MacroBody::Concurrent(exprs) | MacroBody::Sequential(exprs) => {
            exprs.iter().for_each(|e| visitor.visit_expr(e))
        }
        MacroBody::Statements(stmts) => stmts.iter().for_each(|s| visitor.visit_stmt(s)),
        MacroBody::Display(_) | MacroBody::Opaque => {}
    }
}

struct Finder<'a, 'o> {
    imports: &'a Imports,
    file: &'a FileFacts,
    /// The function being walked: its own settings, and whether it hands
    /// an `MqttOptions` back to its caller (who may turn manual acks on).
    current_fn: Option<(FileFacts, bool)>,
    /// Inside a consume of a reply queue (see [`names_replies`]).
    in_reply_consume: bool,
    out: &'o mut Vec<Finding>,
}

impl Finder<'_, '_> {
    fn report(&mut self, region: Region, message: String, help: &str, confidence: Confidence) {
        self.out.push(Finding {
            rule: RULE,
            region,
            message,
            help: Some(help.to_string()),
            labels: Vec::new(),
            confidence,
        });
    }

    /// Whether `path` names `ty` of one of `crates` (resolved through `use`),
    /// or names it bare in a file that uses one of them.
    fn names(&self, path: &syn::Path, crates: &[&str], ty: &str) -> Option<Confidence> {
        let full = self.imports.resolve(path);
        if !full.iter().any(|segment| segment == ty) {
            return None;
        }
        if full
            .first()
            .is_some_and(|head| crates.contains(&head.as_str()))
        {
            Some(Confidence::High)
        } else if self.imports.has_any(crates) {
            Some(Confidence::Medium)
        } else {
            None
        }
    }

    /// rdkafka (or the workshop broker's `ClientConfig`, which models
    /// librdkafka's defaults by the same names): a consumer config built in
    /// this function.
    fn kafka_config(&mut self, block: &syn::Block) {
        if !self.imports.has_any(&["rdkafka", "broker"]) {
            return;
        }
        // Each `ClientConfig::new()...create()` chain is a consumer of its
        // own: a function that builds two (a command consumer and a reply
        // consumer) has two configs to judge, not one mixed from both.
        let mut chains = ConfigChains::default();
        chains.visit_block(block);
        if chains.found.len() > 1 {
            for chain in chains.found {
                let mut config = new_kafka_config(self.file);
                config.visit_expr(chain);
                self.judge_kafka(config);
            }
            return;
        }
        let mut config = new_kafka_config(self.file);
        config.visit_block(block);
        self.judge_kafka(config);
    }

    /// Reports a consumer config that lets librdkafka commit on a timer.
    fn judge_kafka(&mut self, config: KafkaConfig<'_>) {
        let Some(origin) = config.origin else { return };
        // Without a `group.id` there is no group to commit offsets to (an
        // `assign()`-only reader), so auto-commit does not apply.
        let consumer = config.settings.contains_key("group.id");
        // A config created here is judged on its own; one handed back to a
        // caller may get its auto-commit setting elsewhere in the file.
        if !consumer || config.opaque || (self.file.auto_commit_off && !config.creates) {
            return;
        }
        match config.settings.get("enable.auto.commit") {
            Some(Some(value)) if value == "false" => return,
            // Set from a variable: we cannot tell.
            Some(None) => return,
            _ => {}
        }
        // A config created here says for itself whether offsets are
        // stored by hand; another consumer's setting elsewhere in the file
        // is not this one's.
        let stores_explicitly = matches!(config.settings.get("enable.auto.offset.store"), Some(Some(v)) if v == "false")
            || (self.file.offset_store_off && !config.creates);
        if stores_explicitly && self.file.stores_offsets {
            // The documented at-least-once pattern: auto-commit commits
            // only offsets stored after processing.
            return;
        }
        let explicit =
            matches!(config.settings.get("enable.auto.commit"), Some(Some(v)) if v == "true");
        let (region, message) = match (explicit, config.auto_commit_region) {
            (true, Some(region)) => (region, "`enable.auto.commit` is `true`: offsets are committed on a timer, whether or not the messages were processed".to_string()),
            _ => (origin, "this Kafka consumer config does not set `enable.auto.commit` to `false`; librdkafka's default commits offsets on a timer, processed or not".to_string()),
        };
        self.report(
            region,
            message,
            "set `enable.auto.commit` to `false` and commit after processing, or set `enable.auto.offset.store` to `false` and call `store_offset_from_message` after processing",
            Confidence::High,
        );
    }
}

impl Finder<'_, '_> {
    /// Walks one function with its own facts at hand.
    fn in_fn(&mut self, sig: &syn::Signature, block: &syn::Block, walk: impl FnOnce(&mut Self)) {
        self.kafka_config(block);
        let mut facts = FileFacts::default();
        facts.visit_block(block);
        let hands_back_options = match &sig.output {
            syn::ReturnType::Type(_, ty) => {
                ty.to_token_stream().to_string().contains("MqttOptions")
            }
            syn::ReturnType::Default => false,
        };
        let outer = self.current_fn.replace((facts, hands_back_options));
        walk(self);
        self.current_fn = outer;
    }

    /// Whether the `MqttOptions` built at `call` go into a client made in
    /// the same function that only publishes, as far as can be seen: that
    /// client subscribes nowhere in the function, and either another
    /// client of the function is the one that subscribes (a decoder with a
    /// subscribing client and a publishing one), or nothing in this file
    /// subscribes and the client is handed to no call (a publisher whose
    /// crate subscribes elsewhere, through another client; a client handed
    /// to `subscribe_topics(&mut client, ..)` may subscribe there). A client
    /// with no subscription has nothing to acknowledge.
    fn publish_only_client(&self, call: &syn::ExprCall) -> bool {
        let Some((facts, _)) = &self.current_fn else {
            return false;
        };
        let start = call.span().start();
        let Some(options) = facts.mqtt_options.get(&(start.line, start.column)) else {
            return false;
        };
        let Some((_, client)) = facts.mqtt_clients.iter().find(|(from, _)| from == options) else {
            return false;
        };
        !facts.subscribed.contains(client)
            && (facts.subscribes_with_acks
                || (!self.file.own_subscribes_with_acks && !facts.passed.contains(client)))
    }

    /// Whether the `MqttOptions` built at the call being visited get manual
    /// acks: in the same function, or (for options handed back to a
    /// caller) anywhere in the file.
    fn mqtt_manual_acks(&self) -> bool {
        match &self.current_fn {
            Some((facts, hands_back)) => {
                facts.manual_acks || (*hands_back && self.file.manual_acks)
            }
            None => self.file.manual_acks,
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'_, '_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.in_fn(&item.sig, &item.block, |this| {
            syn::visit::visit_item_fn(this, item)
        });
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.in_fn(&item.sig, &item.block, |this| {
            syn::visit::visit_impl_item_fn(this, item)
        });
    }

    fn visit_expr_struct(&mut self, strukt: &'ast syn::ExprStruct) {
        // lapin: `BasicConsumeOptions { no_ack: true, .. }`.
        // amqprs: `BasicConsumeArguments { no_ack: true, .. }`.
        let amqp = self
            .names(&strukt.path, &["lapin"], "BasicConsumeOptions")
            .or_else(|| self.names(&strukt.path, &["lapin"], "BasicGetOptions"))
            .or_else(|| self.names(&strukt.path, &["amqprs"], "BasicConsumeArguments"))
            .or_else(|| self.names(&strukt.path, &["amqprs"], "BasicGetArguments"))
            // amiquip: `queue.consume(ConsumerOptions { no_ack: true, .. })`.
            .or_else(|| self.names(&strukt.path, &["amiquip"], "ConsumerOptions"))
            .or_else(|| reexported_options(&strukt.path));
        if let Some(confidence) = amqp {
            for field in &strukt.fields {
                if matches!(&field.member, syn::Member::Named(name) if name == "no_ack")
                    && field.expr.to_token_stream().to_string() == "true"
                    && !self.in_reply_consume
                {
                    self.report(
                        Region::from_span(field.span()),
                        "`no_ack: true` makes RabbitMQ forget each message as soon as it is delivered".into(),
                        "leave `no_ack` false and ack each delivery after handling it",
                        confidence,
                    );
                }
            }
        }
        syn::visit::visit_expr_struct(self, strukt);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        let full = self.imports.resolve(&path.path);
        let last_two: Vec<&str> = full.iter().rev().take(2).map(String::as_str).collect();
        let found = match last_two.as_slice() {
            ["None", "AckPolicy"] => self.names(&path.path, &["async_nats"], "AckPolicy").map(|c| {
                (c, "`AckPolicy::None`: the JetStream consumer treats every message as acknowledged on delivery", "use `AckPolicy::Explicit` (the default) and ack after processing")
            }),
            ["ReceiveAndDelete", "ReceiveMode" | "ServiceBusReceiveMode"] => {
                self.names(&path.path, &["azure_messaging_servicebus", "azservicebus", "broker"], "ReceiveAndDelete").map(|c| {
                    (c, "receive-and-delete mode removes each message from the queue as it is received", "use peek-lock (the default) and complete each message after processing")
                })
            }
            ["Auto", "OffsetManagementStrategy"] => self.names(&path.path, &["fluvio"], "OffsetManagementStrategy").map(|c| {
                (c, "`OffsetManagementStrategy::Auto` commits each record's offset as the next one is read", "use `OffsetManagementStrategy::Manual` and commit after processing")
            }),
            _ => None,
        };
        if let Some((confidence, message, help)) = found {
            self.report(
                Region::from_span(path.span()),
                message.into(),
                help,
                confidence,
            );
        }
        syn::visit::visit_expr_path(self, path);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let method = call.method.to_string();
        let region = Region {
            start: Region::from_span(call.method.span()).start,
            end: Region::from_span(call.paren_token.span.close()).end,
        };
        let arg_text = || call.args.to_token_stream().to_string();
        match method.as_str() {
            "noack" if call.args.is_empty() && self.imports.has_crate("redis") => self.report(
                region,
                "`noack()` reads stream entries without adding them to the pending list: they count as acknowledged on delivery".into(),
                "drop `noack()` and `xack` each entry after processing",
                Confidence::High,
            ),
            // A Redis list used as a job queue: a pop removes the job as
            // it is handed over, with no processing list to take it back
            // from after a crash (the reliable pattern moves it with
            // `blmove` and removes it after the work).
            "brpop" | "blpop" | "lpop" | "rpop"
                if self.imports.has_any(&["redis", "deadpool_redis", "bb8_redis"])
                    && call
                        .args
                        .first()
                        .is_some_and(crate::analysis::apis::names_a_job_list) =>
            {
                self.report(
                    region,
                    format!("`{method}` removes the job from the list as it is delivered: a crash before the job is done loses it"),
                    "move the job to a processing list (`blmove`, `lmove`) and `lrem` it from there after the work is done",
                    Confidence::Medium,
                )
            }
            "receive_and_delete_message" if call.args.is_empty() => self.report(
                region,
                "`receive_and_delete_message` deletes the message from the queue as it is received".into(),
                "use `peek_lock_message2` and delete (complete) the message after processing",
                Confidence::High,
            ),
            "auto_commit_consumer" if self.imports.has_crate("broker") => self.report(
                region,
                "an auto-commit consumer completes what it polled on a timer, whether or not it was processed".into(),
                "receive in peek-lock mode and complete each delivery after processing",
                Confidence::High,
            ),
            "receive_and_delete" if call.args.is_empty() && self.imports.has_crate("broker") => self.report(
                region,
                "receive-and-delete mode removes each message from the queue as it is received".into(),
                "receive in peek-lock mode (the default) and complete each delivery after processing",
                Confidence::High,
            ),
            // amqprs: `BasicConsumeArguments::new(q, tag).manual_ack(false)`,
            // or the alias `auto_ack(true)` and the deprecated `no_ack(true)`.
            "manual_ack" | "auto_ack" | "no_ack"
                if self.imports.has_crate("amqprs")
                    && arg_text() == if method == "manual_ack" { "false" } else { "true" }
                    && !names_replies(&call.receiver) =>
            {
                self.report(
                    region,
                    format!("`{method}({})` makes RabbitMQ forget each message as soon as it is delivered", arg_text()),
                    "leave acks manual (`manual_ack(true)`, the default) and `basic_ack` each delivery after handling it",
                    Confidence::High,
                )
            }
            // paho-mqtt has no manual acks: the C library acknowledges a
            // QoS 1/2 message (PUBACK, PUBREC) when it reaches the client.
            "subscribe"
            | "subscribe_many"
            | "subscribe_many_same_qos"
            | "subscribe_with_options"
            | "subscribe_many_with_options"
                if self.imports.has_crate("paho_mqtt")
                    && call.args.iter().nth(1).is_some_and(acknowledged_qos) =>
            {
                self.report(
                    region,
                    "paho-mqtt acknowledges QoS 1/2 messages when they reach the client, before your code handles them; it has no manual acks".into(),
                    "if a message lost in a crash matters, use a client that acks after processing (rumqttc with `set_manual_acks(true)` and `client.ack(&publish)`)",
                    Confidence::Medium,
                )
            }
            "auto_accept" if arg_text() == "true" && self.imports.has_crate("fe2o3_amqp") => self.report(
                region,
                "`auto_accept(true)` accepts every delivery as it arrives".into(),
                "leave `auto_accept` false and `accept` each delivery after processing",
                Confidence::High,
            ),
            "sender_settle_mode" if arg_text().contains("Settled") && self.imports.has_crate("fe2o3_amqp") => {
                let chain = Chain::of(&call.receiver);
                if chain.root.to_token_stream().to_string().contains("Receiver") {
                    self.report(
                        region,
                        "a pre-settled receiver link: messages are settled before your code sees them".into(),
                        "use the default settle mode and `accept` each delivery after processing",
                        Confidence::High,
                    );
                }
            }
            "auto_commit" if self.imports.has_any(&["iggy", "iggy_common"]) => {
                let text = arg_text();
                if !(text.contains("Disabled") || text.contains("After")) {
                    self.report(
                        region,
                        "this iggy auto-commit stores the offset when messages are polled, before they are processed".into(),
                        "use `AutoCommit::Disabled` and `store_offset` after processing",
                        Confidence::High,
                    );
                }
            }
            // iggy's low-level client: the last argument of
            // `poll_messages(.., count, auto_commit)`.
            "poll_messages"
                if call.args.len() == 7
                    && self.imports.has_any(&["iggy", "iggy_common"])
                    && call.args.last().is_some_and(|arg| arg.to_token_stream().to_string() == "true") =>
            {
                self.report(
                    region,
                    "`poll_messages(.., true)` stores the offset when the messages are polled, before they are processed".into(),
                    "poll with `auto_commit` false and `store_consumer_offset` after processing",
                    Confidence::High,
                )
            }
            "build" if call.args.is_empty() && self.imports.has_any(&["iggy", "iggy_common"]) => {
                // A consumer builder without any `auto_commit(..)` call gets
                // the default, which commits on poll.
                let chain = Chain::of(&call.receiver);
                let consumer = chain.segments.iter().any(|s| matches!(s.method.as_str(), "consumer_group" | "consumer") && s.args.len() >= 3);
                if consumer && !chain.has("auto_commit") {
                    self.report(
                        region,
                        "this iggy consumer keeps the default auto-commit, which stores offsets when messages are polled".into(),
                        "add `.auto_commit(AutoCommit::Disabled)` and `store_offset` after processing",
                        Confidence::High,
                    );
                }
            }
            _ => {}
        }
        // `basic_consume("amq.rabbitmq.reply-to", .., BasicConsumeOptions {
        // no_ack: true, .. })`: the options belong to a reply consumer.
        let reply_consume = matches!(method.as_str(), "basic_consume" | "consume")
            && call.args.first().is_some_and(names_replies);
        let outer = self.in_reply_consume;
        self.in_reply_consume = outer || reply_consume;
        syn::visit::visit_expr_method_call(self, call);
        self.in_reply_consume = outer;
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        // The workshop broker: `ReceiveOptions::receive_and_delete()`.
        if let Expr::Path(func) = &*call.func
            && func
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "receive_and_delete")
            && let Some(confidence) = self.names(&func.path, &["broker"], "ReceiveOptions")
        {
            self.report(
                Region::from_span(call.span()),
                "receive-and-delete mode removes each message from the queue as it is received".into(),
                "receive in peek-lock mode (the default) and complete each delivery after processing",
                confidence,
            );
        }
        // rumqttc: `MqttOptions::new(..)` (or `parse_url`, `try_from`)
        // without manual acks, in a file that subscribes with QoS 1 or 2.
        if let Expr::Path(func) = &*call.func
            && let Some(confidence) = self.names(&func.path, &["rumqttc"], "MqttOptions")
            && func.path.segments.last().is_some_and(|s| {
                s.ident == "new" || s.ident == "parse_url" || s.ident == "try_from"
            })
            && self.file.subscribes_with_acks
            && !self.mqtt_manual_acks()
            && !self.publish_only_client(call)
        {
            self.report(
                Region::from_span(call.span()),
                "rumqttc acknowledges QoS 1/2 publishes on receipt unless manual acks are on"
                    .into(),
                "call `set_manual_acks(true)` and `client.ack(&publish)` after processing",
                confidence.min(Confidence::Medium),
            );
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit_macro_body(self, mac);
    }

    fn visit_item_macro(&mut self, _: &'ast syn::ItemMacro) {}
}

/// Whether a paho-mqtt QoS argument (one value, or a list of them) asks
/// for QoS 1 or 2: `1`, `mqtt::QOS_2`, `QoS::AtLeastOnce`, `&[QOS_1, QOS_0]`.
/// A QoS held in a variable is not judged.
fn acknowledged_qos(arg: &Expr) -> bool {
    arg.to_token_stream()
        .to_string()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| {
            matches!(
                word,
                "1" | "2" | "QOS_1" | "QOS_2" | "AtLeastOnce" | "ExactlyOnce"
            )
        })
}

/// The settings of a Kafka `ClientConfig` built in one function.
fn new_kafka_config(file: &FileFacts) -> KafkaConfig<'_> {
    KafkaConfig {
        helpers: Some(&file.config_helpers),
        extensions: Some(&file.config_extensions),
        group_setters: Some(&file.group_setters),
        ..KafkaConfig::default()
    }
}

/// The self-contained config chains of a function:
/// `ClientConfig::new()..set(..)..create()` in one expression.
#[derive(Default)]
struct ConfigChains<'ast> {
    found: Vec<&'ast Expr>,
}

impl<'ast> Visit<'ast> for ConfigChains<'ast> {
    fn visit_expr(&mut self, expr: &'ast Expr) {
        if let Expr::MethodCall(call) = expr
            && matches!(
                call.method.to_string().as_str(),
                "create" | "create_with_context"
            )
        {
            let mut receiver = &*call.receiver;
            while let Expr::MethodCall(inner) = receiver {
                receiver = &inner.receiver;
            }
            if let Expr::Call(root) = receiver
                && let Expr::Path(func) = &*root.func
                && func.path.segments.iter().any(|s| s.ident == "ClientConfig")
            {
                self.found.push(expr);
                return;
            }
        }
        syn::visit::visit_expr(self, expr);
    }
}

#[derive(Default)]
struct KafkaConfig<'h> {
    /// The file's config helpers: a call to one starts a config too.
    helpers: Option<&'h BTreeMap<String, BTreeMap<String, Option<String>>>>,
    /// The file's extension methods on `ClientConfig`: a call to one sets
    /// what its body sets.
    extensions: Option<&'h BTreeMap<String, BTreeMap<String, Option<String>>>>,
    /// Methods that set `group.id` (see [`FileFacts::group_setters`]).
    group_setters: Option<&'h std::collections::BTreeSet<String>>,
    /// Where `ClientConfig::new()` is, if the function builds one.
    origin: Option<Region>,
    /// key -> literal value (`None` when the value is not a literal).
    settings: BTreeMap<String, Option<String>>,
    auto_commit_region: Option<Region>,
    /// The config is also filled from a map or a file (`extend`,
    /// `from_iter`, `set` with a non-literal key).
    opaque: bool,
    /// `.create()` is called on it here: the config is complete.
    creates: bool,
}

impl<'ast> Visit<'ast> for KafkaConfig<'_> {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(func) = &*call.func {
            let text: Vec<String> = func
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if text.iter().any(|s| s == "ClientConfig")
                && text.last().is_some_and(|s| s == "new" || s == "default")
            {
                self.origin.get_or_insert(Region::from_span(call.span()));
            }
            // `base_config(brokers).set("group.id", ..)`: the helper's
            // settings come first, this function's `set`s after them.
            if let (Some(helpers), [name]) = (self.helpers, text.as_slice())
                && let Some(settings) = helpers.get(name)
                && self.origin.is_none()
            {
                self.origin = Some(Region::from_span(call.span()));
                for (key, value) in settings {
                    self.settings
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
            }
            if text.last().is_some_and(|s| s == "from_iter")
                && text.iter().any(|s| s == "ClientConfig")
            {
                self.opaque = true;
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        // The receiver first: in `config.set(k, "true").set(k, "false")` the
        // outer call is the later one, and the later `set` wins in
        // librdkafka, so the calls are taken in the order they run.
        syn::visit::visit_expr_method_call(self, call);
        let method = call.method.to_string();
        if method == "set" && call.args.len() == 2 {
            match literal(&call.args[0]) {
                Some(key) => {
                    if key == "enable.auto.commit" {
                        self.auto_commit_region = Some(Region {
                            start: Region::from_span(call.method.span()).start,
                            end: Region::from_span(call.paren_token.span.close()).end,
                        });
                    }
                    self.settings
                        .insert(key, literal(&call.args[1]).map(|v| v.to_ascii_lowercase()));
                }
                None => self.opaque = true,
            }
        }
        if matches!(method.as_str(), "extend" | "set_all") {
            self.opaque = true;
        }
        if let Some(settings) = self.extensions.and_then(|all| all.get(&method)) {
            for (key, value) in settings {
                self.settings.insert(key.clone(), value.clone());
            }
        }
        if self
            .group_setters
            .is_some_and(|setters| setters.contains(&method))
        {
            self.settings.entry("group.id".into()).or_insert(None);
        }
        if matches!(method.as_str(), "create" | "create_with_context") {
            self.creates = true;
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit_macro_body(self, mac);
    }
}
