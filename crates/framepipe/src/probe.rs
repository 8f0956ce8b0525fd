//! One probe for every format framepipe writes: what an MP4 or an animated GIF holds, told apart
//! by the file's first bytes (not its name). The CLI's `framepipe probe` and Python's
//! `framepipe.probe()` both call [`probe_file`].

use crate::encode::gif::probe::{is_gif, probe_gif, GifInfo};
use crate::encode::ColorInfo;
use crate::error::{Error, Result};
use crate::mux::mp4::{probe, Mp4Info};
use crate::rational::Rational;
use std::io::Read;
use std::path::Path;

/// What a probed file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FileInfo {
    Mp4(Mp4Info),
    Gif(GifInfo),
}

/// Describe the MP4 or GIF file at `path`. A file that is neither is an invalid-data error
/// saying what it starts with; an MP4 whose index lists more frames than the file holds is
/// described (see [`Mp4Info::truncated`]), not refused.
pub fn probe_file(path: &Path) -> Result<FileInfo> {
    let mut head = Vec::with_capacity(8);
    let opened = std::fs::File::open(path).and_then(|f| f.take(8).read_to_end(&mut head));
    if opened.is_ok() && is_gif(&head) {
        return probe_gif(path).map(FileInfo::Gif);
    }
    // A file that starts like neither format is described as such here (the MP4 reader would
    // say "not an MP4 file"); one that cannot be read is left to the MP4 reader, which says why.
    if opened.is_ok() {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(head.len() as u64);
        if let Some(reason) = crate::mux::mp4::reader::head_problem(&head, size) {
            return Err(Error::invalid_data(format!("{}: not an MP4 or GIF file: {reason}", path.display())));
        }
    }
    probe(path).map(FileInfo::Mp4).map_err(|e| match e {
        // Every error names the file.
        e @ (Error::Parameter(_) | Error::Encoder(_) | Error::OutOfMemory(_)) => {
            e.with_prefix(&format!("{}: ", path.display()))
        }
        other => other,
    })
}

/// The value of one probe field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Int(u64),
    Float(f64),
    Bool(bool),
    /// A frame rate (None: variable).
    Fps(Option<Rational>),
    /// The colour description (None: not signalled).
    Color(Option<ColorInfo>),
    Tags(Vec<(String, String)>),
}

/// Old keys kept for one release (0.2 drops them), each the same value as its new key: Python's
/// `probe()` said `duration` where `framepipe probe --json` said `duration_seconds`.
pub const FIELD_ALIASES: &[(&str, &str)] = &[("duration", "duration_seconds")];

/// Every field of a probed file, in order, under its one key: `framepipe probe` (text),
/// `framepipe probe --json` and Python's `framepipe.probe()` are all made from this list, so
/// they hold the same fields (see docs/probe.md). Aliases ([`FIELD_ALIASES`]) are not in it.
pub fn fields(info: &FileInfo) -> Vec<(&'static str, FieldValue)> {
    use FieldValue as V;
    match info {
        FileInfo::Mp4(m) => {
            let mut v = mp4_fields(m);
            // The audio track's fields: absent for a file without one.
            if let Some(a) = &m.audio {
                v.extend([
                    ("audio_codec", V::Text(a.codec.clone())),
                    ("audio_channels", V::Int(a.channels.into())),
                    ("audio_sample_rate", V::Int(a.sample_rate.into())),
                    ("audio_duration", V::Float(a.duration_seconds)),
                    ("audio_bitrate", V::Float((a.bitrate_kbps * 10.0).round() / 10.0)),
                    ("audio_priming", V::Int(a.priming)),
                ]);
            }
            v
        }
        // A GIF has no fragments; its probe reads every image, so all it counts are present.
        FileInfo::Gif(g) => vec![
            ("format", V::Text("gif".into())),
            ("version", V::Text(g.version.clone())),
            ("codec", V::Text("gif".into())),
            ("width", V::Int(g.width.into())),
            ("height", V::Int(g.height.into())),
            ("frame_count", V::Int(g.frame_count)),
            ("frames_present", V::Int(g.frame_count)),
            ("truncated", V::Bool(false)),
            ("duration_seconds", V::Float(g.duration_seconds)),
            ("loop", V::Int(g.loop_count.into())),
            ("fragmented", V::Bool(false)),
            ("file_size", V::Int(g.file_size)),
        ],
    }
}

/// The fields of an MP4's video track and file (see [`fields`]).
fn mp4_fields(m: &crate::mux::mp4::Mp4Info) -> Vec<(&'static str, FieldValue)> {
    use FieldValue as V;
    vec![
        ("format", V::Text("mp4".into())),
        ("brand", V::Text(m.brand.clone())),
        ("codec", V::Text(m.codec.clone())),
        ("profile", V::Text(m.profile.clone())),
        ("level", V::Text(m.level.clone())),
        ("width", V::Int(m.width.into())),
        ("height", V::Int(m.height.into())),
        ("frame_count", V::Int(m.frame_count)),
        ("frames_present", V::Int(m.frames_present)),
        ("truncated", V::Bool(m.truncated())),
        ("missing_bytes", V::Int(m.missing_bytes)),
        ("torn_bytes", V::Int(m.torn_bytes)),
        ("torn_box", V::Text(m.torn_box.clone())),
        ("fps", V::Fps(m.fps)),
        ("fps_value", V::Float(m.fps.map_or(f64::NAN, |r| r.as_f64()))),
        ("duration_seconds", V::Float(m.duration_seconds)),
        ("keyframes", V::Int(m.keyframes)),
        ("bitrate_kbps", V::Float((m.bitrate_kbps * 10.0).round() / 10.0)),
        ("color", V::Color(m.color)),
        ("faststart", V::Bool(m.faststart)),
        ("fragmented", V::Bool(m.fragmented)),
        ("file_size", V::Int(m.file_size)),
        ("tags", V::Tags(m.tags.clone())),
    ]
}

/// `framepipe probe`'s text: one `label: value` line per field of [`fields`] (a field a
/// person does not need, such as an empty profile, is left out).
pub fn text(info: &FileInfo) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mp4 = match info {
        FileInfo::Mp4(m) => Some(m),
        FileInfo::Gif(_) => None,
    };
    for (key, value) in fields(info) {
        let line = match (key, &value) {
            ("format", _) => continue, // MP4: the brand and codec lines say it; GIF: the version line
            ("version", FieldValue::Text(v)) => format!("format: {v}"),
            ("brand", FieldValue::Text(b)) => format!("brand: {}", if b.is_empty() { "(none)" } else { b }),
            ("profile" | "level", FieldValue::Text(t)) if t.is_empty() => continue,
            ("frame_count", FieldValue::Int(n)) => format!("frames: {n}"),
            ("frames_present", FieldValue::Int(n)) => format!("frames present: {n}"),
            ("truncated", FieldValue::Bool(t)) => match mp4.and_then(|m| m.truncation_warning()) {
                Some(w) if *t => format!("truncated: yes\nwarning: {w}"),
                Some(w) => format!("truncated: no\nwarning: {w}"),
                None => format!("truncated: {}", if *t { "yes" } else { "no" }),
            },
            ("missing_bytes" | "torn_bytes" | "torn_box" | "fps_value", _) => continue, // in the warning / fps lines
            ("fps", FieldValue::Fps(Some(r))) if r.den != 1 => format!("fps: {r} ({:.3})", r.as_f64()),
            ("fps", FieldValue::Fps(Some(r))) => format!("fps: {r}"),
            ("fps", FieldValue::Fps(None)) => "fps: variable".into(),
            ("duration_seconds", FieldValue::Float(d)) if mp4.is_some() => format!("duration: {d:.3} s"),
            ("duration_seconds", FieldValue::Float(d)) => format!("duration: {d:.2} s"),
            ("bitrate_kbps", FieldValue::Float(b)) => format!("bitrate: {b:.1} kb/s"),
            ("audio_codec", FieldValue::Text(c)) => format!("audio codec: {c}"),
            ("audio_channels", FieldValue::Int(n)) => format!("audio channels: {n}"),
            ("audio_sample_rate", FieldValue::Int(n)) => format!("audio sample rate: {n} Hz"),
            ("audio_duration", FieldValue::Float(d)) => format!("audio duration: {d:.3} s"),
            ("audio_bitrate", FieldValue::Float(b)) => format!("audio bitrate: {b:.1} kb/s"),
            ("audio_priming", FieldValue::Int(n)) => format!("audio priming: {n} samples"),
            ("color", FieldValue::Color(Some(c))) => format!(
                "colour: {} primaries, {} transfer, {} matrix, {} range",
                crate::mux::mp4::reader::primaries_name(c.primaries),
                crate::mux::mp4::reader::transfer_name(c.transfer),
                crate::mux::mp4::reader::matrix_name(c.matrix),
                if c.full_range { "full" } else { "limited" }
            ),
            ("color", FieldValue::Color(None)) => "colour: not signalled".into(),
            ("faststart", FieldValue::Bool(f)) => {
                format!("faststart: {}", if *f { "yes (moov before mdat)" } else { "no (moov after mdat)" })
            }
            ("fragmented", FieldValue::Bool(true)) => "fragmented: yes (a file being written, or left by a writer \
                                                       that was stopped: `framepipe repair` makes it an ordinary MP4)"
                .into(),
            ("fragmented", FieldValue::Bool(false)) => "fragmented: no".into(),
            ("file_size", FieldValue::Int(n)) => format!("file size: {n} bytes"),
            ("loop", FieldValue::Int(n)) => match (n, info) {
                (0, _) => "loop: 0 (plays forever)".into(),
                (1, FileInfo::Gif(g)) if g.repeat_field.is_none() => "loop: 1 (plays once: no loop extension)".into(),
                (1, _) => "loop: 1 (plays once)".into(),
                (n, _) => format!("loop: {n} (plays {n} times)"),
            },
            ("tags", FieldValue::Tags(tags)) => {
                for (k, v) in tags {
                    lines.push(format!("tag {k}: {}", v.replace('\n', "\\n")));
                }
                continue;
            }
            (key, value) => format!("{key}: {}", plain(value)),
        };
        lines.push(line);
    }
    lines.join("\n")
}

/// A value as text, for fields without a label of their own.
fn plain(v: &FieldValue) -> String {
    match v {
        FieldValue::Text(t) => t.clone(),
        FieldValue::Int(n) => n.to_string(),
        FieldValue::Float(x) => x.to_string(),
        FieldValue::Bool(b) => (if *b { "yes" } else { "no" }).into(),
        FieldValue::Fps(r) => r.map_or("variable".into(), |r| r.to_string()),
        FieldValue::Color(c) => format!("{c:?}"),
        FieldValue::Tags(t) => format!("{t:?}"),
    }
}
