//! Test helpers for the audio encoders: signals, container framing (ADTS, Ogg), decoding with
//! ffmpeg (the independent decoder) and measures.

use super::audio::{AudioConfig, AudioEncoder, AudioPacket};
use std::f64::consts::PI;
use std::path::PathBuf;
use std::process::Command;

/// A sine of `freq` Hz and amplitude `amp`, `n` samples at `rate`.
pub fn tone(freq: f64, amp: f64, rate: u32, n: usize) -> Vec<f32> {
    (0..n).map(|i| (amp * (2.0 * PI * freq * i as f64 / rate as f64).sin()) as f32).collect()
}

/// A linear chirp from `f0` to `f1` Hz over `n` samples.
pub fn chirp(f0: f64, f1: f64, amp: f64, rate: u32, n: usize) -> Vec<f32> {
    let dur = n as f64 / rate as f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            (amp * (2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * dur))).sin()) as f32
        })
        .collect()
}

/// Interleaves equal-length channels.
pub fn interleave(chans: &[Vec<f32>]) -> Vec<f32> {
    let n = chans[0].len();
    (0..n).flat_map(|i| chans.iter().map(move |c| c[i])).collect()
}

/// Channel `c` of interleaved samples.
pub fn channel(x: &[f32], channels: usize, c: usize) -> Vec<f32> {
    x.iter().skip(c).step_by(channels).copied().collect()
}

/// Encodes `samples` sending them in chunks of `chunk` sample frames; all packets.
pub fn encode_all(enc: &mut dyn AudioEncoder, samples: &[f32], chunk: usize) -> Vec<AudioPacket> {
    let ch = enc.channels() as usize;
    let mut out = Vec::new();
    for c in samples.chunks(chunk * ch) {
        enc.send_samples(c).unwrap();
        while let Some(p) = enc.receive_packet() {
            out.push(p);
        }
    }
    enc.flush().unwrap();
    while let Some(p) = enc.receive_packet() {
        out.push(p);
    }
    out
}

/// A path in the temporary directory, unique to this process and `name`.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("framepipe-audio-{}-{name}", std::process::id()))
}

/// ADTS stream of AAC packets (the first one after the program config element, if the
/// configuration has one).
pub fn adts(config: &AudioConfig, packets: &[AudioPacket]) -> Vec<u8> {
    let AudioConfig::Aac(c) = config else { panic!("not AAC") };
    let mut pce = c.adts_pce().unwrap().unwrap_or_default();
    let mut v = Vec::new();
    for p in packets {
        v.extend_from_slice(&c.adts_header(pce.len() + p.data.len()).unwrap());
        v.append(&mut pce);
        v.extend_from_slice(&p.data);
    }
    v
}

/// An Ogg Opus file of the packets (RFC 7845): OpusHead, OpusTags, then the audio packets with
/// granule positions; the last page's granule is `pre_skip + samples` (end trimming).
pub fn ogg_opus(config: &AudioConfig, packets: &[AudioPacket], samples: u64) -> Vec<u8> {
    use ogg::writing::{PacketWriteEndInfo, PacketWriter};
    let AudioConfig::Opus(c) = config else { panic!("not Opus") };
    let mut out = Vec::new();
    {
        let mut w = PacketWriter::new(&mut out);
        let serial = 0x1234_5678;
        w.write_packet(c.opus_head(), serial, PacketWriteEndInfo::EndPage, 0).unwrap();
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&9u32.to_le_bytes());
        tags.extend_from_slice(b"framepipe");
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.write_packet(tags, serial, PacketWriteEndInfo::EndPage, 0).unwrap();
        let end = u64::from(c.pre_skip) + samples;
        for (i, p) in packets.iter().enumerate() {
            let last = i + 1 == packets.len();
            let granule = if last { end } else { (p.pts + i64::from(p.duration)) as u64 };
            let info = if last { PacketWriteEndInfo::EndStream } else { PacketWriteEndInfo::NormalPacket };
            w.write_packet(p.data.clone(), serial, info, granule).unwrap();
        }
    }
    out
}

/// Decodes `bytes` (a file of extension `ext`) with ffmpeg to interleaved f32 with the stream's
/// own channel count and rate. ADTS is read with ffmpeg's ADTS demuxer named (`-f aac`): its probe
/// scores a stream of fewer than 3 frames 1 of 100, so on a short stream another format's probe
/// can win and ffmpeg reports invalid data.
pub fn ffmpeg_decode(bytes: &[u8], ext: &str, name: &str) -> Vec<f32> {
    let path = temp_path(&format!("{name}.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    let demuxer: &[&str] = if ext == "aac" { &["-f", "aac"] } else { &[] };
    let out = Command::new("ffmpeg")
        .args(["-v", "error"])
        .args(demuxer)
        .arg("-i")
        .arg(&path)
        .args(["-f", "f32le", "-c:a", "pcm_f32le", "-"])
        .output()
        .expect("ffmpeg (Debian package ffmpeg, installed by scripts/setup.sh)");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "ffmpeg failed on {name}.{ext}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

/// Root mean square.
pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}

/// The frequency of a clean tone from its rising zero crossings (interpolated), Hz.
pub fn tone_frequency(x: &[f32], rate: u32) -> f64 {
    let mut crossings = Vec::new();
    for (i, w) in x.windows(2).enumerate() {
        let (a, b) = (f64::from(w[0]), f64::from(w[1]));
        if a < 0.0 && b >= 0.0 {
            crossings.push(i as f64 + a / (a - b));
        }
    }
    let n = crossings.len();
    assert!(n > 10, "no tone");
    (n - 1) as f64 * rate as f64 / (crossings[n - 1] - crossings[0])
}

/// Power of `x` at `freq` (a Hann-windowed single DFT bin), linear.
pub fn power_at(x: &[f32], freq: f64, rate: u32) -> f64 {
    let n = x.len();
    let (mut re, mut im) = (0.0, 0.0);
    for (i, &v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
        let ph = 2.0 * PI * freq * i as f64 / rate as f64;
        re += f64::from(v) * w * ph.cos();
        im -= f64::from(v) * w * ph.sin();
    }
    re * re + im * im
}

/// The lag in `-max..=max` at which `y` best matches `x` (y[i + lag] ~ x[i]).
pub fn best_lag(x: &[f32], y: &[f32], max: i64) -> i64 {
    let mut best = (f64::MIN, 0);
    for lag in -max..=max {
        let mut s = 0.0;
        for (i, &v) in x.iter().enumerate() {
            let j = i as i64 + lag;
            if j >= 0 && (j as usize) < y.len() {
                s += f64::from(v) * f64::from(y[j as usize]);
            }
        }
        if s > best.0 {
            best = (s, lag);
        }
    }
    best.1
}

/// Signal-to-noise ratio of `y` against `x`, dB.
pub fn snr_db(x: &[f32], y: &[f32]) -> f64 {
    let (mut s, mut e) = (0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        s += f64::from(a) * f64::from(a);
        e += (f64::from(a) - f64::from(b)).powi(2);
    }
    10.0 * (s / e).log10()
}
