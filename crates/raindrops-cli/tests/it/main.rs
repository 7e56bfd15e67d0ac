//! Integration tests that run the real `raindrops` binary.

mod stats;
mod util;
