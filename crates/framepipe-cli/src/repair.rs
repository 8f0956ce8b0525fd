//! `framepipe repair`: finish an MP4 whose writer was stopped, or rebuild a finished one cut
//! short (see `framepipe::repair`). The output may be the input under another name
//! (`./a.mp4`, a symlink): that is a repair in place, through a new file renamed over it.

use crate::{CliError, RepairArgs};
use std::io::Write;

pub fn run(args: &RepairArgs) -> Result<(), CliError> {
    let r = framepipe::repair(&args.input, args.output.as_deref())
        .map_err(|e| format!("cannot repair {}: {}", args.input.display(), crate::error_chain(&e)))?;
    let mut out = std::io::stdout().lock();
    let input = args.input.display();
    let gap = |found: u64, frames: u64| match found - frames {
        0 => String::new(),
        1 => "; the last one would have left a gap in presentation order".to_string(),
        n => format!("; the last {n} would have left a gap in presentation order"),
    };
    let text = if r.was_finished {
        let what = if r.in_place { "left as it was".to_string() } else { format!("copied to {}", r.output.display()) };
        format!("{input}: already a finished MP4 ({} frames); nothing to repair, {what}", r.frames)
    } else if r.truncated {
        format!(
            "{}: kept {} frames: {input} is a finished MP4 cut short, its index lists {} frames and the \
             file holds {} of them ({} bytes of a frame cut off){}",
            r.output.display(),
            r.frames,
            r.frames_listed,
            r.frames_found,
            r.torn_bytes,
            gap(r.frames_found, r.frames)
        )
    } else {
        let mut t = format!(
            "{}: kept {} frames of the {} in whole fragments{}",
            r.output.display(),
            r.frames,
            r.frames_found,
            gap(r.frames_found, r.frames)
        );
        if r.torn_bytes > 0 {
            t.push_str(&format!("; cut off a torn last fragment ({} bytes)", r.torn_bytes));
        }
        t
    };
    let _ = writeln!(out, "{text}");
    Ok(())
}
