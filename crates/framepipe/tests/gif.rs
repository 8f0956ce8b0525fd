//! GIF through the whole engine (VideoWriter: format by extension or option, queue, encoder
//! thread), decoded back by ffmpeg/ffprobe — independent of framepipe — and compared with the
//! source.

mod common;

use common::{ffmpeg_decode, probe_facts, psnr, TempDir, RAW_RGB24};
use framepipe::{EncodeOptions, Frame, OutputFormat, PixelFormat, Rational, VideoWriter};
use std::path::Path;

/// A frame that differs from every other: a moving bar over a smooth background, packed RGB.
fn frame(i: u32, w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let bar = (x + 3 * w - (i * 5) % w) % w < 6;
            if bar {
                v.extend_from_slice(&[220, 40, 40]);
            } else {
                v.extend_from_slice(&[(40 + x * 150 / w) as u8, (60 + y * 120 / h) as u8, 150]);
            }
        }
    }
    v
}

/// ffprobe's facts: (width, height, decoded frame count, duration in s, codec).
fn probe(path: &Path) -> (u32, u32, u64, f64, String) {
    let f = probe_facts(path);
    (f.width, f.height, f.frames, f.duration, f.codec)
}

/// Every frame ffmpeg decodes (one per GIF image), packed RGB, and what it complained about.
fn decode(path: &Path) -> (Vec<u8>, String) {
    ffmpeg_decode(path, &RAW_RGB24)
}

#[test]
fn gif_by_extension_round_trips_through_ffmpeg() {
    let dir = TempDir::new("gif-anim");
    let path = dir.join("anim.GIF"); // any case
    let (w, h, n) = (121u32, 67u32, 30u32); // odd sizes: GIF needs no padding
    let mut writer =
        VideoWriter::create(&path, EncodeOptions { fps: Rational::new(30, 1).unwrap(), ..Default::default() }).unwrap();
    assert_eq!(writer.format(), OutputFormat::Gif);
    let mut source = Vec::new();
    for i in 0..n {
        let f = frame(i, w, h);
        writer.write(&Frame::packed(&f, w, h, PixelFormat::Rgb24).unwrap()).unwrap();
        source.extend_from_slice(&f);
    }
    assert!(writer.take_warnings().is_empty());
    let s = writer.finish().unwrap();
    assert_eq!((s.frames, s.width, s.height, s.coded_width, s.coded_height), (n as u64, w, h, w, h));
    assert_eq!(s.bytes, std::fs::metadata(&path).unwrap().len());
    let (pw, ph, count, duration, codec) = probe(&path);
    assert_eq!((pw, ph, count, codec.as_str()), (w, h, n as u64, "gif"));
    assert!((duration - 1.0).abs() < 0.011, "duration {duration}"); // 30 frames at 30 fps: 100 cs
    let (decoded, complaints) = decode(&path);
    assert_eq!(complaints, "");
    let p = psnr(&decoded, &source);
    assert!(p > 40.0, "PSNR {p:.1}");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(*bytes.last().unwrap(), 0x3B);
}

#[test]
fn explicit_format_and_in_memory_gif() {
    // format= wins over the extension, and in memory.
    let opts = EncodeOptions { format: Some(OutputFormat::Gif), ..Default::default() };
    let mut writer = VideoWriter::in_memory(opts.clone()).unwrap();
    for i in 0..5 {
        let f = frame(i, 40, 30);
        writer.write(&Frame::packed(&f, 40, 30, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    let (s, data) = writer.finish_to_vec().unwrap();
    assert_eq!(&data[..6], b"GIF89a");
    assert_eq!(s.bytes, data.len() as u64);
    let dir = TempDir::new("gif-format");
    let path = dir.join("named.mp4");
    let mut writer = VideoWriter::create(&path, opts).unwrap();
    let f = frame(0, 40, 30);
    writer.write(&Frame::packed(&f, 40, 30, PixelFormat::Rgb24).unwrap()).unwrap();
    writer.finish().unwrap();
    assert_eq!(probe(&path).4, "gif");
    // And the other way round: an MP4 named .gif.
    let path = dir.join("really-mp4.gif");
    let opts = EncodeOptions { format: Some(OutputFormat::Mp4), ..Default::default() };
    let mut writer = VideoWriter::create(&path, opts).unwrap();
    writer.write(&Frame::packed(&f, 40, 30, PixelFormat::Rgb24).unwrap()).unwrap();
    writer.finish().unwrap();
    assert_eq!(probe(&path).4, "h264");
}

#[test]
fn wrong_frame_is_refused_with_its_index_and_the_gif_keeps_the_rest() {
    let dir = TempDir::new("gif-errors");
    let path = dir.join("errors.gif");
    let mut writer = VideoWriter::create(&path, EncodeOptions::default()).unwrap();
    let mut source = Vec::new();
    for i in 0..4 {
        let f = frame(i, 40, 30);
        writer.write(&Frame::packed(&f, 40, 30, PixelFormat::Rgb24).unwrap()).unwrap();
        source.extend_from_slice(&f);
    }
    let small = frame(0, 20, 30);
    let e = writer.write(&Frame::packed(&small, 20, 30, PixelFormat::Rgb24).unwrap()).unwrap_err();
    assert!(e.to_string().contains("frame 4"), "{e}");
    let f = frame(4, 40, 30);
    writer.write(&Frame::packed(&f, 40, 30, PixelFormat::Rgb24).unwrap()).unwrap();
    source.extend_from_slice(&f);
    // Dropped without finish: Drop finishes the file.
    drop(writer);
    let (_, _, count, _, _) = probe(&path);
    assert_eq!(count, 5);
    let (decoded, complaints) = decode(&path);
    assert_eq!(complaints, "");
    let fl = 40 * 30 * 3;
    for i in 0..5 {
        let p = psnr(&decoded[i * fl..(i + 1) * fl], &source[i * fl..(i + 1) * fl]);
        assert!(p > 40.0, "frame {i}: PSNR {p:.1}");
    }
}

#[test]
fn alpha_is_composited_over_the_background_like_mp4() {
    let dir = TempDir::new("gif-alpha");
    let path = dir.join("alpha.gif");
    let opts = EncodeOptions { background: [0, 0, 255], ..Default::default() };
    let mut writer = VideoWriter::create(&path, opts).unwrap();
    // Left half opaque red, right half fully transparent.
    let mut rgba = Vec::new();
    for _y in 0..8 {
        for x in 0..16 {
            rgba.extend_from_slice(if x < 8 { &[255, 0, 0, 255] } else { &[0, 255, 0, 0] });
        }
    }
    writer.write(&Frame::packed(&rgba, 16, 8, PixelFormat::Rgba).unwrap()).unwrap();
    writer.finish().unwrap();
    let (decoded, _) = decode(&path);
    assert_eq!(&decoded[..3], &[255, 0, 0]);
    assert_eq!(&decoded[8 * 3..8 * 3 + 3], &[0, 0, 255], "transparent → background, as for MP4");
}

#[test]
fn above_50_fps_warns_and_keeps_the_duration() {
    let dir = TempDir::new("gif-fast");
    let path = dir.join("fast.gif");
    let opts = EncodeOptions { fps: Rational::new(60, 1).unwrap(), ..Default::default() };
    let mut writer = VideoWriter::create(&path, opts).unwrap();
    for i in 0..60 {
        let f = frame(i, 40, 30);
        writer.write(&Frame::packed(&f, 40, 30, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    let warnings = writer.take_warnings();
    assert!(warnings.iter().any(|w| w.contains("50 fps")), "{warnings:?}");
    writer.finish().unwrap();
    let (_, _, count, duration, _) = probe(&path);
    assert!((duration - 1.0).abs() < 0.011, "{duration}");
    assert!((30..60).contains(&count), "{count}");
}
