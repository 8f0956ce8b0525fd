//! `framepipe repair`: finish an MP4 whose writer was stopped (see `framepipe::mux::mp4::repair`).

use crate::{CliError, RepairArgs};
use std::io::Write;

pub fn run(args: &RepairArgs) -> Result<(), CliError> {
    if args.output.as_deref() == Some(args.input.as_path()) {
        return Err(format!("{}: give another output file, or none to repair in place", args.input.display()).into());
    }
    let r = framepipe::mux::mp4::repair(&args.input, args.output.as_deref())
        .map_err(|e| format!("cannot repair {}: {}", args.input.display(), crate::error_chain(&e)))?;
    let mut out = std::io::stdout().lock();
    let text = if r.was_finished {
        format!(
            "{}: already a finished MP4 ({} frames); nothing to repair{}",
            args.input.display(),
            r.frames,
            if args.output.is_some() { format!(", copied to {}", r.output.display()) } else { String::new() }
        )
    } else {
        let mut t =
            format!("{}: kept {} frames of the {} in whole fragments", r.output.display(), r.frames, r.frames_found);
        if r.torn_bytes > 0 {
            t.push_str(&format!("; cut off a torn last fragment ({} bytes)", r.torn_bytes));
        }
        t
    };
    let _ = writeln!(out, "{text}");
    Ok(())
}
