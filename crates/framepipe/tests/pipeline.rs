//! The whole engine, frames in → MP4 out, decoded back by ffmpeg and compared with the source.

mod common;

use common::{decode_rgb, probe_facts, psnr, TempDir};
use framepipe::{EncodeOptions, Frame, PixelFormat, Preset, Rational, VideoWriter};
use std::path::Path;

/// Smooth moving gradients, packed RGB.
fn frame(i: u32, w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let t = i as f32 * 0.1;
            v.push((128.0 + 100.0 * ((x as f32) / 23.0 + t).sin()) as u8);
            v.push((128.0 + 100.0 * ((y as f32) / 17.0 - t).sin()) as u8);
            v.push((128.0 + 100.0 * ((x + y) as f32 / 31.0 + 0.5 * t).cos()) as u8);
        }
    }
    v
}

/// ffprobe's facts: (width, height, decoded frame count, frame rate, duration in s).
fn probe(path: &Path) -> (u32, u32, u64, String, f64) {
    let f = probe_facts(path);
    (f.width, f.height, f.frames, f.rate, f.duration)
}

#[test]
fn frames_round_trip_through_a_file() {
    let dir = TempDir::new("pipeline-roundtrip");
    let path = dir.join("roundtrip.mp4");
    let opts = EncodeOptions { fps: Rational::new(30000, 1001).unwrap(), ..Default::default() };
    let mut w = VideoWriter::create(&path, opts).unwrap();
    let mut source = Vec::new();
    for i in 0..40 {
        let f = frame(i, 160, 96);
        w.write(&Frame::packed(&f, 160, 96, PixelFormat::Rgb24).unwrap()).unwrap();
        source.extend_from_slice(&f);
    }
    assert!(w.take_warnings().is_empty());
    let s = w.finish().unwrap();
    assert_eq!((s.frames, s.width, s.height), (40, 160, 96));
    assert_eq!(s.bytes, std::fs::metadata(&path).unwrap().len());
    let (w, h, n, rate, dur) = probe(&path);
    assert_eq!((w, h, n, rate.as_str()), (160, 96, 40, "30000/1001"));
    assert!((dur - 40.0 * 1001.0 / 30000.0).abs() < 1e-3, "{dur}");
    let p = psnr(&decode_rgb(&path), &source);
    assert!(p >= 35.0, "PSNR {p}");
}

#[test]
fn mismatched_frame_is_refused_with_its_index_and_writer_stays_usable() {
    let dir = TempDir::new("pipeline-mismatch");
    let path = dir.join("mismatch.mp4");
    let opts = EncodeOptions { preset: Preset::Veryfast, ..Default::default() };
    let mut w = VideoWriter::create(&path, opts).unwrap();
    let a = frame(0, 64, 32);
    for _ in 0..3 {
        w.write(&Frame::packed(&a, 64, 32, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    let b = vec![0u8; 32 * 32 * 4];
    let err = w.write(&Frame::packed(&b, 32, 32, PixelFormat::Rgba).unwrap()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("frame 3") && msg.contains("32x32 rgba") && msg.contains("64x32 rgb24"), "{msg}");
    w.write(&Frame::packed(&a, 64, 32, PixelFormat::Rgb24).unwrap()).unwrap();
    assert_eq!(w.finish().unwrap().frames, 4);
    assert_eq!(probe(&path).2, 4);
}

#[test]
fn odd_size_is_padded_with_one_warning() {
    let dir = TempDir::new("pipeline-odd");
    let path = dir.join("odd.mp4");
    let mut w = VideoWriter::create(&path, EncodeOptions::default()).unwrap();
    let f = frame(0, 33, 17);
    for _ in 0..3 {
        w.write(&Frame::packed(&f, 33, 17, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    let warnings = w.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("34x18"));
    let s = w.finish().unwrap();
    assert_eq!((s.width, s.height, s.coded_width, s.coded_height), (33, 17, 34, 18));
    let (pw, ph, n, _, _) = probe(&path);
    assert_eq!((pw, ph, n), (34, 18, 3));
}

#[test]
fn in_memory_output_is_a_complete_mp4() {
    let mut w = VideoWriter::in_memory(EncodeOptions::default()).unwrap();
    let f = frame(1, 48, 48);
    for _ in 0..5 {
        w.write(&Frame::packed(&f, 48, 48, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    let (s, bytes) = w.finish_to_vec().unwrap();
    assert_eq!(s.frames, 5);
    let dir = TempDir::new("pipeline-memory");
    let path = dir.join("memory.mp4");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(probe(&path).2, 5);
}

#[test]
fn dropping_an_unfinished_writer_still_finishes_the_file() {
    let dir = TempDir::new("pipeline-dropped");
    let path = dir.join("dropped.mp4");
    {
        let mut w = VideoWriter::create(&path, EncodeOptions::default()).unwrap();
        let f = frame(2, 32, 32);
        for _ in 0..7 {
            w.write(&Frame::packed(&f, 32, 32, PixelFormat::Rgb24).unwrap()).unwrap();
        }
    }
    assert_eq!(probe(&path).2, 7);
}

#[test]
fn unwritable_path_and_empty_writer_are_clear_errors() {
    let err = VideoWriter::create("/nonexistent-dir/x.mp4", EncodeOptions::default()).err().unwrap();
    assert!(err.to_string().contains("/nonexistent-dir/x.mp4"), "{err}");
    let dir = TempDir::new("pipeline-empty");
    let empty = dir.join("empty.mp4");
    let w = VideoWriter::create(&empty, EncodeOptions::default()).unwrap();
    let err = w.finish().unwrap_err();
    assert!(err.to_string().contains("no frames"), "{err}");
    assert!(!empty.exists(), "no empty, unplayable file is left behind");
}
