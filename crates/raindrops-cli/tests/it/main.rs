//! Integration tests that run the real `raindrops` binary.
