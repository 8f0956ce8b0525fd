//! The finished file with sound: its chunks hold at most about a second of one track and the
//! tracks interleave by time, whatever the fragment length and however far the audio was
//! written ahead of the video; finished in place (memory) or beside the output (a file), the
//! bytes are the same, and ffmpeg decodes the source's samples from them.

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use crate::encode::audio_testutil::{best_lag, channel, snr_db};
use crate::encode::{AudioCodec, AudioPacket, Packet};
use crate::mux::mp4::audio::tests::{audio, decode, source, video};
use crate::mux::mp4::{Mp4Sink, Mp4Writer};
use crate::mux::{AudioTrack, VideoTrack};
use crate::rational::Rational;

/// Memory with a replacement, as a file has one: finish writes the finished file into a new
/// buffer and puts it in place.
struct Beside(Cursor<Vec<u8>>);

impl Read for Beside {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}
impl Write for Beside {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Seek for Beside {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}
impl Mp4Sink for Beside {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn replacement(&mut self) -> io::Result<Option<Self>> {
        Ok(Some(Beside(Cursor::new(Vec::new()))))
    }
    fn replace_with(&mut self, new: Self, _durable: bool) -> io::Result<()> {
        *self = new;
        Ok(())
    }
}

/// Mux as the pipeline does, the audio `lead` seconds ahead of the video (`f64::INFINITY`: all
/// of it before the first video packet), into `out`, and finish.
fn mux_into<W: Mp4Sink>(
    out: W,
    v: &(VideoTrack, Vec<Packet>),
    a: &(AudioTrack, Vec<AudioPacket>),
    lead: f64,
    fragment_frames: u32,
) -> W {
    let mut w = Mp4Writer::with_audio(out, v.0.clone(), a.0.clone()).unwrap();
    w.set_fragment_frames(fragment_frames).unwrap();
    let fps = v.0.fps;
    let rate = f64::from(a.0.sample_rate);
    let mut next = a.1.iter().peekable();
    for p in &v.1 {
        let t = (p.dts.max(0) as f64 + 1.0) * f64::from(fps.den) / f64::from(fps.num) + lead;
        while let Some(ap) = next.next_if(|ap| (ap.pts as f64) / rate < t) {
            w.write_audio_packet(ap).unwrap();
        }
        w.write_packet(p).unwrap();
    }
    for ap in next {
        w.write_audio_packet(ap).unwrap();
    }
    w.finish().unwrap();
    w.into_inner()
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes(b[i..i + 4].try_into().unwrap())
}

/// The boxes in `b`: (type, body).
fn boxes(b: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= b.len() {
        let (size, head) = match u32_at(b, i) {
            1 => (u64::from_be_bytes(b[i + 8..i + 16].try_into().unwrap()) as usize, 16),
            s => (s as usize, 8),
        };
        out.push((&b[i + 4..i + 8], &b[i + head..i + size]));
        i += size;
    }
    out
}

fn child<'a>(b: &'a [u8], kind: &[u8]) -> &'a [u8] {
    boxes(b).into_iter().find(|(k, _)| *k == kind).unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(kind))).1
}

/// A chunk: file offset, bytes, start and length in seconds, audio or not.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    at: u64,
    bytes: u64,
    start: f64,
    seconds: f64,
    audio: bool,
}

/// Every chunk of both tracks of a finished file, read from stco/co64, stsc, stsz and stts,
/// in file order.
fn chunks(file: &[u8]) -> Vec<Chunk> {
    let mut out = Vec::new();
    for (kind, trak) in boxes(child(file, b"moov")) {
        if kind != b"trak" {
            continue;
        }
        let mdia = child(trak, b"mdia");
        let audio = &child(mdia, b"hdlr")[8..12] == b"soun";
        let mdhd = child(mdia, b"mdhd");
        let timescale = f64::from(u32_at(mdhd, if mdhd[0] == 1 { 20 } else { 12 }));
        let stbl = child(child(mdia, b"minf"), b"stbl");
        let stts = child(stbl, b"stts");
        let mut durations = Vec::new();
        for k in 0..u32_at(stts, 4) as usize {
            durations.extend(std::iter::repeat_n(u32_at(stts, 8 + 8 * k + 4), u32_at(stts, 8 + 8 * k) as usize));
        }
        let stsz = child(stbl, b"stsz");
        let sizes: Vec<u32> = (0..u32_at(stsz, 8) as usize).map(|k| u32_at(stsz, 12 + 4 * k)).collect();
        let stsc = child(stbl, b"stsc");
        let runs: Vec<(u32, u32)> =
            (0..u32_at(stsc, 4) as usize).map(|k| (u32_at(stsc, 8 + 12 * k), u32_at(stsc, 12 + 12 * k))).collect();
        let offsets: Vec<u64> = match boxes(stbl).into_iter().find(|(k, _)| *k == b"stco") {
            Some((_, stco)) => (0..u32_at(stco, 4) as usize).map(|k| u64::from(u32_at(stco, 8 + 4 * k))).collect(),
            None => {
                let co64 = child(stbl, b"co64");
                (0..u32_at(co64, 4) as usize)
                    .map(|k| u64::from_be_bytes(co64[8 + 8 * k..16 + 8 * k].try_into().unwrap()))
                    .collect()
            }
        };
        let (mut sample, mut t) = (0usize, 0u64);
        for (c, &at) in offsets.iter().enumerate() {
            let per = runs.iter().rev().find(|r| r.0 as usize <= c + 1).unwrap().1 as usize;
            let d: u64 = durations[sample..sample + per].iter().map(|&d| u64::from(d)).sum();
            let bytes = sizes[sample..sample + per].iter().map(|&s| u64::from(s)).sum();
            out.push(Chunk { at, bytes, start: t as f64 / timescale, seconds: d as f64 / timescale, audio });
            sample += per;
            t += d;
        }
        assert_eq!(sample, sizes.len());
    }
    out.sort_by_key(|c| c.at);
    out
}

/// Chunks of at most `max` seconds, back to back in the mdat, and at every chunk boundary the
/// time the video chunks so far reach and the time the audio chunks reach differ by at most
/// `max` (up to the shorter track's end).
fn check_interleaved(file: &[u8], max: f64, name: &str) -> usize {
    let cs = chunks(file);
    for w in cs.windows(2) {
        assert_eq!(w[0].at + w[0].bytes, w[1].at, "{name}: chunks back to back");
    }
    let end = [false, true].map(|audio| cs.iter().filter(|c| c.audio == audio).map(|c| c.seconds).sum::<f64>());
    let end = end[0].min(end[1]);
    let mut reached = [0.0f64; 2];
    for (i, c) in cs.iter().enumerate() {
        assert!(c.seconds <= max, "{name}: chunk {i} holds {} s: {c:?}", c.seconds);
        reached[usize::from(c.audio)] = c.start + c.seconds;
        let gap = (reached[0].min(end) - reached[1].min(end)).abs();
        assert!(gap <= max, "{name}: after chunk {i} ({c:?}) video reaches {} s, audio {} s", reached[0], reached[1]);
    }
    cs.len()
}

#[test]
fn chunks_hold_a_second_and_interleave_whatever_the_fragments() {
    let fps = Rational::new(25, 1).unwrap();
    let v = video(250, fps); // 10 s
    let rate = 48_000;
    let x = source(1, rate, 10 * rate as usize + 3000);
    for codec in [AudioCodec::Aac, AudioCodec::Opus] {
        let a = audio(codec, 1, rate, &x, 96_000);
        // A packet's duration over the rate: audio chunks hold whole packets up to a second.
        let max = 1.0 + f64::from(a.1[0].duration) / f64::from(rate);
        let mut reference: Option<Vec<u8>> = None;
        // Fragments of 1 s (the default), of 10 s (the whole video), and of one frame; audio in
        // step, 3 s ahead (audio-only fragments) and all of it before the first frame.
        for (fragment, lead) in [(25, 0.2), (250, 0.2), (1, 0.2), (25, 3.0), (250, 3.0), (25, f64::INFINITY)] {
            let name = format!("{} fragment {fragment} lead {lead}", codec.name());
            let in_place = mux_into(Cursor::new(Vec::new()), &v, &a, lead, fragment).into_inner();
            let beside = mux_into(Beside(Cursor::new(Vec::new())), &v, &a, lead, fragment).0.into_inner();
            assert!(in_place == beside, "{name}: finished in place and beside differ");
            let n = check_interleaved(&in_place, max, &name);
            assert!(n >= 20, "{name}: {n} chunks for 10 s of two tracks");
            let (y, frames) = decode(&in_place, &format!("interleave-{}", codec.name()));
            assert_eq!(frames, 250, "{name}");
            assert!(y.len() >= 10 * rate as usize && y.len() < 10 * rate as usize + 1024, "{name}: {}", y.len());
            let src = channel(&x, 1, 0);
            for s in [rate as usize / 2, 9 * rate as usize] {
                let r = s..s + rate as usize / 4;
                assert_eq!(best_lag(&src[r.clone()], &y[r.clone()], 256), 0, "{name} at {s}");
                assert!(snr_db(&src[r.clone()], &y[r.clone()]) > 15.0, "{name} at {s}");
            }
            // The same packets make the same file whatever the fragments and the interleaving.
            match &reference {
                None => reference = Some(in_place),
                Some(r) => assert!(*r == in_place, "{name}: differs from the first file"),
            }
        }
    }
}
