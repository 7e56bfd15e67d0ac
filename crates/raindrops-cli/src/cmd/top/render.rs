//! Drawing the live view: the listeners table, the segment's workers table, the master's
//! workers table and the footer of keys.
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
use super::master::{MasterWorkers, Recycle, WorkerColumn};
use super::model::{Column, Top};
use super::sampling::Workers;

/// The widest the address column grows.
const MAX_ADDRESS: u16 = 45;
/// Blank columns between cells.
const SPACING: u16 = 1;
/// The sparkline's levels, lowest first (zero is a blank).
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Draws the whole screen.
pub(super) fn draw(frame: &mut Frame<'_>, top: &Top) {
    let area = frame.area();
    // Two borders around a header, the rows and the sum, or around the error.
    let height = |rows: Result<usize, &String>| {
        let wanted = match rows {
            Ok(rows) => rows + 4,
            Err(err) => error_text(err).line_count(area.width.saturating_sub(2)) + 2,
        };
        u16::try_from(wanted).unwrap_or(u16::MAX)
    };
    let workers_height = top
        .workers
        .as_ref()
        .map_or(0, |workers| height(workers.as_ref().map(|w| w.rows.len())).min(area.height / 2));
    let master_height = top.master.as_ref().map_or(0, |master| {
        let failed = match master {
            Ok(MasterWorkers { recycle: Recycle::Failed(err), .. }) => height(Err(err)) - 2,
            _ => 0,
        };
        let rows = height(master.as_ref().map(|m| m.rows.len())) + failed;
        rows.min((area.height / 2).saturating_sub(workers_height / 2))
    });
    let [listeners, workers, master, footer] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(workers_height),
        Constraint::Length(master_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_listeners(frame, listeners, top);
    if let Some(rows) = &top.workers {
        draw_workers(frame, workers, top.segment.as_deref(), rows);
    }
    if let Some(workers) = &top.master {
        draw_master(frame, master, workers, top.worker_sort);
    }
    frame.render_widget(footer_line(top), footer);
}

/// Shows `err` at the top of `inner` (at most half of it): the area left below.
fn above(frame: &mut Frame<'_>, inner: Rect, err: &str) -> Rect {
    let error = error_text(err);
    let lines = u16::try_from(error.line_count(inner.width)).unwrap_or(u16::MAX);
    let lines = lines.min(inner.height / 2).max(1);
    let [above, rest] =
        Layout::vertical([Constraint::Length(lines), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(error, above);
    rest
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
        Some(err) => above(frame, inner, err),
        None => inner,
    };
    let mut columns = Column::ALL.to_vec();
    let names: Vec<String> = columns.iter().map(|c| c.name().to_owned()).collect();
    let mut cells: Vec<Vec<String>> = shown
        .iter()
        .map(|entry| {
            let mut cells = format::listener_cells(&entry.label, entry.stats).to_vec();
            cells.push(entry.peak.to_string());
            cells.push(format::oldest(entry.oldest_ms));
            cells
        })
        .collect();
    let mut widths = fitted(&names, &cells);
    widths[0] = widths[0].min(MAX_ADDRESS);
    let mut used = widths.iter().fold(0u16, |sum, w| sum.saturating_add(*w + SPACING));
    if used >= table_area.width {
        // Too narrow: the wait column (the last) goes before the address is cut.
        cells.iter_mut().for_each(|row| drop(row.pop()));
        columns.pop();
        used -= widths.pop().unwrap_or(0) + SPACING;
    }
    let history = usize::from(table_area.width.saturating_sub(used));
    let mut header = text_cells(columns.iter().map(|&column| {
        let mark = match (top.sort == column, top.descending) {
            (false, _) => "",
            (true, true) => "▼",
            (true, false) => "▲",
        };
        format!("{}{mark}", column.name())
    }));
    header.push(Cell::from("queued history"));
    let rows = cells.into_iter().zip(&shown).map(|(cells, entry)| {
        let mut cells = text_cells(cells);
        cells.push(Cell::from(sparkline(&entry.history, history)));
        Row::new(cells)
    });
    let widths = widths.into_iter().map(Constraint::Length).chain([Constraint::Fill(1)]);
    let table = Table::new(rows, widths).header(Row::new(header).bold()).column_spacing(SPACING);
    frame.render_widget(table, table_area);
}

/// Column widths fitting every cell, and each header with room for a sort mark.
fn fitted(header: &[String], rows: &[Vec<String>]) -> Vec<u16> {
    let width = |text: &String| u16::try_from(text.chars().count()).unwrap_or(u16::MAX);
    (0..header.len())
        .map(|i| {
            let cells = rows.iter().filter_map(|row| row.get(i)).map(width);
            cells.fold(width(&header[i]).saturating_add(1), u16::max)
        })
        .collect()
}

/// Table cells: the first left-aligned (a name), the others right-aligned (numbers).
fn text_cells(cells: impl IntoIterator<Item = String>) -> Vec<Cell<'static>> {
    cells
        .into_iter()
        .enumerate()
        .map(|(i, text)| match i {
            0 => Cell::from(text),
            _ => Cell::from(Line::from(text).right_aligned()),
        })
        .collect()
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
    let rows: Vec<Vec<String>> = workers.rows.iter().map(format::worker_cells).collect();
    frame.render_widget(summed_table(header, rows, format::total_cells(workers)), inner);
}

/// A table of rows under `header`, fitted to its cells, with `total` as its footer: the sum
/// stays in view when the rows do not fit.
fn summed_table(header: Vec<String>, rows: Vec<Vec<String>>, total: Vec<String>) -> Table<'static> {
    let widths = fitted(&header, &[rows.as_slice(), std::slice::from_ref(&total)].concat());
    Table::new(
        rows.into_iter().map(text_cells).map(Row::new),
        widths.into_iter().map(Constraint::Length),
    )
    .header(Row::new(text_cells(header)).bold())
    .footer(Row::new(text_cells(total)).bold())
    .column_spacing(SPACING)
}

/// The master's workers, sorted by `sort`, and their sum; the limit and state's source in the
/// title, or why they are unknown at the bottom.
fn draw_master(
    frame: &mut Frame<'_>,
    area: Rect,
    master: &Result<MasterWorkers, String>,
    sort: WorkerColumn,
) {
    let master = match master {
        Ok(master) => master,
        Err(err) => {
            let block = Block::bordered().title(" workers of master ".bold());
            frame.render_widget(error_text(err), block.inner(area));
            frame.render_widget(block, area);
            return;
        }
    };
    let from = match &master.recycle {
        Recycle::Read(addr) => format!(" · limit, state from {addr}"),
        _ => String::new(),
    };
    let mut block =
        Block::bordered().title(format!(" workers of master {}{from} ", master.master).bold());
    if master.recycle == Recycle::NotGiven {
        block = block.title_bottom(format!(" {} ", format::NO_RECYCLE));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let table_area = match &master.recycle {
        Recycle::Failed(err) => above(frame, inner, err),
        _ => inner,
    };
    let header: Vec<String> = format::master_header()
        .into_iter()
        .map(|name| if name == sort.name() { format!("{name}▼") } else { name })
        .collect();
    let rows: Vec<Vec<String>> =
        master.sorted(sort).into_iter().map(format::master_cells).collect();
    frame.render_widget(summed_table(header, rows, format::master_total(master)), table_area);
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
        text(" peak ".into()),
        key("5"),
        text(" wait: sort  ".into()),
    ];
    if top.master.is_some() {
        spans.extend([key("m"), text(" workers' sort  ".into())]);
    }
    spans.extend([key("/"), text(" filter".into())]);
    if !top.filter.is_empty() {
        spans.push(text(format!(" {:?}  ", top.filter)));
        spans.push(key("esc"));
        spans.push(text(" clear".into()));
    }
    Line::from(spans)
}

fn error_text(err: &str) -> Paragraph<'static> {
    Paragraph::new(Text::from(err.to_owned())).style(Style::new().red()).wrap(Wrap { trim: true })
}

#[cfg(test)]
mod tests;
