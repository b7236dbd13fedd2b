//! Real mode's consumer process for `idempotent-consumer`: your `src/consumer.rs`, compiled
//! against a real engine (see the crate's docs). Started by `cargo xtask real`.

// `broker` in the included files means real mode's broker (src/lib.rs).
extern crate real_mode as broker;

#[path = "../../../03-idempotent-consumer/src/consumer.rs"]
mod consumer;
#[path = "../../../03-idempotent-consumer/src/error.rs"]
#[allow(dead_code)]
mod error;
#[path = "../../../03-idempotent-consumer/src/mail.rs"]
#[allow(dead_code)]
mod mail;
#[path = "../../../03-idempotent-consumer/src/signup.rs"]
#[allow(dead_code)]
mod signup;

use error::ConsumerError;

fn main() -> std::process::ExitCode {
    broker::real::runner::main(consumer::run)
}
