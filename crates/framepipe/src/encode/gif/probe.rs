//! What an animated GIF holds ("framepipe probe" on a GIF): size, image count, total duration
//! from the Graphic Control Extension delays, and loop count from the NETSCAPE2.0 (or
//! ANIMEXTS1.0) application extension. Reads the block structure only: no image is decoded,
//! the LZW data is skipped sub-block by sub-block. Std-only, streaming (memory is constant
//! whatever the file size).

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// The six bytes every GIF starts with, one of these.
pub const GIF_SIGNATURES: [&[u8; 6]; 2] = [b"GIF87a", b"GIF89a"];

/// `bytes` (the start of a file) begins with a GIF signature.
pub fn is_gif(bytes: &[u8]) -> bool {
    GIF_SIGNATURES.iter().any(|s| bytes.starts_with(&s[..]))
}

/// What [`probe_gif`] finds out about a GIF file.
#[derive(Debug, Clone, PartialEq)]
pub struct GifInfo {
    /// "GIF87a" or "GIF89a".
    pub version: String,
    /// The logical screen (canvas) size.
    pub width: u32,
    pub height: u32,
    /// Number of images (one per frame a player shows).
    pub frame_count: u64,
    /// Sum of the Graphic Control Extension delays, in hundredths of a second (an image
    /// without one counts 0).
    pub duration_cs: u64,
    /// `duration_cs` in seconds.
    pub duration_seconds: f64,
    /// How many times the animation plays, as `framepipe encode --loop`: 0 = forever; 1 when
    /// the file has no loop extension (plays once); else the extension's repeat count + 1.
    pub loop_count: u32,
    /// The repeat count stored in the NETSCAPE2.0 / ANIMEXTS1.0 extension, if there is one.
    pub repeat_field: Option<u16>,
    /// File size in bytes.
    pub file_size: u64,
}

/// Describe the GIF file at `path`.
pub fn probe_gif(path: &Path) -> Result<GifInfo> {
    let f = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    probe_gif_reader(BufReader::new(f)).map_err(|e| match e {
        e @ Error::InvalidData(_) => e.with_prefix(&format!("{}: ", path.display())),
        Error::Io { context, source } => Error::Io { context: format!("{context} ({})", path.display()), source },
        other => other,
    })
}

/// A reader that counts the bytes read, for error messages and the file size.
struct Counted<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Counted<R> {
    /// Read exactly `buf.len()` bytes; running out of file is a "truncated GIF" error naming
    /// what was being read.
    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let start = self.pos;
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => {
                    return Err(Error::invalid_data(format!(
                        "truncated GIF: the file ends at byte {} inside the {what} that starts at byte {start}",
                        start + filled as u64
                    )))
                }
                Ok(n) => {
                    filled += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("reading GIF", e)),
            }
        }
        Ok(())
    }

    fn byte(&mut self, what: &str) -> Result<u8> {
        let mut b = [0u8];
        self.exact(&mut b, what)?;
        Ok(b[0])
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<()> {
        let start = self.pos;
        let copied =
            io::copy(&mut (&mut self.inner).take(n), &mut io::sink()).map_err(|e| Error::io("reading GIF", e))?;
        self.pos += copied;
        if copied < n {
            return Err(Error::invalid_data(format!(
                "truncated GIF: the file ends at byte {} inside the {what} that starts at byte {start}",
                self.pos
            )));
        }
        Ok(())
    }

    /// Skip a chain of data sub-blocks (size byte, data, ..., a zero size byte).
    fn skip_sub_blocks(&mut self, what: &str) -> Result<()> {
        loop {
            let n = self.byte(what)?;
            if n == 0 {
                return Ok(());
            }
            self.skip(u64::from(n), what)?;
        }
    }

    /// The rest of the input (after the trailer): counted for the file size, never parsed.
    fn drain(&mut self) -> Result<()> {
        let n = io::copy(&mut self.inner, &mut io::sink()).map_err(|e| Error::io("reading GIF", e))?;
        self.pos += n;
        Ok(())
    }
}

/// Size in bytes of a colour table announced by a packed field (bit 7 = present, bits 0-2 =
/// log2(entries) - 1).
fn color_table_len(packed: u8) -> u64 {
    if packed & 0x80 != 0 {
        3 << ((packed & 7) + 1)
    } else {
        0
    }
}

/// Describe a GIF read from `r` (the whole stream is the file).
pub fn probe_gif_reader<R: Read>(r: R) -> Result<GifInfo> {
    let mut r = Counted { inner: r, pos: 0 };
    let mut header = [0u8; 13];
    r.exact(&mut header[..6], "header")
        .map_err(|_| Error::invalid_data("not a GIF file: shorter than its 6-byte signature"))?;
    if !is_gif(&header) {
        return Err(Error::invalid_data("not a GIF file: it does not start with GIF87a or GIF89a"));
    }
    r.exact(&mut header[6..], "logical screen descriptor")?;
    let version = String::from_utf8_lossy(&header[..6]).into_owned();
    let width = u32::from(u16::from_le_bytes([header[6], header[7]]));
    let height = u32::from(u16::from_le_bytes([header[8], header[9]]));
    r.skip(color_table_len(header[10]), "global colour table")?;

    let (mut frames, mut duration_cs, mut repeat) = (0u64, 0u64, None::<u16>);
    // The delay of the Graphic Control Extension waiting for its image.
    let mut pending_delay: Option<u16> = None;
    loop {
        let at = r.pos;
        let mut block = [0u8];
        match r.exact(&mut block, "block") {
            Ok(()) => {}
            Err(Error::InvalidData(_)) => {
                return Err(Error::invalid_data(format!(
                    "truncated GIF: the file ends at byte {at}, after {frames} images, without the trailer byte 0x3B"
                )))
            }
            Err(e) => return Err(e),
        }
        match block[0] {
            0x2C => {
                let mut desc = [0u8; 9];
                r.exact(&mut desc, "image descriptor")?;
                r.skip(color_table_len(desc[8]), "local colour table")?;
                r.byte("image data")?; // LZW minimum code size
                r.skip_sub_blocks("image data")?;
                frames += 1;
                duration_cs += u64::from(pending_delay.take().unwrap_or(0));
            }
            0x21 => match r.byte("extension")? {
                0xF9 => {
                    let len = r.byte("graphic control extension")?;
                    let mut body = [0u8; 255];
                    r.exact(&mut body[..usize::from(len)], "graphic control extension")?;
                    if len >= 4 {
                        pending_delay = Some(u16::from_le_bytes([body[1], body[2]]));
                    }
                    r.skip_sub_blocks("graphic control extension")?;
                }
                0xFF => {
                    let len = r.byte("application extension")?;
                    let mut id = [0u8; 255];
                    r.exact(&mut id[..usize::from(len)], "application extension")?;
                    let looping = len == 11 && (&id[..11] == b"NETSCAPE2.0" || &id[..11] == b"ANIMEXTS1.0");
                    loop {
                        let n = r.byte("application extension")?;
                        if n == 0 {
                            break;
                        }
                        let mut data = [0u8; 255];
                        r.exact(&mut data[..usize::from(n)], "application extension")?;
                        // Sub-block 1 of the looping extension: [1, repeat count (u16 LE)].
                        if looping && n >= 3 && data[0] == 1 && repeat.is_none() {
                            repeat = Some(u16::from_le_bytes([data[1], data[2]]));
                        }
                    }
                }
                // Comment, plain text, or an extension we do not know: skip its sub-blocks.
                _ => r.skip_sub_blocks("extension")?,
            },
            0x3B => break,
            other => {
                return Err(Error::invalid_data(format!(
                    "malformed GIF: byte 0x{other:02x} at byte {at} starts no block (expected an image 0x2C, \
                     an extension 0x21 or the trailer 0x3B)"
                )))
            }
        }
    }
    r.drain()?;
    let loop_count = match repeat {
        None => 1,
        Some(0) => 0,
        Some(n) => u32::from(n) + 1,
    };
    Ok(GifInfo {
        version,
        width,
        height,
        frame_count: frames,
        duration_cs,
        duration_seconds: duration_cs as f64 / 100.0,
        loop_count,
        repeat_field: repeat,
        file_size: r.pos,
    })
}

impl fmt::Display for GifInfo {
    /// `framepipe probe`'s text ([`crate::probe::text`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::probe::text(&crate::probe::FileInfo::Gif(self.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A GIF written by the `gif` crate (independent of framepipe's encoder): `delays` in cs,
    /// one image each, alternating global and local palettes; `repeat` as the crate's.
    fn gif_crate_file(w: u16, h: u16, delays: &[u16], repeat: Option<gif::Repeat>) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let palette = [0u8, 0, 0, 255, 255, 255];
            let mut enc = gif::Encoder::new(&mut out, w, h, &palette).unwrap();
            if let Some(rep) = repeat {
                enc.set_repeat(rep).unwrap();
            }
            for (i, &d) in delays.iter().enumerate() {
                let mut frame = gif::Frame {
                    width: w,
                    height: h,
                    delay: d,
                    buffer: vec![(i % 2) as u8; usize::from(w) * usize::from(h)].into(),
                    ..Default::default()
                };
                if i % 2 == 1 {
                    frame.palette = Some(vec![10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3]);
                }
                enc.write_frame(&frame).unwrap();
            }
        }
        out
    }

    #[test]
    fn reads_size_frames_delays_and_loop() {
        let data = gif_crate_file(81, 47, &[3, 3, 4, 7, 10], Some(gif::Repeat::Finite(2)));
        let info = probe_gif_reader(Cursor::new(&data)).unwrap();
        assert_eq!(info.version, "GIF89a");
        assert_eq!((info.width, info.height), (81, 47));
        assert_eq!(info.frame_count, 5);
        assert_eq!(info.duration_cs, 27);
        assert!((info.duration_seconds - 0.27).abs() < 1e-12);
        assert_eq!((info.loop_count, info.repeat_field), (3, Some(2)));
        assert_eq!(info.file_size, data.len() as u64);
        let text = info.to_string();
        for needle in ["width: 81", "height: 47", "frames: 5", "duration: 0.27 s", "loop: 3 (plays 3 times)"] {
            assert!(text.contains(needle), "{text}");
        }
    }

    #[test]
    fn loop_forever_and_no_loop_extension() {
        let forever = gif_crate_file(4, 4, &[5, 5], Some(gif::Repeat::Infinite));
        let info = probe_gif_reader(Cursor::new(&forever)).unwrap();
        assert_eq!((info.loop_count, info.repeat_field), (0, Some(0)));
        assert!(info.to_string().contains("loop: 0 (plays forever)"));
        let once = gif_crate_file(4, 4, &[5], None);
        let info = probe_gif_reader(Cursor::new(&once)).unwrap();
        assert_eq!((info.loop_count, info.repeat_field, info.frame_count), (1, None, 1));
    }

    #[test]
    fn gif87a_without_control_extensions_and_other_blocks() {
        // GIF87a, 2x1, global table of 2 colours, a comment, two images with local tables and
        // no delays, then some bytes after the trailer (counted in the size, not parsed).
        let mut d = b"GIF87a\x02\x00\x01\x00\x80\x00\x00".to_vec();
        d.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        d.extend_from_slice(b"\x21\xFE\x05hello\x00");
        for _ in 0..2 {
            d.extend_from_slice(&[0x2C, 0, 0, 0, 0, 2, 0, 1, 0, 0x80, 1, 2, 3, 4, 5, 6]);
            d.extend_from_slice(&[2, 2, 0x44, 0x01, 0]);
        }
        d.extend_from_slice(b"\x3Bjunk");
        let info = probe_gif_reader(Cursor::new(&d)).unwrap();
        assert_eq!(info.version, "GIF87a");
        assert_eq!((info.width, info.height, info.frame_count, info.duration_cs), (2, 1, 2, 0));
        assert_eq!(info.loop_count, 1);
        assert_eq!(info.file_size, d.len() as u64);
    }

    #[test]
    fn truncated_and_malformed_files_are_errors() {
        let data = gif_crate_file(8, 8, &[4, 4, 4], None);
        for cut in [7, 13, 20, data.len() / 2, data.len() - 1] {
            let e = probe_gif_reader(Cursor::new(&data[..cut])).unwrap_err();
            assert!(e.to_string().starts_with("truncated GIF: the file ends at byte"), "cut {cut}: {e}");
        }
        // Cut right after an image: only the trailer is missing.
        let e = probe_gif_reader(Cursor::new(&data[..data.len() - 1])).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "truncated GIF: the file ends at byte {}, after 3 images, without the trailer byte 0x3B",
                data.len() - 1
            )
        );
        let mut bad = data.clone();
        let last = bad.len() - 1;
        bad[last] = 0x99;
        let e = probe_gif_reader(Cursor::new(&bad)).unwrap_err();
        assert!(e.to_string().starts_with(&format!("malformed GIF: byte 0x99 at byte {last}")), "{e}");
        let e = probe_gif_reader(Cursor::new(b"\x89PNG\r\n\x1a\n")).unwrap_err();
        assert_eq!(e.to_string(), "not a GIF file: it does not start with GIF87a or GIF89a");
        let e = probe_gif_reader(Cursor::new(b"GIF")).unwrap_err();
        assert!(e.to_string().starts_with("not a GIF file"), "{e}");
        assert!(is_gif(b"GIF89a\x01") && is_gif(b"GIF87a") && !is_gif(b"GIF88a") && !is_gif(b"GIF8"));
    }
}
