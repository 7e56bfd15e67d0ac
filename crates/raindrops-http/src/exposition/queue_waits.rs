//! The queue-wait families of listeners, written the same by the Watcher's `/metrics` and
//! `raindrops stats --wait`: the age of the oldest queued connection of each listener where
//! something waits, and the ages' histogram of each listener that has ages (TCP; Unix
//! listeners have none).

use raindrops::{ListenerName, QueueWait};

use super::families::{LISTENER_QUEUE_OLDEST_SECONDS, LISTENER_QUEUE_WAIT_SECONDS};
use super::writer::{Exposition, Labels, number};

/// Writes [`LISTENER_QUEUE_OLDEST_SECONDS`] and [`LISTENER_QUEUE_WAIT_SECONDS`] (in seconds)
/// for `listeners`, each `(address, its wait if measured)`.
///
/// ```
/// use raindrops::{ListenerName, QueueWait};
/// use raindrops_http::exposition::queue_waits::write;
/// use raindrops_http::exposition::writer::{Dialect, Exposition};
///
/// let (tcp, unix): (ListenerName, ListenerName) = ("127.0.0.1:80".into(), "/run/a.sock".into());
/// let wait = QueueWait::from_ages_ms(vec![300, 1500]);
/// let mut out = Exposition::new(Dialect::OpenMetrics);
/// write(&mut out, [(&tcp, Some(&wait)), (&unix, None)]);
/// let out = out.finish();
/// assert!(out.contains("raindrops_listener_queue_oldest_seconds{addr=\"127.0.0.1:80\"} 1.5\n"));
/// assert!(out.contains("raindrops_listener_queue_wait_seconds_count{addr=\"127.0.0.1:80\"} 2\n"));
/// assert!(!out.contains("a.sock"));
/// ```
pub fn write<'a, I>(out: &mut Exposition, listeners: I)
where
    I: IntoIterator<Item = (&'a ListenerName, Option<&'a QueueWait>)>,
    I::IntoIter: Clone,
{
    let listeners = listeners.into_iter();
    out.family(&LISTENER_QUEUE_OLDEST_SECONDS);
    for (addr, wait) in listeners.clone() {
        if let Some(ms) = wait.and_then(QueueWait::oldest_ms) {
            out.sample(&Labels::addr(addr), number(f64::from(ms) / 1000.0));
        }
    }
    out.family(&LISTENER_QUEUE_WAIT_SECONDS);
    for (addr, wait) in listeners {
        if let Some(wait) = wait {
            out.histogram_ms_as_seconds(&Labels::addr(addr), &wait.to_aggregate());
        }
    }
}
