//! `cargo run -p broker --example crash-demo`: a naive consumer (complete,
//! then publish) and a correct one (publish, then complete), each crashed at
//! every crash point. Prints the naive one's lost-message report with its
//! timeline and mermaid diagram, and the correct one's pass. The output is
//! byte-identical from run to run.

fn main() {
    print!("{}", broker::demo::crash_demo());
}
