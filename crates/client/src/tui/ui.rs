//! Rendering: a pure function of [`App`]. Every string from the network is
//! sanitised on its way to the screen (see `text.rs` and `sanitize.rs`);
//! URLs in messages become hyperlinks after layout (`links.rs`).

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Position, Rect},
    style::{Color, Modifier, Style},
    text::{Line as Row, Span},
    widgets::{Block, Borders, Clear, Paragraph, Wrap},
};

use super::{
    app::{App, ConnState, Screen},
    buffer::{Buffer, BufferKind},
    links::{RowLink, link_cells},
    text::{nick_color, rows_and_links},
};
use crate::{
    command::{COMMANDS, KEYS},
    sanitize::sanitize,
};

mod browser;

use browser::draw_browser;

/// Below this width the side panels are hidden.
const NARROW: u16 = 60;

pub fn draw(frame: &mut Frame, app: &App) {
    match app.screen {
        Screen::Browser => draw_browser(frame, app),
        Screen::Chat => draw_chat(frame, app),
    }
    if app.help {
        draw_help(frame, app.help_scroll);
    }
}

fn draw_chat(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let [body, input_area, status_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let narrow = area.width < NARROW;
    let messages_area = if narrow {
        body
    } else {
        let members_width = if app.hide_members { 0 } else { 16 };
        let [buffers_area, messages_area, members_area] = Layout::horizontal([
            Constraint::Length(18),
            Constraint::Min(10),
            Constraint::Length(members_width),
        ])
        .areas(body);
        draw_buffer_list(frame, app, buffers_area);
        if !app.hide_members {
            draw_members(frame, app, members_area);
        }
        messages_area
    };
    draw_messages(frame, app, messages_area, narrow);
    draw_input(frame, app, input_area);
    draw_status(frame, app, status_area);
}

fn draw_buffer_list(frame: &mut Frame, app: &App, area: Rect) {
    let lines: Vec<Row> = app
        .buffers
        .iter()
        .enumerate()
        .map(|(i, buffer)| {
            let mut style = Style::default();
            if i == app.current {
                style = style.add_modifier(Modifier::REVERSED);
            } else if buffer.mention {
                style = style.fg(Color::Yellow).add_modifier(Modifier::BOLD);
            } else if buffer.unread > 0 {
                style = style.add_modifier(Modifier::BOLD);
            }
            let mut spans = vec![Span::styled(
                format!("{} {}", i + 1, sanitize(&buffer.title())),
                style,
            )];
            if buffer.unread > 0 && i != app.current {
                spans.push(Span::styled(
                    format!(" {}", buffer.unread),
                    Style::default().fg(Color::Cyan),
                ));
            }
            if buffer.mention && i != app.current {
                spans.push(Span::styled(
                    " !",
                    Style::default()
                        .fg(Color::Yellow)
                        .add_modifier(Modifier::BOLD),
                ));
            }
            Row::from(spans)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::RIGHT)),
        area,
    );
}

fn draw_members(frame: &mut Frame, app: &App, area: Rect) {
    let buffer = app.current_buffer();
    // A conversation has two people, not a member list.
    let (title, members) = match &buffer.kind {
        BufferKind::Direct(peer) => ("direct".to_owned(), vec![peer.clone()]),
        _ => (
            format!("{} member(s)", buffer.members.len()),
            buffer.members.clone(),
        ),
    };
    let mut lines = vec![Row::styled(
        title,
        Style::default().add_modifier(Modifier::DIM),
    )];
    lines.extend(members.iter().map(|nick| {
        let name = sanitize(nick.as_str());
        let style = Style::default().fg(nick_color(&name));
        match app.away_nicks.contains(nick) {
            true => Row::styled(name, style.add_modifier(Modifier::DIM)),
            false => Row::styled(name, style),
        }
    }));
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::LEFT)),
        area,
    );
}

fn draw_messages(frame: &mut Frame, app: &App, area: Rect, narrow: bool) {
    let buffer = app.current_buffer();
    let header = match &buffer.kind {
        BufferKind::Room(room) if buffer.topic.is_empty() => room.to_string(),
        BufferKind::Room(room) => format!("{room} — {}", sanitize(&buffer.topic)),
        BufferKind::Direct(nick) => format!("direct conversation with {}", sanitize(nick.as_str())),
        BufferKind::Status => format!("status — {}", sanitize(&app.server_name)),
    };
    let header = if narrow {
        format!("[{}/{}] {header}", app.current + 1, app.buffers.len())
    } else {
        header
    };
    let [header_area, list_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(header)
            .style(Style::default().add_modifier(Modifier::BOLD))
            .wrap(Wrap { trim: true }),
        header_area,
    );
    let width = list_area.width.max(1) as usize;
    let height = list_area.height as usize;
    let visible_end = buffer.lines.len().saturating_sub(buffer.scroll);
    // Newest first while gathering: each row with the URLs on it.
    let mut rendered: Vec<(Row, Vec<RowLink>)> = Vec::new();
    // The read marker goes above the first line after it, if any is.
    let mut marker = buffer.read_marker;
    let mut newer_shown = false;
    for (index, line) in buffer.lines[..visible_end].iter().enumerate().rev() {
        if let Some(read) = marker
            && !Buffer::after_marker(line, read)
        {
            if newer_shown {
                let rule = Row::styled("─".repeat(width), Style::default().fg(Color::LightRed));
                rendered.push((rule, Vec::new()));
            }
            marker = None;
        }
        newer_shown |= marker.is_some();
        let (mut line_rows, links) = rows_and_links(line, width);
        // Ctrl+R: the match reversed, other lines that match underlined.
        if let Some(find) = app.find.as_ref().filter(|find| find.matches(line)) {
            let modifier = match find.matched == Some(index) {
                true => Modifier::REVERSED,
                false => Modifier::UNDERLINED,
            };
            for row in &mut line_rows {
                row.style = row.style.add_modifier(modifier);
            }
        }
        rendered.extend(line_rows.into_iter().zip(links).rev());
        if rendered.len() >= height {
            break;
        }
    }
    rendered.truncate(height);
    rendered.reverse();
    if buffer.new_below && height > 0 {
        if rendered.len() == height {
            rendered.remove(0);
        }
        let below = Row::styled(
            "── new messages below (PgDn) ──",
            Style::default().fg(Color::Black).bg(Color::Cyan),
        );
        rendered.push((below, Vec::new()));
    }
    // Bottom-align: the newest line sits just above the input.
    let top_padding = height.saturating_sub(rendered.len());
    let (rendered, links): (Vec<Row>, Vec<Vec<RowLink>>) = rendered.into_iter().unzip();
    let mut padded = vec![Row::default(); top_padding];
    padded.extend(rendered);
    frame.render_widget(Paragraph::new(padded), list_area);
    for (n, row_links) in links.iter().enumerate() {
        let y = list_area.y + (top_padding + n) as u16;
        for link in row_links {
            link_cells(frame.buffer_mut(), list_area.x, y, link);
        }
    }
}

fn draw_input(frame: &mut Frame, app: &App, area: Rect) {
    let (prompt, input) = match &app.find {
        Some(find) => ("(search, Esc back) ".to_owned(), &find.query),
        None => (
            format!("[{}] ", sanitize(&app.current_buffer().title())),
            &app.input,
        ),
    };
    let prompt_width = unicode_width::UnicodeWidthStr::width(prompt.as_str()) as u16;
    let prompt_width = prompt_width.min(area.width / 2);
    let [prompt_area, text_area] =
        Layout::horizontal([Constraint::Length(prompt_width), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(prompt).style(Style::default().fg(Color::Cyan)),
        prompt_area,
    );
    let width = text_area.width.max(1) as usize;
    let scroll = input.visual_scroll(width);
    frame.render_widget(
        Paragraph::new(input.value()).scroll((0, scroll as u16)),
        text_area,
    );
    if !app.help {
        let cursor = input.visual_cursor().saturating_sub(scroll) as u16;
        frame.set_cursor_position(Position::new(text_area.x + cursor, text_area.y));
    }
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let (state, color) = match &app.conn {
        ConnState::Offline => ("offline".to_owned(), Color::Gray),
        ConnState::Connecting => ("connecting…".to_owned(), Color::Yellow),
        ConnState::Connected => ("connected".to_owned(), Color::Green),
        ConnState::Reconnecting { retry_in } => (
            format!("reconnecting ({:.0} s)", retry_in.as_secs_f64().ceil()),
            Color::Yellow,
        ),
        ConnState::Failed(_) => ("disconnected".to_owned(), Color::Red),
    };
    let latency = app.latency.map_or_else(String::new, |l| {
        format!(" │ {:.1} ms", l.as_secs_f64() * 1000.0)
    });
    let server = if app.server_name.is_empty() {
        app.server_addr.clone()
    } else {
        app.server_name.clone()
    };
    let bar = Row::from(vec![
        Span::raw(format!(
            " {} │ {} │ ",
            sanitize(&server),
            sanitize(&app.nick)
        )),
        Span::styled(
            state,
            Style::default().fg(color).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("{latency} │ F1 help")),
    ]);
    let bar = match app.server_identity {
        Some(identity) if identity.fingerprint.is_none() => {
            let mut spans = bar.spans;
            spans.insert(
                0,
                Span::styled(
                    " INSECURE ",
                    Style::default()
                        .fg(Color::White)
                        .bg(Color::Red)
                        .add_modifier(Modifier::BOLD),
                ),
            );
            Row::from(spans)
        }
        _ => bar,
    };
    frame.render_widget(
        Paragraph::new(bar).style(Style::default().bg(Color::DarkGray)),
        area,
    );
}

fn draw_help(frame: &mut Frame, scroll: u16) {
    let area = frame.area();
    let mut lines = vec![Row::styled(
        "Commands",
        Style::default().add_modifier(Modifier::BOLD),
    )];
    lines.extend(
        COMMANDS
            .iter()
            .map(|(name, args, what)| Row::from(format!("{name} {args} — {what}"))),
    );
    lines.push(Row::default());
    lines.push(Row::styled(
        "Keys",
        Style::default().add_modifier(Modifier::BOLD),
    ));
    lines.extend(
        KEYS.iter()
            .map(|(key, what)| Row::from(format!("{key} — {what}"))),
    );
    let width = area.width.saturating_sub(4).min(96);
    let height = area.height.saturating_sub(2).min(lines.len() as u16 + 2);
    // Scrolled no further than the last page (wrapped lines counted
    // roughly: the last line then still shows).
    let overflow = (lines.len() as u16 + 2).saturating_sub(height);
    let scroll = scroll.min(overflow + 4);
    let title = match overflow > 0 {
        true => " help — PgDn/PgUp scroll, Esc closes ",
        false => " help — Esc closes ",
    };
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        popup,
    );
}
