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
    let mb = number(&uri, "mb")?.min(MAX_LEAK_MB);
    let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let total: u64 = held.iter().map(|v| v.len() as u64 >> 20).sum();
    let mb = mb.min(MAX_HELD_MB.saturating_sub(total));
    held.push(vec![1u8; (mb as usize) << 20]);
    let pid = std::process::id();
    Ok(format!("kept {mb} MiB more, {} MiB in worker {pid}\n", total + mb))
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
}
