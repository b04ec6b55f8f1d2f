//! Example client backend (work in progress).

fn main() {}
