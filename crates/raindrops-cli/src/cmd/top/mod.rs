//! `raindrops top`: a live terminal view of listeners, of a segment's worker rows and of a
//! prefork master's workers (`--master PID`).
//!
//! * `sampling`: reads the kernel (listener stats), the segment file (worker rows) and the
//!   master's workers (`master`, with `sidecar` and `exposition` for `--recycle`), turning
//!   every failure into a message to show;
//! * `model`: what the screen keeps between samples (peaks, history, sort, filter);
//! * `render`: draws a [`model::Top`] with ratatui; `plain`: the one-shot text for a pipe;
//! * `keys`: what each key does; `terminal`: raw mode in, raw mode out (also on panic);
//! * `format`: how numbers, bytes and ages are written (memory is `raindrops::memory` PSS).
//!
//! When stdout is not a terminal, one sample is printed as text and the command exits (1 if
//! something could not be read, after printing what could).

mod exposition;
mod format;
mod keys;
mod master;
mod model;
mod plain;
mod render;
mod sampling;
mod sidecar;
mod terminal;

#[cfg(test)]
mod fixtures;

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event};
use signal_hook::consts::SIGTERM;

use self::keys::Flow;
use self::model::Top;
use self::sampling::Sampler;
use self::terminal::Screen;
use crate::cli::TopArgs;
use crate::exit::Code;

/// The longest the loop waits for a key before looking at the SIGTERM flag.
const SIGNAL_CHECK: Duration = Duration::from_millis(200);

impl super::Run for TopArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let mut sampler = Sampler::new(self)?;
        if let Some(pid) = self.master {
            master::check(pid)?;
        }
        if io::stdout().is_terminal() { live(self, sampler) } else { snapshot(&mut sampler) }
    }
}

/// Prints one sample as text; errors go to stderr after what could be read.
fn snapshot(sampler: &mut Sampler) -> anyhow::Result<Code> {
    let sample = sampler.sample();
    let (text, errors) = plain::snapshot(&sample);
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("stdout")?;
    for err in &errors {
        eprintln!("raindrops: {err}");
    }
    Ok(if errors.is_empty() { Code::Success } else { Code::Failure })
}

/// Why the live view stopped.
enum Stop {
    /// `q` or Ctrl-C.
    Quit,
    /// SIGTERM.
    Terminated,
}

/// Runs the live view; the terminal is restored before this returns, whatever happened.
fn live(args: &TopArgs, mut sampler: Sampler) -> anyhow::Result<Code> {
    let terminate = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(SIGTERM, Arc::clone(&terminate))
        .context("cannot install a SIGTERM handler")?;
    let mut top = Top::new(args.delay, args.segment.clone());
    let mut screen = Screen::enter().context("cannot set up the terminal")?;
    let stop = run(&mut screen, &mut top, &mut sampler, &terminate);
    drop(screen);
    match stop? {
        Stop::Quit => Ok(Code::Success),
        Stop::Terminated => {
            // Restored: now die of SIGTERM as if it had not been caught.
            signal_hook::low_level::emulate_default_handler(SIGTERM)
                .context("cannot exit on SIGTERM")?;
            Ok(Code::Failure)
        }
    }
}

/// Samples every `--delay` and redraws until `q`, Ctrl-C or SIGTERM; keys and resizes redraw
/// at once.
fn run(
    screen: &mut Screen,
    top: &mut Top,
    sampler: &mut Sampler,
    terminate: &AtomicBool,
) -> anyhow::Result<Stop> {
    let mut draw = |top: &Top| {
        screen.terminal.draw(|frame| render::draw(frame, top)).map(drop).context("cannot draw")
    };
    loop {
        let next = Instant::now() + top.delay;
        top.update(sampler.sample());
        draw(top)?;
        loop {
            // Relaxed: a flag set by a signal handler; no other memory depends on it.
            if terminate.load(Ordering::Relaxed) {
                return Ok(Stop::Terminated);
            }
            let wait = next.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                break;
            }
            if !event::poll(wait.min(SIGNAL_CHECK)).context("cannot read the terminal")? {
                continue;
            }
            match event::read().context("cannot read the terminal")? {
                Event::Key(key) => {
                    if keys::handle(top, key) == Flow::Quit {
                        return Ok(Stop::Quit);
                    }
                    draw(top)?;
                }
                Event::Resize(..) => draw(top)?,
                _ => {}
            }
        }
    }
}
