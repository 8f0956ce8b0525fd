//! Tests of the MP4 writer, its timing rules and the moov it builds.

use super::*;
use crate::encode::AvcConfig;
use crate::encode::ColorInfo;
use crate::h264::sps_format;
use crate::mux::mp4::index::SampleIndex;
use crate::mux::mp4::timing::*;
use crate::rational::Rational;
use std::io::{Cursor, Read, Seek, Write};

/// A real x264 High-profile SPS/PPS (320x240) for the avcC.
pub(crate) fn test_avc() -> AvcConfig {
    AvcConfig {
        sps: vec![vec![
            0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00,
            0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60,
        ]],
        pps: vec![vec![0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]],
    }
}

pub(crate) fn test_track(fps: Rational) -> VideoTrack {
    VideoTrack { width: 320, height: 240, fps, avc: test_avc(), color: ColorInfo::BT709_LIMITED }
}

pub(crate) fn packet(pts: i64, dts: i64, key: bool, len: usize) -> Packet {
    let mut data = ((len - 4) as u32).to_be_bytes().to_vec();
    data.push(if key { 0x65 } else { 0x41 });
    data.extend((0..len - 5).map(|i| (pts as u8).wrapping_mul(7).wrapping_add(i as u8)));
    Packet { data, pts, dts, keyframe: key }
}

/// Find the first box with path `path` (e.g. ["moov","trak","mdia","minf","stbl","stts"])
/// inside `data`; returns its payload (after the 8-byte header).
pub(crate) fn find_box<'a>(data: &'a [u8], path: &[&str]) -> Option<&'a [u8]> {
    let mut i = 0;
    while i + 8 <= data.len() {
        let size = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
        let (hdr, size) = if size == 1 {
            (16, u64::from_be_bytes(data[i + 8..i + 16].try_into().unwrap()) as usize)
        } else {
            (8, size)
        };
        let kind = std::str::from_utf8(&data[i + 4..i + 8]).ok()?;
        let body = &data[i + hdr..(i + size).min(data.len())];
        if kind == path[0] {
            if path.len() == 1 {
                return Some(body);
            }
            // stsd: skip version/flags + entry count; avc1: skip 78 bytes of fields.
            let inner = match kind {
                "stsd" => &body[8..],
                "avc1" => &body[78..],
                _ => body,
            };
            return find_box(inner, &path[1..]);
        }
        i += size.max(8);
    }
    None
}

fn u32s(body: &[u8]) -> Vec<u32> {
    body.chunks(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())).collect()
}

const STBL: [&str; 5] = ["moov", "trak", "mdia", "minf", "stbl"];

fn stbl_box<'a>(file: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut path = STBL.to_vec();
    path.push(name);
    find_box(file, &path)
}

fn write_file(fps: Rational, packets: &[Packet]) -> Vec<u8> {
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
    for p in packets {
        w.write_packet(p).unwrap();
    }
    w.finish().unwrap();
    assert!(w.is_faststart());
    let len = w.bytes_written();
    let v = w.into_inner().into_inner();
    assert_eq!(len, v.len() as u64);
    v
}

pub(crate) fn top_level(file: &[u8]) -> Vec<(String, u64, u64)> {
    let mut v = Vec::new();
    let mut i = 0usize;
    while i + 8 <= file.len() {
        let mut size = u32::from_be_bytes(file[i..i + 4].try_into().unwrap()) as u64;
        if size == 1 {
            size = u64::from_be_bytes(file[i + 8..i + 16].try_into().unwrap());
        }
        v.push((String::from_utf8_lossy(&file[i + 4..i + 8]).into_owned(), i as u64, size));
        i += size as usize;
    }
    assert_eq!(i, file.len(), "boxes must tile the file exactly");
    v
}

#[test]
fn timescale_choice() {
    assert_eq!(media_timing(30000, 1001), (30000, 1001));
    assert_eq!(media_timing(30, 1), (10020, 334));
    assert_eq!(media_timing(25, 1), (10000, 400));
    assert_eq!(media_timing(24000, 1001), (24000, 1001));
    assert_eq!(media_timing(60, 1), (10020, 167));
    assert_eq!(media_timing(1, u32::MAX), (1, u32::MAX));
    assert_eq!(media_timing(100_000, 1), (100_000, 1));
    assert_eq!(media_timing(120_000, 1), (120_000, 1));
    assert_eq!(media_timing(2500, 1), (10000, 4));
    // Slow rates: as before while a frame fits MAX_FRAME_TICKS...
    assert_eq!(media_timing(1, 7), (10000, 70000));
    assert_eq!(media_timing(1, 400), (10000, 4_000_000));
    // ...then the finest timescale that keeps it there (10000/3600 fps made frames of
    // 36 million ticks, so ffmpeg discarded the composition offsets of B-frames).
    assert_eq!(media_timing(1, 3600), (1165, 4_194_000));
    assert_eq!(media_timing(1, 10_000), (419, 4_190_000));
    assert_eq!(media_timing(1, 50_000), (83, 4_150_000));
    assert_eq!(media_timing(1, MAX_FPS_DEN), (1, MAX_FPS_DEN));
}

#[test]
fn media_timing_is_exact_and_bounded_for_any_accepted_rate() {
    let mut rates = vec![(1u32, 1u32), (u32::MAX, 1), (u32::MAX, MAX_FPS_DEN), (1, MAX_FPS_DEN)];
    for num in [1u32, 2, 3, 7, 24, 25, 30, 1000, 1001, 2997, 24000, 30000, 60000, 1 << 20, 4_000_000_007] {
        for den in [1u32, 2, 7, 100, 1001, 3600, 65_537, 1 << 20, MAX_FPS_DEN - 1, MAX_FPS_DEN] {
            let r = Rational::new(num, den).unwrap();
            rates.push((r.num, r.den));
        }
    }
    for (num, den) in rates {
        let (ts, d) = media_timing(num, den);
        // One frame is exactly den/num seconds.
        assert_eq!(u64::from(ts) * u64::from(den), u64::from(d) * u64::from(num), "{num}/{den}");
        assert!(d <= MAX_FRAME_TICKS, "{num}/{den}: {d}");
        assert!(64 * u64::from(d) <= MAX_CTS_TICKS, "{num}/{den}");
        assert!(ts >= MIN_MEDIA_TIMESCALE.min(num) || d * 2 > MAX_FRAME_TICKS, "{num}/{den}: {ts}");
        let at_most_1h = u64::from(den) <= 3600 * u64::from(num);
        assert_eq!(check_fps(Rational { num, den }).is_ok(), at_most_1h, "{num}/{den}");
    }
    // Bounds: at most an hour a frame...
    assert!(check_fps(Rational::new(1, 3600).unwrap()).is_ok());
    assert!(check_fps(Rational::new(2, 7201).unwrap()).is_err());
    let e = check_fps(Rational::new(1, 3601).unwrap()).unwrap_err();
    assert!(matches!(e, Error::Parameter(_)));
    assert!(e.to_string().contains("at least 1/3600"), "{e}");
    // ...and at most 2^22 ticks (1167/2^22 fps: 59.9 minutes a frame).
    assert!(check_fps(Rational::new(1167, MAX_FPS_DEN).unwrap()).is_ok());
    let e = check_fps(Rational::new(1167, MAX_FPS_DEN + 1).unwrap()).unwrap_err();
    assert!(matches!(e, Error::Parameter(_)));
    assert!(e.to_string().contains("at most 4194304"), "{e}");
    // Not in lowest terms: judged by the reduced fraction.
    assert!(check_fps(Rational { num: 2334, den: 2 * MAX_FPS_DEN }).is_ok());
    assert!(check_fps(Rational { num: 0, den: 1 }).is_err());
    let e = Mp4Writer::new(Cursor::new(Vec::new()), test_track(Rational::new(3, 5_000_000).unwrap()))
        .err()
        .expect("too slow a rate is refused before any packet");
    assert!(e.to_string().contains("too slow for MP4"), "{e}");
}

/// An index of `n` frames with 2 B-frames (decode order I P B B P B B ..., first dts -2)
/// or none.
fn index_of(fps: Rational, n: i64, bframes: bool) -> SampleIndex {
    let mut idx = SampleIndex::new(fps.num, fps.den);
    let mut pts: Vec<i64> = (0..n).collect();
    if bframes {
        // reorder each group (1,2,3) -> (3,1,2) after the I frame
        for g in pts[1..].chunks_mut(3) {
            g.rotate_right(1);
        }
    }
    for (i, &p) in pts.iter().enumerate() {
        let dts = i as i64 - if bframes { 2 } else { 0 };
        let pk = packet(p, dts, i == 0, 10);
        idx.check(&pk, &BTreeSet::new()).unwrap();
        idx.push(&pk);
    }
    idx
}

#[test]
fn movie_durations_cover_every_frame_at_any_rate() {
    let rates = [
        (1, 50_000),
        (1, 3600),
        (1, 7),
        (1, 1),
        (24000, 1001),
        (24, 1),
        (25, 1),
        (30, 1),
        (30000, 1001),
        (60, 1),
        (120, 1),
        (999, 1),
        (1000, 1),
        (1001, 1),
        (2500, 1),
        (5000, 1),
        (30000, 1),
        (120_000, 1),
        (4_000_000_000, 1),
        (4_194_301, 4194),
    ];
    for (num, den) in rates {
        let fps = Rational::new(num, den).unwrap();
        for n in [1i64, 2, 3, 7, 10, 100, 1001] {
            for bframes in [false, true] {
                let idx = index_of(fps, n, bframes);
                let t = idx.timing();
                let what = format!("{fps} fps, {n} frames, bframes {bframes}: {t:?}");
                let (num, den) = (u128::from(fps.num), u128::from(fps.den));
                let ts = u128::from(t.movie_timescale);
                let dur = u128::from(t.movie_duration);
                // n frames last n*den/num s = n*den*ts/num movie ticks.
                let exact = n as u128 * den * ts;
                if fps.num as u64 > 1000 * fps.den as u64 {
                    assert_eq!(t.movie_timescale, idx.timescale, "{what}");
                    assert_eq!(dur * num, exact, "{what}");
                } else {
                    assert_eq!(t.movie_timescale, 1000, "{what}");
                    // Nearest tick, so within half a tick...
                    assert!((dur * num).abs_diff(exact) * 2 <= num, "{what}");
                }
                // ...and the last frame starts strictly before the presentation ends.
                assert!(dur * num > (n as u128 - 1) * den * ts, "{what}");
                assert!(dur >= 1, "{what}");
                // Media duration: exact too.
                assert_eq!(u128::from(t.media_duration) * num, n as u128 * den * u128::from(idx.timescale), "{what}");
                assert_eq!(t.media_time, if bframes { 2 } else { 0 } * u64::from(idx.sample_duration));
            }
        }
    }
}

#[test]
fn high_rate_movie_header_is_exact() {
    // 100 frames at 30000 fps: 1/300 s. Milliseconds made this 3 ms and ffmpeg played 90.
    let packets: Vec<Packet> = (0..100).map(|i| packet(i, i, i == 0, 20)).collect();
    let file = write_file(Rational::new(30000, 1).unwrap(), &packets);
    let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
    assert_eq!(u32s(&mvhd[12..20]), vec![30000, 100]);
    let tkhd = find_box(&file, &["moov", "trak", "tkhd"]).unwrap();
    assert_eq!(u32s(&tkhd[20..24]), vec![100]);
    let elst = u32s(find_box(&file, &["moov", "trak", "edts", "elst"]).unwrap());
    assert_eq!(elst, vec![0, 1, 100, 0, 0x0001_0000]);
    // 1 frame at 2500 fps: 0.4 ms, was 0 ms (nothing played).
    let file = write_file(Rational::new(2500, 1).unwrap(), &[packet(0, 0, true, 20)]);
    let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
    assert_eq!(u32s(&mvhd[12..20]), vec![10000, 4]);
    // 1000 fps still uses milliseconds (a frame is exactly 1 ms).
    let file = write_file(Rational::new(1000, 1).unwrap(), &[packet(0, 0, true, 20)]);
    let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
    assert_eq!(u32s(&mvhd[12..20]), vec![1000, 1]);
}

#[test]
fn slow_rate_bframes_fit_the_composition_offset_limit() {
    // At 1/3600 fps frames of 36 million ticks (timescale 10000) put a composition offset of
    // 8 frames past 2^28, where ffmpeg discards the whole ctts. Now frames are 4194000 ticks
    // and even an offset of 22 frames is 92 million.
    let fps = Rational::new(1, 3600).unwrap();
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
    w.write_packet(&packet(0, -2, true, 10)).unwrap();
    w.write_packet(&packet(20, -1, false, 10)).unwrap();
    for i in 1..20 {
        w.write_packet(&packet(i, i - 1, false, 10)).unwrap();
    }
    w.finish().unwrap();
    let file = w.into_inner().into_inner();
    let ctts = u32s(stbl_box(&file, "ctts").unwrap());
    assert_eq!(ctts, vec![0, 3, 1, 2 * 4_194_000, 1, 21 * 4_194_000, 19, 4_194_000]);
    let mdhd = find_box(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    assert_eq!(u32s(&mdhd[12..20]), vec![1165, 21 * 4_194_000]);
    let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
    assert_eq!(u32s(&mvhd[12..20]), vec![1000, 21 * 3600 * 1000]);
    // With the largest denominator accepted a frame is 2^22 ticks: 64 frames of offset
    // fit, 65 not.
    let fps = Rational::new(1167, MAX_FPS_DEN).unwrap();
    assert_eq!(media_timing(1167, MAX_FPS_DEN), (1167, MAX_FRAME_TICKS));
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
    w.write_packet(&packet(64, 0, true, 10)).unwrap();
    let e = w.write_packet(&packet(66, 1, false, 10)).unwrap_err();
    assert!(matches!(e, Error::Parameter(_)));
    assert!(e.to_string().contains("too far after dts"), "{e}");
}

#[test]
fn high_rate_long_movie_switches_to_version_1() {
    // Just above 1000 fps, with frames of 4194 ticks (timescale 4194301): the exact
    // movie duration passes u32::MAX after 1024074 frames.
    let fps = Rational::new(4_194_301, 4194).unwrap();
    let track = test_track(fps);
    for (n, v1) in [(1_024_074u32, false), (1_024_075, true)] {
        let mut idx = SampleIndex::new(fps.num, fps.den);
        assert_eq!((idx.timescale, idx.sample_duration), (4_194_301, 4194));
        for i in 0..n {
            idx.push_sample(8, i64::from(i), i64::from(i), i == 0);
        }
        let t = idx.timing();
        assert_eq!(t.movie_timescale, 4_194_301);
        assert_eq!(t.movie_duration, u64::from(n) * 4194);
        assert_eq!(t.movie_duration > u64::from(u32::MAX), v1);
        let moov = idx.moov(&track, &[], 48);
        let mvhd = find_box(&moov, &["moov", "mvhd"]).unwrap();
        let tkhd = find_box(&moov, &["moov", "trak", "tkhd"]).unwrap();
        let elst = find_box(&moov, &["moov", "trak", "edts", "elst"]).unwrap();
        let mdhd = find_box(&moov, &["moov", "trak", "mdia", "mdhd"]).unwrap();
        for b in [mvhd, tkhd, elst, mdhd] {
            assert_eq!(b[0], u8::from(v1), "{n} frames");
        }
        if v1 {
            assert_eq!(&mvhd[20..24], &4_194_301u32.to_be_bytes());
            assert_eq!(&mvhd[24..32], &(u64::from(n) * 4194).to_be_bytes());
            assert_eq!(&tkhd[28..36], &(u64::from(n) * 4194).to_be_bytes());
            assert_eq!(&elst[8..16], &(u64::from(n) * 4194).to_be_bytes());
        } else {
            assert_eq!(u32s(&mvhd[12..20]), vec![4_194_301, n * 4194]);
            assert_eq!(u32s(&elst[8..12]), vec![n * 4194]);
        }
    }
}

#[test]
fn ftyp_layout() {
    let f = ftyp();
    assert_eq!(f.len(), 32);
    assert_eq!(&f[4..8], b"ftyp");
    assert_eq!(&f[8..12], b"isom");
    assert_eq!(&f[12..16], &512u32.to_be_bytes());
    assert_eq!(&f[16..32], b"isomiso2avc1mp41");
}

#[test]
fn bframe_timestamps_stts_ctts_elst() {
    // x264-like pattern with 2 B-frames: decode order I P B B P B B, first dts -2.
    let order =
        [(0, -2, true), (3, -1, false), (1, 0, false), (2, 1, false), (6, 2, false), (4, 3, false), (5, 4, false)];
    let packets: Vec<Packet> = order.iter().map(|&(p, d, k)| packet(p, d, k, 100 + p as usize)).collect();
    let file = write_file(Rational::new(30, 1).unwrap(), &packets);
    let boxes: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
    assert_eq!(boxes, ["ftyp", "moov", "mdat"]);

    let dur = 334;
    let stts = u32s(stbl_box(&file, "stts").unwrap());
    assert_eq!(stts, vec![0, 1, 7, dur]);
    let ctts = u32s(stbl_box(&file, "ctts").unwrap());
    // offsets pts-dts: 2,4,1,1,4,1,1
    assert_eq!(ctts, vec![0, 5, 1, 2 * dur, 1, 4 * dur, 2, dur, 1, 4 * dur, 2, dur]);
    let elst = u32s(find_box(&file, &["moov", "trak", "edts", "elst"]).unwrap());
    // 7 frames at 30 fps = 233.33 ms -> 233; media_time = shift of 2 frames.
    assert_eq!(elst, vec![0, 1, 233, 2 * dur, 0x0001_0000]);
    let mdhd = find_box(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    assert_eq!(u32s(&mdhd[12..20]), vec![10020, 7 * dur]);
    assert_eq!(&mdhd[20..22], &0x55c4u16.to_be_bytes()); // "und"
    let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
    assert_eq!(u32s(&mvhd[12..20]), vec![1000, 233]);
    let tkhd = find_box(&file, &["moov", "trak", "tkhd"]).unwrap();
    assert_eq!(&tkhd[0..4], &[0, 0, 0, 7]);
    assert_eq!(u32s(&tkhd[20..24]), vec![233]);
    assert_eq!(u32s(&tkhd[76..84]), vec![320 << 16, 240 << 16]);
    // only the first sample is a keyframe
    assert_eq!(u32s(stbl_box(&file, "stss").unwrap()), vec![0, 1, 1]);
    // sizes
    let stsz = u32s(stbl_box(&file, "stsz").unwrap());
    assert_eq!(&stsz[..3], &[0, 0, 7]);
    assert_eq!(&stsz[3..], &order.iter().map(|o| 100 + o.0 as u32).collect::<Vec<_>>()[..]);
}

#[test]
fn no_bframes_no_ctts_no_stss_and_chunks() {
    // 65 frames at 30 fps, all keyframes: chunks of 30, 30, 5.
    let packets: Vec<Packet> = (0..65).map(|i| packet(i, i, true, 50)).collect();
    let file = write_file(Rational::new(30, 1).unwrap(), &packets);
    assert!(stbl_box(&file, "ctts").is_none());
    assert!(stbl_box(&file, "stss").is_none());
    assert_eq!(u32s(stbl_box(&file, "stts").unwrap()), vec![0, 1, 65, 334]);
    assert_eq!(u32s(stbl_box(&file, "stsc").unwrap()), vec![0, 2, 1, 30, 1, 3, 5, 1]);
    let stco = u32s(stbl_box(&file, "stco").unwrap());
    let tl = top_level(&file);
    let (_, mdat_at, mdat_size) = tl[2].clone();
    assert_eq!(mdat_size, 16 + 65 * 50);
    let payload = mdat_at as u32 + 16;
    assert_eq!(stco, vec![0, 3, payload, payload + 1500, payload + 3000]);
    // the samples really are where stco says
    assert_eq!(&file[payload as usize..payload as usize + 50], &packets[0].data[..]);
    assert_eq!(&file[payload as usize + 3000 + 50..payload as usize + 3100], &packets[61].data[..]);
    assert_eq!(&file[file.len() - 50..], &packets[64].data[..]);
    // elst media_time 0, duration 65/30 s
    let elst = u32s(find_box(&file, &["moov", "trak", "edts", "elst"]).unwrap());
    assert_eq!(elst, vec![0, 1, 2167, 0, 0x0001_0000]);
}

#[test]
fn ntsc_rate_is_exact() {
    let packets: Vec<Packet> = (0..60).map(|i| packet(i, i, i == 0, 20)).collect();
    let file = write_file(Rational::new(30000, 1001).unwrap(), &packets);
    assert_eq!(u32s(stbl_box(&file, "stts").unwrap()), vec![0, 1, 60, 1001]);
    let mdhd = find_box(&file, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    assert_eq!(u32s(&mdhd[12..20]), vec![30000, 60 * 1001]);
    let mvhd = find_box(&file, &["moov", "mvhd"]).unwrap();
    assert_eq!(u32s(&mvhd[12..20]), vec![1000, 2002]);
    // chunks of ceil(29.97) = 30
    assert_eq!(u32s(stbl_box(&file, "stsc").unwrap()), vec![0, 1, 1, 30, 1]);
}

#[test]
fn sample_entry_avcc_colr_pasp() {
    let file = write_file(Rational::new(25, 1).unwrap(), &[packet(0, 0, true, 30)]);
    let avc1 = stbl_box(&file, "stsd")
        .map(|_| ())
        .and_then(|_| find_box(&file, &["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1"]))
        .unwrap();
    assert_eq!(&avc1[24..28], &[1, 64, 0, 240]); // width, height
    assert_eq!(u32s(&avc1[28..36]), vec![0x0048_0000, 0x0048_0000]);
    assert_eq!(&avc1[74..78], &[0, 0x18, 0xff, 0xff]);
    let avcc = find_box(&file, &[&STBL[..], &["stsd", "avc1", "avcC"]].concat()).unwrap();
    let sps = &test_avc().sps[0];
    let pps = &test_avc().pps[0];
    let mut want = vec![1, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0, sps.len() as u8];
    want.extend_from_slice(sps);
    want.extend_from_slice(&[1, 0, pps.len() as u8]);
    want.extend_from_slice(pps);
    want.extend_from_slice(&[0xfd, 0xf8, 0xf8, 0]);
    assert_eq!(avcc, &want[..]);
    let colr = find_box(&file, &[&STBL[..], &["stsd", "avc1", "colr"]].concat()).unwrap();
    assert_eq!(colr, b"nclx\0\x01\0\x01\0\x01\x00");
    let pasp = find_box(&file, &[&STBL[..], &["stsd", "avc1", "pasp"]].concat()).unwrap();
    assert_eq!(u32s(pasp), vec![1, 1]);
    let hdlr = find_box(&file, &["moov", "trak", "mdia", "hdlr"]).unwrap();
    assert_eq!(&hdlr[8..12], b"vide");
    assert_eq!(&hdlr[24..], b"VideoHandler\0");
    let url = find_box(&file, &["moov", "trak", "mdia", "minf", "dinf", "dref"]).unwrap();
    assert_eq!(&url[8..], &[0, 0, 0, 12, b'u', b'r', b'l', b' ', 0, 0, 0, 1]);
}

#[test]
fn full_range_colr_bit() {
    let mut track = test_track(Rational::new(25, 1).unwrap());
    track.color = ColorInfo { primaries: 9, transfer: 16, matrix: 9, full_range: true };
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track).unwrap();
    w.write_packet(&packet(0, 0, true, 30)).unwrap();
    w.finish().unwrap();
    let file = w.into_inner().into_inner();
    let colr = find_box(&file, &[&STBL[..], &["stsd", "avc1", "colr"]].concat()).unwrap();
    assert_eq!(colr, b"nclx\0\x09\0\x10\0\x09\x80");
}

#[test]
fn sps_format_parsing() {
    assert_eq!(sps_format(&test_avc().sps[0]), Some((1, 0, 0)));
    // High 10 4:2:2: profile 122, sps_id 0 ('1'), chroma 2 ('011'), luma 2 ('011'), chroma 2 ('011')
    // bits: 1 011 011 011 -> 1011 0110 11xx xxxx
    assert_eq!(sps_format(&[0x67, 122, 0, 40, 0b1011_0110, 0b1100_0000]), Some((2, 2, 2)));
    assert_eq!(sps_format(&[0x67, 66, 0, 30, 0xff]), None);
    assert_eq!(sps_format(&[0x67, 100]), None);
}

#[test]
fn co64_when_offsets_exceed_u32() {
    // A synthetic index: 3 samples of ~2 GiB each, 1 per chunk (fps 1). No data written.
    let track = test_track(Rational::new(1, 1).unwrap());
    let mut idx = SampleIndex::new(1, 1);
    for i in 0..3 {
        let p = Packet { data: vec![], pts: i, dts: i, keyframe: i == 0 };
        idx.push(&p);
    }
    idx.sizes = vec![2_000_000_000; 3];
    assert_eq!(idx.samples_per_chunk, 1);
    let moov = idx.moov(&track, &[], 48);
    let stco = u32s(find_box(&moov, &[&STBL[..], &["stco"]].concat()).unwrap());
    assert_eq!(stco, vec![0, 3, 48, 2_000_000_048, 4_000_000_048]);

    idx.sizes = vec![3_000_000_000; 3];
    let moov = idx.moov(&track, &[], 48);
    assert!(find_box(&moov, &[&STBL[..], &["stco"]].concat()).is_none());
    let co64 = find_box(&moov, &[&STBL[..], &["co64"]].concat()).unwrap();
    assert_eq!(&co64[4..8], &3u32.to_be_bytes());
    let offs: Vec<u64> = co64[8..].chunks(8).map(|c| u64::from_be_bytes(c.try_into().unwrap())).collect();
    assert_eq!(offs, vec![48, 3_000_000_048, 6_000_000_048]);

    // The faststart size iteration: just below the threshold unshifted, above it shifted.
    let limit = u64::from(u32::MAX);
    idx.sizes = vec![2_000_000_000, (limit - 2_000_000_000 - 48 - 100) as u32, 10];
    let unshifted = idx.moov(&track, &[], 48);
    assert!(find_box(&unshifted, &[&STBL[..], &["stco"]].concat()).is_some());
    let shifted = idx.moov_shifted(&track, &[], 48);
    let co64 = find_box(&shifted, &[&STBL[..], &["co64"]].concat()).unwrap();
    let offs: Vec<u64> = co64[8..].chunks(8).map(|c| u64::from_be_bytes(c.try_into().unwrap())).collect();
    let s = shifted.len() as u64;
    assert_eq!(offs, vec![48 + s, 2_000_000_048 + s, limit - 100 + s]);
    assert_eq!(shifted.len(), unshifted.len() + 12);
}

#[test]
fn large_durations_use_version_1() {
    let track = test_track(Rational::new(1, 100_000).unwrap());
    let mut idx = SampleIndex::new(1, 100_000);
    for i in 0..50 {
        idx.push(&Packet { data: vec![0; 8], pts: i, dts: i, keyframe: true });
    }
    let t = idx.timing();
    assert_eq!(t.movie_duration, 50 * 100_000 * 1000);
    // Frames of 4.1 million ticks (timescale 41): the media duration still fits 32 bits.
    assert_eq!((idx.timescale, idx.sample_duration), (41, 4_100_000));
    assert_eq!(t.media_duration, 50 * 4_100_000);
    let moov = idx.moov(&track, &[], 48);
    let mvhd = find_box(&moov, &["moov", "mvhd"]).unwrap();
    assert_eq!(mvhd[0], 1);
    assert_eq!(&mvhd[20..24], &1000u32.to_be_bytes());
    assert_eq!(&mvhd[24..32], &(50u64 * 100_000 * 1000).to_be_bytes());
    let elst = find_box(&moov, &["moov", "trak", "edts", "elst"]).unwrap();
    assert_eq!(elst[0], 1);
    let mdhd = find_box(&moov, &["moov", "trak", "mdia", "mdhd"]).unwrap();
    assert_eq!(mdhd[0], 0);
    assert_eq!(u32s(&mdhd[12..20]), vec![41, 50 * 4_100_000]);
}

#[test]
fn timestamp_validation() {
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(Rational::new(30, 1).unwrap())).unwrap();
    assert!(matches!(w.write_packet(&packet(i64::MAX, i64::MIN, true, 10)), Err(Error::Parameter(_))));
    assert!(matches!(w.write_packet(&packet(i64::MAX, i64::MAX - 1, true, 10)), Err(Error::Parameter(_))));
    assert!(matches!(w.write_packet(&packet(-1, -1, true, 10)), Err(Error::Parameter(_))));
    assert!(matches!(w.write_packet(&packet(0, 1, true, 10)), Err(Error::Parameter(_))));
    w.write_packet(&packet(0, -2, true, 10)).unwrap();
    w.write_packet(&packet(3, -1, false, 10)).unwrap();
    // dts not increasing
    assert!(matches!(w.write_packet(&packet(1, -1, false, 10)), Err(Error::Parameter(_))));
    // duplicate pts
    let e = w.write_packet(&packet(3, 0, false, 10)).unwrap_err();
    assert!(e.to_string().contains("already used"), "{e}");
    // not AVCC
    let bad = Packet { data: vec![0, 0, 0, 1, 0x41, 1, 2, 3], pts: 1, dts: 0, keyframe: false };
    assert!(matches!(w.write_packet(&bad), Err(Error::Parameter(_))));
    let empty = Packet { data: vec![], pts: 1, dts: 0, keyframe: false };
    assert!(matches!(w.write_packet(&empty), Err(Error::Parameter(_))));
    w.write_packet(&packet(1, 0, false, 10)).unwrap();
    w.write_packet(&packet(2, 1, false, 10)).unwrap();
    assert_eq!(w.frames(), 4);
    w.finish().unwrap();
    w.finish().unwrap(); // second finish: no-op
    let e = w.write_packet(&packet(4, 2, false, 10)).unwrap_err();
    assert!(matches!(e, Error::Parameter(_)));
    assert!(e.to_string().contains("after finish"));
    assert_eq!(w.frames(), 4);
}

#[test]
fn bad_tracks_rejected() {
    let mut t = test_track(Rational::new(30, 1).unwrap());
    t.width = 70000;
    assert!(matches!(Mp4Writer::new(Cursor::new(Vec::new()), t), Err(Error::Parameter(_))));
    let mut t = test_track(Rational::new(30, 1).unwrap());
    t.avc.pps.clear();
    assert!(matches!(Mp4Writer::new(Cursor::new(Vec::new()), t), Err(Error::Parameter(_))));
    let mut t = test_track(Rational::new(30, 1).unwrap());
    t.avc.sps[0] = vec![0, 0, 0, 1, 0x67];
    assert!(matches!(Mp4Writer::new(Cursor::new(Vec::new()), t), Err(Error::Parameter(_))));
    let mut t = test_track(Rational::new(30, 1).unwrap());
    t.width = 8192;
    t.height = 8192;
    assert!(Mp4Writer::new(Cursor::new(Vec::new()), t).is_ok());
}

#[test]
fn write_only_file_is_rejected_up_front() {
    let path = std::env::temp_dir().join(format!("framepipe-mp4-wo-{}.mp4", std::process::id()));
    let e = Mp4Writer::new(std::fs::File::create(&path).unwrap(), test_track(Rational::new(30, 1).unwrap()))
        .err()
        .expect("write-only output must be rejected");
    assert!(matches!(e, Error::Parameter(_)));
    assert!(e.to_string().contains("readable"), "{e}");
    let mut w = Mp4Writer::create(&path, test_track(Rational::new(30, 1).unwrap())).unwrap();
    w.write_packet(&packet(0, 0, true, 100)).unwrap();
    w.finish().unwrap();
    assert!(w.is_faststart());
    drop(w);
    let file = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
    assert_eq!(names, ["ftyp", "moov", "mdat"]);
}

#[test]
fn zero_frames_is_a_valid_file() {
    let file = write_file(Rational::new(30, 1).unwrap(), &[]);
    let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
    assert_eq!(names, ["ftyp", "moov", "mdat"]);
    assert_eq!(u32s(stbl_box(&file, "stsz").unwrap()), vec![0, 0, 0]);
}

/// An output that fails once `limit` bytes would be exceeded (a full disk).
struct Limited {
    inner: Cursor<Vec<u8>>,
    limit: u64,
    /// Fail the next write (a transient error) without writing anything.
    fail_next: bool,
    /// Fail like a file-size limit (EFBIG) instead of a full disk (ENOSPC).
    efbig: bool,
}
fn limited(limit: u64) -> Limited {
    Limited { inner: Cursor::new(Vec::new()), limit, fail_next: false, efbig: false }
}
impl Read for Limited {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}
impl Seek for Limited {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}
impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let pos = self.inner.position();
        if std::mem::take(&mut self.fail_next) {
            return Err(std::io::Error::other("transient failure"));
        }
        if pos >= self.limit {
            return Err(if self.efbig {
                std::io::Error::from_raw_os_error(27)
            } else {
                std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full")
            });
        }
        let n = buf.len().min((self.limit - pos) as usize);
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Mp4Sink for Limited {
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        let have = self.inner.get_ref().len() as u64;
        if len > have && len > self.limit {
            return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full"));
        }
        self.inner.get_mut().resize(len as usize, 0);
        Ok(())
    }
}

/// Size of the ftyp box: the finished file's payload starts at 32 + moov + 16.
const FTYP: u64 = 32;

/// The finished file a writer of the whole index at once would make: ftyp, the moov of every
/// packet, a 64-bit mdat header, the payloads in order.
pub(crate) fn reference_file(fps: Rational, packets: &[Packet]) -> Vec<u8> {
    let track = test_track(fps);
    let mut idx = SampleIndex::new(fps.num, fps.den);
    packets.iter().for_each(|p| idx.push(p));
    let moov = idx.moov_shifted(&track, &[], FTYP + MDAT_HEADER);
    let mut file = ftyp();
    file.extend_from_slice(&moov);
    let payload: Vec<u8> = packets.iter().flat_map(|p| p.data.iter().copied()).collect();
    file.extend_from_slice(&1u32.to_be_bytes());
    file.extend_from_slice(b"mdat");
    file.extend_from_slice(&(payload.len() as u64 + 16).to_be_bytes());
    file.extend_from_slice(&payload);
    file
}

pub(crate) fn write_fragmented(fps: Rational, packets: &[Packet], fragment_frames: u32) -> Mp4Writer<Cursor<Vec<u8>>> {
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
    w.set_fragment_frames(fragment_frames).unwrap();
    for p in packets {
        w.write_packet(p).unwrap();
    }
    w
}

#[test]
fn finished_file_is_the_same_whatever_the_fragments() {
    // B-frames (fragments end only where no presented frame is missing), an irregular decode
    // delta, and plain I/P streams; fragments of 1 frame up to longer than the stream.
    let mut bframes = sweep_packets(&bframe_stamps(12));
    let mut jump: Vec<Packet> =
        (0..40).map(|i| packet(i + i / 17, i + i / 17, i % 10 == 0, 300 + i as usize)).collect();
    jump[0].keyframe = true;
    for (fps, packets) in
        [(Rational::new(30, 1).unwrap(), &mut bframes), (Rational::new(24000, 1001).unwrap(), &mut jump)]
    {
        let want = reference_file(fps, packets);
        for frag in [1, 2, 3, 7, 30, 1000] {
            let mut w = write_fragmented(fps, packets, frag);
            w.finish().unwrap();
            assert!(w.is_faststart());
            assert_eq!(w.bytes_written(), want.len() as u64);
            assert!(w.into_inner().into_inner() == want, "fragments of {frag} frames at {fps:?}");
        }
    }
}

#[test]
fn unfinished_file_is_fragmented_and_complete_up_to_its_last_fragment() {
    let packets = sweep_packets(&bframe_stamps(10));
    let w = write_fragmented(Rational::new(30, 1).unwrap(), &packets, 6);
    let on_disk = w.frames_on_disk();
    assert!(on_disk >= 6 && on_disk < packets.len() as u64, "{on_disk}");
    let file = w.into_inner().into_inner();
    let names: Vec<String> = top_level(&file).into_iter().map(|b| b.0).collect();
    assert_eq!(&names[..2], ["ftyp", "moov"]);
    assert!(names[2..].chunks(2).all(|c| c == ["moof", "mdat"]), "{names:?}");
    // Every fragment ends where the frames presented so far are all there.
    let info = crate::mux::mp4::probe_reader(Cursor::new(&file)).unwrap();
    assert_eq!(info.frame_count, on_disk);
    assert_eq!(info.frames_present, on_disk);
}

#[test]
fn failed_fragment_stays_in_memory_and_is_finished_later() {
    // Fragments of 5 frames of 1000 bytes: the second fragment's write fails half-way.
    let fps = Rational::new(30, 1).unwrap();
    let packets: Vec<Packet> = (0..12).map(|i| packet(i, i, i == 0, 1000)).collect();
    let first_fragment_end = {
        let w = write_fragmented(fps, &packets[..6], 5);
        w.into_inner().into_inner().len() as u64
    };
    let mut w = Mp4Writer::new(limited(first_fragment_end + 2500), test_track(fps)).unwrap();
    w.set_fragment_frames(5).unwrap();
    for p in &packets[..10] {
        w.write_packet(p).unwrap();
    }
    let e = w.write_packet(&packets[10]).unwrap_err();
    assert!(e.is_disk_full(), "{e}");
    assert!(e.to_string().contains("frames 5..10"), "{e}");
    assert_eq!((w.frames(), w.frames_on_disk()), (10, 5));
    // The torn fragment was cut off: the unfinished file ends with a whole fragment.
    assert_eq!(w.out.inner.get_ref().len() as u64, first_fragment_end);
    // Space comes back: the same packet again, then finish.
    w.out.limit = u64::MAX;
    for p in &packets[10..] {
        w.write_packet(p).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(w.frames(), 12);
    let file = w.into_inner().inner.into_inner();
    assert!(file == reference_file(fps, &packets));
}

#[test]
fn full_disk_at_finish_drops_trailing_frames() {
    // Every fragment fits and the disk is full at finish: the finished file (no fragment
    // headers) is smaller than the fragmented one for long streams, larger for short ones.
    let fps = Rational::new(30, 1).unwrap();
    let packets: Vec<Packet> = (0..5).map(|i| packet(i, i, i == 0, 1000)).collect();
    let w = write_fragmented(fps, &packets, 1);
    let fragmented_len = w.into_inner().into_inner().len() as u64;
    let finished_len = reference_file(fps, &packets).len() as u64;
    let cap = fragmented_len.min(finished_len - 1);
    let mut w = Mp4Writer::new(limited(cap), test_track(fps)).unwrap();
    w.set_fragment_frames(1).unwrap();
    let mut accepted = 0;
    for p in &packets {
        if w.write_packet(p).is_err() {
            break;
        }
        accepted += 1;
    }
    w.mark_interrupted();
    w.finish().unwrap();
    let frames = w.frames();
    assert!(frames >= 1 && frames < accepted, "{frames} of {accepted}");
    let file = w.into_inner().inner.into_inner();
    assert!(file.len() as u64 <= cap);
    check_finished(&file, frames, &packets, (30, 1));
}

#[test]
fn full_disk_everywhere_is_an_io_error() {
    // Not even the first frame and its index fit.
    let limit = 200;
    let mut w = Mp4Writer::new(limited(limit), test_track(Rational::new(30, 1).unwrap())).unwrap();
    for i in 0..5 {
        w.write_packet(&packet(i, i, i == 0, 100)).unwrap();
    }
    assert_eq!(w.frames(), 5);
    let e = w.finish().unwrap_err();
    assert!(e.is_disk_full(), "{e}");
    assert_eq!(w.frames(), 0);
    assert!(w.finish().is_err());
    assert_eq!(w.frames(), 0);
    assert!(matches!(w.write_packet(&packet(5, 5, false, 10)), Err(Error::Parameter(_))));
}

#[test]
fn retry_after_failed_write_continues_cleanly() {
    let fps = Rational::new(30, 1).unwrap();
    let packets: Vec<Packet> = (0..5).map(|i| packet(i, i, true, 100)).collect();
    let mut w = Mp4Writer::new(limited(u64::MAX), test_track(fps)).unwrap();
    w.set_fragment_frames(1).unwrap();
    for p in &packets[..3] {
        w.write_packet(p).unwrap();
    }
    w.out.fail_next = true;
    assert!(w.write_packet(&packets[3]).is_err());
    for p in &packets[3..] {
        w.write_packet(p).unwrap();
    }
    w.finish().unwrap();
    let file = w.into_inner().inner.into_inner();
    assert!(file == reference_file(fps, &packets));
}

#[test]
fn stale_longer_output_is_cut() {
    // Writing over an output that already holds more bytes than the new file.
    let old = vec![0xaau8; 100_000];
    let mut cur = Cursor::new(old);
    cur.set_position(0);
    let mut w = Mp4Writer::new(cur, test_track(Rational::new(30, 1).unwrap())).unwrap();
    let packets: Vec<Packet> = (0..3).map(|i| packet(i, i, true, 100)).collect();
    for p in &packets {
        w.write_packet(p).unwrap();
    }
    w.finish().unwrap();
    let file = w.into_inner().into_inner();
    assert!(file == reference_file(Rational::new(30, 1).unwrap(), &packets));
}

#[test]
fn output_that_cannot_be_cut_is_covered() {
    // A sink that cannot shrink: the bytes after the media data become a free box, or (fewer
    // than 8) part of the mdat.
    struct NoCut(Cursor<Vec<u8>>);
    impl Read for NoCut {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(b)
        }
    }
    impl Seek for NoCut {
        fn seek(&mut self, p: SeekFrom) -> std::io::Result<u64> {
            self.0.seek(p)
        }
    }
    impl Write for NoCut {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Mp4Sink for NoCut {
        fn set_len(&mut self, _: u64) -> std::io::Result<()> {
            Err(std::io::Error::other("cannot truncate"))
        }
    }
    let fps = Rational::new(30, 1).unwrap();
    let packets: Vec<Packet> = (0..40).map(|i| packet(i, i, i % 10 == 0, 500)).collect();
    let want = reference_file(fps, &packets);
    for spare in [0usize, 3, 7, 8, 5000] {
        let mut w = Mp4Writer::new(NoCut(Cursor::new(vec![0x55; want.len() + spare])), test_track(fps)).unwrap();
        w.set_fragment_frames(40).unwrap(); // one fragment: the output never shrinks below `want`
        for p in &packets {
            w.write_packet(p).unwrap();
        }
        w.finish().unwrap();
        let file = w.into_inner().0.into_inner();
        assert_eq!(file.len(), want.len() + spare);
        let tl = top_level(&file);
        if spare >= 8 {
            assert_eq!(tl.last().unwrap().0, "free");
            assert!(file[..want.len()] == want[..]);
        } else {
            assert_eq!(tl.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(), ["ftyp", "moov", "mdat"]);
        }
        check_finished(&file, 40, &packets, (30, 1));
    }
}

#[test]
fn large_shift_moves_many_chunks() {
    // Payload bigger than the 4 MiB move buffer: check every byte lands right.
    let fps = Rational::new(30, 1).unwrap();
    let packets: Vec<Packet> = (0..10).map(|i| packet(i, i, i % 5 == 0, 1_000_003)).collect();
    for frag in [1, 3, 30] {
        let mut w = write_fragmented(fps, &packets, frag);
        w.finish().unwrap();
        let file = w.into_inner().into_inner();
        assert!(file == reference_file(fps, &packets), "fragments of {frag}");
        assert_eq!(u32s(stbl_box(&file, "stss").unwrap()), vec![0, 2, 1, 6]);
    }
}

/// `(pts, dts)` of x264-like B-frame groups in decode order: I0, then per group P B b b
/// (pts 0, 4 2 1 3, 8 6 5 7, ...), first dts -2.
pub(crate) fn bframe_stamps(groups: i64) -> Vec<(i64, i64)> {
    let mut pts = vec![0];
    for g in 0..groups {
        pts.extend([4 * g + 4, 4 * g + 2, 4 * g + 1, 4 * g + 3]);
    }
    pts.into_iter().enumerate().map(|(i, p)| (p, i as i64 - 2)).collect()
}

/// Packets of uneven sizes for the given timestamps; a keyframe every 16 frames.
pub(crate) fn sweep_packets(stamps: &[(i64, i64)]) -> Vec<Packet> {
    stamps.iter().enumerate().map(|(i, &(p, d))| packet(p, d, p % 16 == 0, 200 + (i * 7919) % 1500)).collect()
}

/// Expand a stts/ctts body into one value per sample.
fn expand_runs(body: &[u8]) -> Vec<u32> {
    let v = u32s(body);
    let n = v[1] as usize;
    (0..n).flat_map(|e| std::iter::repeat_n(v[3 + 2 * e], v[2 + 2 * e] as usize)).collect()
}

/// Everything a finished output must satisfy: its boxes tile it, our reader finds
/// `frames` samples and a duration of exactly frames / fps, the samples are the first
/// `frames` packets in decode order (bytes where the index says, same timestamps), and
/// their presentation times are contiguous.
pub(crate) fn check_finished(file: &[u8], frames: u64, packets: &[Packet], fps: (u32, u32)) {
    let names: Vec<String> = top_level(file).into_iter().map(|b| b.0).collect();
    assert!(names == ["ftyp", "moov", "mdat"] || names == ["ftyp", "moov", "mdat", "free"], "{names:?}");
    let info = crate::mux::mp4::probe_reader(Cursor::new(file)).unwrap();
    assert_eq!(info.frame_count, frames);
    let want = frames as f64 * f64::from(fps.1) / f64::from(fps.0);
    assert!(
        (info.duration_seconds - want).abs() <= 0.0005 + 1e-9,
        "duration {} for {frames} frames",
        info.duration_seconds
    );
    let k = frames as usize;
    let kept = &packets[..k];

    // Sample bytes: stsz sizes, stsc samples per chunk, stco/co64 chunk offsets.
    let sizes = u32s(stbl_box(file, "stsz").unwrap())[3..].to_vec();
    assert_eq!(sizes.len(), k);
    let stsc = u32s(stbl_box(file, "stsc").unwrap());
    let offsets: Vec<u64> = match stbl_box(file, "stco") {
        Some(b) => u32s(b)[2..].iter().map(|&o| u64::from(o)).collect(),
        None => {
            stbl_box(file, "co64").unwrap()[8..].chunks(8).map(|c| u64::from_be_bytes(c.try_into().unwrap())).collect()
        }
    };
    let mut per_chunk = Vec::new();
    for e in 0..stsc[1] as usize {
        let first = stsc[2 + 3 * e] as usize;
        let next = if e + 1 < stsc[1] as usize { stsc[2 + 3 * (e + 1)] as usize } else { offsets.len() + 1 };
        per_chunk.extend(std::iter::repeat_n(stsc[3 + 3 * e] as usize, next - first));
    }
    assert_eq!(per_chunk.len(), offsets.len());
    let mut s = 0;
    for (c, &off) in offsets.iter().enumerate() {
        let mut at = off as usize;
        for _ in 0..per_chunk[c] {
            assert_eq!(sizes[s] as usize, kept[s].data.len());
            assert_eq!(&file[at..at + sizes[s] as usize], &kept[s].data[..], "sample {s}");
            at += sizes[s] as usize;
            s += 1;
        }
    }
    assert_eq!(s, k);

    // Timestamps: decode times and composition offsets as written, pts contiguous.
    let dur = i64::from(media_timing(fps.0, fps.1).1);
    let deltas = expand_runs(stbl_box(file, "stts").unwrap());
    let ctts = stbl_box(file, "ctts").map(expand_runs).unwrap_or(vec![0; k]);
    assert_eq!((deltas.len(), ctts.len()), (k, k));
    let mut dts = 0i64;
    let mut pts: Vec<i64> = Vec::new();
    for (i, p) in kept.iter().enumerate() {
        assert_eq!(dts, (p.dts - kept[0].dts) * dur, "dts of sample {i}");
        assert_eq!(i64::from(ctts[i]), (p.pts - p.dts) * dur, "cts of sample {i}");
        pts.push(p.pts);
        dts += i64::from(deltas[i]);
    }
    pts.sort_unstable();
    assert!(pts.windows(2).all(|w| w[1] == w[0] + 1), "pts {pts:?}");
    let want_keys: Vec<u32> = (1..=k as u32).filter(|&i| kept[i as usize - 1].keyframe).collect();
    match stbl_box(file, "stss") {
        Some(b) => assert_eq!(&u32s(b)[2..], &want_keys[..]),
        None => assert_eq!(want_keys.len(), k),
    }
}

/// Write `packets` (in fragments of `fragment_frames`) into outputs capped at every `step`-th
/// size from just after the ftyp to past the complete file, stopping at the first failed write
/// (as the pipeline does), and check each outcome: finish is Ok with a valid faststart file of
/// `frames() >= 1` frames, or (only when not even the first frame leaves room for the index)
/// Err with `frames() == 0`. Returns how often the file kept every frame / fewer / failed.
fn cap_sweep(packets: &[Packet], fps: (u32, u32), step: u64, fragment_frames: u32) -> [u32; 3] {
    let rate = Rational::new(fps.0, fps.1).unwrap();
    let track = test_track(rate);
    let mut first = SampleIndex::new(fps.0, fps.1);
    first.push(&packets[0]);
    // Below this not even the first frame and its index fit.
    let min_ok = FTYP
        + first.moov_shifted(&track, &[], FTYP + MDAT_HEADER).len() as u64
        + MDAT_HEADER
        + packets[0].data.len() as u64;
    let finished = reference_file(rate, packets).len() as u64;
    let fragmented = write_fragmented(rate, packets, fragment_frames).into_inner().into_inner().len() as u64;
    let full = finished.max(fragmented);
    let mut all = SampleIndex::new(fps.0, fps.1);
    packets.iter().for_each(|p| all.push(p));
    let prefixes = all.contiguous_prefixes();

    let mut counts = [0u32; 3];
    let mut cap = FTYP + 1;
    while cap <= full + 40 {
        let mut out = limited(cap);
        out.efbig = cap % 2 == 1;
        let mut w = Mp4Writer::new(out, track.clone()).unwrap();
        w.set_fragment_frames(fragment_frames).unwrap();
        let mut failed = false;
        for p in packets {
            if let Err(e) = w.write_packet(p) {
                assert!(e.is_disk_full(), "cap {cap}: {e}");
                failed = true;
                break;
            }
        }
        if failed {
            w.mark_interrupted();
        }
        match w.finish() {
            Ok(()) => {
                let frames = w.frames();
                assert!(frames >= 1, "cap {cap}");
                assert!(prefixes.contains(&(frames as usize)), "cap {cap}: {frames}");
                assert!(w.is_faststart());
                let written = w.bytes_written();
                let file = w.into_inner().inner.into_inner();
                assert!(file.len() as u64 <= cap, "cap {cap}");
                assert_eq!(written, file.len() as u64, "cap {cap}");
                check_finished(&file, frames, packets, fps);
                if cap >= full {
                    assert!(!failed, "cap {cap}");
                    assert_eq!(frames, packets.len() as u64, "cap {cap}");
                }
                counts[usize::from(frames < packets.len() as u64)] += 1;
            }
            Err(e) => {
                assert!(e.is_disk_full(), "cap {cap}: {e}");
                assert_eq!(w.frames(), 0, "cap {cap}");
                assert!(cap < min_ok, "cap {cap}: finish failed although frame 0 fits: {e}");
                counts[2] += 1;
            }
        }
        cap += step;
    }
    counts
}

#[test]
fn disk_full_at_any_point_bframes() {
    let packets = sweep_packets(&bframe_stamps(5));
    let mut idx = SampleIndex::new(30, 1);
    packets.iter().for_each(|p| idx.push(p));
    assert_eq!(idx.contiguous_prefixes(), vec![1, 5, 9, 13, 17, 21]);
    assert_eq!(idx.prefix(9).timestamps(), idx.timestamps()[..9]);
    assert_eq!(idx.prefix(9).moov(&test_track(Rational::new(30, 1).unwrap()), &[], 48), {
        let mut nine = SampleIndex::new(30, 1);
        packets[..9].iter().for_each(|p| nine.push(p));
        nine.moov(&test_track(Rational::new(30, 1).unwrap()), &[], 48)
    });
    for frag in [1, 4, 30] {
        let [all, fewer, failed] = cap_sweep(&packets, (30, 1), 1, frag);
        assert!(all > 0 && fewer > 1000 && failed > 0, "{all} {fewer} {failed}");
    }
}

#[test]
fn disk_full_at_any_point_long_track() {
    // More than one chunk (30 per chunk at 30 fps), no B-frames; NTSC rate with B-frames.
    let stamps: Vec<(i64, i64)> = (0..95).map(|i| (i, i)).collect();
    let [all, fewer, failed] = cap_sweep(&sweep_packets(&stamps), (30, 1), 7, 30);
    assert!(all > 0 && fewer > 1000 && failed > 0, "{all} {fewer} {failed}");
    let [all, fewer, failed] = cap_sweep(&sweep_packets(&bframe_stamps(20)), (30000, 1001), 5, 8);
    assert!(all > 0 && fewer > 1000 && failed > 0, "{all} {fewer} {failed}");
}

#[test]
fn interrupted_stream_keeps_contiguous_prefix() {
    // Fragments end only where every frame presented so far is there (dts order I0 | P4 B2 b1
    // b3 | ...): a failed fragment write loses nothing, all of it is finished from memory.
    let packets = sweep_packets(&bframe_stamps(2));
    let first_fragment = write_fragmented(Rational::new(30, 1).unwrap(), &packets[..2], 1);
    let cap = first_fragment.into_inner().into_inner().len() as u64 + 100;
    let mut w = Mp4Writer::new(limited(cap), test_track(Rational::new(30, 1).unwrap())).unwrap();
    w.set_fragment_frames(1).unwrap();
    for p in &packets[..5] {
        w.write_packet(p).unwrap();
    }
    assert_eq!(w.frames_on_disk(), 1);
    assert!(w.write_packet(&packets[5]).is_err());
    assert_eq!(w.frames(), 5);
    w.out.limit = u64::MAX;
    w.mark_interrupted();
    w.finish().unwrap();
    assert_eq!(w.frames(), 5);
    let file = w.into_inner().inner.into_inner();
    check_finished(&file, 5, &packets, (30, 1));

    // The same cut with no failed write: everything is kept unless told otherwise.
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(Rational::new(30, 1).unwrap())).unwrap();
    for p in &packets[..7] {
        w.write_packet(p).unwrap();
    }
    w.mark_interrupted();
    w.finish().unwrap();
    assert_eq!(w.frames(), 5);
    let file = w.into_inner().into_inner();
    check_finished(&file, 5, &packets, (30, 1));
}

#[test]
fn failing_index_write_is_an_error() {
    // Room for the index after dropping frames, but writing it fails for another reason.
    struct Broken(Limited, u32);
    impl Read for Broken {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(b)
        }
    }
    impl Seek for Broken {
        fn seek(&mut self, p: SeekFrom) -> std::io::Result<u64> {
            self.0.seek(p)
        }
    }
    impl Write for Broken {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.1 == 0 {
                return Err(std::io::Error::other("I/O error"));
            }
            self.0.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Mp4Sink for Broken {
        fn set_len(&mut self, len: u64) -> std::io::Result<()> {
            self.0.set_len(len)
        }
    }
    let limit = 48 + 5 * 1000 + 10;
    let mut w = Mp4Writer::new(Broken(limited(limit), 1), test_track(Rational::new(30, 1).unwrap())).unwrap();
    for i in 0..5 {
        w.write_packet(&packet(i, i, i == 0, 1000)).unwrap();
    }
    w.out.1 = 0;
    let e = w.finish().unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert_eq!(w.frames(), 0);
}

#[test]
fn repair_gives_the_file_a_clean_close_gives() {
    // Everything written in fragments, then the process "dies": the repaired file is the
    // finished one, byte for byte; cut at any byte, the repaired file holds the frames of the
    // whole fragments up to the cut (without a gap in presentation).
    let dir = std::env::temp_dir().join(format!("framepipe-repair-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fps = Rational::new(30, 1).unwrap();
    let packets = sweep_packets(&bframe_stamps(12));
    let tags = vec![("title".to_string(), "repair".to_string())];
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), test_track(fps)).unwrap();
    w.set_metadata(&tags).unwrap();
    w.set_fragment_frames(7).unwrap();
    let mut boundaries = vec![];
    for p in &packets {
        w.write_packet(p).unwrap();
        boundaries.push((w.bytes_written(), w.frames_on_disk()));
    }
    w.write_fragment().unwrap();
    assert_eq!(w.frames_on_disk(), packets.len() as u64);
    let unfinished = w.out.get_ref().clone();
    w.finish().unwrap();
    let finished = w.into_inner().into_inner();

    let input = dir.join("killed.mp4");
    std::fs::write(&input, &unfinished).unwrap();
    let out = dir.join("repaired.mp4");
    let r = crate::mux::mp4::repair(&input, Some(&out)).unwrap();
    assert_eq!((r.frames, r.frames_found, r.torn_bytes, r.was_finished), (49, 49, 0, false));
    assert!(std::fs::read(&out).unwrap() == finished);
    assert!(std::fs::read(&input).unwrap() == unfinished, "the input is left alone");
    // Repairing a finished file does nothing.
    let r = crate::mux::mp4::repair(&out, None).unwrap();
    assert!(r.was_finished);
    assert!(std::fs::read(&out).unwrap() == finished);

    let mut cuts: Vec<usize> = (0..unfinished.len()).step_by(97).collect();
    cuts.extend(boundaries.iter().map(|b| b.0 as usize));
    for cut in cuts {
        std::fs::write(&input, &unfinished[..cut]).unwrap();
        let _ = std::fs::remove_file(&out);
        match crate::mux::mp4::repair(&input, Some(&out)) {
            Ok(r) => {
                let file = std::fs::read(&out).unwrap();
                check_finished(&file, r.frames, &packets, (30, 1));
                let on_disk = boundaries.iter().filter(|b| b.0 as usize <= cut).map(|b| b.1).max().unwrap_or(0);
                assert!(r.frames >= on_disk, "cut {cut}: {} < {on_disk}", r.frames);
                let info = crate::mux::mp4::probe(&out).unwrap();
                assert_eq!(info.tags.iter().find(|t| t.0 == "title").map(|t| t.1.as_str()), Some("repair"));
            }
            Err(e) => {
                // Only before the moov is complete.
                assert!(cut < 32 + 800, "cut {cut}: {e}");
                assert!(!out.exists());
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_forged_fragment_sample_count_is_refused_before_anything_is_allocated() {
    // A trun claiming four billion samples of the default size, with no per-sample fields.
    let packets: Vec<Packet> = (0..10).map(|i| packet(i, i, i == 0, 100)).collect();
    let w = write_fragmented(Rational::new(30, 1).unwrap(), &packets, 5);
    let mut file = w.into_inner().into_inner();
    let at = file.windows(4).position(|b| b == b"trun").unwrap();
    file[at + 4..at + 8].copy_from_slice(&1u32.to_be_bytes()); // flags: data offset only
    file[at + 8..at + 12].copy_from_slice(&u32::MAX.to_be_bytes());
    let e = crate::mux::mp4::probe_reader(Cursor::new(&file)).unwrap_err();
    assert!(matches!(e, Error::InvalidData(_)), "{e}");
    assert!(e.to_string().contains("4294967295 samples"), "{e}");
}
