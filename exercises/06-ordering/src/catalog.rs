//! The catalog's events, its history, and the storefront's read model. Do
//! not edit.
//!
//! The catalog service is the **source of truth** for products. Every change
//! to a product gives it a new version (1 when created, one more on every
//! change, the delete included) and is published as one event on
//! [`PRODUCT_EVENTS`], with the message id `<product>-v<version>`. The
//! storefront's projection turns those events into [`PRODUCTS`], one
//! [`ProductView`] row per product the storefront lists.
//!
//! Two catalog instances publish, and their clocks disagree: `catalog-2`
//! runs [`CATALOG_2_CLOCK_BEHIND`] behind `catalog-1`, as clocks do. Each
//! event's `changed_at` comes from the clock of the instance that made the
//! change.

use std::time::Duration;

use broker::clock::EPOCH_UTC;
use broker::{Delivery, Message, UtcTime};
use serde::{Deserialize, Serialize};

use crate::ProjectionError;

/// The queue the catalog publishes to and the projection consumes.
pub const PRODUCT_EVENTS: &str = "product-events";
/// The storefront's read model: one row per product it lists, keyed by the
/// product id. A product that is not there is not for sale.
pub const PRODUCTS: &str = "storefront_products";
/// How far `catalog-2`'s clock runs behind `catalog-1`'s.
pub const CATALOG_2_CLOCK_BEHIND: Duration = Duration::from_secs(30);

/// One change to one product, as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEvent {
    /// The product changed.
    pub product_id: String,
    /// The product's version after this change: 1 when it was created, one
    /// more on every change. Assigned by the catalog's database, in the
    /// transaction that made the change.
    pub version: u64,
    /// When the change was made, by the clock of the catalog instance that
    /// made it (RFC 3339, UTC).
    pub changed_at: String,
    /// What changed.
    pub change: Change,
}

/// What a catalog event says happened to its product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// `ProductUpdated`: the product now has this name and price (created,
    /// if it is version 1).
    Updated {
        /// The name the storefront shows.
        name: String,
        /// The price, in cents.
        price_cents: u64,
    },
    /// `ProductDeleted`: the product is gone for good (the catalog never
    /// reuses a product id).
    Deleted,
}

impl CatalogEvent {
    /// The message id it is published under: `<product>-v<version>`.
    pub fn message_id(&self) -> String {
        format!("{}-v{}", self.product_id, self.version)
    }

    /// Reads a received event.
    pub fn from_delivery(delivery: &Delivery) -> Result<CatalogEvent, ProjectionError> {
        delivery
            .body_json()
            .map_err(|error| ProjectionError::Unreadable {
                id: delivery.message_id().to_owned(),
                reason: error.to_string(),
            })
    }

    /// The event as a message: JSON, its message id, and the product as its
    /// correlation id (so that tools, and the graders' timelines, can follow
    /// one product's story) and its session id (used only by a queue that
    /// requires sessions).
    pub fn to_message(&self) -> Message {
        let body = serde_json::to_vec(self).unwrap_or_default();
        Message::new(self.message_id(), body)
            .with_content_type("application/json")
            .with_correlation_id(self.product_id.clone())
            .with_session_id(self.product_id.clone())
    }

    /// The row the storefront shows for the product after this event, or
    /// `None` after a delete.
    pub fn view(&self) -> Option<ProductView> {
        match &self.change {
            Change::Updated { name, price_cents } => Some(ProductView {
                name: name.clone(),
                price_cents: *price_cents,
                version: self.version,
            }),
            Change::Deleted => None,
        }
    }
}

/// One row of [`PRODUCTS`]: what the storefront shows of a product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    /// The name shown.
    pub name: String,
    /// The price shown, in cents.
    pub price_cents: u64,
    /// The catalog version this row shows (the storefront prints it in its
    /// page footer, for support).
    pub version: u64,
}

impl ProductView {
    /// The row as the store keeps it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Reads a row of [`PRODUCTS`].
    pub fn from_json(
        product_id: &str,
        value: &serde_json::Value,
    ) -> Result<ProductView, ProjectionError> {
        serde_json::from_value(value.clone()).map_err(|error| ProjectionError::Unreadable {
            id: product_id.to_owned(),
            reason: error.to_string(),
        })
    }
}

/// One change in the catalog's history: when it was published (after the
/// start of the run), by which instance, and the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// When the event reaches the queue.
    pub at: Duration,
    /// `catalog-1` or `catalog-2`.
    pub instance: &'static str,
    /// The event.
    pub event: CatalogEvent,
}

/// The catalog's whole history in this scenario, in the order it happened:
/// four products changed over 45 seconds, two of them deleted. Most edits were
/// saved twice, 200 ms apart, the second time to correct a typo.
pub fn history() -> Vec<Published> {
    use Change::{Deleted, Updated};
    let updated = |name: &str, price_cents| Updated {
        name: name.to_owned(),
        price_cents,
    };
    let changes = [
        (0, "teapot", 1, updated("Teapot", 3_500)),
        (5_000, "kettle", 1, updated("Ketle", 4_900)),
        // Saved with a typo in the name, saved again 200 ms later.
        (5_200, "kettle", 2, updated("Kettle", 4_900)),
        (10_000, "mug", 1, updated("Mug", 900)),
        (10_200, "mug", 2, updated("Mug (white)", 900)),
        (15_000, "cup", 1, updated("Cup", 700)),
        (20_000, "teapot", 2, updated("Teapot", 3_200)),
        // Saved with a typo in the new price, corrected 200 ms later.
        (20_200, "teapot", 3, updated("Teapot", 2_900)),
        (25_000, "kettle", 3, updated("Kettle", 4_500)),
        (25_200, "kettle", 4, updated("Kettle", 4_400)),
        (30_000, "mug", 3, Deleted),
        (35_000, "cup", 2, updated("Cup", 650)),
        (35_200, "cup", 3, updated("Cup", 600)),
        (45_000, "kettle", 5, Deleted),
    ];
    changes
        .into_iter()
        .enumerate()
        .map(|(index, (millis, product, version, change))| {
            // The load balancer sends the editors' saves to the two
            // instances in turn; catalog-2's clock is behind.
            let (instance, behind) = if index % 2 == 0 {
                ("catalog-1", Duration::ZERO)
            } else {
                ("catalog-2", CATALOG_2_CLOCK_BEHIND)
            };
            let at = Duration::from_millis(millis);
            Published {
                at,
                instance,
                event: CatalogEvent {
                    product_id: product.to_owned(),
                    version,
                    changed_at: clock_reading(at, behind).to_string(),
                    change,
                },
            }
        })
        .collect()
}

/// What a clock `behind` the broker's reads at `at` after the start.
fn clock_reading(at: Duration, behind: Duration) -> UtcTime {
    let millis = |duration: Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    UtcTime::from_unix_millis(EPOCH_UTC.unix_millis() + millis(at) - millis(behind))
}

/// The source of truth at the end: every product the catalog still has, at
/// its last version, as the storefront must show it.
pub fn truth() -> std::collections::BTreeMap<String, ProductView> {
    let mut latest = std::collections::BTreeMap::new();
    for published in history() {
        latest.insert(published.event.product_id.clone(), published.event);
    }
    latest
        .into_iter()
        .filter_map(|(product, event)| event.view().map(|view| (product, view)))
        .collect()
}

/// The event that published `version` of `product`, if there is one.
pub fn event(product: &str, version: u64) -> Option<CatalogEvent> {
    history()
        .into_iter()
        .map(|published| published.event)
        .find(|event| event.product_id == product && event.version == version)
}

/// The products the catalog deleted, with the version of their delete.
pub fn deletes() -> Vec<(String, u64)> {
    history()
        .into_iter()
        .filter(|published| published.event.change == Change::Deleted)
        .map(|published| (published.event.product_id, published.event.version))
        .collect()
}
