//! The usage view of the last 30 days, drawn by the server (no script): the funnel from link
//! token to exchange as bars, the days as inline SVG bar charts (the funnel's steps, and the
//! Data API calls on a scale of their own: they outnumber the rest by far), with the same
//! numbers in a table for screen readers and keyboard users.

use kc_api::{AdminUsage, AdminUsageDay};
use maud::{html, Markup};

/// A series: its label, its CSS class and its value on a day.
type Series = (&'static str, &'static str, fn(&AdminUsageDay) -> u64);

/// The funnel's steps.
const FUNNEL: [Series; 3] = [
    ("Link tokens", "s1", |d| d.link_tokens),
    ("Widget completions", "s2", |d| d.completions),
    ("Exchanges", "s3", |d| d.exchanges),
];

/// The Data API calls (authenticated calls to `/api/v1/*`).
const CALLS: [Series; 1] = [("Data API calls", "s4", |d| d.data_api_calls)];

/// Every series, as the table's columns.
const SERIES: [Series; 4] = [FUNNEL[0], FUNNEL[1], FUNNEL[2], CALLS[0]];

/// The table's column headers.
const COLUMNS: [&str; 5] = ["Day", SERIES[0].0, SERIES[1].0, SERIES[2].0, SERIES[3].0];

/// Chart geometry (SVG user units; the SVG scales to its box).
const W: f64 = 720.0;
const H: f64 = 220.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 30.0;
const LEFT: f64 = 40.0;

/// The usage section.
pub(super) fn view(u: &AdminUsage) -> Markup {
    let calls: u64 = u.days.iter().map(|d| d.data_api_calls).sum();
    html! {
        section class="card" aria-labelledby="funnel" {
            h2 id="funnel" { "Funnel, last 30 days" }
            (funnel(&u.funnel))
            p { "Data API calls: " strong { (calls) } }
        }
        section class="card" aria-labelledby="per-day" {
            h2 id="per-day" { "Per day" }
            h3 id="steps-title" { "Link tokens, completions and exchanges" }
            (legend(&FUNNEL))
            (daily(&u.days, &FUNNEL, "steps", "link tokens"))
            h3 id="calls-title" { "Data API calls" }
            (legend(&CALLS))
            (daily(&u.days, &CALLS, "calls", "Data API calls"))
            @let active: Vec<&AdminUsageDay> =
                u.days.iter().filter(|d| SERIES.iter().any(|(_, _, v)| v(d) > 0)).collect();
            @if active.is_empty() {
                p class="empty" { "No activity in the last 30 days." }
            } @else {
                (super::view::table(super::view::Named::Label("Usage per day"), &COLUMNS, html! {
                    @for d in active {
                        tr {
                            td data-label="Day" { time datetime=(d.day) { (d.day) } }
                            @for (label, _, value) in SERIES { td data-label=(label) { (value(d)) } }
                        }
                    }
                }))
            }
        }
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        ul class="legend" aria-hidden="true" {
            @for (label, class, _) in series {
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
            @for (i, (label, class, value)) in FUNNEL.iter().enumerate() {
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

/// Grouped bars per day, the series side by side; `id` names the chart, `first` what its
/// first series counts (for the summary).
fn daily(days: &[AdminUsageDay], series: &[Series], id: &str, first: &str) -> Markup {
    let max = days.iter().flat_map(|d| series.iter().map(move |(_, _, v)| v(d))).max().unwrap_or(0).max(1);
    let n = days.len().max(1) as f64;
    let group = (W - LEFT) / n;
    let bar = (group / (series.len() as f64 + 1.0)).max(1.0);
    let plot_h = H - TOP - BOTTOM;
    let total: u64 = days.iter().map(|d| series.first().map_or(0, |(_, _, v)| v(d))).sum();
    let summary = format!("{} days; at most {max} a day; {total} {first} in all (table below)", days.len());
    let desc = format!("{id}-desc");
    html! {
        svg class="chart" viewBox=(format!("0 0 {W} {H}")) role="img" aria-labelledby=(desc) {
            title id=(desc) { (summary) }
            line x1=(LEFT) y1=(TOP) x2=(W) y2=(TOP) class="grid" {}
            line x1=(LEFT) y1=(TOP + plot_h) x2=(W) y2=(TOP + plot_h) class="baseline" {}
            text x=(LEFT - 6.0) y=(TOP + 4.0) text-anchor="end" class="axis" { (max) }
            text x=(LEFT - 6.0) y=(TOP + plot_h + 4.0) text-anchor="end" class="axis" { "0" }
            @for (i, d) in days.iter().enumerate() {
                @for (k, (_, class, value)) in series.iter().enumerate() {
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
        AdminUsageDay { day: day.into(), link_tokens: l, completions: c, exchanges: e, data_api_calls: 0 }
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
    fn data_api_calls_get_a_chart_and_a_column_of_their_own() {
        let mut busy = day("2026-11-28", 0, 0, 0);
        busy.data_api_calls = 1200;
        let u = AdminUsage { days: vec![busy, day("2026-11-29", 2, 1, 1)], funnel: day("total", 2, 1, 1) };
        let html = view(&u).into_string();
        assert!(html.contains("Data API calls: <strong>1200</strong>"), "{html}");
        assert!(html.contains("<td data-label=\"Data API calls\">1200</td>"), "{html}");
        // A day with only Data API calls is active; the calls are drawn on their own scale.
        assert!(html.contains("<time datetime=\"2026-11-28\">"), "{html}");
        assert_eq!(html.matches("class=\"bar s4\"").count(), 1, "{html}");
        assert!(html.contains(">1200</text>") && html.contains(">2</text>"), "each chart its own maximum: {html}");
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
    }

    #[test]
    fn no_activity_draws_an_empty_chart() {
        let u = AdminUsage { days: vec![day("2026-11-29", 0, 0, 0)], funnel: day("total", 0, 0, 0) };
        let html = view(&u).into_string();
        assert!(html.contains("No activity in the last 30 days."));
        assert!(!html.contains("NaN") && !html.contains("inf"), "{html}");
    }
}
