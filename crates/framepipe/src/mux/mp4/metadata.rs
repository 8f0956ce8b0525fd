//! Movie metadata — title, artist, comment, … — as an iTunes-style `moov/udta/meta/ilst`, the
//! form ffmpeg writes for MP4 and that QuickTime, VLC, media libraries and ffprobe read.
//!
//! The usual keys map to their iTunes atoms (`title` → `©nam`, …, the same names ffmpeg uses, so
//! `ffmpeg -metadata` users and `ffprobe` see the same keys); any other key (matplotlib's
//! `subject` and `srcform`, say) is written as a freeform `----` atom (`mean`
//! "com.apple.iTunes", `name` = the key), which ffmpeg reads back under that key.

use super::boxes::BoxBuf;
use crate::error::{Error, Result};

/// Keys with an iTunes atom of their own: ffmpeg's names for them.
const ATOMS: &[(&str, &[u8; 4])] = &[
    ("title", b"\xa9nam"),
    ("artist", b"\xa9ART"),
    ("album_artist", b"aART"),
    ("album", b"\xa9alb"),
    ("composer", b"\xa9wrt"),
    ("date", b"\xa9day"),
    ("encoder", b"\xa9too"),
    ("comment", b"\xa9cmt"),
    ("genre", b"\xa9gen"),
    ("copyright", b"cprt"),
    ("grouping", b"\xa9grp"),
    ("lyrics", b"\xa9lyr"),
    ("description", b"desc"),
    ("synopsis", b"ldes"),
    ("show", b"tvsh"),
];

/// Longest key and value accepted. Values this long are already far beyond what players show;
/// the limit keeps the whole moov small.
const MAX_KEY: usize = 64;
const MAX_VALUE: usize = 65_536;

/// Check metadata before anything is written: keys of 1–64 characters from `[A-Za-z0-9_.-]`
/// (the characters every tool round-trips), no key twice (ignoring case), values without NUL
/// of at most 64 KiB.
pub fn validate(tags: &[(String, String)]) -> Result<()> {
    let mut seen: Vec<String> = Vec::with_capacity(tags.len());
    for (key, value) in tags {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if key.is_empty() || key.len() > MAX_KEY || !key.chars().all(ok_char) {
            return Err(Error::parameter(format!(
                "metadata key {key:?} is not valid: use 1 to {MAX_KEY} characters from A-Z, a-z, 0-9, '_', '-', '.'"
            )));
        }
        let lower = key.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(Error::parameter(format!("metadata key {key:?} is given twice")));
        }
        seen.push(lower);
        if value.len() > MAX_VALUE {
            return Err(Error::parameter(format!(
                "metadata value for {key:?} is {} bytes; at most {MAX_VALUE} are accepted",
                value.len()
            )));
        }
        if value.contains('\0') {
            return Err(Error::parameter(format!("metadata value for {key:?} contains a NUL character")));
        }
    }
    Ok(())
}

/// `tags` plus `("encoder", "framepipe <version>")` unless they name an encoder already (ffmpeg
/// tags its files the same way, so a file says what made it).
pub fn with_encoder_tag(tags: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = tags.to_vec();
    if !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case("encoder")) {
        out.push(("encoder".into(), concat!("framepipe ", env!("CARGO_PKG_VERSION")).into()));
    }
    out
}

/// The `udta` box holding `tags` (validated with [`validate`]); empty when there are none.
pub(crate) fn udta(tags: &[(String, String)]) -> Vec<u8> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut b = BoxBuf::new();
    let udta = b.open(b"udta");
    let meta = b.open_full(b"meta", 0, 0);
    let o = b.open_full(b"hdlr", 0, 0);
    b.u32(0).bytes(b"mdir").bytes(b"appl").zeros(8).u8(0);
    b.close(o);
    let ilst = b.open(b"ilst");
    for (key, value) in tags {
        let lower = key.to_ascii_lowercase();
        match ATOMS.iter().find(|(k, _)| *k == lower) {
            Some((_, atom)) => {
                let item = b.open(atom);
                data(&mut b, value);
                b.close(item);
            }
            None => {
                let item = b.open(b"----");
                let o = b.open_full(b"mean", 0, 0);
                b.bytes(b"com.apple.iTunes");
                b.close(o);
                let o = b.open_full(b"name", 0, 0);
                b.bytes(key.as_bytes());
                b.close(o);
                data(&mut b, value);
                b.close(item);
            }
        }
    }
    b.close(ilst);
    b.close(meta);
    b.close(udta);
    b.into_vec()
}

/// The text tags of a `udta` box body (iTunes `meta/ilst` items with UTF-8 values), by the keys
/// [`udta`] writes them under. Lenient: what cannot be read is left out; a file's metadata is
/// never a reason to refuse to describe it.
pub(crate) fn parse_udta(udta: &[u8]) -> Vec<(String, String)> {
    use super::boxes::{child, children};
    let mut tags = Vec::new();
    let Ok(top) = children(udta) else { return tags };
    let Some(meta) = child(&top, b"meta") else { return tags };
    // ISO meta is a full box (4 bytes of version and flags); QuickTime's is not.
    let meta = if meta.get(4..8) == Some(b"hdlr") { meta } else { meta.get(4..).unwrap_or(&[]) };
    let Ok(items) = children(meta) else { return tags };
    let Some(ilst) = child(&items, b"ilst") else { return tags };
    let Ok(entries) = children(ilst) else { return tags };
    for (atom, body) in entries {
        let Ok(parts) = children(body) else { continue };
        let key = if &atom == b"----" {
            match child(&parts, b"name").and_then(|n| n.get(4..)) {
                Some(name) => String::from_utf8_lossy(name).into_owned(),
                None => continue,
            }
        } else {
            match ATOMS.iter().find(|(_, a)| **a == atom) {
                Some((k, _)) => (*k).to_string(),
                None => continue,
            }
        };
        let Some(data) = child(&parts, b"data") else { continue };
        if data.len() < 8 || data[1..4] != [0, 0, 1] {
            continue; // not UTF-8 text (a cover image, a number, ...)
        }
        tags.push((key, String::from_utf8_lossy(&data[8..]).into_owned()));
    }
    tags
}

/// A `data` atom with a UTF-8 value (type 1, default locale).
fn data(b: &mut BoxBuf, value: &str) {
    let o = b.open(b"data");
    b.u32(1).u32(0).bytes(value.as_bytes());
    b.close(o);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn layout_matches_ffmpeg() {
        // The bytes ffmpeg 5.1 writes for `-metadata title="T ü"` (checked with a hex dump),
        // minus the encoder tag it adds.
        let got = udta(&tags(&[("title", "T ü")]));
        let mut want = Vec::new();
        want.extend_from_slice(b"\x00\x00\x00\x59udta\x00\x00\x00\x51meta\x00\x00\x00\x00");
        want.extend_from_slice(b"\x00\x00\x00\x21hdlr\x00\x00\x00\x00\x00\x00\x00\x00mdirappl");
        want.extend_from_slice(&[0; 9]);
        want.extend_from_slice(b"\x00\x00\x00\x24ilst\x00\x00\x00\x1c\xa9nam\x00\x00\x00\x14data");
        want.extend_from_slice(b"\x00\x00\x00\x01\x00\x00\x00\x00T \xc3\xbc");
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
    }

    #[test]
    fn custom_keys_are_freeform_atoms() {
        let got = udta(&tags(&[("srcform", "x")]));
        let at = got.windows(4).position(|w| w == b"----").unwrap();
        assert_eq!(&got[at + 8..at + 12], b"mean");
        assert!(got.windows(16).any(|w| w == b"com.apple.iTunes"));
        assert!(got.windows(7).any(|w| w == b"srcform"));
    }

    #[test]
    fn parse_reads_back_what_udta_writes() {
        let t = tags(&[("title", "T ü"), ("subject", "s"), ("encoder", "e")]);
        let box_ = udta(&t);
        assert_eq!(parse_udta(&box_[8..]), t);
        assert!(parse_udta(&box_[8..20]).is_empty()); // truncated: nothing, no panic
        assert!(parse_udta(b"garbage!").is_empty());
    }

    #[test]
    fn nothing_for_no_tags() {
        assert!(udta(&[]).is_empty());
    }

    #[test]
    fn bad_tags_are_refused() {
        for bad in [
            tags(&[("", "x")]),
            tags(&[("a b", "x")]),
            tags(&[("title", "x"), ("Title", "y")]),
            tags(&[("title", "a\0b")]),
            vec![("k".repeat(65), "x".into())],
            vec![("title".into(), "x".repeat(MAX_VALUE + 1))],
        ] {
            let e = validate(&bad).unwrap_err().to_string();
            assert!(e.contains("metadata"), "{e}");
        }
        validate(&tags(&[("title", "ok"), ("subject", "fine"), ("x.y-z_1", "")])).unwrap();
    }
}
