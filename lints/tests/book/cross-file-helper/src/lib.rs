//! A worker whose message is read, and committed, by a helper in another
//! file before the worker writes it to the database.

pub mod kafka;
pub mod worker;
