//! The audio track checked by a real decoder: AAC (FFmpeg's encoder) and Opus (libopus)
//! packets are muxed with real x264 video, and ffprobe/ffmpeg must find both streams with the
//! right layout and durations, the audio starting at 0 (the priming hidden by the edit list),
//! and decode the samples the encoder was given (lag 0, SNR, a tone's frequency).

use std::io::Cursor;
use std::process::Command;

use crate::encode::audio_testutil::{
    best_lag, channel, chirp, encode_all, interleave, snr_db, temp_path, tone, tone_frequency,
};
use crate::encode::x264::X264Encoder;
use crate::encode::{new_audio_encoder, AudioCodec, AudioPacket, Packet, VideoEncoder};
use crate::mux::mp4::{probe_reader, Mp4Writer};
use crate::mux::{AudioTrack, VideoTrack};
use crate::options::{EncodeOptions, Preset};
use crate::rational::Rational;

/// Real x264 packets: `n` pictures of 64x48 at `fps` (B-frames: the default preset's).
pub(crate) fn video(n: i64, fps: Rational) -> (VideoTrack, Vec<Packet>) {
    let opts = EncodeOptions { preset: Preset::Ultrafast, fps, threads: Some(1), ..Default::default() };
    let opts = EncodeOptions { preset: Preset::Veryfast, ..opts };
    let mut enc = X264Encoder::new(64, 48, &opts).unwrap();
    let mut pic = crate::color::Yuv420Image::new(64, 48);
    let mut out = vec![];
    for i in 0..n {
        for (k, v) in pic.y.iter_mut().enumerate() {
            *v = (16 + (k as i64 * 5 + i * 7) % 200) as u8;
        }
        enc.send_frame(&pic, i).unwrap();
        while let Some(p) = enc.receive_packet().unwrap() {
            out.push(p);
        }
    }
    enc.flush().unwrap();
    while let Some(p) = enc.receive_packet().unwrap() {
        out.push(p);
    }
    let track = VideoTrack {
        width: 64,
        height: 48,
        fps,
        avc: enc.avc_config().clone(),
        color: crate::encode::ColorInfo::BT709_LIMITED,
    };
    (track, out)
}

/// Whether channel `c` of `channels` is 5.1's LFE (band-limited to ~120 Hz by the codecs).
fn is_lfe(channels: u16, c: usize) -> bool {
    channels == 6 && c == 3
}

/// A source signal: each channel a different chirp (so a lag or a swapped channel shows), the
/// LFE of 5.1 a 60 Hz tone.
pub(crate) fn source(channels: u16, rate: u32, samples: usize) -> Vec<f32> {
    let chans: Vec<Vec<f32>> = (0..channels as usize)
        .map(|c| {
            if is_lfe(channels, c) {
                tone(60.0, 0.4, rate, samples)
            } else {
                chirp(200.0 + 100.0 * c as f64, 6000.0 + 500.0 * c as f64, 0.4, rate, samples)
            }
        })
        .collect();
    interleave(&chans)
}

/// Encoded audio and its track description.
pub(crate) fn audio(
    codec: AudioCodec,
    channels: u16,
    rate: u32,
    x: &[f32],
    bitrate: u32,
) -> (AudioTrack, Vec<AudioPacket>) {
    let mut enc = new_audio_encoder(codec, rate, channels, Some(bitrate), rate).unwrap();
    let packets = encode_all(enc.as_mut(), x, 1000);
    let track =
        AudioTrack { config: enc.config().clone(), sample_rate: rate, channels, priming: enc.priming(), bitrate };
    (track, packets)
}

/// Mux the streams interleaved as a pipeline would: before each video packet, the audio up to
/// its time plus `audio_lead` seconds. Returns the writer (not finished).
pub(crate) fn mux(
    v: &(VideoTrack, Vec<Packet>),
    a: &(AudioTrack, Vec<AudioPacket>),
    audio_lead: f64,
    fragment_frames: u32,
) -> Mp4Writer<Cursor<Vec<u8>>> {
    let mut w = Mp4Writer::with_audio(Cursor::new(Vec::new()), v.0.clone(), a.0.clone()).unwrap();
    w.set_fragment_frames(fragment_frames).unwrap();
    let fps = v.0.fps;
    let rate = f64::from(a.0.sample_rate);
    let mut next = a.1.iter().peekable();
    for p in &v.1 {
        let t = (p.dts.max(0) as f64 + 1.0) * f64::from(fps.den) / f64::from(fps.num) + audio_lead;
        while let Some(ap) = next.next_if(|ap| (ap.pts as f64) / rate < t) {
            w.write_audio_packet(ap).unwrap();
        }
        w.write_packet(p).unwrap();
    }
    for ap in next {
        w.write_audio_packet(ap).unwrap();
    }
    w
}

/// ffprobe's `key=value` lines for `entries` of the file's streams.
pub(crate) fn ffprobe(bytes: &[u8], name: &str, entries: &str) -> String {
    let path = temp_path(&format!("{name}.mp4"));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "default"])
        .arg(&path)
        .output()
        .expect("ffprobe (Debian package ffmpeg)");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "ffprobe failed on {name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Decode the file's audio with ffmpeg (interleaved f32), and count its video frames; ffmpeg
/// must print nothing (no error, no warning).
pub(crate) fn decode(bytes: &[u8], name: &str) -> (Vec<f32>, u64) {
    let path = temp_path(&format!("{name}.mp4"));
    let raw = temp_path(&format!("{name}.f32"));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "warning", "-y", "-i"])
        .arg(&path)
        .args(["-map", "0:a", "-f", "f32le", "-c:a", "pcm_f32le"])
        .arg(&raw)
        .args(["-map", "0:v", "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg (Debian package ffmpeg)");
    let _ = std::fs::remove_file(&path);
    let pcm = std::fs::read(&raw).unwrap_or_default();
    let _ = std::fs::remove_file(&raw);
    assert!(out.status.success(), "ffmpeg failed on {name}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "ffmpeg complained about {name}: {}", String::from_utf8_lossy(&out.stderr));
    let frames = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).count() as u64;
    (pcm.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(), frames)
}

/// The value of `key` in stream `stream` of ffprobe's output ("" if absent).
pub(crate) fn field(text: &str, stream: usize, key: &str) -> String {
    let block = text.split("[STREAM]").nth(stream + 1).unwrap_or_default();
    block.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap_or("").to_string()
}

/// Mux, finish, and check the finished file with ffprobe and ffmpeg against the source.
fn roundtrip(codec: AudioCodec, channels: u16, rate: u32, bitrate: u32) {
    let fps = Rational::new(25, 1).unwrap();
    let frames = 75; // 3 s
    let v = video(frames, fps);
    // The encoder is given 0.5 s more than the video (as a pipeline may): the file keeps 3 s.
    let n = (3.5 * f64::from(rate)) as usize;
    let x = source(channels, rate, n);
    let a = audio(codec, channels, rate, &x, bitrate);
    let name = format!("{}-{channels}ch-{rate}", codec.name());
    let mut w = mux(&v, &a, 0.3, 25);
    w.finish().unwrap();
    let video_samples = 3 * u64::from(rate);
    let kept = w.audio_samples();
    assert!(kept >= video_samples + u64::from(a.0.priming), "{kept} samples kept");
    assert!(kept < video_samples + u64::from(a.0.priming) + 1024, "{kept} samples kept");
    let file = w.into_inner().into_inner();

    let info = ffprobe(&file, &name, "stream=codec_type,codec_name,channels,sample_rate,start_time,duration,nb_frames");
    let kinds: Vec<&str> = info.lines().filter_map(|l| l.strip_prefix("codec_type=")).collect();
    assert_eq!(kinds, ["video", "audio"], "{info}");
    assert_eq!(field(&info, 0, "nb_frames"), "75", "{info}");
    assert_eq!(field(&info, 1, "codec_name"), codec.name(), "{info}");
    assert_eq!(field(&info, 1, "channels"), channels.to_string(), "{info}");
    assert_eq!(field(&info, 1, "sample_rate"), rate.to_string(), "{info}");
    assert_eq!(field(&info, 1, "start_time"), "0.000000", "{info}");
    assert_eq!(field(&info, 1, "duration"), "3.000000", "{info}");
    assert_eq!(field(&info, 0, "duration"), "3.000000", "{info}");

    let (y, vframes) = decode(&file, &name);
    assert_eq!(vframes, 75);
    let ch = channels as usize;
    // ffmpeg (5.1) starts at the edit but decodes the last packet whole (so it does with files
    // of its own muxer): the edit's end is checked by ffprobe's duration above.
    let got = (y.len() / ch) as u64;
    assert!(got >= video_samples && got < video_samples + 1024, "decoded {got} samples per channel");
    let y = &y[..video_samples as usize * ch];
    let min_snr = if codec == AudioCodec::Aac { 25.0 } else { 20.0 };
    for c in 0..ch {
        let (xc, yc) = (channel(&x, ch, c), channel(y, ch, c));
        let inner = 4800..yc.len() - 4800;
        let snr = snr_db(&xc[inner.clone()], &yc[inner.clone()]);
        eprintln!("{name} channel {c}: SNR {snr:.1} dB");
        assert!(snr > min_snr, "{name} channel {c}: SNR {snr} dB");
        if is_lfe(channels, c) {
            let f = tone_frequency(&yc[inner], rate);
            assert!((f - 60.0).abs() < 0.5, "{name} LFE: frequency {f}");
        } else {
            let r = rate as usize..rate as usize + rate as usize / 5;
            assert_eq!(best_lag(&xc[r.clone()], &yc[r], 64), 0, "{name} channel {c}: lag");
        }
    }

    // Our own probe agrees.
    let p = probe_reader(Cursor::new(&file)).unwrap();
    assert_eq!(p.frame_count, 75);
    assert!(!p.fragmented && p.faststart);
    let pa = p.audio.clone().expect("the probe finds the audio track");
    assert_eq!((pa.codec.as_str(), pa.channels, pa.sample_rate), (codec.name(), channels, rate));
    assert_eq!(pa.priming, u64::from(a.0.priming));
    assert!((pa.duration_seconds - 3.0).abs() < 1e-3, "{pa:?}");
    let kbps = f64::from(bitrate) / 1000.0;
    assert!(pa.bitrate_kbps > 0.5 * kbps && pa.bitrate_kbps < 1.5 * kbps, "{pa:?}");
    let fields = crate::probe::fields(&crate::probe::FileInfo::Mp4(p));
    let keys: Vec<&str> = fields.iter().map(|f| f.0).filter(|k| k.starts_with("audio_")).collect();
    assert_eq!(
        keys,
        ["audio_codec", "audio_channels", "audio_sample_rate", "audio_duration", "audio_bitrate", "audio_priming"]
    );
}

/// A file without audio has no audio fields.
#[test]
fn video_only_file_has_no_audio_fields() {
    let v = video(10, Rational::new(25, 1).unwrap());
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), v.0.clone()).unwrap();
    for p in &v.1 {
        w.write_packet(p).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(w.audio_samples(), 0);
    let p = probe_reader(Cursor::new(w.into_inner().into_inner())).unwrap();
    assert_eq!(p.audio, None);
    let fields = crate::probe::fields(&crate::probe::FileInfo::Mp4(p));
    assert!(fields.iter().all(|f| !f.0.starts_with("audio")));
}

#[test]
fn aac_stereo_48k_roundtrip() {
    roundtrip(AudioCodec::Aac, 2, 48_000, 192_000);
}

#[test]
fn aac_mono_44k_roundtrip() {
    roundtrip(AudioCodec::Aac, 1, 44_100, 128_000);
}

#[test]
fn aac_5_1_roundtrip() {
    roundtrip(AudioCodec::Aac, 6, 48_000, 384_000);
}

#[test]
fn opus_stereo_roundtrip() {
    roundtrip(AudioCodec::Opus, 2, 48_000, 192_000);
}

#[test]
fn opus_mono_and_5_1_roundtrip() {
    roundtrip(AudioCodec::Opus, 1, 48_000, 96_000);
    roundtrip(AudioCodec::Opus, 6, 48_000, 384_000);
}

/// The unfinished (fragmented) file plays both tracks, whether the audio is written in step
/// with the video or seconds ahead of it (audio-only fragments); finishing it then gives the
/// same file as when the audio was in step.
#[test]
fn fragmented_file_plays_both_tracks() {
    let fps = Rational::new(25, 1).unwrap();
    let v = video(100, fps); // 4 s
    let rate = 48_000;
    let x = source(2, rate, 4 * rate as usize + 2000);
    for codec in [AudioCodec::Aac, AudioCodec::Opus] {
        let a = audio(codec, 2, rate, &x, 160_000);
        let mut finished = Vec::new();
        for lead in [0.2, 5.0] {
            let name = format!("frag-{}-{lead}", codec.name());
            let mut w = mux(&v, &a, lead, 25);
            w.write_fragment().unwrap();
            let file = w.get_mut().get_ref().clone();
            let p = probe_reader(Cursor::new(&file)).unwrap();
            assert!(p.fragmented && !p.truncated(), "{name}: {p:?}");
            assert_eq!(p.frame_count, w.frames_on_disk());
            let pa = p.audio.as_ref().expect("audio track");
            assert_eq!(pa.codec, codec.name());
            assert_eq!(pa.priming, u64::from(a.0.priming));
            let probed = (pa.duration_seconds * f64::from(rate)).round() as usize;
            let info = ffprobe(&file, &name, "stream=codec_type,codec_name,start_time");
            assert_eq!(field(&info, 0, "codec_type"), "video", "{info}");
            assert_eq!(field(&info, 1, "codec_type"), "audio", "{info}");
            assert_eq!(field(&info, 1, "codec_name"), codec.name(), "{info}");
            // ffmpeg 5.1 reads the edit of a fragmented file as a shift of the timestamps: the
            // priming starts before 0 (and is dropped when decoding: the lag check below).
            let priming = format!("{:.6}", -f64::from(a.0.priming) / f64::from(rate));
            let start = field(&info, 1, "start_time");
            assert!(start == "0.000000" || start == priming, "{name}: {info}");
            let (y, frames) = decode(&file, &name);
            assert_eq!(frames, w.frames_on_disk(), "{name}");
            // The audio on disk: all of it (the last fragment took the audio up to the video's
            // end, and the rest was written ahead or stays in memory).
            let got = y.len() / 2;
            assert!(got >= 4 * rate as usize - 1024, "{name}: {got} samples decoded");
            // The probe's duration is that of the samples on disk after the priming.
            let priming = a.0.priming as usize;
            assert!(got == probed + priming || got == probed, "{name}: decoded {got}, probed {probed}");
            let r = rate as usize..rate as usize + rate as usize / 5;
            // ffmpeg 5.1 decodes the priming of a fragmented file too (as it does with
            // fragmented files of its own muxer): the source follows it exactly.
            let lag = best_lag(&channel(&x, 2, 0)[r.clone()], &channel(&y, 2, 0)[r.start..r.end + 2048], 2048);
            assert!(lag == 0 || lag == i64::from(a.0.priming), "{name}: lag {lag}");
            w.finish().unwrap();
            let file = w.into_inner().into_inner();
            let info = ffprobe(&file, &name, "stream=codec_type,duration,start_time");
            assert_eq!(field(&info, 1, "duration"), "4.000000", "{name}: {info}");
            assert_eq!(field(&info, 1, "start_time"), "0.000000", "{name}: {info}");
            let (y, frames) = decode(&file, &name);
            assert_eq!(frames, 100);
            assert!(y.len() / 2 >= 4 * rate as usize, "{name}");
            finished.push(file);
        }
        // The chunks follow the fragments, which follow the interleaving: the files differ, but
        // both decode to the same samples.
        let (y0, _) = decode(&finished[0], "frag-a");
        let (y1, _) = decode(&finished[1], "frag-b");
        assert_eq!(y0, y1);
    }
}

/// A fragmented file with audio, cut at every byte of its last moof, probes as torn and is
/// repaired into a finished file with both tracks, the audio cut at the kept video's end;
/// ffmpeg decodes the repaired files without a message.
#[test]
fn repair_keeps_audio_cut_at_the_video_end() {
    let fps = Rational::new(25, 1).unwrap();
    let v = video(75, fps);
    let rate = 48_000;
    let x = source(2, rate, 3 * rate as usize + 4000);
    let a = audio(AudioCodec::Aac, 2, rate, &x, 128_000);
    let mut w = mux(&v, &a, 0.2, 25);
    w.write_fragment().unwrap();
    let file = w.get_mut().get_ref().clone();
    let moofs: Vec<usize> = file.windows(4).enumerate().filter(|(_, b)| b == b"moof").map(|(i, _)| i - 4).collect();
    let last = *moofs.last().unwrap();
    let moof_len = u32::from_be_bytes(file[last..last + 4].try_into().unwrap()) as usize;
    let input = temp_path("repair-in.mp4");
    let output = temp_path("repair-out.mp4");
    for cut in (last..=last + moof_len).rev() {
        std::fs::write(&input, &file[..cut]).unwrap();
        let p = crate::mux::mp4::probe(&input).unwrap();
        if cut > last && cut < last + moof_len {
            assert!(p.truncated(), "cut at {cut}: {p:?}");
        }
        let done = crate::mux::mp4::repair(&input, Some(&output)).unwrap();
        let bytes = std::fs::read(&output).unwrap();
        let q = probe_reader(Cursor::new(&bytes)).unwrap();
        assert!(!q.fragmented && !q.truncated() && q.frame_count == done.frames, "cut at {cut}: {q:?}");
        let qa = q.audio.as_ref().expect("audio kept");
        let video_s = done.frames as f64 / 25.0;
        assert!((qa.duration_seconds - video_s).abs() < 1e-3, "cut at {cut}: {qa:?} for {video_s} s of video");
        let want = (video_s * f64::from(rate)).ceil() as u64 + u64::from(a.0.priming);
        assert!(done.audio_samples >= want && done.audio_samples < want + 1024, "cut at {cut}: {done:?}");
        if cut == last || cut == last + moof_len / 2 {
            let (y, frames) = decode(&bytes, "repaired");
            assert_eq!(frames, done.frames);
            assert!(y.len() / 2 >= (video_s * f64::from(rate)) as usize, "cut at {cut}");
            let r = rate as usize / 2..rate as usize / 2 + rate as usize / 5;
            assert_eq!(best_lag(&channel(&x, 2, 0)[r.clone()], &channel(&y, 2, 0)[r], 64), 0);
        }
    }
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
}
