//! The live view rendered into ratatui's `TestBackend`, compared cell by cell.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

use super::{draw, sparkline};
use crate::cmd::top::fixtures;
use crate::cmd::top::model::{Column, Top};
use crate::cmd::top::sampling::{Sample, WorkerRow};

/// Draws `top` on a `width` × `height` test terminal and returns it (to resize and redraw).
fn terminal(top: &Top, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, top)).unwrap();
    terminal
}

/// The screen's text, one string per line.
fn lines(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect())
        .collect()
}

#[track_caller]
fn assert_lines(terminal: &Terminal<TestBackend>, expected: &[&str]) {
    let actual = lines(terminal);
    assert_eq!(actual, expected, "\n{}", actual.join("\n"));
}

/// Two listeners sampled three times, and the fixture's two workers.
fn busy() -> Top {
    let mut top = Top::new(Duration::from_millis(500), Some(PathBuf::from("/run/app.drops")));
    for (a, b) in [(0, 4), (8, 2), (4, 0)] {
        let mut sample = fixtures::sample(&[("127.0.0.1:8080", 3, a), ("[::1]:9000", 1, b)]);
        sample.workers = Some(Ok(fixtures::workers()));
        top.update(sample);
    }
    top
}

#[test]
fn listeners_workers_and_keys() {
    let top = busy();
    let terminal = terminal(&top, 80, 14);
    assert_lines(
        &terminal,
        &[
            "┌ listeners (2 of 2) · every 500ms ────────────────────────────────────────────┐",
            "│address         active queued▼  peak  oldest wait queued history              │",
            "│127.0.0.1:8080       3       4     8         1.2s  █▄                         │",
            "│[::1]:9000           1       0     4            - █▄                          │",
            "│                                                                              │",
            "│                                                                              │",
            "└──────────────────────────────────────────────────────────────────────────────┘",
            "┌ workers · /run/app.drops ────────────────────────────────────────────────────┐",
            "│worker   pid  calling  writing  requests  memory  heartbeat                   │",
            "│0       4242        1        0         2   12.0M      350ms                   │",
            "│1          -        0        1        10       -          -                   │",
            "│sum                 1        1        17   12.0M                              │",
            "└──────────────────────────────────────────────────────────────────────────────┘",
            " q quit  1 address 2 active 3 queued 4 peak 5 wait: sort  / filter              ",
        ],
    );
    let buffer = terminal.backend().buffer();
    assert!(buffer[(1, 1)].modifier.contains(Modifier::BOLD), "the header is bold");
    assert!(buffer[(1, 11)].modifier.contains(Modifier::BOLD), "the sum is bold");
    assert!(!buffer[(1, 9)].modifier.contains(Modifier::BOLD));
    assert!(buffer[(1, 13)].modifier.contains(Modifier::REVERSED), "keys stand out");
}

#[test]
fn sorted_filtered_and_typing() {
    let mut top = busy();
    top.sort_by(Column::Address);
    top.sort_by(Column::Address);
    top.filter = "::".into();
    top.editing = true;
    let terminal = terminal(&top, 60, 12);
    assert_lines(
        &terminal,
        &[
            "┌ listeners (1 of 2) · every 500ms ────────────────────────┐",
            "│address▼    active  queued  peak  oldest wait queued histo│",
            "│[::1]:9000       1       0     4            - █▄          │",
            "│                                                          │",
            "└──────────────────────────────────────────────────────────┘",
            "┌ workers · /run/app.drops ────────────────────────────────┐",
            "│worker   pid  calling  writing requests  memory  heartbeat│",
            "│0       4242        1        0        2   12.0M      350ms│",
            "│1          -        0        1       10       -          -│",
            "│sum                 1        1       17   12.0M           │",
            "└──────────────────────────────────────────────────────────┘",
            " filter: ::   enter keep  esc clear                         ",
        ],
    );
    top.editing = false;
    let terminal = self::terminal(&top, 60, 4);
    assert_eq!(
        lines(&terminal)[3],
        " q quit  1 address 2 active 3 queued 4 peak 5 wait: sort  / filter \"::\"  esc clear"
            [..60]
            .to_owned()
    );
}

#[test]
fn errors_are_shown_in_place() {
    let mut top = Top::new(Duration::from_secs(1), Some(PathBuf::from("/x")));
    top.update(fixtures::sample(&[("127.0.0.1:8080", 0, 2)]));
    top.update(Sample {
        listeners: Err("cannot query listener stats: netlink sock_diag is unavailable".into()),
        workers: Some(Err("/x: not a raindrops segment: starts with \"hello, w\"".into())),
        master: None,
    });
    let terminal = terminal(&top, 50, 12);
    assert_lines(
        &terminal,
        &[
            "┌ listeners (1 of 1) · every 1.0s ───────────────┐",
            "│cannot query listener stats: netlink sock_diag  │",
            "│is unavailable                                  │",
            "│address         active queued▼  peak queued hist│",
            "│127.0.0.1:8080       0       2     2 █          │",
            "│                                                │",
            "└────────────────────────────────────────────────┘",
            "┌ workers · /x ──────────────────────────────────┐",
            "│/x: not a raindrops segment: starts with \"hello,│",
            "│w\"                                              │",
            "└────────────────────────────────────────────────┘",
            " q quit  1 address 2 active 3 queued 4 peak 5 wait",
        ],
    );
    assert_eq!(terminal.backend().buffer()[(1, 1)].fg, Color::Red);
}

#[test]
fn a_resize_redraws_at_the_new_size() {
    let top = busy();
    let mut terminal = terminal(&top, 80, 14);
    assert_eq!(lines(&terminal)[0].chars().count(), 80);
    terminal.backend_mut().resize(40, 12);
    terminal.draw(|frame| draw(frame, &top)).unwrap();
    assert_lines(
        &terminal,
        &[
            "┌ listeners (2 of 2) · every 500ms ────┐",
            "│address         active queued▼  peak q│",
            "│127.0.0.1:8080       3       4     8 █│",
            "│[::1]:9000           1       0     4  │",
            "└──────────────────────────────────────┘",
            "┌ workers · /run/app.drops ────────────┐",
            "│work  pid lling iting ests emory tbeat│",
            "│0    4242     1     0    2 12.0M 350ms│",
            "│1       -     0     1   10     -     -│",
            "│sum           1     1   17 12.0M      │",
            "└──────────────────────────────────────┘",
            " q quit  1 address 2 active 3 queued 4 p",
        ],
    );
}

#[test]
fn sparklines_scale_to_their_maximum() {
    let values: VecDeque<u32> = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16].into();
    assert_eq!(sparkline(&values, 20), " ▁▁▂▂▃▃▄▄█");
    assert_eq!(sparkline(&values, 3), "▄▄█", "the newest samples");
    assert_eq!(sparkline(&values, 0), "");
    assert_eq!(sparkline(&[0, 0].into(), 5), "  ");
    assert_eq!(sparkline(&[u32::MAX, 1].into(), 5), "█▁");
    assert_eq!(sparkline(&VecDeque::new(), 5), "");
}

#[test]
fn the_sum_stays_in_view_when_rows_do_not_fit() {
    let mut top = busy();
    let mut workers = fixtures::workers();
    let extra = workers.rows[1].clone();
    workers.rows.extend((2..20).map(|index| WorkerRow { index, ..extra.clone() }));
    top.workers = Some(Ok(workers));
    let terminal = terminal(&top, 60, 14);
    let screen = lines(&terminal);
    assert_eq!(screen[6], "┌ workers · /run/app.drops ────────────────────────────────┐");
    assert_eq!(screen[7], "│worker   pid  calling  writing requests  memory  heartbeat│");
    assert_eq!(screen[8], "│0       4242        1        0        2   12.0M      350ms│");
    assert_eq!(screen[10], "│2          -        0        1       10       -          -│");
    assert_eq!(screen[11], "│sum                 1        1       17   12.0M           │");
    assert_eq!(screen[12], "└──────────────────────────────────────────────────────────┘");
}
