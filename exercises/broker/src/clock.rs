//! Virtual time, and the UTC timestamps the envelope carries.
//!
//! Every clock in the broker is tokio's clock. Under a paused clock
//! (`#[tokio::test(start_paused = true)]`, or the simulation runtime) time only
//! moves when every task is waiting, and then it jumps straight to the next
//! timer. That is what makes the long waits (a lock that runs out, a
//! duplicate-detection window that ends, an outage of hours) cost nothing in
//! real time, and what makes two runs of the same scenario see exactly the
//! same instants.
//!
//! A real broker stamps messages with wall-clock UTC. Ours derives UTC from the
//! virtual clock: a broker's clock starts at [`EPOCH_UTC`] when the broker is
//! created, so traces and envelopes are identical from run to run.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use tokio::time::Instant;

/// The UTC instant at which every broker's virtual clock starts:
/// 2026-01-01T00:00:00Z, in milliseconds since the Unix epoch.
///
/// A fixed epoch, rather than the machine's real time, keeps enqueued times in
/// a report byte-identical between runs.
pub const EPOCH_UTC: UtcTime = UtcTime {
    millis_since_unix_epoch: 1_767_225_600_000,
};

/// A point in UTC, to the millisecond, as Service Bus's `EnqueuedTimeUtc`.
///
/// UTC and not local time on purpose: chapter 10 ("You accepted bad event
/// formats") is about what happens when producers stamp events in local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime {
    millis_since_unix_epoch: i64,
}

impl UtcTime {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix_millis(millis: i64) -> UtcTime {
        UtcTime {
            millis_since_unix_epoch: millis,
        }
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub const fn unix_millis(self) -> i64 {
        self.millis_since_unix_epoch
    }
}

impl Add<Duration> for UtcTime {
    type Output = UtcTime;
    fn add(self, rhs: Duration) -> UtcTime {
        let millis = i64::try_from(rhs.as_millis()).unwrap_or(i64::MAX);
        UtcTime::from_unix_millis(self.millis_since_unix_epoch.saturating_add(millis))
    }
}

impl Sub<UtcTime> for UtcTime {
    type Output = Duration;
    /// The time from `rhs` to `self`, zero if `rhs` is later.
    fn sub(self, rhs: UtcTime) -> Duration {
        let millis = self
            .millis_since_unix_epoch
            .saturating_sub(rhs.millis_since_unix_epoch);
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

impl fmt::Display for UtcTime {
    /// RFC 3339 with milliseconds and a `Z`: `2026-01-01T00:01:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.millis_since_unix_epoch.rem_euclid(1000);
        let seconds = self.millis_since_unix_epoch.div_euclid(1000);
        let days = seconds.div_euclid(86_400);
        let second_of_day = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )
    }
}

/// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day
/// number counted from 1970-01-01. (We do not pull in a date crate for one
/// conversion.)
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A broker's view of time: the tokio instant it was created at, which maps to
/// [`EPOCH_UTC`].
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    started: Instant,
}

impl Clock {
    /// A clock that starts now (virtual now, under a paused runtime).
    pub fn start() -> Clock {
        Clock {
            started: Instant::now(),
        }
    }

    /// The tokio instant now.
    pub fn instant(&self) -> Instant {
        Instant::now()
    }

    /// How long this clock has been running: the "+00:01:00.000" of a trace.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.started)
    }

    /// The UTC time now.
    pub fn now_utc(&self) -> UtcTime {
        self.utc_at(Instant::now())
    }

    /// The UTC time of a tokio instant.
    pub fn utc_at(&self, instant: Instant) -> UtcTime {
        EPOCH_UTC + instant.saturating_duration_since(self.started)
    }

    /// The tokio instant of a UTC time (the clock's start if it is earlier).
    pub fn instant_at(&self, utc: UtcTime) -> Instant {
        self.started + (utc - EPOCH_UTC)
    }

    /// The virtual offset of an instant from the start of the clock.
    pub fn offset_of(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.started)
    }
}

/// Formats a virtual offset as the trace does: `+00:01:00.000`.
pub fn format_offset(offset: Duration) -> String {
    let total_millis = offset.as_millis();
    let millis = total_millis % 1000;
    let seconds = total_millis / 1000;
    format!(
        "+{:02}:{:02}:{:02}.{millis:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_renders_as_new_year_2026() {
        assert_eq!(EPOCH_UTC.to_string(), "2026-01-01T00:00:00.000Z");
        assert_eq!(
            (EPOCH_UTC + Duration::from_millis(90_061_001)).to_string(),
            "2026-01-02T01:01:01.001Z"
        );
        assert_eq!(
            UtcTime::from_unix_millis(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn offsets_render_with_hours() {
        assert_eq!(
            format_offset(Duration::from_millis(3_723_004)),
            "+01:02:03.004"
        );
    }
}
