//! The server browser's screen: the servers found (with their trust), the
//! keys, the status line, and a prompt drawn over it when one is open.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Position, Rect},
    style::{Color, Modifier, Style},
    text::{Line as Row, Span},
    widgets::{Block, Clear, Paragraph, Row as TableRow, Table},
};

use super::super::app::{App, PromptKind};
use crate::sanitize::sanitize;

pub(super) fn draw_browser(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let [title, list, keys, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    frame.render_widget(
        Paragraph::new(Row::from(vec![
            Span::styled(" huddle", bold.fg(Color::Cyan)),
            Span::raw(" — servers on your network   "),
            Span::styled(
                format!("nick: {}", sanitize(&app.nick)),
                Style::default().add_modifier(Modifier::DIM),
            ),
        ])),
        title,
    );
    let mut table_rows: Vec<TableRow> = app
        .browser
        .servers
        .iter()
        .map(|server| {
            let rooms: Vec<String> = server
                .rooms
                .iter()
                .map(|r| format!("{} ({})", r.name, r.members))
                .collect();
            let rtt = server
                .rtt_ms
                .map_or_else(|| "-".into(), |ms| format!("{ms:.1} ms"));
            let changed = server.trust.as_deref().filter(|t| t.starts_with("CHANGED"));
            let new_mark = match (server.trust.as_deref(), server.fingerprint) {
                (Some("new"), Some(fingerprint)) => {
                    format!("new server, fingerprint {} · ", fingerprint.short())
                }
                _ => String::new(),
            };
            let new_mark = match server.nodes.len() {
                0 | 1 => new_mark,
                nodes => format!("cluster of {nodes} nodes · {new_mark}"),
            };
            let mut row = TableRow::new(vec![
                sanitize(&server.name),
                server.addr.to_string(),
                server.users.to_string(),
                rtt,
                match (&server.incompatible, &server.conflict, changed) {
                    (Some(why), ..) => why.clone(),
                    (None, Some(conflict), _) => format!("! SUSPECT: {conflict}"),
                    (None, None, Some(changed)) => format!("! fingerprint {changed}"),
                    (None, None, None) => new_mark + &sanitize(&rooms.join(", ")),
                },
            ]);
            if server.incompatible.is_some() {
                row = row.style(Style::default().add_modifier(Modifier::DIM));
            } else if server.conflict.is_some() || changed.is_some() {
                row = row.style(Style::default().fg(Color::Red));
            }
            row
        })
        .collect();
    let host_label = if app.browser.servers.is_empty() {
        // Short enough for the last column of a 100-column terminal.
        "none found: Enter hosts one here"
    } else {
        "start a server here"
    };
    table_rows.push(
        TableRow::new(vec!["+ host here", "", "", "", host_label])
            .style(Style::default().fg(Color::Green)),
    );
    let selected = app.browser.selected.min(table_rows.len() - 1);
    let table_rows: Vec<TableRow> = table_rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            if i == selected {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        })
        .collect();
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(18),
            Constraint::Length(22),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Min(10),
        ],
    )
    .header(TableRow::new(vec!["Name", "Address", "Users", "RTT", "Rooms"]).style(bold))
    .block(Block::bordered().title(" servers "));
    frame.render_widget(table, list);
    // The selected server's status page, when its beacons tell one.
    let status_page = app
        .browser
        .servers
        .get(selected)
        .and_then(|server| server.status_url.as_deref())
        .map(|url| format!(" · status page {}", sanitize(url)))
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(format!(
            " ↑↓ select · Enter connect · c connect to address · h host · n nick · q quit{status_page}"
        ))
        .style(Style::default().add_modifier(Modifier::DIM)),
        keys,
    );
    if let Some(last) = app.last_status() {
        frame.render_widget(Paragraph::new(format!(" {}", sanitize(last))), status);
    }
    if let Some((kind, input)) = &app.browser.prompt {
        let title = match kind {
            PromptKind::Nick => " Your nick (Enter to confirm) ",
            PromptKind::Address => " Connect to host[:port] (Esc cancels) ",
            PromptKind::Trust => " Fingerprint CHANGED: type yes to accept (Esc cancels) ",
        };
        let width = area.width.saturating_sub(4).min(50);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + area.height / 2 - 1,
            width,
            3,
        );
        frame.render_widget(Clear, popup);
        let inner_width = width.saturating_sub(2) as usize;
        let scroll = input.visual_scroll(inner_width);
        frame.render_widget(
            Paragraph::new(input.value())
                .scroll((0, scroll as u16))
                .block(Block::bordered().title(title)),
            popup,
        );
        let cursor = (input.visual_cursor().saturating_sub(scroll)) as u16;
        frame.set_cursor_position(Position::new(popup.x + 1 + cursor, popup.y + 1));
    }
}
