//! The progress line on standard error ("frame 1234  57.3 fps  12.4 MB"), drawn in place with
//! `\r` at most ten times a second, and only when standard error is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_millis(100);

pub struct Progress {
    enabled: bool,
    start: Instant,
    last_draw: Option<Instant>,
    /// Width of the line currently on screen (0 = none), to blank it out before other output.
    drawn: usize,
}

impl Progress {
    pub fn new() -> Self {
        Progress { enabled: std::io::stderr().is_terminal(), start: Instant::now(), last_draw: None, drawn: 0 }
    }

    /// Redraw the line if enough time has passed since the last draw.
    pub fn update(&mut self, frames: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last_draw.is_some_and(|t| now.duration_since(t) < INTERVAL) {
            return;
        }
        self.last_draw = Some(now);
        self.draw(frames, bytes);
    }

    fn draw(&mut self, frames: u64, bytes: u64) {
        let secs = self.start.elapsed().as_secs_f64();
        let fps = if secs > 0.0 { frames as f64 / secs } else { 0.0 };
        let line = format!("frame {frames}  {fps:.1} fps  {:.1} MB", bytes as f64 / 1e6);
        let pad = self.drawn.saturating_sub(line.len());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{:pad$}", "");
        let _ = err.flush();
        self.drawn = line.len();
    }

    /// Blank the line so that a warning or error can be printed on a clean line.
    pub fn clear(&mut self) {
        if self.enabled && self.drawn > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{:w$}\r", "", w = self.drawn);
            let _ = err.flush();
            self.drawn = 0;
        }
    }

    /// Draw the final numbers and end the line.
    pub fn done(&mut self, frames: u64, bytes: u64) {
        if self.enabled && (frames > 0 || self.drawn > 0) {
            self.draw(frames, bytes);
            let _ = writeln!(std::io::stderr());
            self.drawn = 0;
        }
    }
}
