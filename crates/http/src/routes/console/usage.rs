//! The usage view of the last 30 days, drawn by the server (no script): the funnel from link
//! token to exchange as bars and the days as an inline SVG bar chart, with the same numbers in a table for
//! screen readers and keyboard users.

use kc_api::{AdminUsage, AdminUsageDay};
use maud::{html, Markup};

/// A series: its label, its CSS class and its value on a day.
type Series = (&'static str, &'static str, fn(&AdminUsageDay) -> u64);

/// The three series.
const SERIES: [Series; 3] = [
    ("Link tokens", "s1", |d| d.link_tokens),
    ("Widget completions", "s2", |d| d.completions),
    ("Exchanges", "s3", |d| d.exchanges),
];

/// Chart geometry (SVG user units; the SVG scales to its box).
const W: f64 = 720.0;
const H: f64 = 220.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 30.0;
const LEFT: f64 = 40.0;

/// The usage section.
pub(super) fn view(u: &AdminUsage) -> Markup {
    html! {
        section class="card" aria-labelledby="funnel" {
            h2 id="funnel" { "Funnel, last 30 days" }
            (funnel(&u.funnel))
        }
        section class="card" aria-labelledby="per-day" {
            h2 id="per-day" { "Per day" }
            (legend())
            (daily(&u.days))
            @let active: Vec<&AdminUsageDay> =
                u.days.iter().filter(|d| d.link_tokens + d.completions + d.exchanges > 0).collect();
            @if active.is_empty() {
                p class="empty" { "No activity in the last 30 days." }
            } @else {
                div class="scroll" tabindex="0" role="region" aria-label="Usage per day" {
                    table {
                        thead { tr {
                            th scope="col" { "Day" }
                            @for (label, _, _) in SERIES { th scope="col" { (label) } }
                        } }
                        tbody {
                            @for d in active {
                                tr {
                                    td data-label="Day" { time datetime=(d.day) { (d.day) } }
                                    @for (label, _, value) in SERIES { td data-label=(label) { (value(d)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn legend() -> Markup {
    html! {
        ul class="legend" aria-hidden="true" {
            @for (label, class, _) in SERIES {
                li { span class=(format!("swatch {class}")) {} (label) }
            }
        }
    }
}

/// One bar per step (`<progress>`, styled by console.css), as wide as its share of the link
/// tokens, with the count and the rate from the first step.
fn funnel(total: &AdminUsageDay) -> Markup {
    let base = total.link_tokens.max(1);
    html! {
        div class="funnel" {
            @for (i, (label, class, value)) in SERIES.iter().enumerate() {
                @let v = value(total);
                @let id = format!("funnel-{class}");
                label for=(id) { (label) }
                progress id=(id) class=(class) max=(base) value=(v.min(base)) {}
                span class="value" {
                    (v)
                    @if i > 0 && total.link_tokens > 0 {
                        " (" (format!("{:.0}", 100.0 * v as f64 / total.link_tokens as f64)) "%)"
                    }
                }
            }
        }
    }
}

/// Grouped bars per day, the three series side by side.
fn daily(days: &[AdminUsageDay]) -> Markup {
    let max = days.iter().flat_map(|d| SERIES.iter().map(move |(_, _, v)| v(d))).max().unwrap_or(0).max(1);
    let n = days.len().max(1) as f64;
    let group = (W - LEFT) / n;
    let bar = (group / 4.0).max(1.0);
    let plot_h = H - TOP - BOTTOM;
    let total: u64 = days.iter().map(|d| d.link_tokens).sum();
    let summary = format!("{} days; at most {max} a day; {total} link tokens in all (table below)", days.len());
    html! {
        svg class="chart" viewBox=(format!("0 0 {W} {H}")) role="img" aria-labelledby="daily-desc" {
            title id="daily-desc" { (summary) }
            line x1=(LEFT) y1=(TOP) x2=(W) y2=(TOP) class="grid" {}
            line x1=(LEFT) y1=(TOP + plot_h) x2=(W) y2=(TOP + plot_h) class="baseline" {}
            text x=(LEFT - 6.0) y=(TOP + 4.0) text-anchor="end" class="axis" { (max) }
            text x=(LEFT - 6.0) y=(TOP + plot_h + 4.0) text-anchor="end" class="axis" { "0" }
            @for (i, d) in days.iter().enumerate() {
                @for (k, (_, class, value)) in SERIES.iter().enumerate() {
                    @let v = value(d);
                    @if v > 0 {
                        @let h = plot_h * v as f64 / max as f64;
                        rect x=(fmt(LEFT + i as f64 * group + bar * (k as f64 + 0.5))) y=(fmt(TOP + plot_h - h))
                            width=(fmt(bar)) height=(fmt(h)) class=(format!("bar {class}")) {}
                    }
                }
            }
            @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                text x=(LEFT) y=(H - 8.0) class="axis" { (first.day) }
                text x=(W) y=(H - 8.0) text-anchor="end" class="axis" { (last.day) }
            }
        }
    }
}

/// A coordinate with at most one decimal.
fn fmt(v: f64) -> String {
    format!("{:.1}", v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: &str, l: u64, c: u64, e: u64) -> AdminUsageDay {
        AdminUsageDay { day: day.into(), link_tokens: l, completions: c, exchanges: e }
    }

    #[test]
    fn the_funnel_shows_counts_and_rates() {
        let u = AdminUsage {
            days: vec![day("2026-11-28", 0, 0, 0), day("2026-11-29", 4, 2, 1)],
            funnel: day("total", 4, 2, 1),
        };
        let html = view(&u).into_string();
        assert!(html.contains("max=\"4\" value=\"2\""), "{html}");
        assert!(html.contains("2 (50%)") && html.contains("1 (25%)"), "{html}");
        // Only the active day is in the table; the chart draws its three bars.
        assert!(html.contains("<time datetime=\"2026-11-29\">") && !html.contains("<time datetime=\"2026-11-28\">"));
        assert_eq!(html.matches("class=\"bar s").count(), 3, "{html}");
    }

    #[test]
    fn no_activity_draws_an_empty_chart() {
        let u = AdminUsage { days: vec![day("2026-11-29", 0, 0, 0)], funnel: day("total", 0, 0, 0) };
        let html = view(&u).into_string();
        assert!(html.contains("No activity in the last 30 days."));
        assert!(!html.contains("NaN") && !html.contains("inf"), "{html}");
    }
}
