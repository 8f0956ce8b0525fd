//! `framepipe probe`: what an MP4 (or an animated GIF) holds, as `key: value` lines or a JSON
//! object.

use crate::{CliError, ProbeArgs};
use framepipe::encode::gif::probe::GifInfo;
use framepipe::mux::mp4::Mp4Info;
use framepipe::probe::{probe_file, FileInfo};
use std::io::Write;
use std::path::Path;

pub fn run(args: &ProbeArgs) -> Result<(), CliError> {
    let info = probe_file(&args.file).map_err(|e| {
        // The MP4 reader's words for a file that is neither format.
        let msg = with_path(&args.file, &e);
        match msg.find("not an MP4 file") {
            Some(at) => format!("{}not an MP4 or GIF file{}", &msg[..at], &msg[at + "not an MP4 file".len()..]),
            None => msg,
        }
    })?;
    let (text, truncated) = match &info {
        FileInfo::Gif(gif) => (if args.json { gif_json(gif) } else { gif.to_string() }, None),
        FileInfo::Mp4(mp4) => (if args.json { to_json(mp4) } else { mp4.to_string() }, mp4.truncation_warning()),
    };
    let mut out = std::io::stdout().lock();
    let res = writeln!(out, "{}", text.trim_end()).and_then(|_| out.flush());
    match res {
        // `framepipe probe x.mp4 | head -1` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("cannot write to standard output: {e}").into()),
        Ok(()) => {}
    }
    // A truncated file is described, and the command fails: its index promises frames it lacks.
    match truncated {
        Some(warning) => Err(format!("{}: {warning}", args.file.display()).into()),
        None => Ok(()),
    }
}

/// The error's text, starting with the file's path.
fn with_path(path: &Path, e: &framepipe::Error) -> String {
    let msg = crate::error_chain(e);
    let shown = path.display().to_string();
    if msg.contains(&shown) {
        msg
    } else {
        format!("{shown}: {msg}")
    }
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number for a float (JSON has no NaN or infinity: those become null).
fn json_f64(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn to_json(info: &Mp4Info) -> String {
    let mut fields: Vec<(&str, String)> = vec![
        ("format", json_str("mp4")),
        ("width", info.width.to_string()),
        ("height", info.height.to_string()),
        ("frame_count", info.frame_count.to_string()),
        ("frames_present", info.frames_present.to_string()),
        ("truncated", info.truncated().to_string()),
        ("missing_bytes", info.missing_bytes.to_string()),
        ("torn_bytes", info.torn_bytes.to_string()),
        ("torn_box", json_str(&info.torn_box)),
    ];
    match info.fps {
        Some(r) => {
            fields.push(("fps", json_str(&r.to_string())));
            fields.push(("fps_value", json_f64(r.as_f64())));
        }
        None => {
            fields.push(("fps", "null".into()));
            fields.push(("fps_value", "null".into()));
        }
    }
    fields.push(("duration_seconds", json_f64(info.duration_seconds)));
    fields.push(("codec", json_str(&info.codec)));
    fields.push(("profile", json_str(&info.profile)));
    fields.push(("level", json_str(&info.level)));
    let color = match &info.color {
        Some(c) => format!(
            "{{\"primaries\": {}, \"transfer\": {}, \"matrix\": {}, \"full_range\": {}}}",
            c.primaries, c.transfer, c.matrix, c.full_range
        ),
        None => "null".into(),
    };
    fields.push(("color", color));
    fields.push(("faststart", info.faststart.to_string()));
    fields.push(("keyframes", info.keyframes.to_string()));
    fields.push(("bitrate_kbps", json_f64((info.bitrate_kbps * 10.0).round() / 10.0)));
    fields.push(("file_size", info.file_size.to_string()));
    fields.push(("brand", json_str(&info.brand)));
    let tags: Vec<String> = info.tags.iter().map(|(k, v)| format!("{}: {}", json_str(k), json_str(v))).collect();
    fields.push(("tags", format!("{{{}}}", tags.join(", "))));
    json_object(&fields)
}

/// A JSON object, one field a line.
fn json_object(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {}: {v}", json_str(k))).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

fn gif_json(info: &GifInfo) -> String {
    json_object(&[
        ("format", json_str("gif")),
        ("version", json_str(&info.version)),
        ("codec", json_str("gif")),
        ("width", info.width.to_string()),
        ("height", info.height.to_string()),
        ("frame_count", info.frame_count.to_string()),
        ("duration_seconds", json_f64(info.duration_seconds)),
        ("loop", info.loop_count.to_string()),
        ("file_size", info.file_size.to_string()),
    ])
}
