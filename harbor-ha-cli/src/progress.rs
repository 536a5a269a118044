//! The progress bar of a long render: on standard error, only when that is a terminal, and
//! only once the render has run for a moment (a render of a few sites is over before it
//! would show). What it shows comes from the render's stages ([`harbor_ha_io::Stage`]); the
//! long one is the secrets of new sites (an RSA 4096 key each).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harbor_ha_io::{Progress, Stage};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a render runs before the bar appears.
const DELAY: Duration = Duration::from_millis(300);

/// A bar that stays hidden until the render has taken [`DELAY`] on a terminal.
pub(crate) struct Bar {
    bar: ProgressBar,
    start: Instant,
    shown: Arc<AtomicBool>,
    terminal: bool,
}

impl Bar {
    pub(crate) fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} sites")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Bar {
            bar,
            start: Instant::now(),
            shown: Arc::new(AtomicBool::new(false)),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// The render's callback: moves the bar, and shows it once [`DELAY`] has passed.
    pub(crate) fn callback(&self) -> Progress {
        let (bar, start, shown, terminal) = (self.bar.clone(), self.start, self.shown.clone(), self.terminal);
        Progress::new(move |stage| {
            match stage {
                Stage::Validating => bar.set_message("validating"),
                Stage::Secrets { done, sites } => {
                    bar.set_message("secrets (an RSA key per new site)");
                    bar.set_length(sites as u64);
                    bar.set_position(done as u64);
                }
                Stage::Rendering => bar.set_message("rendering"),
                Stage::Writing => bar.set_message("writing"),
            }
            if terminal && start.elapsed() >= DELAY && !shown.swap(true, Ordering::SeqCst) {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(120));
            }
        })
    }

    /// Take the bar off the screen before the summary is printed.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
