//! Ctrl-C (SIGINT), SIGTERM and a terminal hang-up (SIGHUP) during `framepipe encode`, as
//! ffmpeg handles them: the first one stops reading input and the output is finished with the
//! frames encoded so far (a playable file), then the command exits with 128 + the signal's
//! number; a second one (of any of the three) ends the process at once with that status.
//!
//! The handlers only set flags (signal-hook's, async-signal-safe) and wake a thread that calls
//! `wake` so that the main thread, waiting for the next frame, looks at the flag. The input is
//! read on a thread of its own, so a read that blocks forever (`sleep 100 | framepipe ...`)
//! does not delay finishing: the main thread stops waiting for it, and the process exits with
//! that read still pending.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;
use signal_hook::iterator::Signals;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Which signal asked us to stop, once one has.
pub struct Interrupt {
    which: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Install the handlers; `wake` runs on a background thread after each signal.
    pub fn install(wake: impl Fn() + Send + 'static) -> io::Result<Interrupt> {
        let stop = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for sig in SIGNALS {
            // Order matters: the shutdown checks the flag before the first signal sets it, so
            // it fires only from the second signal on (signal-hook's double Ctrl-C pattern).
            flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stop))?;
            flag::register_usize(sig, Arc::clone(&which), sig as usize)?;
            flag::register(sig, Arc::clone(&stop))?;
        }
        let mut signals = Signals::new(SIGNALS)?;
        std::thread::Builder::new().name("signals".into()).spawn(move || {
            for _ in signals.forever() {
                wake();
            }
        })?;
        Ok(Interrupt { which })
    }

    /// The signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.which.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig as i32),
        }
    }
}

pub fn signal_name(sig: i32) -> String {
    match sig {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        SIGHUP => "SIGHUP".into(),
        other => format!("signal {other}"),
    }
}
