//! The `raindrops` command.
#![forbid(unsafe_code)]

fn main() {}
