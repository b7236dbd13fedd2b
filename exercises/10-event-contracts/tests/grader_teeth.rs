//! The grader's own tests, not the learner's: each check must catch the
//! plausible wrong fixes it is named after, and pass correct solutions
//! written differently from the reference. (`cargo xtask verify` proves
//! that the starter fails `accepted-bad-event` and `silent-rejection` and
//! that the reference, a strict `#[derive(Event)]` type, passes all three.)
//!
//! The wrong fixes:
//!
//! - refuse everything that cannot be verified, which ends up being
//!   everything (`rejected-good-event`);
//! - the over-corrections: refuse unknown fields, which refuses the newer
//!   producer's event; make every field required, which refuses the older
//!   producer's (`rejected-good-event`);
//! - the half-fix: refuse a missing id and a missing address, keep the
//!   header fallback and the zone-less time (`accepted-bad-event`);
//! - refuse the right events, but with a reason that says nothing, or by
//!   returning an error until the broker gives up, or by completing them
//!   (`silent-rejection`);
//! - remember refused ids in a `static` (`silent-rejection`, from the
//!   file's text).
//!
//! The correct solution written differently: checks made by hand on the
//! JSON value, without the derive macro.

use broker::Delivery;
use broker::grading::CheckReport;
use broker::simulation::{Scenario, ServiceCtx};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use event_contract::Event;
use event_contracts::IntakeError;
use event_contracts::rubric;
use event_contracts::scenario::scenario_running;
use event_contracts::shipping::{self, Shipment};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[path = "wrong/remembers_in_a_static.rs"]
mod remembers_in_a_static;

/// The attempts' source, as the grader reads a learner's file: this file's
/// text, which keeps no process-wide state, without the `mod` line that
/// brings in the static attempt (graded on its own file below).
fn this_file() -> String {
    include_str!("grader_teeth.rs").replace("mod remembers_in_a_static;", "")
}

use broker::grading::teeth::{assert_fails, assert_passes};

fn accepted_bad_event(scenario: Scenario) -> CheckReport {
    rubric::accepted_bad_event_of(scenario, &this_file()).run_with(None, None)
}

fn rejected_good_event(scenario: Scenario) -> CheckReport {
    rubric::rejected_good_event_of(scenario, &this_file()).run_with(None, None)
}

fn silent_rejection(scenario: Scenario) -> CheckReport {
    rubric::silent_rejection_of(scenario, &this_file()).run_with(None, None)
}

/// The contract as a strict type, like the reference's.
#[derive(Deserialize, Event)]
struct Strict {
    event_id: String,
    order_id: String,
    total_cents: u64,
    #[serde(deserialize_with = "time_with_offset")]
    placed_at: DateTime<FixedOffset>,
    #[event(required)]
    shipping_address: Option<String>,
    #[serde(default)]
    delivery_note: Option<String>,
}

fn time_with_offset<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<FixedOffset>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map_err(|_| serde::de::Error::custom(format!("`placed_at` {text:?} has no offset")))
}

impl Strict {
    fn shipment(self) -> Shipment {
        Shipment {
            event_id: self.event_id,
            order_id: self.order_id,
            total_cents: self.total_cents,
            placed_at: self.placed_at.to_utc(),
            shipping_address: self.shipping_address.unwrap_or_default(),
            delivery_note: self.delivery_note,
        }
    }
}

/// The shipment, or why the event breaks the contract (naming the field).
fn judge(delivery: &Delivery) -> Result<Shipment, String> {
    let event: Strict = serde_json::from_slice(delivery.body()).map_err(|e| e.to_string())?;
    event.validate().map_err(|broken| broken.to_string())?;
    Ok(event.shipment())
}

async fn ship(
    ctx: &ServiceCtx,
    delivery: &Delivery,
    shipment: &Shipment,
) -> Result<(), IntakeError> {
    shipping::record(ctx, shipment).await?;
    ctx.complete(delivery).await?;
    Ok(())
}

// --- Wrong fixes: rejected-good-event -------------------------------------------

/// "We cannot trust the producer": every event is dead-lettered.
async fn rejects_everything(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    ctx.dead_letter(delivery, "Unverified", "OrderPlaced events are not trusted")
        .await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read only to refuse what does not fit")]
struct NoUnknownFields {
    event_id: String,
    order_id: String,
    total_cents: u64,
    placed_at: String,
    shipping_address: Option<String>,
    #[serde(default)]
    delivery_note: Option<String>,
}

/// Refuses an event with a field this consumer does not know.
async fn refuses_unknown_fields(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    if let Err(error) = serde_json::from_slice::<NoUnknownFields>(delivery.body()) {
        ctx.dead_letter(delivery, "ContractViolation", &error.to_string())
            .await?;
        return Ok(());
    }
    match judge(delivery) {
        Ok(shipment) => ship(ctx, delivery, &shipment).await,
        Err(why) => Ok(ctx.dead_letter(delivery, "ContractViolation", &why).await?),
    }
}

/// Requires `delivery_note` too, though the contract makes it optional.
async fn requires_every_field(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    let event: Value = serde_json::from_slice(delivery.body()).unwrap_or(Value::Null);
    if event.get("delivery_note").is_none() {
        ctx.dead_letter(delivery, "ContractViolation", "`delivery_note` is missing")
            .await?;
        return Ok(());
    }
    match judge(delivery) {
        Ok(shipment) => ship(ctx, delivery, &shipment).await,
        Err(why) => Ok(ctx.dead_letter(delivery, "ContractViolation", &why).await?),
    }
}

#[test]
fn refusing_everything_rejects_the_good_events() {
    let report = rejected_good_event(scenario_running(rejects_everything));
    assert_fails(
        &report,
        "`evt-1001` keeps the contract and was dead-lettered",
    );
    assert_passes(&accepted_bad_event(scenario_running(rejects_everything)));
}

#[test]
fn refusing_unknown_fields_rejects_the_newer_producer() {
    let report = rejected_good_event(scenario_running(refuses_unknown_fields));
    assert_fails(
        &report,
        "`evt-1002` keeps the contract and was dead-lettered",
    );
    assert_fails(&report, "adding a field is how a contract grows");
}

#[test]
fn requiring_an_optional_field_rejects_the_older_producer() {
    let report = rejected_good_event(scenario_running(requires_every_field));
    assert_fails(
        &report,
        "`evt-1003` keeps the contract and was dead-lettered",
    );
    assert_fails(&report, "the contract makes optional");
}

// --- Wrong fixes: accepted-bad-event --------------------------------------------

/// Refuses a missing id and a missing address, and keeps the rest of the
/// starter's forgiveness: the header fallback and zone-less times as UTC.
async fn some_kinds_only(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    let event: Value = serde_json::from_slice(delivery.body()).unwrap_or(Value::Null);
    let text = |field: &str| event[field].as_str().unwrap_or_default().to_owned();
    for field in ["event_id", "shipping_address"] {
        if text(field).trim().is_empty() {
            let why = format!("`{field}` is missing or empty");
            ctx.dead_letter(delivery, "ContractViolation", &why).await?;
            return Ok(());
        }
    }
    let placed_at = DateTime::parse_from_rfc3339(&text("placed_at"))
        .map(|time| time.to_utc())
        .or_else(|_| {
            NaiveDateTime::parse_from_str(&text("placed_at"), "%Y-%m-%dT%H:%M:%S")
                .map(|naive| naive.and_utc())
        })
        .unwrap_or_default();
    let shipment = Shipment {
        event_id: text("event_id"),
        order_id: text("order_id"),
        total_cents: event["total_cents"]
            .as_u64()
            .or_else(|| delivery.property("total_cents")?.parse().ok())
            .unwrap_or_default(),
        placed_at,
        shipping_address: text("shipping_address"),
        delivery_note: event["delivery_note"].as_str().map(str::to_owned),
    };
    ship(ctx, delivery, &shipment).await
}

#[test]
fn refusing_only_some_kinds_still_accepts_the_others() {
    let report = accepted_bad_event(scenario_running(some_kinds_only));
    assert_fails(
        &report,
        "`evt-2001` (a timestamp in local time) was accepted",
    );
    assert_passes(&rejected_good_event(scenario_running(some_kinds_only)));
}

// --- Wrong fixes: silent-rejection ----------------------------------------------

/// Refuses the right events, with a reason that says nothing.
async fn no_reason(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    match judge(delivery) {
        Ok(shipment) => ship(ctx, delivery, &shipment).await,
        Err(_) => Ok(ctx.dead_letter(delivery, "InvalidEvent", "").await?),
    }
}

/// Refuses the right events by returning an error: the service abandons
/// them, and the broker delivers them again until it gives up.
async fn gives_them_back(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    match judge(delivery) {
        Ok(shipment) => ship(ctx, delivery, &shipment).await,
        Err(reason) => Err(IntakeError::Unusable {
            message_id: delivery.message_id().to_owned(),
            reason,
        }),
    }
}

/// Refuses the right events by completing them unshipped.
async fn drops_them(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    match judge(delivery) {
        Ok(shipment) => ship(ctx, delivery, &shipment).await,
        Err(_) => Ok(ctx.complete(delivery).await?),
    }
}

#[test]
fn a_dead_letter_without_a_reason_is_a_silent_rejection() {
    let report = silent_rejection(scenario_running(no_reason));
    assert_fails(&report, "which does not say what is wrong");
    assert_passes(&accepted_bad_event(scenario_running(no_reason)));
    assert_passes(&rejected_good_event(scenario_running(no_reason)));
}

#[test]
fn giving_a_bad_event_back_until_the_broker_gives_up_is_a_silent_rejection() {
    let report = silent_rejection(scenario_running(gives_them_back));
    assert_fails(
        &report,
        "only because the broker gave up after 10 deliveries",
    );
}

#[test]
fn completing_a_bad_event_unshipped_is_a_silent_rejection() {
    let report = silent_rejection(scenario_running(drops_them));
    assert_fails(
        &report,
        "was completed without a shipment: dropped in silence",
    );
    assert_passes(&accepted_bad_event(scenario_running(drops_them)));
}

#[test]
fn remembering_refusals_in_a_static_fails_from_the_file() {
    let source = include_str!("wrong/remembers_in_a_static.rs");
    let report =
        rubric::silent_rejection_of(scenario_running(remembers_in_a_static::handle), source)
            .run_with(None, None);
    assert_fails(&report, "keeps state outside the service");
}

// --- A correct solution written differently ------------------------------------

/// Checks made by hand on the JSON value: no derive, no strict type.
async fn by_hand(ctx: &ServiceCtx, delivery: &Delivery) -> Result<(), IntakeError> {
    let event: Value = serde_json::from_slice(delivery.body()).unwrap_or(Value::Null);
    let text = |field: &str| event[field].as_str().map(str::trim).unwrap_or_default();
    let mut problems = Vec::new();
    for field in ["event_id", "order_id", "shipping_address"] {
        if text(field).is_empty() {
            problems.push(format!("`{field}` is missing or empty"));
        }
    }
    let total_cents = event["total_cents"].as_u64();
    if total_cents.is_none() {
        problems.push("`total_cents` must be a whole number in the body".to_owned());
    }
    let placed_at = DateTime::parse_from_rfc3339(text("placed_at")).ok();
    match placed_at {
        Some(time) if time.offset().local_minus_utc() == 0 => {}
        _ => problems.push(format!(
            "`placed_at` must be RFC 3339 in UTC, got {:?}",
            text("placed_at")
        )),
    }
    if !problems.is_empty() {
        ctx.dead_letter(delivery, "ContractViolation", &problems.join("; "))
            .await?;
        return Ok(());
    }
    let (Some(total_cents), Some(placed_at)) = (total_cents, placed_at) else {
        return Ok(ctx
            .dead_letter(delivery, "ContractViolation", "unreadable")
            .await?);
    };
    let shipment = Shipment {
        event_id: text("event_id").to_owned(),
        order_id: text("order_id").to_owned(),
        total_cents,
        placed_at: placed_at.to_utc(),
        shipping_address: text("shipping_address").to_owned(),
        delivery_note: event["delivery_note"].as_str().map(str::to_owned),
    };
    ship(ctx, delivery, &shipment).await
}

#[test]
fn checks_by_hand_on_the_json_pass() {
    assert_passes(&accepted_bad_event(scenario_running(by_hand)));
    assert_passes(&rejected_good_event(scenario_running(by_hand)));
    assert_passes(&silent_rejection(scenario_running(by_hand)));
}
