//! Tests of the MP4 probe: whole, truncated, torn and forged files.

use super::*;
use crate::encode::Packet;
use crate::mux::mp4::Mp4Writer;
use crate::mux::VideoTrack;
use std::io::Cursor;

fn track() -> VideoTrack {
    VideoTrack {
        width: 320,
        height: 240,
        fps: Rational::new(30000, 1001).unwrap(),
        avc: crate::encode::AvcConfig {
            sps: vec![vec![0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x41, 0x41, 0xfb]],
            pps: vec![vec![0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]],
        },
        color: ColorInfo::BT709_LIMITED,
    }
}

fn file(frames: i64) -> Vec<u8> {
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track()).unwrap();
    for i in 0..frames {
        let mut data = 96u32.to_be_bytes().to_vec();
        data.extend(std::iter::repeat_n(if i % 10 == 0 { 0x65 } else { 0x41 }, 96));
        w.write_packet(&Packet { data, pts: i, dts: i, keyframe: i % 10 == 0 }).unwrap();
    }
    w.finish().unwrap();
    w.into_inner().into_inner()
}

/// Where the samples of `file(n)` start: right after the mdat header.
fn payload_start(data: &[u8]) -> usize {
    let mut pos = 0;
    loop {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        if &data[pos + 4..pos + 8] == b"mdat" {
            return pos + 16; // framepipe writes a 64-bit mdat header
        }
        pos += size;
    }
}

#[test]
fn a_truncated_file_reports_the_frames_it_holds() {
    let data = file(30);
    let start = payload_start(&data);
    assert_eq!(start + 30 * 100, data.len());
    let whole = probe_reader(Cursor::new(&data)).unwrap();
    assert_eq!((whole.frame_count, whole.frames_present, whole.truncated()), (30, 30, false));
    assert!(whole.truncation_warning().is_none() && !whole.to_string().contains("warning"));
    for cut in [start, start + 1, start + 99, start + 100, start + 101, start + 1234, data.len() - 1] {
        let info = probe_reader(Cursor::new(&data[..cut])).unwrap();
        // Each sample is 100 bytes, stored in decode order from `start`.
        let expect = ((cut - start) / 100) as u64;
        assert_eq!(info.frame_count, 30, "cut at {cut}");
        assert_eq!(info.frames_present, expect, "cut at {cut}");
        assert_eq!(info.missing_bytes, (data.len() - cut) as u64, "cut at {cut}");
        assert!(info.truncated());
        let text = info.to_string();
        assert!(
            text.contains(&format!("warning: truncated: the index lists 30 frames but only {expect} are in the file")),
            "{text}"
        );
        // The demuxer refuses it rather than read past the end.
        let e = crate::mux::mp4::Mp4Demuxer::new(Cursor::new(&data[..cut])).err().expect("refused");
        assert!(matches!(e, Error::InvalidData(_)) && e.to_string().contains("truncated MP4"), "{e}");
    }
}

/// Overwrite the u32 at `at` bytes into the body (after the 8-byte header) of the first box
/// of type `kind`.
fn patch(data: &mut [u8], kind: &[u8; 4], at: usize, value: u32) {
    let pos = data.windows(4).position(|w| w == kind).expect("box present") + 4;
    data[pos + at..pos + at + 4].copy_from_slice(&value.to_be_bytes());
}

#[test]
fn a_forged_sample_count_is_neither_trusted_nor_allocated() {
    // stsz alone claims 2^32 - 1 samples of 100 bytes: stts disagrees, so the index is
    // malformed.
    let mut data = file(30);
    patch(&mut data, b"stsz", 4, 100);
    patch(&mut data, b"stsz", 8, u32::MAX);
    let e = probe_reader(Cursor::new(&data)).unwrap_err();
    assert!(matches!(e, Error::InvalidData(_)), "{e}");
    assert!(e.to_string().contains("stts gives times to 30 samples, but stsz has 4294967295"), "{e}");
    // A consistent forgery (stts and stsc say the same): described, with the 30 frames the
    // file really holds, and nothing allocated per claimed sample.
    patch(&mut data, b"stts", 8, u32::MAX);
    patch(&mut data, b"stsc", 12, u32::MAX);
    let info = probe_reader(Cursor::new(&data)).unwrap();
    assert_eq!((info.frame_count, info.frames_present), (u64::from(u32::MAX), 30));
    assert!(info.truncated());
    let e = crate::mux::mp4::Mp4Demuxer::new(Cursor::new(&data)).err().expect("refused");
    assert!(e.to_string().contains("only 30 are in the file"), "{e}");
}

#[test]
fn chunk_tables_that_place_other_counts_are_malformed() {
    let mut data = file(30);
    patch(&mut data, b"stsc", 12, 29); // one chunk of 29 samples, stsz has 30
    let e = probe_reader(Cursor::new(&data)).unwrap_err();
    assert!(e.to_string().contains("place 29 samples, but stsz has 30"), "{e}");
    let mut data = file(30);
    patch(&mut data, b"stss", 8, 31); // a keyframe that does not exist
    let e = probe_reader(Cursor::new(&data)).unwrap_err();
    assert!(e.to_string().contains("stss names sample 31, but there are 30"), "{e}");
}

#[test]
fn probes_our_own_file() {
    let data = file(30);
    let info = probe_reader(Cursor::new(&data)).unwrap();
    assert_eq!(info.width, 320);
    assert_eq!(info.height, 240);
    assert_eq!(info.frame_count, 30);
    assert_eq!(info.fps, Some(Rational { num: 30000, den: 1001 }));
    assert!((info.duration_seconds - 1.001).abs() < 1e-9, "{}", info.duration_seconds);
    assert_eq!(info.codec, "avc1");
    assert_eq!(info.profile, "High");
    assert_eq!(info.level, "3.1");
    assert_eq!(info.color, Some(ColorInfo::BT709_LIMITED));
    assert!(info.faststart);
    assert_eq!(info.keyframes, 3);
    assert_eq!(info.file_size, data.len() as u64);
    assert_eq!(info.brand, "isom");
    assert!((info.bitrate_kbps - 30.0 * 100.0 * 8.0 / 1.001 / 1000.0).abs() < 1e-6);
    let text = info.to_string();
    assert!(text.contains("width: 320\n"), "{text}");
    assert!(text.contains("colour: bt709 primaries, bt709 transfer, bt709 matrix, limited range"), "{text}");
    assert!(text.contains("fps: 30000/1001 (29.970)"), "{text}");
    assert!(text.contains("faststart: yes"), "{text}");
}

#[test]
fn moov_at_end_is_not_faststart() {
    // Rearrange our file to ftyp | mdat | moov and fix the chunk offsets (as ffmpeg without
    // +faststart would write it).
    let data = file(5);
    let moov_len = u32::from_be_bytes(data[32..36].try_into().unwrap()) as usize;
    let moov = &data[32..32 + moov_len];
    let mdat = &data[32 + moov_len..];
    let mut out = data[..32].to_vec();
    out.extend_from_slice(mdat);
    out.extend_from_slice(moov);
    let info = probe_reader(Cursor::new(&out)).unwrap();
    assert!(!info.faststart);
    assert_eq!(info.frame_count, 5);
    assert!(info.to_string().contains("faststart: no"));
}

#[test]
fn rejects_non_mp4() {
    let e = probe_reader(Cursor::new(b"hello world, this is plain text".to_vec())).unwrap_err();
    assert!(matches!(e, Error::InvalidData(_)));
    assert!(e.to_string().starts_with("not an MP4 file"), "{e}");
    let e = probe_reader(Cursor::new(vec![0u8; 3])).unwrap_err();
    assert_eq!(e.to_string(), "not an MP4 file: it is only 3 bytes long: bytes 00 00 00 (\"...\")");
    let e = probe_reader(Cursor::new(Vec::new())).unwrap_err();
    assert_eq!(e.to_string(), "not an MP4 file: the file is empty");
    // Boxes, but neither ftyp nor moov.
    let e = probe_reader(Cursor::new(b"\0\0\0\x08free\0\0\0\x08skip".to_vec())).unwrap_err();
    assert_eq!(e.to_string(), "not an MP4 file: no ftyp/moov box found");
    let e = probe_reader(Cursor::new(vec![0xffu8; 100])).unwrap_err();
    assert!(e.to_string().starts_with("not an MP4 file"), "{e}");
    // PNG signature
    let e = probe_reader(Cursor::new(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec())).unwrap_err();
    assert!(e.to_string().starts_with("not an MP4 file"), "{e}");
    // The first bytes of the file are shown, not the box type at bytes 4..8.
    let e = probe_reader(Cursor::new(b"GIF89a\x40\x00\x30\x00\xf7\x00\x00".to_vec())).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not an MP4 file: it starts with bytes 47 49 46 38 39 61 40 00 (\"GIF89a@.\") instead of an ftyp box"
    );
}

#[test]
fn unfinished_file_is_reported() {
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track()).unwrap();
    let mut data = 4u32.to_be_bytes().to_vec();
    data.extend_from_slice(&[0x65, 1, 2, 3]);
    w.write_packet(&Packet { data, pts: 0, dts: 0, keyframe: true }).unwrap();
    let bytes = w.into_inner().into_inner();
    let e = probe_reader(Cursor::new(&bytes)).unwrap_err();
    assert!(e.to_string().contains("no moov box"), "{e}");
}

#[test]
fn truncated_and_garbled_moov_give_errors_not_panics() {
    let data = file(12);
    for cut in [40, 60, 100, 200, 400, 600] {
        let mut d = data.clone();
        d.truncate(cut);
        assert!(probe_reader(Cursor::new(&d)).is_err(), "cut at {cut}");
    }
    // Flip bytes inside the moov one at a time: must never panic.
    let moov_len = u32::from_be_bytes(data[32..36].try_into().unwrap()) as usize;
    for i in 40..32 + moov_len {
        let mut d = data.clone();
        d[i] ^= 0xff;
        let _ = probe_reader(Cursor::new(&d));
    }
}

#[test]
fn names() {
    assert_eq!(h264::profile_name(66, 0xc0), "Constrained Baseline");
    assert_eq!(h264::profile_name(77, 0), "Main");
    assert_eq!(h264::profile_name(110, 0), "High 10");
    assert_eq!(h264::level_name(40, 100, 0), "4.0");
    assert_eq!(h264::level_name(9, 100, 0), "1b");
    assert_eq!(h264::level_name(52, 100, 0), "5.2");
    assert_eq!(constant_rate(&[(59, 512), (1, 100)], 15360), Some(Rational { num: 30, den: 1 }));
    assert_eq!(constant_rate(&[(10, 512), (10, 256)], 15360), None);
    assert_eq!(constant_rate(&[], 15360), None);
}

/// A top-level box: type, position, size.
type TopBox = ([u8; 4], usize, usize);

/// An unfinished file of `frames` frames in fragments of 10 (what a killed writer leaves), and
/// its top-level boxes.
fn fragmented(frames: i64) -> (Vec<u8>, Vec<TopBox>) {
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), track()).unwrap();
    w.set_fragment_frames(10).unwrap();
    for i in 0..frames {
        let mut data = 96u32.to_be_bytes().to_vec();
        data.extend(std::iter::repeat_n(if i % 10 == 0 { 0x65 } else { 0x41 }, 96));
        w.write_packet(&Packet { data, pts: i, dts: i, keyframe: i % 10 == 0 }).unwrap();
    }
    w.write_fragment().unwrap();
    let data = w.into_inner().into_inner();
    let mut boxes = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        boxes.push((data[pos + 4..pos + 8].try_into().unwrap(), pos, size));
        pos += size;
    }
    (data, boxes)
}

#[test]
fn a_torn_moof_is_truncated_and_says_so() {
    let (data, boxes) = fragmented(30);
    let kinds: Vec<&[u8; 4]> = boxes.iter().map(|b| &b.0).collect();
    assert_eq!(kinds, [b"ftyp", b"moov", b"moof", b"mdat", b"moof", b"mdat", b"moof", b"mdat"]);
    let whole = probe_reader(Cursor::new(&data)).unwrap();
    assert_eq!((whole.frame_count, whole.frames_present, whole.truncated()), (30, 30, false));
    assert_eq!((whole.torn_bytes, whole.torn_box.as_str()), (0, ""));
    let (_, moof, moof_len) = boxes[6];
    // Every cut inside the last moof: its 10 frames are lost, the 20 before it are whole.
    for cut in moof + 1..moof + moof_len {
        let info = probe_reader(Cursor::new(&data[..cut])).unwrap();
        assert!(info.fragmented && info.truncated(), "cut {cut}");
        assert_eq!((info.frame_count, info.frames_present, info.missing_bytes), (20, 20, 0), "cut {cut}");
        assert_eq!(info.torn_bytes, (cut - moof) as u64);
        let w = info.truncation_warning().unwrap();
        if cut - moof < 8 {
            // Not even its header: no box type to name.
            assert_eq!(info.torn_box, "");
            assert!(w.starts_with(&format!("damaged: the last {} bytes of the file (from byte {moof})", cut - moof)));
        } else {
            assert_eq!(info.torn_box, "moof");
            assert!(
                w.starts_with(&format!(
                    "truncated: the file ends {} bytes into a \"moof\" box (at byte {moof})",
                    cut - moof
                )),
                "{w}"
            );
        }
        assert!(w.contains("20 frames are whole before") && w.contains("`framepipe repair`"), "{w}");
        assert!(info.to_string().contains(&format!("warning: {w}")));
    }
    // A whole moof with its mdat cut: the frames whose bytes are missing are counted.
    let (_, mdat, _) = boxes[7];
    let info = probe_reader(Cursor::new(&data[..mdat + 8 + 250])).unwrap();
    assert_eq!((info.frame_count, info.frames_present, info.torn_box.as_str()), (30, 22, "mdat"));
    assert!(info.truncated() && info.truncation_warning().unwrap().starts_with("truncated: the index lists 30"));
}

#[test]
fn a_fragment_being_written_is_not_damage() {
    // The writer writes a fragment as a `free` box and its mdat, then makes the free a moof:
    // stopped before that, the file ends with a free box and an mdat no index refers to, whole
    // or torn. Nothing the file lists is lost.
    let (mut data, boxes) = fragmented(30);
    let (_, moof, _) = boxes[6];
    data[moof + 4..moof + 8].copy_from_slice(b"free");
    for cut in (moof + 8..data.len()).step_by(37).chain([data.len()]) {
        let info = probe_reader(Cursor::new(&data[..cut])).unwrap();
        assert_eq!((info.frame_count, info.frames_present, info.truncated()), (20, 20, false), "cut {cut}");
        assert!(info.truncation_warning().is_none());
        let torn = if cut == data.len() || cut == boxes[7].1 {
            ""
        } else if cut < boxes[7].1 {
            "free"
        } else {
            "mdat"
        };
        assert_eq!(info.torn_box, torn, "cut {cut}");
    }
}

#[test]
fn bytes_that_are_no_box_are_damage() {
    let (data, boxes) = fragmented(30);
    // The last fragment's moof header garbled: what follows cannot be found.
    let (_, moof, _) = boxes[6];
    let mut bad = data.clone();
    bad[moof + 4..moof + 8].copy_from_slice(&[0, 1, 2, 3]);
    let info = probe_reader(Cursor::new(&bad)).unwrap();
    assert_eq!((info.frame_count, info.frames_present, info.torn_box.as_str()), (20, 20, ""));
    assert_eq!(info.torn_bytes, (data.len() - moof) as u64);
    assert!(info.truncated());
    assert!(info.truncation_warning().unwrap().starts_with("damaged: the last"));
    // A finished file with a torn box after its mdat (an index of another tool, say).
    let mut done = file(5);
    done.extend_from_slice(&100u32.to_be_bytes());
    done.extend_from_slice(b"mfra");
    done.extend_from_slice(&[0; 20]);
    let info = probe_reader(Cursor::new(&done)).unwrap();
    assert_eq!((info.frame_count, info.frames_present, info.torn_box.as_str(), info.torn_bytes), (5, 5, "mfra", 28));
    assert!(info.truncated());
}
