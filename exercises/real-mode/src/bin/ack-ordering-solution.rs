//! Real mode's consumer process for `ack-ordering`: the reference solution, compiled
//! against a real engine (see the crate's docs). Started by `cargo xtask real`.

// `broker` in the included files means real mode's broker (src/lib.rs).
extern crate real_mode as broker;

#[path = "../../../02-ack-ordering/solution/consumer.rs"]
mod consumer;
#[path = "../../../02-ack-ordering/src/error.rs"]
#[allow(dead_code)]
mod error;
#[path = "../../../02-ack-ordering/src/order.rs"]
#[allow(dead_code)]
mod order;

use error::ConsumerError;

fn main() -> std::process::ExitCode {
    broker::real::runner::main(consumer::run)
}
