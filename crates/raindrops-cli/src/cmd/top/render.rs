//! Drawing the live view: the listeners table, the workers table and the footer of keys.
//!
//! Pure: it reads a [`Top`] and draws a frame, so tests render into ratatui's `TestBackend`
//! and compare cells.

use std::collections::VecDeque;
use std::path::Path;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};

use super::format;
use super::model::{Column, Entry, Top};
use super::sampling::Workers;

/// Width of each number column.
const NUMBER: u16 = 8;
/// The narrowest the address column gets: its header.
const MIN_ADDRESS: u16 = 7;
/// The widest the address column grows.
const MAX_ADDRESS: u16 = 45;
/// Blank columns between cells.
const SPACING: u16 = 1;
/// The sparkline's levels, lowest first (zero is a blank).
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Draws the whole screen.
pub(super) fn draw(frame: &mut Frame<'_>, top: &Top) {
    let area = frame.area();
    let workers_height = top.workers.as_ref().map_or(0, |workers| {
        let wanted = match workers {
            // Borders, header, rows, sum.
            Ok(w) => w.rows.len() + 4,
            Err(_) => 4,
        };
        u16::try_from(wanted).unwrap_or(u16::MAX).min(area.height / 2)
    });
    let [listeners, workers, footer] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(workers_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_listeners(frame, listeners, top);
    if let Some(rows) = &top.workers {
        draw_workers(frame, workers, top.segment.as_deref(), rows);
    }
    frame.render_widget(footer_line(top), footer);
}

fn draw_listeners(frame: &mut Frame<'_>, area: Rect, top: &Top) {
    let shown = top.visible();
    let title = format!(
        " listeners ({} of {}) · every {} ",
        shown.len(),
        top.total(),
        format::millis(u64::try_from(top.delay.as_millis()).unwrap_or(u64::MAX))
    );
    let block = Block::bordered().title(title.bold());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let table_area = match &top.listen_error {
        Some(err) => {
            let error = error_text(err);
            let lines = u16::try_from(error.line_count(inner.width)).unwrap_or(u16::MAX);
            let lines = lines.min(inner.height / 2).max(1);
            let [above, rest] =
                Layout::vertical([Constraint::Length(lines), Constraint::Fill(1)]).areas(inner);
            frame.render_widget(error, above);
            rest
        }
        None => inner,
    };
    let longest = shown.iter().map(|e| e.label.chars().count()).max().unwrap_or(0);
    let address = u16::try_from(longest).unwrap_or(u16::MAX).clamp(MIN_ADDRESS, MAX_ADDRESS);
    let fixed = address + 3 * NUMBER + 4 * SPACING;
    let history = usize::from(table_area.width.saturating_sub(fixed));
    let mut header: Vec<Cell<'_>> = Column::ALL
        .iter()
        .map(|&column| {
            let mark = match (top.sort == column, top.descending) {
                (false, _) => "",
                (true, true) => "▼",
                (true, false) => "▲",
            };
            let name = format!("{}{mark}", column.name());
            let line = if column == Column::Address { Line::from(name) } else { right(name) };
            Cell::from(line)
        })
        .collect();
    header.push(Cell::from("queued history"));
    let rows = shown.iter().map(|entry| listener_row(entry, history));
    let widths = [
        Constraint::Length(address),
        Constraint::Length(NUMBER),
        Constraint::Length(NUMBER),
        Constraint::Length(NUMBER),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths).header(Row::new(header).bold()).column_spacing(SPACING);
    frame.render_widget(table, table_area);
}

fn listener_row(entry: &Entry, history: usize) -> Row<'static> {
    let [label, active, queued] = format::listener_cells(&entry.label, entry.stats);
    Row::new([
        Cell::from(label),
        Cell::from(right(active)),
        Cell::from(right(queued)),
        Cell::from(right(entry.peak.to_string())),
        Cell::from(sparkline(&entry.history, history)),
    ])
}

/// The last `width` values as block characters, scaled to their maximum; zero is a blank and
/// any other value at least the lowest block.
pub(super) fn sparkline(values: &VecDeque<u32>, width: usize) -> String {
    let recent = values.iter().skip(values.len().saturating_sub(width));
    let max = u64::from(recent.clone().copied().max().unwrap_or(0).max(1));
    recent
        .map(|&v| match u64::from(v) {
            0 => ' ',
            v => LEVELS[usize::try_from((v * 8).div_ceil(max) - 1).unwrap_or(7).min(7)],
        })
        .collect()
}

fn draw_workers(
    frame: &mut Frame<'_>,
    area: Rect,
    segment: Option<&Path>,
    workers: &Result<Workers, String>,
) {
    let name = segment.map_or_else(String::new, |p| p.display().to_string());
    let block = Block::bordered().title(format!(" workers · {name} ").bold());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let workers = match workers {
        Ok(workers) => workers,
        Err(err) => {
            frame.render_widget(error_text(err), inner);
            return;
        }
    };
    let header = format::worker_header(&workers.fields);
    let widths: Vec<Constraint> = header
        .iter()
        .enumerate()
        .map(|(i, name)| match i {
            0 => Constraint::Length(6),
            _ => Constraint::Length(u16::try_from(name.len()).unwrap_or(NUMBER).max(NUMBER)),
        })
        .collect();
    let row = |cells: Vec<String>| {
        Row::new(cells.into_iter().enumerate().map(|(i, cell)| match i {
            0 => Cell::from(cell),
            _ => Cell::from(right(cell)),
        }))
    };
    let rows = workers.rows.iter().map(|r| row(format::worker_cells(r)));
    let table = Table::new(rows, widths)
        .header(row(header).bold())
        .footer(row(format::total_cells(workers)).bold())
        .column_spacing(SPACING);
    frame.render_widget(table, inner);
}

fn footer_line(top: &Top) -> Line<'static> {
    let key = |k: &'static str| Span::from(k).reversed();
    let text = |t: String| Span::from(t);
    if top.editing {
        return Line::from(vec![
            text(format!(" filter: {}", top.filter)),
            Span::from(" ").reversed(),
            text("  ".into()),
            key("enter"),
            text(" keep  ".into()),
            key("esc"),
            text(" clear".into()),
        ]);
    }
    let mut spans = vec![
        text(" ".into()),
        key("q"),
        text(" quit  ".into()),
        key("1"),
        text(" address ".into()),
        key("2"),
        text(" active ".into()),
        key("3"),
        text(" queued ".into()),
        key("4"),
        text(" peak: sort  ".into()),
        key("/"),
        text(" filter".into()),
    ];
    if !top.filter.is_empty() {
        spans.push(text(format!(" {:?}  ", top.filter)));
        spans.push(key("esc"));
        spans.push(text(" clear".into()));
    }
    Line::from(spans)
}

fn right(text: String) -> Line<'static> {
    Line::from(text).right_aligned()
}

fn error_text(err: &str) -> Paragraph<'static> {
    Paragraph::new(Text::from(err.to_owned())).style(Style::new().red()).wrap(Wrap { trim: true })
}
