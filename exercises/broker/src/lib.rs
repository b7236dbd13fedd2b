//! The workshop's in-process broker: queues, topics, subscriptions, peek-lock,
//! dead-letter queues, a transactional store, fault injection and the trace
//! that graders read. Teaching code: not for production.

pub mod store;
