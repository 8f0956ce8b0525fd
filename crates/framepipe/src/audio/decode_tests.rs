//! The soundtrack reader against files ffmpeg writes from a known signal.

use super::*;
use crate::encode::audio_testutil::{channel, interleave, power_at, temp_path, tone, tone_frequency};
use std::process::Command;

const RATE: u32 = 44100;

/// Stereo: 440 Hz left, 1000 Hz right, 2 s.
fn source() -> Vec<f32> {
    let n = 2 * RATE as usize;
    interleave(&[tone(440.0, 0.5, RATE, n), tone(1000.0, 0.3, RATE, n)])
}

/// Writes `x` (stereo at `rate`) through ffmpeg with `args` into a file named `name`.
fn ffmpeg_write(x: &[f32], rate: u32, args: &[&str], name: &str) -> std::path::PathBuf {
    let raw = temp_path(&format!("{name}.f32"));
    std::fs::write(&raw, x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let out = temp_path(name);
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "f32le", "-ar", &rate.to_string(), "-ac", "2", "-i"])
        .arg(&raw)
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg writing {name}");
    let _ = std::fs::remove_file(raw);
    out
}

fn read_all(path: &Path) -> (AudioFileReader, Vec<f32>) {
    let mut r = AudioFileReader::open(path).unwrap();
    let mut all = Vec::new();
    let mut chunk = Vec::new();
    while r.read_chunk(&mut chunk).unwrap() {
        all.extend_from_slice(&chunk);
    }
    (r, all)
}

#[test]
fn wav_float_and_flac_are_exact() {
    let x = source();
    for (args, name, tol) in [
        (&["-c:a", "pcm_f32le"][..], "f.wav", 0.0f32),
        (&["-c:a", "pcm_s16le"][..], "s16.wav", 1.0 / 32768.0),
        (&["-c:a", "flac"][..], "x.flac", 1.0 / 32768.0),
    ] {
        let path = ffmpeg_write(&x, RATE, args, name);
        let (r, y) = read_all(&path);
        assert_eq!((r.sample_rate(), r.channels()), (RATE, 2), "{name}");
        assert_eq!(y.len(), x.len(), "{name}: length");
        let err = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err <= tol, "{name}: max error {err}");
        assert_eq!(r.frames_read(), (x.len() / 2) as u64);
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn lossy_formats_decode_to_the_tones() {
    let x = source();
    let n = x.len() / 2;
    for (args, name) in [
        (&["-c:a", "libmp3lame", "-b:a", "192k"][..], "x.mp3"),
        (&["-c:a", "aac", "-b:a", "192k"][..], "x.m4a"),
        (&["-c:a", "aac", "-b:a", "192k", "-f", "adts"][..], "x.aac"),
        (&["-c:a", "libvorbis", "-q:a", "6"][..], "x.ogg"),
    ] {
        let path = ffmpeg_write(&x, RATE, args, name);
        let (r, y) = read_all(&path);
        assert_eq!((r.sample_rate(), r.channels()), (RATE, 2), "{name}");
        let got = y.len() / 2;
        // Within the codec's priming and padding (a frame or two).
        assert!(got.abs_diff(n) <= 2 * 1152 + 1024, "{name}: {got} frames for {n}");
        for (c, (f, other)) in [(440.0, 1000.0), (1000.0, 440.0)].into_iter().enumerate() {
            let ch = channel(&y, 2, c);
            let mid = &ch[n / 4..n * 3 / 4];
            assert!((tone_frequency(mid, RATE) - f).abs() < 0.1, "{name}: channel {c}");
            let leak = 10.0 * (power_at(mid, other, RATE) / power_at(mid, f, RATE)).log10();
            assert!(leak < -40.0, "{name}: channel {c} leak {leak} dB");
        }
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn iterator_yields_the_same_samples() {
    let x = source();
    let path = ffmpeg_write(&x, RATE, &["-c:a", "pcm_f32le"], "it.wav");
    let y: Vec<f32> = AudioFileReader::open(&path).unwrap().flat_map(|c| c.unwrap()).collect();
    assert_eq!(y, x);
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_rate_change_mid_stream_is_an_error_naming_the_time() {
    // Two MP3 streams, 44.1 kHz then 48 kHz, one after the other in one file.
    let x = source();
    let a = ffmpeg_write(&x, RATE, &["-c:a", "libmp3lame", "-write_xing", "0"], "a.mp3");
    let b = ffmpeg_write(&x, 48000, &["-c:a", "libmp3lame", "-write_xing", "0"], "b.mp3");
    let both = temp_path("changes.mp3");
    let mut bytes = std::fs::read(&a).unwrap();
    bytes.extend(std::fs::read(&b).unwrap());
    std::fs::write(&both, bytes).unwrap();
    let mut r = AudioFileReader::open(&both).unwrap();
    let mut chunk = Vec::new();
    let e = loop {
        match r.read_chunk(&mut chunk) {
            Ok(true) => continue,
            Ok(false) => panic!("no error at the rate change"),
            Err(e) => break e,
        }
    };
    let msg = e.to_string();
    assert!(matches!(e, Error::InvalidData(_)), "{msg}");
    assert!(msg.contains("changes from 44100 Hz to 48000 Hz at 2.0"), "{msg}");
    for p in [a, b, both] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn missing_and_corrupt_files() {
    let e = AudioFileReader::open(Path::new("/nonexistent/music.wav")).err().unwrap();
    assert!(matches!(e, Error::Io { .. }) && e.to_string().contains("/nonexistent/music.wav"), "{e}");
    let junk = temp_path("junk.wav");
    std::fs::write(&junk, b"this is not a wave file at all, just text, repeated. ".repeat(100)).unwrap();
    let e = AudioFileReader::open(&junk).err().unwrap();
    assert!(matches!(e, Error::Unsupported(_)) && e.to_string().contains("junk.wav"), "{e}");
    // A WAV whose data ends early: the samples there are read, then the stream ends.
    let x = source();
    let wav = ffmpeg_write(&x, RATE, &["-c:a", "pcm_s16le"], "cut.wav");
    let bytes = std::fs::read(&wav).unwrap();
    std::fs::write(&wav, &bytes[..bytes.len() / 2]).unwrap();
    let (_, y) = read_all(&wav);
    assert!(y.len() < x.len() && y.len() > x.len() / 3, "{} of {}", y.len(), x.len());
    let _ = std::fs::remove_file(junk);
    let _ = std::fs::remove_file(wav);
}
