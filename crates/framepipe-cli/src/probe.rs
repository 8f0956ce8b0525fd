//! `framepipe probe`: what an MP4 holds, as `key: value` lines or a JSON object.

use crate::{CliError, ProbeArgs};
use framepipe::mux::mp4::{probe, Mp4Info};
use std::io::Write;

pub fn run(args: &ProbeArgs) -> Result<(), CliError> {
    let info = probe(&args.file).map_err(|e| {
        let msg = crate::error_chain(&e);
        let shown = args.file.display().to_string();
        if msg.contains(&shown) {
            msg
        } else {
            format!("{shown}: {msg}")
        }
    })?;
    let text = if args.json { to_json(&info) } else { info.to_string() };
    let mut out = std::io::stdout().lock();
    let res = writeln!(out, "{}", text.trim_end()).and_then(|_| out.flush());
    match res {
        // `framepipe probe x.mp4 | head -1` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write to standard output: {e}").into()),
        Ok(()) => Ok(()),
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
        ("width", info.width.to_string()),
        ("height", info.height.to_string()),
        ("frame_count", info.frame_count.to_string()),
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
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {}: {v}", json_str(k))).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}
