//! The queue-wait families of listeners, written the same by the Watcher's `/metrics` and
//! `raindrops stats --wait`: the age of the oldest queued connection of each listener where
//! something waits, and the histogram of the ages seen at each sample of each listener that has
//! ages (TCP; Unix listeners have none).
//!
//! The histogram is cumulative, as a Prometheus histogram must be (its `_count` and buckets
//! never go down, so `rate()` and `increase()` work): every sample adds the age of each
//! connection it finds waiting. The Watcher keeps it per listener across samples (until a
//! `/reset`); `stats --wait` takes one sample, so its histogram holds that sample's ages.

use raindrops::{Aggregate, ListenerName};

use super::families::{LISTENER_QUEUE_OLDEST_SECONDS, LISTENER_QUEUE_WAIT_SECONDS};
use super::writer::{Exposition, Labels, number};

/// Writes [`LISTENER_QUEUE_OLDEST_SECONDS`] for `oldest`, each `(address, its oldest queued
/// connection's age in ms if something waits)`, and [`LISTENER_QUEUE_WAIT_SECONDS`] (in
/// seconds) for `ages`, each `(address, the ages in ms seen at the samples taken)`.
///
/// ```
/// use raindrops::{ListenerName, QueueWait};
/// use raindrops_http::exposition::queue_waits::write;
/// use raindrops_http::exposition::writer::{Dialect, Exposition};
///
/// let (tcp, unix): (ListenerName, ListenerName) = ("127.0.0.1:80".into(), "/run/a.sock".into());
/// let wait = QueueWait::from_ages_ms(vec![300, 1500]);
/// let mut out = Exposition::new(Dialect::OpenMetrics);
/// let ages = wait.to_aggregate();
/// write(&mut out, [(&tcp, wait.oldest_ms()), (&unix, None)], [(&tcp, &ages)]);
/// let out = out.finish();
/// assert!(out.contains("raindrops_listener_queue_oldest_seconds{addr=\"127.0.0.1:80\"} 1.5\n"));
/// assert!(out.contains("raindrops_listener_queue_wait_seconds_count{addr=\"127.0.0.1:80\"} 2\n"));
/// assert!(!out.contains("a.sock"));
/// ```
pub fn write<'a>(
    out: &mut Exposition,
    oldest: impl IntoIterator<Item = (&'a ListenerName, Option<u32>)>,
    ages: impl IntoIterator<Item = (&'a ListenerName, &'a Aggregate)>,
) {
    out.family(&LISTENER_QUEUE_OLDEST_SECONDS);
    for (addr, ms) in oldest {
        if let Some(ms) = ms {
            out.sample(&Labels::addr(addr), number(f64::from(ms) / 1000.0));
        }
    }
    out.family(&LISTENER_QUEUE_WAIT_SECONDS);
    for (addr, ages) in ages {
        out.histogram_ms_as_seconds(&Labels::addr(addr), ages);
    }
}
