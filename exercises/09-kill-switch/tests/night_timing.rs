//! How long the night takes to grade, in real time: one night alone, and one
//! whole check (the night without faults and the random plans). Printed
//! (`cargo test -p kill-switch --test night_timing -- --nocapture`), not
//! asserted against machine speed; what is asserted is that the runs play
//! the whole night in virtual time, so the figure is about eight hours.

use std::time::Instant;

use broker::simulation::{self, FaultPlan};
use kill_switch::rubric;
use kill_switch::scenario::{RUN_FOR, scenario};

#[test]
fn a_night_of_eight_hours_grades_in_a_fraction_of_a_second() {
    let started = Instant::now();
    let run = simulation::run(&scenario(), &FaultPlan::none()).expect("the night runs");
    let one_night = started.elapsed();
    assert!(run.elapsed >= RUN_FOR, "the run ended at {:?}", run.elapsed);

    let started = Instant::now();
    let report = rubric::no_resume().run();
    let one_check = started.elapsed();
    assert!(report.runs >= 1, "the check made no run:\n{}", report.text);

    eprintln!(
        "one night ({} h of virtual time, the carrier down for 6 h; {} operations, {} trace \
         events): {} ms of real time; one check ({} nights): {} ms",
        run.elapsed.as_secs() / 3600,
        run.operations,
        run.events.len(),
        one_night.as_millis(),
        report.runs,
        one_check.as_millis()
    );
}
