//! The demo app's routes: hello, a slow answer, and memory kept on purpose (to watch
//! recycling), each bounded.

use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::routing::get;

/// The longest `/slow` sleeps.
const MAX_SLOW_MS: u64 = 60_000;
/// The most `/leak` keeps per request.
const MAX_LEAK_MB: u64 = 1024;
/// The most `/leak` keeps per worker, in total.
const MAX_HELD_MB: u64 = 4096;

/// Memory `/leak` keeps, per worker process (each worker has its own copy after fork).
static HELD: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// `/`, `/slow?ms=N`, `/leak?mb=N`.
pub(super) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello, world!\n" }))
        .route("/slow", get(slow))
        .route("/leak", get(leak))
}

type Answer = (StatusCode, String);

/// Sleeps `ms` milliseconds (at most a minute), then answers.
async fn slow(uri: Uri) -> Result<String, Answer> {
    let ms = number(&uri, "ms")?.min(MAX_SLOW_MS);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(format!("slept {ms} ms\n"))
}

/// Keeps `mb` MiB (written, so resident) for the rest of this worker's life.
async fn leak(uri: Uri) -> Result<String, Answer> {
    let mb = number(&uri, "mb")?;
    let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (kept, total) = keep(&mut held, mb);
    let pid = std::process::id();
    Ok(format!("kept {kept} MiB more, {total} MiB in worker {pid}\n"))
}

/// Adds a block of `mb` MiB to `held` within the caps, and returns the MiB kept and the MiB
/// held in all. Nothing is stored for 0 MiB (asked, or left under the cap), so `held` has at
/// most [`MAX_HELD_MB`] blocks, however many requests come.
fn keep(held: &mut Vec<Vec<u8>>, mb: u64) -> (u64, u64) {
    let total: u64 = held.iter().map(|v| v.len() as u64 >> 20).sum();
    let mb = mb.min(MAX_LEAK_MB).min(MAX_HELD_MB.saturating_sub(total));
    if mb > 0 {
        held.push(vec![1u8; (mb as usize) << 20]);
    }
    (mb, total + mb)
}

/// The query parameter `name` as a whole number; a 400 naming it otherwise.
fn number(uri: &Uri, name: &str) -> Result<u64, Answer> {
    let value = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='));
    let bad = |text: String| (StatusCode::BAD_REQUEST, text + "\n");
    let Some(value) = value else { return Err(bad(format!("missing ?{name}=N"))) };
    value.parse().map_err(|_| bad(format!("{name}={value:?} is not a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_the_parameter_at_fault() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(number(&uri("/slow?ms=25"), "ms"), Ok(25));
        assert_eq!(number(&uri("/slow?x=1&ms=7"), "ms"), Ok(7));
        let err = number(&uri("/slow?ms=abc"), "ms").unwrap_err();
        assert_eq!(err, (StatusCode::BAD_REQUEST, "ms=\"abc\" is not a whole number\n".into()));
        let err = number(&uri("/slow"), "ms").unwrap_err();
        assert_eq!(err.1, "missing ?ms=N\n");
        assert_eq!(number(&uri("/slow?msx=1"), "ms").unwrap_err().1, "missing ?ms=N\n");
    }

    #[test]
    fn leak_stores_nothing_for_zero_and_stops_at_the_cap() {
        let mut held = Vec::new();
        for _ in 0..100_000 {
            assert_eq!(keep(&mut held, 0), (0, 0));
        }
        assert_eq!(held.len(), 0, "an empty block per request of 0 MiB");
        assert_eq!(keep(&mut held, 2), (2, 2));
        // At the cap (zeroed pages, never touched: no memory is used), nothing more is kept.
        held.push(vec![0; ((MAX_HELD_MB - 2) as usize) << 20]);
        assert_eq!(keep(&mut held, 1), (0, MAX_HELD_MB));
        assert_eq!(held.len(), 2);
    }
}
