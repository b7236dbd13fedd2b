//! [`Scenario`]: what a run is made of.
//!
//! The entities to create, the messages (and any other setup) that exist
//! before the services start, the services themselves, the downstream
//! systems, and how long to run. A scenario is a recipe: every run builds a
//! fresh broker and store from it, so runs never leak into each other.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::context::ServiceCtx;
use super::downstream::DownstreamOptions;
use crate::envelope::Message;
use crate::queue::QueueOptions;
use crate::tier::Tier;
use crate::topic::{SubscriptionOptions, TopicOptions};

/// A service's body, boxed: called once per life of the service.
pub(crate) type ServiceFactory =
    Arc<dyn Fn(ServiceCtx) -> Pin<Box<dyn Future<Output = Result<(), String>>>> + Send + Sync>;

/// What a service's future may return: `()`, or a `Result` whose error is
/// shown in the trace (the runtime then restarts the service, as a process
/// supervisor would).
pub trait ServiceResult {
    /// `Ok(())`, or the error's text.
    fn into_result(self) -> Result<(), String>;
}

impl ServiceResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> ServiceResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

#[derive(Clone, Debug)]
pub(crate) enum EntitySpec {
    Queue(String, QueueOptions),
    Topic(String, TopicOptions),
    Subscription(String, String, SubscriptionOptions),
}

/// A recipe for a run.
///
/// ```
/// use std::time::Duration;
/// use broker::{Message, QueueOptions};
/// use broker::simulation::{Scenario, ServiceCtx};
///
/// async fn consumer(ctx: ServiceCtx) -> Result<(), broker::BrokerError> {
///     loop {
///         let delivery = ctx.receive("orders").await?;
///         ctx.complete(&delivery).await?;
///     }
/// }
///
/// let scenario = Scenario::new("drain")
///     .queue("orders", QueueOptions::default())
///     .message("orders", Message::new("order-1", "teapot"))
///     .service("consumer", consumer)
///     .run_for(Duration::from_secs(120));
/// assert_eq!(scenario.name(), "drain");
/// ```
///
/// Write services as `async fn name(ctx: ServiceCtx) -> Result<(), E>`, as
/// above. A closure works too, but one whose body loops forever has no type
/// for its result: the compiler cannot infer one from `?` alone. Spell it
/// out (`Ok::<(), BrokerError>(())` after the loop) or use a named function.
#[derive(Clone)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) tier: Tier,
    pub(crate) entities: Vec<EntitySpec>,
    pub(crate) messages: Vec<(String, Message)>,
    pub(crate) setups: Vec<ServiceFactory>,
    pub(crate) services: Vec<(Arc<str>, ServiceFactory)>,
    pub(crate) downstream: BTreeMap<String, DownstreamOptions>,
    pub(crate) run_for: Duration,
    pub(crate) restart_delay: Duration,
    pub(crate) max_operations: u64,
    pub(crate) max_wakeups_without_operation: u64,
    pub(crate) stuck_after: Option<Duration>,
    /// What each setup and service is, for [`Scenario::fingerprint`]: the
    /// type of its function when that type alone decides what it does.
    pub(crate) identities: Vec<Option<TypeId>>,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("tier", &self.tier)
            .field("entities", &self.entities)
            .field("messages", &self.messages.len())
            .field(
                "services",
                &self
                    .services
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("run_for", &self.run_for)
            .finish()
    }
}

/// How long a run lasts by default (virtual time): long enough for a lock to
/// expire and a message to be redelivered ten times over.
pub const DEFAULT_RUN_FOR: Duration = Duration::from_secs(30 * 60);
/// How long a crashed service stays down before the runtime restarts it.
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_secs(1);
/// How many operations one run may make before it is called a livelock.
pub const DEFAULT_MAX_OPERATIONS: u64 = 200_000;
/// How many times a service may wake up without starting an operation before
/// the run calls it spinning. Generous: a service that ticks every 20 ms of
/// virtual time for a 30-minute run and never does anything is under it;
/// a `yield_now` loop crosses it in well under a second of real time.
pub const DEFAULT_MAX_WAKEUPS_WITHOUT_OPERATION: u64 = 100_000;

impl Scenario {
    /// An empty scenario on a Standard-tier broker.
    pub fn new(name: impl Into<String>) -> Scenario {
        Scenario {
            name: name.into(),
            tier: Tier::Standard,
            entities: Vec::new(),
            messages: Vec::new(),
            setups: Vec::new(),
            services: Vec::new(),
            downstream: BTreeMap::new(),
            run_for: DEFAULT_RUN_FOR,
            restart_delay: DEFAULT_RESTART_DELAY,
            max_operations: DEFAULT_MAX_OPERATIONS,
            max_wakeups_without_operation: DEFAULT_MAX_WAKEUPS_WITHOUT_OPERATION,
            stuck_after: None,
            identities: Vec::new(),
        }
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The broker's tier.
    pub fn tier(mut self, tier: Tier) -> Scenario {
        self.tier = tier;
        self
    }

    /// Creates a queue.
    pub fn queue(mut self, path: &str, options: QueueOptions) -> Scenario {
        self.entities
            .push(EntitySpec::Queue(path.to_owned(), options));
        self
    }

    /// Creates a topic.
    pub fn topic(mut self, path: &str, options: TopicOptions) -> Scenario {
        self.entities
            .push(EntitySpec::Topic(path.to_owned(), options));
        self
    }

    /// Creates a subscription (received from at `<topic>/Subscriptions/<name>`).
    pub fn subscription(
        mut self,
        topic: &str,
        name: &str,
        options: SubscriptionOptions,
    ) -> Scenario {
        self.entities.push(EntitySpec::Subscription(
            topic.to_owned(),
            name.to_owned(),
            options,
        ));
        self
    }

    /// A message sent to `path` before the services start (by the `setup`
    /// actor, with no faults).
    pub fn message(mut self, path: &str, message: Message) -> Scenario {
        self.messages.push((path.to_owned(), message));
        self
    }

    /// Several messages, as [`Scenario::message`].
    pub fn messages(mut self, path: &str, messages: impl IntoIterator<Item = Message>) -> Scenario {
        for message in messages {
            self.messages.push((path.to_owned(), message));
        }
        self
    }

    /// Setup code run before the services start, after the messages, with no
    /// faults (seed the store, schedule messages). Its error fails the run.
    pub fn setup<F, Fut, R>(mut self, setup: F) -> Scenario
    where
        F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + 'static,
        R: ServiceResult + 'static,
    {
        self.identities.push(identity::<F>());
        self.setups.push(boxed(setup));
        self
    }

    /// A service. `body` is called with a fresh context at each start and
    /// restart; its future is the service's whole memory.
    pub fn service<F, Fut, R>(mut self, name: &str, body: F) -> Scenario
    where
        F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + 'static,
        R: ServiceResult + 'static,
    {
        self.identities.push(identity::<F>());
        self.services.push((Arc::from(name), boxed(body)));
        self
    }

    /// `count` copies of a service, named `<name>-1` … `<name>-<count>`:
    /// competing consumers.
    pub fn replicas<F, Fut, R>(mut self, name: &str, count: usize, body: F) -> Scenario
    where
        F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + 'static,
        R: ServiceResult + 'static,
    {
        let factory = boxed(body);
        for index in 1..=count {
            self.identities.push(identity::<F>());
            self.services
                .push((Arc::from(format!("{name}-{index}")), Arc::clone(&factory)));
        }
        self
    }

    /// A downstream system's behaviour (latency, outages). Systems not
    /// declared answer at once and never fail on their own.
    pub fn downstream(mut self, system: &str, options: DownstreamOptions) -> Scenario {
        self.downstream.insert(system.to_owned(), options);
        self
    }

    /// How long the run lasts, in virtual time, unless every service returns
    /// first. Consumers usually loop forever, so this is when the final state
    /// is judged.
    pub fn run_for(mut self, duration: Duration) -> Scenario {
        self.run_for = duration;
        self
    }

    /// How long a crashed service stays down.
    pub fn restart_delay(mut self, delay: Duration) -> Scenario {
        self.restart_delay = delay;
        self
    }

    /// The operation budget of one run.
    pub fn max_operations(mut self, limit: u64) -> Scenario {
        self.max_operations = limit.max(1);
        self
    }

    /// How many times a service may wake up (be polled) without starting a
    /// broker, store or downstream operation before the run ends as
    /// [`super::RunOutcome::Spinning`]. Waiting for a message or a change
    /// does not count.
    pub fn max_wakeups_without_operation(mut self, limit: u64) -> Scenario {
        self.max_wakeups_without_operation = limit.max(1);
        self
    }

    /// After how long without an operation (and not waiting for a message) a
    /// service still running at the end counts as stuck. Default: half the
    /// run, at most 10 minutes.
    pub fn stuck_after(mut self, duration: Duration) -> Scenario {
        self.stuck_after = Some(duration);
        self
    }
}

impl Scenario {
    /// A text that only scenarios making the same runs share, or `None` when
    /// this one cannot be told apart that way. Its data (entities, messages,
    /// downstream systems, limits) is all written out; each setup and service
    /// is named by the type of its function, which decides what it does only
    /// when the function holds no data: an `async fn` or a closure that
    /// captures nothing (a zero-sized type). A closure that captures a value
    /// could behave differently with another value under the same type, so
    /// a scenario with one has no fingerprint. The grader shares one
    /// exploration's runs between the checks whose scenarios and
    /// explorations have the same fingerprint (see `grading::shared`).
    pub fn fingerprint(&self) -> Option<String> {
        let identities: Option<Vec<TypeId>> = self.identities.iter().copied().collect();
        let identities = identities?;
        let services: Vec<&str> = self.services.iter().map(|(name, _)| &**name).collect();
        Some(format!(
            "{:?} {:?} {:?} {:?} setups {} services {:?} {:?} identities {:?} run_for {:?} \
             restart {:?} max_operations {} max_wakeups {} stuck_after {:?}",
            self.name,
            self.tier,
            self.entities,
            self.messages,
            self.setups.len(),
            services,
            self.downstream,
            identities,
            self.run_for,
            self.restart_delay,
            self.max_operations,
            self.max_wakeups_without_operation,
            self.stuck_after,
        ))
    }
}

/// The type of a setup's or service's function, when it holds no data (see
/// [`Scenario::fingerprint`]).
fn identity<F: 'static>() -> Option<TypeId> {
    (std::mem::size_of::<F>() == 0).then(TypeId::of::<F>)
}

fn boxed<F, Fut, R>(body: F) -> ServiceFactory
where
    F: Fn(ServiceCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + 'static,
    R: ServiceResult + 'static,
{
    Arc::new(move |ctx| {
        let future = body(ctx);
        Box::pin(async move { future.await.into_result() })
    })
}
