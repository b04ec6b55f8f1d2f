//! The result tables, printed as Markdown (they paste into `docs/benchmarks.md` as they are).

use super::server::Memory;
use super::wrk::Measured;
use super::{cpu_model, cpus, Options};

/// One measured scenario.
pub(super) struct Row {
    /// `baseline`, `sqlite`, `postgres` or `postgres ×2`.
    group: String,
    /// The scenario's label.
    label: String,
    /// What was measured.
    measured: Measured,
}

impl Row {
    pub(super) fn new(group: &str, label: &str, measured: Measured) -> Self {
        Self { group: group.to_owned(), label: label.to_owned(), measured }
    }
}

/// Prints every row grouped by database, each rate also as a ratio to `ceiling` (the
/// hello-world baseline of the same run), then the memory readings.
pub(super) fn print(rows: &[Row], ceiling: f64, memory: &[(String, Memory, Memory, Memory)], opts: &Options) {
    println!(
        "\n## wrk, {} thread(s), {} connections, {} s per scenario; {} CPUs ({})\n",
        opts.threads,
        opts.concurrency,
        opts.duration.as_secs(),
        cpus(),
        cpu_model()
    );
    println!("| database | scenario | req/s | p50 ms | p99 ms | max ms | errors | × baseline |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let m = &r.measured;
        let ratio = if ceiling > 0.0 { m.rate() / ceiling } else { 0.0 };
        println!(
            "| {} | `{}` | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.3} |",
            r.group,
            r.label,
            m.rate(),
            m.p50_ms,
            m.p99_ms,
            m.max_ms,
            m.errors,
            ratio
        );
    }
    for r in rows {
        if r.measured.exhausted {
            println!(
                "\nnote: {} on {}: the token pool ran out after {:.1} s; the rate is over that time",
                r.label, r.group, r.measured.seconds
            );
        }
        if let Some(e) = &r.measured.first_error {
            println!("\nnote: first error of {} on {}: {e}", r.label, r.group);
        }
    }
    if !memory.is_empty() {
        println!("\n| database | RSS idle | RSS after the scenarios | peak RSS (VmHWM) | RSS at the end |");
        println!("|---|---:|---:|---:|---:|");
        for (db, idle, loaded, end) in memory {
            println!("| {db} | {} | {} | {} | {} |", idle.rss(), loaded.rss(), end.peak(), end.rss());
        }
    }
}
