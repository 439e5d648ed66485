//! The status page: plain HTML from a [`Snapshot`], no script framework (a
//! meta refresh every 5 s), two inline SVG sparklines. Every string that a
//! user or the operator chose (room names, topics, the server name) goes
//! through [`escape`].

use std::fmt::Write;

use super::snapshot::Snapshot;

/// Seconds between the page's own reloads.
const REFRESH_SECONDS: u32 = 5;

/// Text made safe for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// An SVG polyline of `values` (one per second, oldest first), scaled to
/// its own maximum.
pub(crate) fn sparkline(values: &[u64], label: &str) -> String {
    const WIDTH: usize = 240;
    const HEIGHT: u64 = 40;
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let step = WIDTH as f64 / 59.0;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = i as f64 * step;
            let y = HEIGHT as f64 - (*v as f64 / max as f64) * (HEIGHT as f64 - 2.0) - 1.0;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    format!(
        "<svg class=\"spark\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\">\
         <polyline fill=\"none\" stroke=\"#2a7\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        escape(label),
        points.join(" ")
    )
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

fn duration(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min {} s", seconds % 60),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}\
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}table{border-collapse:collapse;margin:.5em 0}\
td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}td.n{text-align:right}\
.bad{color:#b00;font-weight:bold}.ok{color:#070}.spark{vertical-align:middle;background:#f6f6f6}\
code{font-size:.95em}";

/// The whole page.
pub(crate) fn render(snapshot: &Snapshot) -> String {
    let mut page = String::with_capacity(4096);
    let server = &snapshot.server;
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>{name} — huddle</title><style>{STYLE}</style></head><body>\
         <h1>{name}</h1><p class=\"sub\">huddle-server {version} · protocol {protocol} · up {uptime}</p>",
        name = escape(&server.name),
        version = escape(server.version),
        protocol = server.protocol_version,
        uptime = duration(server.uptime_seconds),
    );
    let health = match &snapshot.health.reason {
        None => "<span class=\"ok\">healthy</span>".to_owned(),
        Some(reason) => format!("<span class=\"bad\">unhealthy: {}</span>", escape(reason)),
    };
    let _ = write!(
        page,
        "<p>{health}. Fingerprint <code>{short}</code> (<code>{full}</code>){tls}.</p>",
        short = escape(&server.fingerprint_short),
        full = escape(&server.fingerprint),
        tls = if server.tls_required {
            ""
        } else {
            " · <span class=\"bad\">plain-text clients allowed</span>"
        },
    );
    overview(&mut page, snapshot);
    rooms(&mut page, snapshot);
    page.push_str(
        "<p class=\"sub\">Also: <a href=\"/status.json\">/status.json</a> · \
         <a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a></p></body></html>",
    );
    page
}

fn overview(page: &mut String, snapshot: &Snapshot) {
    let minute = &snapshot.last_minute;
    let now = |values: &[u64]| values.last().copied().unwrap_or(0);
    let rows = [
        (
            "Clients".to_owned(),
            format!(
                "{} connected (peak {}, at most {})",
                snapshot.clients.connected, snapshot.clients.peak, snapshot.clients.max
            ),
        ),
        (
            "Messages/s".to_owned(),
            format!(
                "{} {}",
                now(&minute.messages_per_second),
                sparkline(
                    &minute.messages_per_second,
                    "messages per second, last minute"
                )
            ),
        ),
        (
            "Deliveries/s".to_owned(),
            format!(
                "{} {}",
                now(&minute.deliveries_per_second),
                sparkline(
                    &minute.deliveries_per_second,
                    "deliveries per second, last minute"
                )
            ),
        ),
        (
            "History".to_owned(),
            match snapshot.store.file_bytes {
                Some(size) => format!("{} on disk", bytes(size)),
                None => "in memory only (ephemeral)".to_owned(),
            },
        ),
        (
            "File transfers".to_owned(),
            format!("{} in flight", snapshot.transfers_in_flight),
        ),
        (
            "Discovery".to_owned(),
            match &snapshot.discovery {
                Some(d) => format!("{} probes answered, {} ignored", d.answered, ignored(d)),
                None => "off".to_owned(),
            },
        ),
        (
            "Traffic".to_owned(),
            format!(
                "messages {}, deliveries {}; {} in, {} out",
                snapshot.traffic.room_messages + snapshot.traffic.direct_messages,
                snapshot.traffic.deliveries,
                bytes(snapshot.traffic.bytes_in),
                bytes(snapshot.traffic.bytes_out)
            ),
        ),
    ];
    page.push_str("<table>");
    for (name, value) in rows {
        // `value` is built from numbers and fixed text only.
        let _ = write!(page, "<tr><th>{name}</th><td>{value}</td></tr>");
    }
    page.push_str("</table>");
}

fn ignored(d: &crate::DiscoveryCounts) -> u64 {
    d.rate_limited + d.too_short + d.incompatible + d.foreign + d.malformed
}

fn rooms(page: &mut String, snapshot: &Snapshot) {
    let _ = write!(page, "<h2>Rooms ({})</h2>", snapshot.rooms.len());
    if snapshot.rooms.is_empty() {
        page.push_str("<p>No room has members.</p>");
        return;
    }
    page.push_str("<table id=\"rooms\"><tr><th>Room</th><th>Members</th><th>Topic</th></tr>");
    for room in &snapshot.rooms {
        let topic = match room.protected {
            true => "<em>protected by a password</em>".to_owned(),
            false => escape(&room.topic),
        };
        let _ = write!(
            page,
            "<tr><td class=\"room\">{}</td><td class=\"n\">{}</td><td>{topic}</td></tr>",
            escape(&room.name),
            room.members
        );
    }
    page.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_user_text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn a_sparkline_scales_to_its_maximum_and_is_never_empty_markup() {
        let svg = sparkline(&[0, 5, 10], "rate <x>");
        assert!(
            svg.contains("points=\"0.0,39.0 4.1,20.0 8.1,1.0\""),
            "{svg}"
        );
        assert!(svg.contains("aria-label=\"rate &lt;x&gt;\""));
        assert!(sparkline(&[], "empty").contains("points=\"\""));
    }

    #[test]
    fn sizes_and_durations_read_as_people_say_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(duration(75), "1 min 15 s");
        assert_eq!(duration(2 * 3600 + 120), "2 h 2 min");
        assert_eq!(duration(3 * 86_400 + 3600), "3 d 1 h");
    }
}
