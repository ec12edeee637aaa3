//! The balance over time as an SVG drawn on the server: a step line (the
//! balance holds until the next entry), with the time axis labelled at a few
//! distinct dates (or times of day, when every entry falls on one day) and
//! the highest balance labelled. No script, and readable by screen readers
//! through its title and description.

use super::layout::day;
use crate::app::BalancePoint;
use maud::{Markup, html};
use projections::db::parse_time;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

pub fn balance_chart(entries: &[BalancePoint]) -> Markup {
    let points: Vec<(i64, i64)> = entries
        .iter()
        .filter_map(|e| parse_time(&e.at).map(|t| (t.timestamp_millis(), e.balance)))
        .collect();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return html! { p.muted { "No entries to chart." } };
    };
    let max_balance = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let min_balance = points.iter().map(|p| p.1).min().unwrap_or(0).min(0);
    let span_t = (last.0 - first.0).max(1) as f64;
    let span_b = (max_balance - min_balance).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: i64| LEFT + (t - first.0) as f64 / span_t * plot_w;
    let y = |b: i64| TOP + (1.0 - (b - min_balance) as f64 / span_b) * plot_h;
    let mut path = String::with_capacity(points.len() * 24);
    for (i, (t, b)) in points.iter().enumerate() {
        if i == 0 {
            path.push_str(&format!("M{:.1},{:.1}", x(*t), y(*b)));
        } else {
            path.push_str(&format!("H{:.1}V{:.1}", x(*t), y(*b)));
        }
    }
    if points.len() == 1 {
        path.push_str(&format!("H{:.1}", LEFT + plot_w));
    }
    let first_day = entries.first().map(|e| day(&e.at)).unwrap_or("");
    let last_day = entries.last().map(|e| day(&e.at)).unwrap_or("");
    let ticks = axis_ticks(first.0, last.0, first_day == last_day);
    let summary = format!(
        "Balance from {first_day} to {last_day}: {} entries, highest {max_balance} credits, now {} credits.",
        points.len(),
        last.1
    );
    html! {
        svg.balance viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMidYMid meet" {
            title #chart-title { "Credit balance over time" }
            desc #chart-desc { (summary) }
            line x1=(LEFT) y1=(TOP + plot_h) x2=(LEFT + plot_w) y2=(TOP + plot_h) stroke="#6b7280" stroke-width="1" {}
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(TOP + plot_h) stroke="#6b7280" stroke-width="1" {}
            line x1=(LEFT) y1=(y(max_balance)) x2=(LEFT + plot_w) y2=(y(max_balance)) stroke="#d1d5db" stroke-dasharray="4 4" {}
            text x=(LEFT - 6.0) y=(y(max_balance) + 4.0) text-anchor="end" font-size="12" fill="#374151" { (max_balance) }
            text x=(LEFT - 6.0) y=(y(min_balance) + 4.0) text-anchor="end" font-size="12" fill="#374151" { (min_balance) }
            @for (i, (t, label)) in ticks.iter().enumerate() {
                @let anchor = if i == 0 { "start" } else if i + 1 == ticks.len() && *t == last.0 { "end" } else { "middle" };
                line x1=(x(*t)) y1=(TOP + plot_h) x2=(x(*t)) y2=(TOP + plot_h + 4.0) stroke="#6b7280" stroke-width="1" {}
                text x=(x(*t)) y=(HEIGHT - 8.0) text-anchor=(anchor) font-size="12" fill="#374151" { (label) }
            }
            path d=(path) fill="none" stroke="#c2410c" stroke-width="2" {}
        }
    }
}

/// Where the time axis is labelled (milliseconds) and with what: up to five
/// evenly spaced points from the first entry to the last, each a date, or a
/// time of day (UTC) when every entry falls on one day; a label equal to the
/// one before it is left out, so the axis never repeats a date.
fn axis_ticks(first: i64, last: i64, one_day: bool) -> Vec<(i64, String)> {
    const INTERVALS: i64 = 4;
    let mut ticks: Vec<(i64, String)> = Vec::new();
    let steps = if last > first { INTERVALS } else { 0 };
    for i in 0..=steps {
        let t = first + (last - first) * i / INTERVALS.max(1);
        let Some(at) = chrono::DateTime::from_timestamp_millis(t) else {
            continue;
        };
        let label = if one_day {
            at.format("%H:%M").to_string()
        } else {
            at.format("%Y-%m-%d").to_string()
        };
        if ticks.last().is_none_or(|(_, l)| *l != label) {
            ticks.push((t, label));
        }
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::axis_ticks;

    #[test]
    fn the_axis_never_repeats_a_label() {
        let day = 86_400_000;
        let labels = |t: Vec<(i64, String)>| t.into_iter().map(|(_, l)| l).collect::<Vec<_>>();
        // Two days apart: no date twice.
        assert_eq!(
            labels(axis_ticks(0, 2 * day, false)),
            ["1970-01-01", "1970-01-02", "1970-01-03"]
        );
        // One day: times.
        assert_eq!(
            labels(axis_ticks(9 * 3_600_000, 17 * 3_600_000, true)),
            ["09:00", "11:00", "13:00", "15:00", "17:00"]
        );
        // One entry: one label.
        assert_eq!(labels(axis_ticks(0, 0, true)), ["00:00"]);
    }
}
