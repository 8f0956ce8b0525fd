//! `framepipe encode --audio FILE`: WAV, FLAC and MP3 files made by ffmpeg, decoded back by
//! ffmpeg (the tone's frequency and level, the track's length = the video's); `--audio` for a
//! GIF and `--audio-*` without `--audio` are usage errors that write nothing.

#[path = "../../framepipe/tests/common/mod.rs"]
mod common;

use common::{ffmpeg_decode, run_tool, TempDir};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("FRAMEPIPE_CLI").unwrap_or_else(|_| env!("CARGO_BIN_EXE_framepipe").to_string())
});

/// Run the CLI with `frames` black 32x32 RGB frames on standard input: (exit code, stderr).
fn encode(args: &[&str], frames: usize) -> (Option<i32>, String) {
    let mut child = Command::new(BIN.as_str())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run framepipe");
    let mut pipe = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&vec![0u8; 32 * 32 * 3 * frames]);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A 1 kHz sine of amplitude 0.5, stereo, 44.1 kHz, `seconds` long, made by ffmpeg.
fn sound_file(path: &Path, seconds: f64, codec: &[&str]) {
    let src = format!("sine=frequency=1000:sample_rate=44100:duration={seconds}");
    run_tool(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", &src, "-af", "volume=4,pan=stereo|c0=c0|c1=c0"])
            .args(codec)
            .arg(path),
    );
}

fn audio_duration(path: &Path) -> f64 {
    let out = run_tool(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration,codec_name"])
            .args(["-of", "csv=p=0"])
            .arg(path),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (codec, d) = text.trim().split_once(',').unwrap();
    assert_eq!(codec, "aac");
    d.parse().unwrap()
}

#[test]
fn audio_from_wav_flac_and_mp3() {
    let dir = TempDir::new("cli-audio");
    for (name, codec, seconds) in [
        ("in.wav", &["-c:a", "pcm_s16le"][..], 1.0), // shorter than the video: silence after it
        ("in.flac", &[][..], 4.0),                   // longer: cut
        ("in.mp3", &["-b:a", "192k"][..], 4.0),
    ] {
        let input = dir.join(name);
        sound_file(&input, seconds, codec);
        let out = dir.join(&format!("{name}.mp4"));
        let (code, err) = encode(
            &[
                "encode",
                out.to_str().unwrap(),
                "--size",
                "32x32",
                "--fps",
                "24",
                "--preset",
                "ultrafast",
                "--audio",
                input.to_str().unwrap(),
            ],
            48,
        );
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!((audio_duration(&out) - 2.0).abs() < 1e-3, "{name}");
        let (bytes, errors) = ffmpeg_decode(&out, &["-map", "0:a:0", "-f", "f32le", "-c:a", "pcm_f32le"]);
        assert!(errors.is_empty(), "{errors}");
        let x: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        // Stereo at 44.1 kHz: 2 s, plus at most the rest of the last AAC packet.
        assert!(x.len() >= 2 * 88200 && x.len() < 2 * 88200 + 2048, "{name}: {} samples", x.len());
        let left: Vec<f64> = x.iter().step_by(2).map(|&v| f64::from(v)).collect();
        let part = &left[22050..39690]; // 0.5 to 0.9 s
        let rms = (part.iter().map(|v| v * v).sum::<f64>() / part.len() as f64).sqrt();
        assert!((20.0 * (rms / (0.5 / 2f64.sqrt())).log10()).abs() < 0.3, "{name}: rms {rms}");
        let crossings: Vec<usize> = (1..part.len()).filter(|&i| part[i - 1] < 0.0 && part[i] >= 0.0).collect();
        let f = (crossings.len() - 1) as f64 * 44100.0 / (crossings[crossings.len() - 1] - crossings[0]) as f64;
        assert!((f - 1000.0).abs() < 2.0, "{name}: {f} Hz");
        let tail = &left[(1.2 * 44100.0) as usize..88200];
        if seconds < 2.0 {
            assert!(tail.iter().all(|v| v.abs() < 1e-3), "{name}: silence after the sound");
        } else {
            assert!(tail.iter().any(|v| v.abs() > 0.4), "{name}: the sound goes on to the end");
        }
    }
}

#[test]
fn audio_errors_are_usage_errors_or_name_the_file() {
    let dir = TempDir::new("cli-audio-errors");
    let wav = dir.join("in.wav");
    sound_file(&wav, 0.5, &[]);
    let gif = dir.join("out.gif");
    let (code, err) =
        encode(&["encode", gif.to_str().unwrap(), "--size", "32x32", "--audio", wav.to_str().unwrap()], 2);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("a GIF has no sound"), "{err}");
    assert!(!gif.exists());
    let mp4 = dir.join("out.mp4");
    let (code, err) = encode(&["encode", mp4.to_str().unwrap(), "--size", "32x32", "--audio-bitrate", "96"], 2);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--audio-bitrate applies to a sound track"), "{err}");
    let missing = dir.join("missing.flac");
    let (code, err) =
        encode(&["encode", mp4.to_str().unwrap(), "--size", "32x32", "--audio", missing.to_str().unwrap()], 2);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("missing.flac"), "{err}");
    assert!(!mp4.exists());
}
