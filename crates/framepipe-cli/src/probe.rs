//! `framepipe probe`: what an MP4 (or an animated GIF) holds, as `key: value` lines or a JSON
//! object.

use crate::{CliError, ProbeArgs};
use framepipe::probe::{fields, probe_file, text, FieldValue, FileInfo, FIELD_ALIASES};
use std::io::Write;

pub fn run(args: &ProbeArgs) -> Result<(), CliError> {
    // The engine's errors name the file (and say "not an MP4 or GIF file" for one that is neither).
    let info = probe_file(&args.file).map_err(|e| crate::error_chain(&e))?;
    let out_text = if args.json { to_json(&info) } else { text(&info) };
    let truncated = match &info {
        FileInfo::Mp4(mp4) => mp4.truncation_warning(),
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    let res = writeln!(out, "{}", out_text.trim_end()).and_then(|_| out.flush());
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

/// The probe's fields ([`framepipe::probe::fields`]) as JSON values, the old keys
/// ([`FIELD_ALIASES`]) after them.
fn to_json(info: &FileInfo) -> String {
    let all = fields(info);
    let mut out: Vec<(&str, String)> = all.iter().map(|(k, v)| (*k, json_value(v))).collect();
    for (old, new) in FIELD_ALIASES {
        if let Some((_, v)) = all.iter().find(|(k, _)| k == new) {
            out.push((old, json_value(v)));
        }
    }
    json_object(&out)
}

fn json_value(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(t) => json_str(t),
        FieldValue::Int(n) => n.to_string(),
        FieldValue::Float(x) => json_f64(*x),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::Fps(r) => r.map_or("null".into(), |r| json_str(&r.to_string())),
        FieldValue::Color(Some(c)) => format!(
            "{{\"primaries\": {}, \"transfer\": {}, \"matrix\": {}, \"full_range\": {}}}",
            c.primaries, c.transfer, c.matrix, c.full_range
        ),
        FieldValue::Color(None) => "null".into(),
        FieldValue::Tags(tags) => {
            let t: Vec<String> = tags.iter().map(|(k, v)| format!("{}: {}", json_str(k), json_str(v))).collect();
            format!("{{{}}}", t.join(", "))
        }
    }
}

/// A JSON object, one field a line.
fn json_object(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("  {}: {v}", json_str(k))).collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}
