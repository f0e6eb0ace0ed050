//! Bar charts as inline SVG, drawn on the server: no script, no image
//! request, readable by a screen reader (the chart is an image named by
//! its title and described by its figures, and each bar says its own).

use std::fmt::Write;

// Text in SVG is XML: the five characters HTML escapes are the ones.
use ferry_core::chat::email::escape_html as escape;

/// One bar: its label under it, its value (`None`: no figure for that
/// period, drawn as a gap) and the value as people read it.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Under the bar (`Nov 30`).
    pub label: String,
    /// Its height, in the chart's unit.
    pub value: Option<f64>,
    /// The value for people (`3.5 h`, `20 %`, `no deployments`).
    pub shown: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 28.0;
const LEFT: f64 = 8.0;

/// An SVG bar chart of `bars` with the accessible name `title`; `id`
/// makes its parts' ids unique in the page.
pub fn bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let id = escape(id);
    let max = bars
        .iter()
        .filter_map(|bar| bar.value)
        .filter(|value| value.is_finite())
        .fold(0.0_f64, f64::max);
    let plot = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let width = (slot * 0.7).max(1.0);
    let described = bars
        .iter()
        .map(|bar| format!("{}: {}", bar.label, bar.shown))
        .collect::<Vec<_>>()
        .join("; ");
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(&described),
    );
    let baseline = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{baseline}" x2="{WIDTH}" y2="{baseline}"/>"#
    );
    for (index, bar) in bars.iter().enumerate() {
        let x = LEFT + slot * index as f64 + (slot - width) / 2.0;
        let centre = x + width / 2.0;
        let value = bar.value.filter(|value| value.is_finite() && *value > 0.0);
        let height = match value {
            Some(value) if max > 0.0 => (value / max * plot).max(1.0),
            _ => 0.0,
        };
        let y = baseline - height;
        let class = if bar.value.is_none() {
            "bar none"
        } else {
            "bar"
        };
        // Every bar has a hit area the full height, for its tooltip.
        let _ = write!(
            svg,
            r#"<g class="{class}"><title>{}: {}</title><rect class="hit" x="{x:.1}" y="{TOP}" width="{width:.1}" height="{plot:.1}"/><rect class="fill" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}"/>"#,
            escape(&bar.label),
            escape(&bar.shown),
        );
        if bar.value.is_some() && height > 0.0 {
            let _ = write!(
                svg,
                r#"<text class="value" x="{centre:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                (y - 3.0).max(TOP - 2.0),
                escape(&bar.shown),
            );
        }
        let _ = write!(
            svg,
            r#"<text class="label" x="{centre:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
            HEIGHT - 10.0,
            escape(&bar.label),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: Option<f64>) -> Bar {
        Bar {
            label: label.into(),
            value,
            shown: value.map_or("none".into(), |v| format!("{v}")),
        }
    }

    #[test]
    fn the_tallest_bar_fills_the_plot_and_the_others_scale() {
        let svg = bars(
            "c",
            "Deployments",
            &[bar("a", Some(2.0)), bar("b", Some(4.0)), bar("c", None)],
        );
        assert!(svg.starts_with("<svg class=\"chart\""), "{svg}");
        assert!(
            svg.contains(r#"height="156.0"/>"#),
            "the tallest is the plot's height: {svg}"
        );
        assert!(svg.contains(r#"height="78.0"/>"#), "half as tall: {svg}");
        assert!(
            svg.contains("<desc id=\"c-desc\">a: 2; b: 4; c: none</desc>"),
            "{svg}"
        );
        assert!(svg.contains(r#"class="bar none""#));
    }

    #[test]
    fn text_cannot_break_out_of_the_svg() {
        let svg = bars("x\"y", "<script>", &[bar("</svg>&", Some(1.0))]);
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("</svg>&"));
        assert!(svg.contains("&lt;/svg&gt;&amp;"));
        assert!(svg.contains("id=\"x&quot;y\""));
    }

    #[test]
    fn a_chart_without_figures_draws_no_bars() {
        let svg = bars("e", "Empty", &[bar("a", None), bar("b", Some(0.0))]);
        assert!(!svg.contains("class=\"value\""));
        assert_eq!(svg.matches(r#"height="0.0"/>"#).count(), 2);
    }
}
