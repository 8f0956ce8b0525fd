use super::*;
use crate::{EncodeOptions, Frame, PixelFormat, Preset, VideoWriter};
use std::io::Cursor;

fn chunk(start: u32, n: u32, opts: &EncodeOptions) -> Vec<u8> {
    let mut w = VideoWriter::in_memory(opts.clone()).unwrap();
    for i in start..start + n {
        let data: Vec<u8> = (0..64 * 48 * 3).map(|k| ((k as u32 * 7 + i * 13) % 251) as u8).collect();
        w.write(&Frame::packed(&data, 64, 48, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    w.finish_to_vec().unwrap().1
}

#[test]
fn chunks_join_with_exact_count_and_increasing_timestamps() {
    let opts = EncodeOptions { preset: Preset::Veryfast, threads: Some(1), ..Default::default() };
    let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
    for (start, n) in [(0, 17), (17, 1), (18, 30)] {
        assert_eq!(c.append(Cursor::new(chunk(start, n, &opts))).unwrap(), n as u64);
    }
    let (frames, out) = c.finish().unwrap();
    assert_eq!(frames, 48);
    let bytes = out.into_inner();
    let info = super::super::probe_reader(Cursor::new(&bytes)).unwrap();
    assert_eq!(info.frame_count, 48);
    assert!((info.duration_seconds - 48.0 / 30.0).abs() < 1e-3);
    // Demux the joined file: pts are 0..48 exactly once, dts strictly increasing, and a
    // keyframe starts each chunk.
    let mut d = Mp4Demuxer::new(Cursor::new(bytes)).unwrap();
    let mut pts = vec![];
    let mut last_dts = i64::MIN;
    let mut keys = vec![];
    while let Some(p) = d.read_packet().unwrap() {
        assert!(p.dts > last_dts && p.dts <= p.pts);
        last_dts = p.dts;
        if p.keyframe {
            keys.push(p.pts);
        }
        pts.push(p.pts);
    }
    pts.sort();
    assert_eq!(pts, (0..48).collect::<Vec<_>>());
    for k in [0, 17, 18] {
        assert!(keys.contains(&k), "keyframe at {k}: {keys:?}");
    }
}

#[test]
fn decode_delay_is_the_reordering_the_sps_allows() {
    // x264: no B-frames (ultrafast) -> 0; B-pyramid (medium, placebo's 16 B-frames) -> 2.
    for (preset, want) in [(Preset::Ultrafast, 0), (Preset::Medium, 2), (Preset::Placebo, 2)] {
        let opts = EncodeOptions { preset, threads: Some(1), ..Default::default() };
        let chunks = [chunk(0, 23, &opts), chunk(23, 1, &opts), chunk(24, 30, &opts)];
        let mut most_late = 0;
        for c in &chunks {
            let mut d = Mp4Demuxer::new(Cursor::new(c)).unwrap();
            assert_eq!(decode_delay(d.track()), want, "{preset:?}");
            let mut j = 0;
            while let Some(p) = d.read_packet().unwrap() {
                most_late = most_late.max(j - p.pts);
                j += 1;
            }
        }
        // The stream really reorders that much (so D cannot be smaller)...
        assert_eq!(most_late, want, "{preset:?}");
        // ...and the joined file's composition offsets stay within D + the largest
        // distance a frame is decoded ahead of its place (3 B-frames at medium, 16 at placebo).
        let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
        for ch in &chunks {
            c.append(Cursor::new(ch)).unwrap();
        }
        let (frames, out) = c.finish().unwrap();
        assert_eq!(frames, 54);
        let mut d = Mp4Demuxer::new(Cursor::new(out.into_inner())).unwrap();
        let (mut last_dts, mut most_ahead, mut pts) = (i64::MIN, 0, vec![]);
        while let Some(p) = d.read_packet().unwrap() {
            assert!(p.dts > last_dts && p.dts <= p.pts, "{preset:?}: {} {}", p.pts, p.dts);
            last_dts = p.dts;
            most_ahead = most_ahead.max(p.pts - p.dts);
            pts.push(p.pts);
        }
        pts.sort();
        assert_eq!(pts, (0..54).collect::<Vec<_>>());
        let bframes = match preset {
            Preset::Ultrafast => 0,
            Preset::Medium => 3,
            _ => 16,
        };
        assert!(most_ahead <= want + bframes + 1, "{preset:?}: {most_ahead}");
    }
}

#[test]
fn sps_without_reordering_info_gets_the_largest_delay() {
    let opts = EncodeOptions { preset: Preset::Veryfast, ..Default::default() };
    let mut track = Mp4Demuxer::new(Cursor::new(chunk(0, 3, &opts))).unwrap().track().clone();
    assert_eq!(decode_delay(&track), 2);
    // Cut the SPS before its VUI: no max_num_reorder_frames.
    track.avc.sps[0].truncate(8);
    assert_eq!(crate::h264::sps_max_num_reorder_frames(&track.avc.sps[0]), None);
    assert_eq!(decode_delay(&track), MAX_DECODE_DELAY);
}

#[test]
fn chunks_with_different_settings_are_refused() {
    let a = chunk(0, 5, &EncodeOptions { preset: Preset::Veryfast, ..Default::default() });
    let b = chunk(
        5,
        5,
        &EncodeOptions { preset: Preset::Veryfast, fps: crate::Rational::new(25, 1).unwrap(), ..Default::default() },
    );
    let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
    c.append(Cursor::new(a)).unwrap();
    let err = c.append(Cursor::new(b)).unwrap_err().to_string();
    assert!(err.contains("chunk 1") && err.contains("frame rate"), "{err}");
    let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
    let err = c.append(Cursor::new(b"not an mp4 at all".to_vec())).unwrap_err().to_string();
    assert!(err.contains("chunk 0"), "{err}");
}

/// A whole sound track for `frames` frames at 30 fps: a 440 Hz tone, `seconds` long.
fn sound(codec: crate::AudioCodec, seconds: f32, frames: u64) -> crate::EncodedAudio {
    let opts = EncodeOptions {
        audio: Some(crate::AudioInput { sample_rate: 48000, channels: 2 }),
        audio_codec: codec,
        ..Default::default()
    };
    let mut t = crate::SoundTrack::new(&opts, crate::OutputFormat::Mp4).unwrap();
    let n = (seconds * 48000.0) as usize;
    let samples: Vec<f32> =
        (0..2 * n).map(|k| 0.5 * (std::f32::consts::TAU * 440.0 * (k / 2) as f32 / 48000.0).sin()).collect();
    t.write(&samples).unwrap();
    t.finish(frames, crate::Rational::new(30, 1).unwrap()).unwrap()
}

fn join(chunks: &[Vec<u8>], audio: Option<crate::EncodedAudio>) -> Vec<u8> {
    let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
    if let Some(a) = audio {
        c.set_audio(a).unwrap();
    }
    for ch in chunks {
        c.append(Cursor::new(ch)).unwrap();
    }
    c.finish().unwrap().1.into_inner()
}

/// Chunks joined with a whole sound track: the video as without it, the track's packets up to
/// the video's end (priming included) in order, the duration the video's, the audio interleaved
/// with the video about every second, and the same bytes every time.
#[test]
fn chunks_join_with_a_sound_track() {
    use crate::mux::mp4::demux::audio_packets;
    let opts = EncodeOptions { preset: Preset::Ultrafast, threads: Some(1), ..Default::default() };
    let chunks = [chunk(0, 40, &opts), chunk(40, 7, &opts), chunk(47, 43, &opts)]; // 3 s
    for (codec, seconds) in
        [(crate::AudioCodec::Aac, 4.0), (crate::AudioCodec::Aac, 1.0), (crate::AudioCodec::Opus, 2.0)]
    {
        let audio = sound(codec, seconds, 90);
        let (priming, rate) = (u64::from(audio.track.priming), audio.track.sample_rate);
        let bytes = join(&chunks, Some(audio.clone()));
        assert_eq!(bytes, join(&chunks, Some(audio.clone())), "{codec:?}: deterministic");

        let info = super::super::probe_reader(Cursor::new(&bytes)).unwrap();
        assert_eq!(info.frame_count, 90);
        let a = info.audio.as_ref().expect("an audio track");
        assert_eq!((a.channels, a.sample_rate, a.priming), (2, rate, priming), "{codec:?}");
        assert!((a.duration_seconds - 3.0).abs() < 1e-3, "{codec:?}: {}", a.duration_seconds);

        // The packets kept: the first ones of the track, those that start before the video's end.
        let muxed = audio_packets(Cursor::new(&bytes)).unwrap();
        let end = priming + 3 * u64::from(rate);
        let mut t = 0u64;
        let keep = audio.packets.iter().take_while(|p| {
            let before = t < end;
            t += u64::from(p.duration);
            before
        });
        let want: Vec<&[u8]> = keep.map(|p| p.data.as_slice()).collect();
        let got: Vec<&[u8]> = muxed.iter().map(|(_, d)| d.as_slice()).collect();
        assert_eq!(got, want, "{codec:?}");

        // Interleaved: the audio is in about one run per second of video, not in one block.
        let runs = 1 + muxed.windows(2).filter(|w| w[0].0 + w[0].1.len() as u64 != w[1].0).count();
        assert!((3..=5).contains(&runs), "{codec:?}: {runs} runs of audio");

        // The video is the one joined without sound.
        let (mut with, mut without) =
            (Mp4Demuxer::new(Cursor::new(&bytes)).unwrap(), Mp4Demuxer::new(Cursor::new(join(&chunks, None))).unwrap());
        while let Some(p) = without.read_packet().unwrap() {
            let q = with.read_packet().unwrap().unwrap();
            assert_eq!((p.data, p.pts, p.dts, p.keyframe), (q.data, q.pts, q.dts, q.keyframe));
        }
        assert!(with.read_packet().unwrap().is_none());
    }
}

#[test]
fn the_sound_track_comes_before_the_chunks() {
    let opts = EncodeOptions { preset: Preset::Ultrafast, threads: Some(1), ..Default::default() };
    let mut c = Mp4Concat::new(Cursor::new(Vec::new()));
    c.append(Cursor::new(chunk(0, 5, &opts))).unwrap();
    let e = c.set_audio(sound(crate::AudioCodec::Aac, 0.5, 5)).unwrap_err();
    assert!(e.to_string().contains("before the first chunk"), "{e}");
}
