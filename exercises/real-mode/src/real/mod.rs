//! Real mode's machinery. The crate root's docs give the map.

pub mod args;
pub mod clock;
pub mod config;
pub mod ctx;
pub mod engine;
pub mod exercises;
pub mod harness;
pub mod protocol;
pub mod runner;
