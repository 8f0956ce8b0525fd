//! AAC encoder tests: every stream is written as ADTS and decoded by ffmpeg (Debian's, FFmpeg
//! 5.1: an independent build of the decoder).

use super::*;
use crate::encode::audio_testutil::*;

const RATE: u32 = 48000;

/// Encodes, decodes with ffmpeg, checks the packets' timing and the decoded length (whole
/// packets) and returns the decoded samples with the priming removed, exactly as long as the
/// input.
fn roundtrip(enc: &mut AacEncoder, x: &[f32], chunk: usize, name: &str) -> (Vec<f32>, Vec<AudioPacket>) {
    let ch = enc.channels() as usize;
    let n = x.len() / ch;
    let packets = encode_all(enc, x, chunk);
    assert_eq!(packets.len(), (n + PRIMING as usize).div_ceil(FRAME_LEN), "{name}: packet count");
    for (k, p) in packets.iter().enumerate() {
        assert_eq!((p.pts, p.duration), ((k * FRAME_LEN) as i64, FRAME_LEN as u32), "{name}: packet {k} timing");
    }
    let dec = ffmpeg_decode(&adts(enc.config(), &packets), "aac", name);
    assert_eq!(dec.len(), packets.len() * FRAME_LEN * ch, "{name}: ffmpeg decodes every packet to 1024 samples");
    let p = PRIMING as usize * ch;
    (dec[p..p + n * ch].to_vec(), packets)
}

/// Level of `y` against `x` in dB.
fn level_db(x: &[f32], y: &[f32]) -> f64 {
    20.0 * (rms(y) / rms(x)).log10()
}

#[test]
fn tone_1khz_frequency_level_and_length() {
    let n = 2 * RATE as usize + 777;
    let x = tone(1000.0, 0.5, RATE, n);
    let mut enc = AacEncoder::new(RATE, 1, 96_000).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 1000, "tone");
    assert_eq!(y.len(), n);
    let (a, b) = (RATE as usize / 2, RATE as usize * 3 / 2);
    let f = tone_frequency(&y[a..b], RATE);
    assert!((f - 1000.0).abs() < 0.01, "frequency {f}");
    let level = level_db(&x[a..b], &y[a..b]);
    let snr = snr_db(&x[1000..n - 1000], &y[1000..n - 1000]);
    eprintln!("tone: frequency {f:.4} Hz, level {level:+.4} dB, SNR {snr:.2} dB");
    assert!(level.abs() < 0.02, "level {level} dB");
    assert!(snr > 30.0, "SNR {snr} dB");
}

#[test]
fn chirp_lag_zero_after_priming_and_snr_at_high_bitrate() {
    let n = 3 * RATE as usize;
    let x = chirp(100.0, 12000.0, 0.5, RATE, n);
    let mut enc = AacEncoder::new(RATE, 1, 256_000).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 4096, "chirp");
    // The priming is the encoder's delay exactly: no lag left after removing it.
    assert_eq!(best_lag(&x[..RATE as usize], &y[..RATE as usize], 64), 0);
    let snr = snr_db(&x, &y);
    eprintln!("chirp: SNR {snr:.2} dB at 256 kbit/s mono");
    assert!(snr > 30.0, "SNR {snr} dB at 256 kbit/s mono");
}

#[test]
fn stereo_pair_keeps_each_tone_in_its_channel() {
    let n = 2 * RATE as usize;
    let x = interleave(&[tone(440.0, 0.4, RATE, n), tone(1500.0, 0.4, RATE, n)]);
    let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 333, "stereo");
    for (c, (own, other)) in [(440.0, 1500.0), (1500.0, 440.0)].into_iter().enumerate() {
        let ych = channel(&y, 2, c);
        let mid = &ych[RATE as usize / 2..RATE as usize * 3 / 2];
        let f = tone_frequency(mid, RATE);
        assert!((f - own).abs() < 0.05, "channel {c}: {f} Hz");
        let leak = 10.0 * (power_at(mid, other, RATE) / power_at(mid, own, RATE)).log10();
        eprintln!("stereo: channel {c}: the other channel's tone at {leak:.1} dB");
        assert!(leak < -40.0, "channel {c}: the other channel's tone at {leak} dB");
    }
}

/// Each channel a tone of its own frequency, in WAV order; after the round trip each channel
/// must hold its own tone and the others at least 30 dB below it.
fn check_channel_order(freqs: &[f64], bitrate: u32, name: &str) {
    let n = RATE as usize;
    let ch = freqs.len();
    let x = interleave(&freqs.iter().map(|&f| tone(f, 0.3, RATE, n)).collect::<Vec<_>>());
    let mut enc = AacEncoder::new(RATE, ch as u16, bitrate).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 2000, name);
    for (c, &f) in freqs.iter().enumerate() {
        let ych = channel(&y, ch, c);
        let mid = &ych[n / 4..n * 3 / 4];
        let own = power_at(mid, f, RATE);
        let xmid = &channel(&x, ch, c)[n / 4..n * 3 / 4];
        let level = 10.0 * (own / power_at(xmid, f, RATE)).log10();
        assert!(level.abs() < 0.5, "{name}: channel {c} ({f} Hz) at {level:+.2} dB");
        for (o, &g) in freqs.iter().enumerate() {
            if o != c {
                let rel = 10.0 * (power_at(mid, g, RATE) / own).log10();
                assert!(rel < -30.0, "{name}: channel {c} ({f} Hz) holds {g} Hz at {rel} dB");
            }
        }
    }
}

#[test]
fn five_one_channel_order() {
    // Input in WAV order (L R C LFE Ls Rs); ffmpeg decodes channel configuration 6 to the same.
    let enc = AacEncoder::new(RATE, 6, 320_000).unwrap();
    let AudioConfig::Aac(c) = enc.config() else { panic!() };
    assert_eq!(c.channel_configuration, 6);
    check_channel_order(&[300.0, 500.0, 700.0, 80.0, 1100.0, 1300.0], 320_000, "5.1");
}

#[test]
fn seven_one_channel_order() {
    // L R C LFE Lb Rb Ls Rs: channel configuration 7; ffmpeg's decoder returns them in this order.
    let enc = AacEncoder::new(RATE, 8, 448_000).unwrap();
    let AudioConfig::Aac(c) = enc.config() else { panic!() };
    assert_eq!(c.channel_configuration, 7);
    check_channel_order(&[300.0, 500.0, 700.0, 80.0, 1100.0, 1300.0, 1700.0, 1900.0], 448_000, "7.1");
}

#[test]
fn six_one_channel_order_with_a_program_config_element() {
    // L R C LFE Cs Ls Rs: channel configuration 0, the layout in a PCE (ADTS: before frame 0).
    let enc = AacEncoder::new(RATE, 7, 384_000).unwrap();
    let AudioConfig::Aac(c) = enc.config() else { panic!() };
    assert_eq!(c.channel_configuration, 0);
    assert!(c.adts_pce().unwrap().is_some());
    check_channel_order(&[300.0, 500.0, 700.0, 80.0, 900.0, 1100.0, 1300.0], 384_000, "6.1");
}

#[test]
fn three_four_and_five_channels() {
    check_channel_order(&[300.0, 500.0, 700.0], 192_000, "3.0");
    check_channel_order(&[300.0, 500.0, 700.0, 900.0], 256_000, "4.0");
    check_channel_order(&[300.0, 500.0, 700.0, 900.0, 1100.0], 320_000, "5.0");
}

#[test]
fn rate_44100_stays_44100() {
    let n = 44100;
    let x = tone(1000.0, 0.5, 44100, n);
    let mut enc = AacEncoder::new(44100, 1, 64_000).unwrap();
    let (y, _) = roundtrip(&mut enc, &x, 4410, "44k");
    let f = tone_frequency(&y[n / 4..n * 3 / 4], 44100);
    assert!((f - 1000.0).abs() < 0.05, "{f}");
    let level = level_db(&x[n / 4..n * 3 / 4], &y[n / 4..n * 3 / 4]);
    assert!(level.abs() < 0.05, "level {level} dB");
}

/// A music-like signal with sharp attacks (which switch to short windows) over a decaying tone.
fn castanets(n: usize, ch: usize) -> Vec<f32> {
    let mut seed = 1u32;
    let mut v = vec![0.0f32; n * ch];
    for i in 0..n {
        let t = i as f64 / RATE as f64;
        let since = (i % 7919) as f64 / RATE as f64;
        for c in 0..ch {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f64 / (1u32 << 24) as f64 - 0.5;
            let s = 0.2 * (2.0 * std::f64::consts::PI * (220.0 + 110.0 * c as f64) * t).sin()
                + noise * 1.5 * (-since * 60.0).exp();
            v[i * ch + c] = s as f32;
        }
    }
    v
}

#[test]
fn chunking_and_repeat_give_the_same_bytes() {
    let x = castanets(5 * RATE as usize + 100, 2);
    let run = |chunk| encode_all(&mut AacEncoder::new(RATE, 2, 128_000).unwrap(), &x, chunk);
    let a = run(1_000_000);
    assert_eq!(a, run(1_000_000), "same samples, same bytes");
    assert_eq!(a, run(1), "one sample frame at a time");
    assert_eq!(a, run(4099));
    // An encoder in another thread at the same time does not disturb this one.
    let x2 = x.clone();
    let other = std::thread::spawn(move || encode_all(&mut AacEncoder::new(RATE, 2, 128_000).unwrap(), &x2, 777));
    assert_eq!(a, run(2048));
    assert_eq!(a, other.join().unwrap());
}

#[test]
fn short_and_empty_inputs() {
    for n in [0usize, 1, 1023, 1024, 1025, 2048, 48 * 1024, 50 * 1024 + 1] {
        let x = tone(500.0, 0.5, RATE, n);
        let mut enc = AacEncoder::new(RATE, 1, 64_000).unwrap();
        if n == 0 {
            assert!(encode_all(&mut enc, &x, 100).is_empty());
            continue;
        }
        let (y, _) = roundtrip(&mut enc, &x, 100, &format!("short{n}"));
        assert_eq!(y.len(), n);
    }
}

#[test]
fn bad_input_is_refused_with_what_was_given() {
    let e = AacEncoder::new(45000, 2, 128_000).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("45000 Hz is not an AAC sampling rate"), "{e}");
    let e = AacEncoder::new(48000, 9, 512_000).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("9 channels; allowed: 1 to 8"), "{e}");
    let e = AacEncoder::new(48000, 0, 512_000).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)), "{e}");
    let e = AacEncoder::new(48000, 2, 1000).err().unwrap();
    assert!(e.to_string().contains("bitrate 1000 bit/s is out of range"), "{e}");
    let e = AacEncoder::new(48000, 2, 600_000).err().unwrap();
    assert!(e.to_string().contains("allowed: 16000 to 576000"), "{e}");
    let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
    enc.send_samples(&[0.5, 2.0, -3.0, 0.0]).unwrap();
    assert_eq!(enc.stats(), SampleStats { frames: 2, clipped: 2 });
    let e = enc.send_samples(&[0.0, f32::INFINITY]).unwrap_err();
    assert!(e.to_string().contains("sample 5 (frame 2, channel 1"), "{e}");
    let e = enc.send_samples(&[0.0]).unwrap_err();
    assert!(e.to_string().contains("not a whole number"), "{e}");
    enc.flush().unwrap();
    let e = enc.send_samples(&[0.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("after flush"), "{e}");
}

#[test]
fn audio_specific_config_and_adts() {
    let enc = AacEncoder::new(44100, 2, 128_000).unwrap();
    let AudioConfig::Aac(c) = enc.config() else { panic!() };
    // object type 2, frequency index 4 (44100), channel configuration 2, then FFmpeg's explicit
    // "no SBR" (sync extension 0x2b7, object type 5, flag 0).
    assert_eq!(c.audio_specific_config, vec![0x12, 0x10, 0x56, 0xE5, 0x00]);
    assert_eq!(c.adts_header(100).unwrap(), [0xFF, 0xF1, 0x50, 0x80, 0x0D, 0x7F, 0xFC]);
    assert!(c.adts_pce().unwrap().is_none());
    assert!(libavcodec_ident().starts_with("Lavc61."), "{}", libavcodec_ident());
}

#[test]
fn more_bad_input_nan_rate_zero_absurd_bitrate() {
    let e = AacEncoder::new(0, 2, 128_000).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("sample rate 0 Hz is out of range"), "{e}");
    let e = AacEncoder::new(RATE, 2, u32::MAX).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains(&format!("bitrate {}", u32::MAX)), "{e}");
    let e = AacEncoder::new(RATE, 2, 0).err().unwrap();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("bitrate 0 bit/s"), "{e}");
    let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
    let mut x = interleave(&[tone(440.0, 0.5, RATE, 3000), tone(660.0, 0.5, RATE, 3000)]);
    x[2 * 2500 + 1] = f32::NAN;
    let e = enc.send_samples(&x).unwrap_err();
    assert!(matches!(e, Error::Parameter(_)) && e.to_string().contains("sample 5001 (frame 2500, channel 1"), "{e}");
    // Nothing of the refused call was taken: the stream goes on and decodes to what was accepted.
    let n = 2048;
    let ok = interleave(&[tone(440.0, 0.5, RATE, n), tone(660.0, 0.5, RATE, n)]);
    let (_, packets) = roundtrip(&mut enc, &ok, 500, "after-nan");
    assert_eq!(enc.stats().frames, n as u64);
    let fresh = encode_all(&mut AacEncoder::new(RATE, 2, 128_000).unwrap(), &ok, 500);
    assert!(packets == fresh, "the refused call changed the stream");
}

/// The encoder must be movable to the pipeline's encoder thread.
#[test]
fn the_encoder_is_send() {
    fn send<T: Send>() {}
    send::<AacEncoder>();
    send::<Box<dyn AudioEncoder + Send>>();
}

/// This process's resident memory in bytes (Linux: /proc/self/statm).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 4096
}

#[test]
fn many_create_drop_and_failed_opens_do_not_leak() {
    // Each cycle: an encoder opened, fed a frame (libavcodec allocates its buffers), dropped;
    // and an open that fails inside libavcodec (45000 Hz passes the shim's own checks, then
    // avcodec_open2 refuses it), which frees what the shim had allocated on its error path.
    let x = tone(440.0, 0.5, RATE, 2 * FRAME_LEN);
    let cycle = || {
        let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
        enc.send_samples(&x).unwrap();
        drop(enc);
        let mut raw = std::ptr::null_mut();
        // SAFETY: a valid out-pointer and a static NUL-terminated coder name.
        let r = unsafe { ffi::fp_aac_open(&mut raw, 45000, 2, 128_000, c"twoloop".as_ptr()) };
        assert!(r < 0 && raw.is_null(), "45000 Hz opened ({r})");
        assert!(shim_error().contains("sample rate 45000 is not supported"), "{}", shim_error());
    };
    for _ in 0..50 {
        cycle();
    }
    let before = rss();
    for _ in 0..1000 {
        cycle();
    }
    let grown = rss().saturating_sub(before);
    eprintln!("create/drop: resident memory grew {grown} bytes over 1000 cycles");
    // The measure can see a leak: 20 encoders leaked on purpose (the shim's close never called).
    let before_leak = rss();
    for _ in 0..20 {
        let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
        enc.send_samples(&x).unwrap();
        std::mem::forget(enc);
    }
    let leaked = rss().saturating_sub(before_leak) / 20;
    eprintln!("create/drop: one leaked encoder holds {leaked} bytes");
    assert!(leaked > 100_000, "one leaked encoder: {leaked} bytes");
    // A leak of one encoder per cycle would be 1000 of them.
    assert!(grown < 1000 * leaked / 20, "resident memory grew {grown} bytes over 1000 cycles");
}

/// The bytes for `emit_stream` and `same_bytes_in_another_process`.
fn reference_stream() -> Vec<u8> {
    let x = castanets(3 * RATE as usize + 321, 2);
    let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
    let packets = encode_all(&mut enc, &x, 1000);
    adts(enc.config(), &packets)
}

/// Writes `reference_stream` to the file FRAMEPIPE_AAC_EMIT names (run by the test below in a
/// child process).
#[test]
#[ignore = "run by same_bytes_in_another_process"]
fn emit_stream() {
    let path = std::env::var_os("FRAMEPIPE_AAC_EMIT").expect("FRAMEPIPE_AAC_EMIT");
    std::fs::write(path, reference_stream()).unwrap();
}

#[test]
fn same_bytes_in_another_process() {
    let path = temp_path("emit.aac");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "encode::aac::tests::emit_stream", "--ignored", "--test-threads=1"])
        .env("FRAMEPIPE_AAC_EMIT", &path)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let other = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let ours = reference_stream();
    assert!(ours.len() > 40_000, "{} bytes", ours.len());
    assert!(ours == other, "another process gave different bytes ({} and {})", ours.len(), other.len());
}

/// ADTS frames of a stream: (header + payload) of each.
fn adts_frames(mut b: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    while b.len() >= 7 {
        assert_eq!((b[0], b[1] & 0xF6), (0xFF, 0xF0), "ADTS sync");
        let len = (usize::from(b[3] & 3) << 11) | (usize::from(b[4]) << 3) | usize::from(b[5] >> 5);
        v.push(&b[..len]);
        b = &b[len..];
    }
    assert!(b.is_empty());
    v
}

#[test]
fn like_the_ffmpeg_cli_of_another_version() {
    // Byte equality with `ffmpeg -c:a aac` needs the CLI of the same FFmpeg (7.1.5); the system's
    // is Debian 12's 5.1, whose bytes differ (bench/audio_codecs.md). What must hold
    // across versions: the same framing (packet count, delay) and the same accuracy.
    let n = 3 * RATE as usize + 500;
    let chord = |fs: &[f64]| {
        let v: Vec<Vec<f32>> = fs.iter().map(|&f| tone(f, 0.15, RATE, n)).collect();
        (0..n).map(|i| v.iter().map(|c| c[i]).sum::<f32>()).collect::<Vec<f32>>()
    };
    let x = interleave(&[chord(&[261.63, 329.63, 392.0]), chord(&[220.0, 277.18, 329.63])]);
    let mut enc = AacEncoder::new(RATE, 2, 128_000).unwrap();
    let (ours, packets) = roundtrip(&mut enc, &x, 960, "cli-ours");
    let raw = temp_path("cli.f32");
    std::fs::write(&raw, x.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-f", "f32le", "-ar", "48000", "-ac", "2", "-i"])
        .arg(&raw)
        .args(["-c:a", "aac", "-b:a", "128k", "-f", "adts", "-"])
        .output()
        .unwrap();
    std::fs::remove_file(&raw).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli = adts_frames(&out.stdout);
    assert_eq!(cli.len(), packets.len(), "packets: the CLI's and ours");
    let theirs = ffmpeg_decode(&out.stdout, "aac", "cli-theirs");
    let theirs = &theirs[PRIMING as usize * 2..PRIMING as usize * 2 + x.len()];
    let (a, b) = (snr_db(&x, &ours), snr_db(&x, theirs));
    let same = cli.iter().zip(&packets).filter(|(c, p)| c[7..] == p.data[..]).count();
    let bytes: usize = packets.iter().map(|p| p.data.len() + 7).sum();
    eprintln!(
        "cli: SNR ours {a:.2} dB, the CLI's {b:.2} dB; {bytes} and {} bytes; {same} of {} packets identical",
        out.stdout.len(),
        packets.len()
    );
    assert!((a - b).abs() < 1.5, "SNR ours {a} dB, the CLI's {b} dB");
    assert!(a > 20.0, "SNR {a} dB");
    let ratio = bytes as f64 / out.stdout.len() as f64;
    assert!((0.95..1.05).contains(&ratio), "{bytes} bytes, the CLI's {}", out.stdout.len());
}
