//! Small inline-SVG charts for the report: horizontal bars (linear or log scale) and a
//! latency-to-funds timeline on a log time axis. No fonts beyond the system's, no scripts.

use std::fmt::Write;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const WIDTH: f64 = 760.0;
const LABEL: f64 = 190.0;
const VALUE: f64 = 110.0;
const ROW: f64 = 26.0;
const COLORS: [&str; 8] = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"];

/// The decades a log axis spans for values in `lo..=hi` (both positive).
fn decades(lo: f64, hi: f64) -> (i32, i32) {
    let a = lo.log10().floor() as i32;
    let b = (hi.log10().ceil() as i32).max(a + 1);
    (a, b)
}

fn tick_label(e: i32, unit: &str) -> String {
    let v = 10f64.powi(e);
    if (-2..=5).contains(&e) {
        let s = if e < 0 { format!("{v:.*}", (-e) as usize) } else { format!("{v:.0}") };
        format!("{s}{unit}")
    } else {
        format!("1e{e}{unit}")
    }
}

/// Horizontal bars, one per item, labelled with `fmt(value)`. Non-positive values on a log
/// scale are drawn as empty rows labelled with their value.
pub fn bars(title: &str, items: &[(String, f64)], log: bool, fmt: impl Fn(f64) -> String) -> String {
    let h = 40.0 + ROW * items.len() as f64 + 30.0;
    let plot = WIDTH - LABEL - VALUE;
    let positive: Vec<f64> = items.iter().map(|i| i.1).filter(|v| *v > 0.0).collect();
    let max = positive.iter().copied().fold(0.0, f64::max);
    let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
    let (lo, hi) = if log && !positive.is_empty() { decades(min, max) } else { (0, 0) };
    let x = |v: f64| -> f64 {
        if v <= 0.0 {
            return 0.0;
        }
        if log { plot * (v.log10() - lo as f64) / (hi - lo) as f64 } else { plot * v / max.max(1e-300) }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}" role="img" font-family="system-ui, sans-serif" style="background:#fff"><title>{t}</title><text x="0" y="18" font-weight="bold">{t}</text>"#,
        t = esc(title)
    );
    if log && !positive.is_empty() {
        for e in lo..=hi {
            let gx = LABEL + plot * (e - lo) as f64 / (hi - lo) as f64;
            let _ = write!(
                s,
                "<line x1=\"{gx:.1}\" y1=\"30\" x2=\"{gx:.1}\" y2=\"{y2:.1}\" stroke=\"#ddd\"/><text x=\"{gx:.1}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#666\">{l}</text>",
                y2 = h - 25.0,
                ty = h - 12.0,
                l = tick_label(e, "")
            );
        }
    }
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 34.0 + ROW * i as f64;
        let w = x(*v).max(if *v > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            "<text x=\"{lx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" font-size=\"12\">{l}</text><rect class=\"bar\" x=\"{LABEL}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bh:.1}\" fill=\"{c}\"><title>{l}: {val}</title></rect><text x=\"{vx:.1}\" y=\"{ty:.1}\" font-size=\"12\">{val}</text>",
            lx = LABEL - 8.0,
            ty = y + 14.0,
            l = esc(label),
            bh = ROW - 8.0,
            c = COLORS[i % COLORS.len()],
            vx = LABEL + w + 6.0,
            val = esc(&fmt(*v)),
        );
    }
    s.push_str("</svg>");
    s
}

/// One family's way to its money: (stage, seconds from sending) in order.
pub struct Track {
    pub label: String,
    pub stages: Vec<(&'static str, f64)>,
}

/// A timeline per family on a log time axis from 1 ms to 30 days.
pub fn timeline(title: &str, tracks: &[Track]) -> String {
    let h = 40.0 + ROW * 1.4 * tracks.len() as f64 + 50.0;
    let plot = WIDTH - LABEL - 20.0;
    let (lo, hi) = (-3.0f64, (30.0f64 * 86_400.0).log10());
    let x = |s: f64| LABEL + plot * ((s.max(1e-3).log10() - lo) / (hi - lo)).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}" role="img" font-family="system-ui, sans-serif" style="background:#fff"><title>{t}</title><text x="0" y="18" font-weight="bold">{t}</text>"#,
        t = esc(title)
    );
    for (secs, l) in
        [(1e-3, "1 ms"), (1.0, "1 s"), (60.0, "1 min"), (3600.0, "1 h"), (86_400.0, "1 d"), (604_800.0, "7 d")]
    {
        let gx = x(secs);
        let _ = write!(
            s,
            "<line x1=\"{gx:.1}\" y1=\"30\" x2=\"{gx:.1}\" y2=\"{y2:.1}\" stroke=\"#ddd\"/><text x=\"{gx:.1}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#666\">{l}</text>",
            y2 = h - 40.0,
            ty = h - 28.0
        );
    }
    let marks = ["soft", "on L1", "funds (here)", "funds (mainnet)"];
    for (i, t) in tracks.iter().enumerate() {
        let y = 44.0 + ROW * 1.4 * i as f64;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            LABEL - 8.0,
            y + 4.0,
            esc(&t.label)
        );
        if let (Some(first), Some(last)) = (t.stages.first(), t.stages.iter().map(|s| s.1).reduce(f64::max)) {
            let _ = write!(
                s,
                "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#999\" stroke-width=\"2\"/>",
                x(first.1),
                x(last)
            );
        }
        for (stage, secs) in &t.stages {
            let k = marks.iter().position(|m| m == stage).unwrap_or(0);
            let _ = write!(
                s,
                "<circle class=\"mark\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"{}\"><title>{}: {}</title></circle>",
                x(*secs),
                COLORS[k],
                esc(stage),
                esc(&super::human_s(*secs))
            );
        }
    }
    let ly = h - 10.0;
    for (k, m) in marks.iter().enumerate() {
        let lx = LABEL + 130.0 * k as f64;
        let _ = write!(
            s,
            "<circle cx=\"{lx:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{ly:.1}\" font-size=\"11\">{m}</text>",
            ly - 4.0,
            COLORS[k],
            lx + 9.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_escape() {
        let items = vec![("a<b".to_string(), 10.0), ("c".to_string(), 1000.0), ("zero".to_string(), 0.0)];
        let s = bars("T & U", &items, true, |v| format!("{v}"));
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("a&lt;b") && s.contains("T &amp; U"));
        assert_eq!(s.matches("<rect class=\"bar\"").count(), 3);
        // On a log axis over 10..1000, 10 sits at the left end and 1000 at the right.
        let plot = WIDTH - LABEL - VALUE;
        assert!(s.contains(&format!("width=\"{:.1}\"", plot)));
        assert!(s.contains(">1000<"));
        let lin = bars("t", &items, false, |v| format!("{v}"));
        assert!(lin.contains(&format!("width=\"{:.1}\"", plot / 100.0)));
    }

    #[test]
    fn timeline_marks_every_stage() {
        let t = vec![
            Track { label: "x".into(), stages: vec![("soft", 0.01), ("on L1", 3.0), ("funds (mainnet)", 604_800.0)] },
            Track { label: "y".into(), stages: vec![("soft", 0.002)] },
        ];
        let s = timeline("t", &t);
        assert_eq!(s.matches("class=\"mark\"").count(), 4);
        assert!(s.contains("7.0 d"));
    }
}
