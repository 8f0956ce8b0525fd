//! The engine's writer with a sound track, decoded back by ffmpeg: two streams, the video sets
//! the length (short sound padded with silence, long sound cut), the decoded samples are the
//! source's (a 1 kHz tone: frequency and level), whatever the interleaving of frames and samples.

mod common;

use common::{ffmpeg_decode, run_tool, TempDir};
use framepipe::{AudioCodec, AudioInput, EncodeOptions, Frame, PixelFormat, Preset, Rational, VideoWriter};
use std::path::Path;
use std::process::Command;

fn tone(rate: u32, channels: u16, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    (0..n)
        .flat_map(|i| {
            let v = (0.5 * (std::f64::consts::TAU * 1000.0 * i as f64 / f64::from(rate)).sin()) as f32;
            std::iter::repeat_n(v, usize::from(channels))
        })
        .collect()
}

/// (codec_type, codec_name, duration) of each stream, by ffprobe.
fn streams(path: &Path) -> Vec<(String, String, f64)> {
    let out = run_tool(
        Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name,duration", "-of", "csv=p=0"])
            .arg(path),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[0].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

/// The first audio stream decoded by ffmpeg, mono (channel 0 of interleaved f32).
fn decoded(path: &Path, channels: usize) -> Vec<f32> {
    let (bytes, errors) = ffmpeg_decode(path, &["-map", "0:a:0", "-f", "f32le", "-c:a", "pcm_f32le"]);
    assert!(errors.is_empty(), "{errors}");
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).step_by(channels).collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// `frames` black 32x32 frames at 30 fps and `sound` written as `order` says.
fn write(path: &Path, codec: AudioCodec, rate: u32, channels: u16, frames: u32, sound: &[f32], order: &str) {
    let opts = EncodeOptions {
        fps: Rational::new(30, 1).unwrap(),
        preset: Preset::Ultrafast,
        audio: Some(AudioInput { sample_rate: rate, channels }),
        audio_codec: codec,
        ..Default::default()
    };
    let mut w = VideoWriter::create(path, opts).unwrap();
    let px = vec![0u8; 32 * 32 * 3];
    let frame = Frame::packed(&px, 32, 32, PixelFormat::Rgb24).unwrap();
    let per = sound.len().div_ceil(frames as usize * usize::from(channels)) * usize::from(channels);
    if order == "audio first" {
        w.write_audio(sound).unwrap();
    }
    for i in 0..frames as usize {
        if order == "alternating" {
            w.write_audio(&sound[(i * per).min(sound.len())..((i + 1) * per).min(sound.len())]).unwrap();
        }
        w.write(&frame).unwrap();
    }
    if order == "video first" {
        w.write_audio(sound).unwrap();
    }
    let s = w.finish().unwrap();
    assert_eq!(
        (s.frames, s.audio_samples, s.audio_clipped),
        (u64::from(frames), (sound.len() / usize::from(channels)) as u64, 0)
    );
}

#[test]
fn sound_tracks_have_the_videos_length_and_the_sources_samples() {
    let dir = TempDir::new("pipeline-audio");
    for (codec, rate, channels, seconds) in [
        (AudioCodec::Aac, 44100, 2, 0.5), // shorter than the 2 s video: padded with silence
        (AudioCodec::Aac, 48000, 1, 3.0), // longer: cut
        (AudioCodec::Opus, 44100, 2, 0.5),
        (AudioCodec::Opus, 48000, 6, 3.0),
    ] {
        let path = dir.join(&format!("{}-{rate}-{channels}-{seconds}.mp4", codec.name()));
        write(&path, codec, rate, channels, 60, &tone(rate, channels, seconds), "alternating");
        let s = streams(&path);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((s[0].0.as_str(), s[1].0.as_str(), s[1].1.as_str()), ("video", "audio", codec.name()), "{s:?}");
        for (kind, _, d) in &s {
            assert!((d - 2.0).abs() < 1e-3, "{kind} lasts {d} s");
        }
        let out_rate = codec.sample_rate_for(rate) as usize;
        let x = decoded(&path, usize::from(channels));
        // ffmpeg skips the priming (the edit list's start) but decodes the last packet whole:
        // up to a packet (1024 or 960 samples) past the edit list's end.
        assert!(x.len() >= 2 * out_rate && x.len() < 2 * out_rate + 1024, "{} samples", x.len());
        let level = rms(&x[out_rate / 10..out_rate * 4 / 10]);
        assert!((20.0 * (level / (0.5 / 2f64.sqrt())).log10()).abs() < 0.5, "rms {level}");
        let tail = &x[out_rate * 3 / 2..];
        if seconds < 1.0 {
            assert!(tail.iter().all(|v| v.abs() < 1e-3), "silence after the sound");
        } else {
            assert!((20.0 * (rms(tail) / (0.5 / 2f64.sqrt())).log10()).abs() < 0.5, "sound to the end");
        }
    }
}

#[test]
fn interleavings_give_the_same_sound() {
    let dir = TempDir::new("pipeline-audio-order");
    let sound = tone(48000, 2, 1.0);
    let mut first = None;
    for order in ["audio first", "video first", "alternating"] {
        let path = dir.join(&format!("{order}.mp4"));
        write(&path, AudioCodec::Aac, 48000, 2, 30, &sound, order);
        let x = decoded(&path, 1);
        assert!(x.len() >= 2 * 48000 && x.len() < 2 * (48000 + 1024), "{order}: {}", x.len()); // both channels
        match &first {
            None => first = Some(x),
            Some(f) => assert!(f == &x, "{order} decodes to other samples"),
        }
    }
}
