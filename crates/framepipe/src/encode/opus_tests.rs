//! Opus encoder tests: every stream is written as Ogg Opus (pre-skip in OpusHead, the end in the
//! last granule position) and decoded by ffmpeg, which applies both: the decoded length must be
//! the input's exactly, and the priming right to the sample.

use super::*;
use crate::encode::audio_testutil::*;

fn roundtrip(enc: &mut OpusEncoder, x: &[f32], chunk: usize, name: &str) -> (Vec<f32>, Vec<AudioPacket>) {
    let ch = enc.channels() as usize;
    let n = x.len() / ch;
    let packets = encode_all(enc, x, chunk);
    assert_eq!(packets.len(), (n + enc.priming() as usize).div_ceil(FRAME_LEN), "{name}: packet count");
    for (k, p) in packets.iter().enumerate() {
        assert_eq!((p.pts, p.duration), ((k * FRAME_LEN) as i64, FRAME_LEN as u32), "{name}: packet {k} timing");
    }
    let dec = ffmpeg_decode(&ogg_opus(enc.config(), &packets, n as u64), "opus", name);
    assert_eq!(dec.len(), n * ch, "{name}: decoded length after pre-skip and end trimming");
    (dec, packets)
}

#[test]
fn priming_is_libopus_lookahead() {
    let enc = OpusEncoder::new(2, 96_000, 48_000).unwrap();
    // 2.5 ms of CELT overlap + 4 ms of delay compensation at 48 kHz.
    assert_eq!(enc.priming(), 312);
    let AudioConfig::Opus(c) = enc.config() else { panic!() };
    assert_eq!(c.dops_payload(), vec![0, 2, 0x01, 0x38, 0, 0, 0xBB, 0x80, 0, 0, 0]);
}

#[test]
fn tone_1khz_frequency_level_and_length() {
    let n = 2 * RATE as usize + 123;
    let x = tone(1000.0, 0.5, RATE, n);
    let mut enc = OpusEncoder::new(1, 64_000, RATE).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 1000, "tone");
    let mid = &y[RATE as usize / 2..RATE as usize * 3 / 2];
    let f = tone_frequency(mid, RATE);
    assert!((f - 1000.0).abs() < 0.05, "frequency {f}");
    let level = 20.0 * (rms(mid) / rms(&x[RATE as usize / 2..RATE as usize * 3 / 2])).log10();
    assert!(level.abs() < 0.2, "level {level} dB");
}

#[test]
fn chirp_lag_zero_and_snr_at_high_bitrate() {
    let n = 3 * RATE as usize;
    let x = chirp(100.0, 12000.0, 0.5, RATE, n);
    let mut enc = OpusEncoder::new(1, 256_000, RATE).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 4096, "chirp");
    assert_eq!(best_lag(&x[..RATE as usize], &y[..RATE as usize], 64), 0);
    let snr = snr_db(&x, &y);
    assert!(snr > 20.0, "SNR {snr} dB at 256 kbit/s mono");
}

#[test]
fn stereo_pair_keeps_each_tone_in_its_channel() {
    let n = 2 * RATE as usize;
    let x = interleave(&[tone(440.0, 0.4, RATE, n), tone(1500.0, 0.4, RATE, n)]);
    let mut enc = OpusEncoder::new(2, 96_000, RATE).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 333, "stereo");
    for (c, (own, other)) in [(440.0, 1500.0), (1500.0, 440.0)].into_iter().enumerate() {
        let ych = channel(&y, 2, c);
        let mid = &ych[RATE as usize / 2..RATE as usize * 3 / 2];
        let f = tone_frequency(mid, RATE);
        assert!((f - own).abs() < 0.05, "channel {c}: {f} Hz");
        let leak = 10.0 * (power_at(mid, other, RATE) / power_at(mid, own, RATE)).log10();
        assert!(leak < -30.0, "channel {c}: the other channel's tone at {leak} dB");
    }
}

/// Each channel a different tone, in WAV order; ffmpeg decodes family 1 back to WAV order.
fn check_channel_order(channels: u16, freqs: &[f64]) {
    let n = RATE as usize;
    let x = interleave(&freqs.iter().map(|&f| tone(f, 0.3, RATE, n)).collect::<Vec<_>>());
    let mut enc = OpusEncoder::new(channels, u32::from(channels) * 64_000, RATE).unwrap();
    let name = format!("order{channels}");
    let (y, _) = roundtrip(&mut enc, &x, 2000, &name);
    for (c, &f) in freqs.iter().enumerate() {
        let ych = channel(&y, channels as usize, c);
        let mid = &ych[n / 4..n * 3 / 4];
        for (o, &g) in freqs.iter().enumerate() {
            if o != c {
                let rel = 10.0 * (power_at(mid, g, RATE) / power_at(mid, f, RATE)).log10();
                assert!(rel < -25.0, "{name}: channel {c} ({f} Hz) holds {g} Hz at {rel} dB");
            }
        }
    }
}

#[test]
fn five_one_channel_order() {
    check_channel_order(6, &[300.0, 500.0, 700.0, 80.0, 1100.0, 1300.0]);
    let enc = OpusEncoder::new(6, 256_000, 44100).unwrap();
    let AudioConfig::Opus(c) = enc.config() else { panic!() };
    assert_eq!((c.channel_mapping_family, c.stream_count, c.coupled_count), (1, 4, 2));
    assert_eq!(c.channel_mapping, vec![0, 4, 1, 2, 3, 5]);
    assert_eq!(&c.dops_payload()[4..8], &44100u32.to_be_bytes());
}

#[test]
fn seven_one_channel_order() {
    check_channel_order(8, &[300.0, 500.0, 700.0, 80.0, 1100.0, 1300.0, 1700.0, 1900.0]);
}

#[test]
fn chunking_and_repeat_give_the_same_bytes() {
    let n = 3 * RATE as usize + 5;
    let x = interleave(&[chirp(50.0, 15000.0, 0.5, RATE, n), tone(700.0, 0.3, RATE, n)]);
    let run = |chunk| encode_all(&mut OpusEncoder::new(2, 96_000, RATE).unwrap(), &x, chunk);
    let a = run(1_000_000);
    assert_eq!(a, run(1_000_000));
    assert_eq!(a, run(1));
    assert_eq!(a, run(961));
}

#[test]
fn short_inputs_keep_their_length() {
    for n in [1usize, 959, 960, 961, 5000] {
        let x = tone(500.0, 0.5, RATE, n);
        let mut enc = OpusEncoder::new(1, 64_000, RATE).unwrap();
        roundtrip(&mut enc, &x, 100, &format!("short{n}"));
    }
    let mut enc = OpusEncoder::new(1, 64_000, RATE).unwrap();
    assert!(encode_all(&mut enc, &[], 100).is_empty());
}

#[test]
fn bad_input_is_refused_with_what_was_given() {
    let e = OpusEncoder::new(9, 96_000, RATE).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("9 channels"), "{e}");
    let e = OpusEncoder::new(2, 1_000, RATE).err().unwrap();
    assert!(e.to_string().contains("bitrate 1000 bit/s is out of range"), "{e}");
    let e = OpusEncoder::new(2, 96_000, 0).err().unwrap();
    assert!(e.to_string().contains("sample rate 0 Hz"), "{e}");
    let mut enc = OpusEncoder::new(1, 64_000, RATE).unwrap();
    let e = enc.send_samples(&[0.0, 0.1, f32::NAN]).unwrap_err();
    assert!(e.to_string().contains("sample 2 (frame 2, channel 0"), "{e}");
    enc.send_samples(&[1.5]).unwrap();
    assert_eq!(enc.stats().clipped, 1);
}
