//! `probe` never calls a damaged file healthy (issue 21, defect 3): framepipe's MP4s cut at
//! every byte of their last `moof`, of their last `mdat`, and of a finished file's `moov` and
//! `mdat`, each probed in-process and the verdict checked against what ffmpeg makes of the same
//! bytes.
//!
//! For every cut: a file probe calls whole must decode in ffmpeg with every frame and not one
//! complaint; a file probe calls truncated must say how many frames are whole before the damage,
//! and that count must be what ffprobe's demuxer finds whole (its packets that end within the
//! file) and what ffmpeg decodes (one more when it decodes what it has of a frame cut short).
//! Where ffmpeg cannot read the file at all ("error reading header", a torn moof) only the
//! verdict is checked. ffprobe runs for a sample of the cuts (every cut is probed in-process).
//!
//! ffmpeg and ffprobe are required (scripts/setup.sh installs them): without them these tests
//! fail.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

mod common;
use common::TempDir;

use framepipe::testing::{probe_reader, Mp4Demuxer, Mp4Info, Mp4Writer};
use framepipe::{EncodeOptions, Frame, PixelFormat, Preset, Rational, VideoWriter};

/// A finished framepipe MP4 of `n` frames of 64x48 (B-frames: preset medium).
fn finished(n: u32) -> Vec<u8> {
    let opts = EncodeOptions {
        preset: Preset::Medium,
        threads: Some(1),
        fps: Rational::new(30, 1).unwrap(),
        ..Default::default()
    };
    let mut w = VideoWriter::in_memory(opts).unwrap();
    for i in 0..n {
        let data: Vec<u8> = (0..64 * 48 * 3).map(|k| ((k as u32 * 7 + i * 13) % 251) as u8).collect();
        w.write(&Frame::packed(&data, 64, 48, PixelFormat::Rgb24).unwrap()).unwrap();
    }
    w.finish_to_vec().unwrap().1
}

/// The same packets as `finished` written by a writer that never finished: `ftyp | moov | moof
/// mdat | …`, a fragment every `per_fragment` frames (what a killed writer leaves).
fn unfinished(finished: &[u8], per_fragment: u32) -> Vec<u8> {
    let mut d = Mp4Demuxer::new(Cursor::new(finished)).unwrap();
    let mut w = Mp4Writer::new(Cursor::new(Vec::new()), d.track().clone()).unwrap();
    w.set_fragment_frames(per_fragment).unwrap();
    while let Some(p) = d.read_packet().unwrap() {
        w.write_packet(&p).unwrap();
    }
    w.write_fragment().unwrap();
    w.into_inner().into_inner()
}

/// The top-level boxes: (type, position, size).
fn boxes(data: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i + 8 <= data.len() {
        let mut size = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
        if size == 1 {
            size = u64::from_be_bytes(data[i + 8..i + 16].try_into().unwrap()) as usize;
        }
        v.push((data[i + 4..i + 8].try_into().unwrap(), i, size));
        i += size;
    }
    v
}

/// ffmpeg's reading of a whole file's index: each packet's (position, size), in the order its
/// demuxer gives them (decode order).
fn packet_index(path: &Path) -> Vec<(u64, u64)> {
    let out = common::run_tool(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos,size", "-of", "compact=p=0"])
            .arg(path),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            // "size=123|pos=456"
            let field = |key: &str| {
                line.split('|').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.trim().parse::<u64>().ok())
            };
            (field("pos").unwrap_or_else(|| panic!("{line}")), field("size").unwrap_or_else(|| panic!("{line}")))
        })
        .collect()
}

/// The frames of a file cut at `cut` whose bytes are all there, by ffmpeg's index of the whole
/// file: the decode-order prefix of packets that end within the cut.
fn whole_frames(index: &[(u64, u64)], cut: usize) -> u64 {
    index.iter().take_while(|&&(pos, size)| pos + size <= cut as u64).count() as u64
}

/// What ffmpeg decodes of a file: the frames, and what it complained about. None when it
/// cannot read the file at all.
struct Decoded {
    frames: u64,
    errors: String,
}

fn ffmpeg_decode(path: &Path) -> Option<Decoded> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("running ffmpeg (installed by scripts/setup.sh)");
    let errors = String::from_utf8_lossy(&out.stderr).into_owned();
    if errors.contains("error reading header") {
        return None;
    }
    let frames = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).count() as u64;
    Some(Decoded { frames, errors })
}

/// Probe every cut of `data` in `cuts` in-process: frames_present must be what ffmpeg's index
/// of the whole file (`index`) says is whole at that cut. ffmpeg decodes those for which
/// `check(cut)` is true, and every one probe calls whole. Returns how many cuts probe called
/// truncated (or refused).
fn check_cuts(
    dir: &TempDir,
    data: &[u8],
    index: &[(u64, u64)],
    cuts: impl Iterator<Item = usize>,
    check: impl Fn(usize) -> bool,
) -> usize {
    let mut truncated = 0;
    for cut in cuts {
        let part = &data[..cut];
        let info: Mp4Info = match probe_reader(Cursor::new(part)) {
            Ok(info) => info,
            Err(e) => {
                // A torn moov: an error, so nothing is called healthy.
                let e = e.to_string();
                assert!(e.contains("truncated") || e.contains("no moov"), "cut {cut}: {e}");
                truncated += 1;
                continue;
            }
        };
        let healthy = !info.truncated();
        if healthy {
            assert!(info.truncation_warning().is_none(), "cut {cut}");
        } else {
            truncated += 1;
            let warning = info.truncation_warning().unwrap_or_else(|| panic!("cut {cut}: truncated without a warning"));
            assert!(info.to_string().contains(&format!("warning: {warning}")), "cut {cut}");
        }
        assert_eq!(info.frames_present, whole_frames(index, cut), "cut {cut}: {info:?}");
        if !(healthy || check(cut)) {
            continue;
        }
        let path = dir.join(&format!("cut-{cut}.mp4"));
        std::fs::write(&path, part).unwrap();
        let decoded = ffmpeg_decode(&path);
        std::fs::remove_file(&path).unwrap();
        match decoded {
            None => assert!(!healthy, "cut {cut}: probe calls whole a file ffmpeg cannot read: {info:?}"),
            Some(d) if healthy => {
                assert_eq!(d.errors, "", "cut {cut}: probe calls whole a file ffmpeg complains about");
                assert_eq!((d.frames, info.frames_present), (info.frame_count, info.frame_count), "cut {cut}");
            }
            // What ffmpeg decodes: the whole frames, and perhaps what it has of the next one.
            Some(d) => assert!(
                d.frames == info.frames_present || (d.frames == info.frames_present + 1 && !d.errors.is_empty()),
                "cut {cut}: ffmpeg decodes {} frames, probe says {} are whole: {}",
                d.frames,
                info.frames_present,
                d.errors
            ),
        }
    }
    truncated
}

#[test]
fn an_unfinished_file_cut_anywhere_in_its_last_fragment_is_never_called_whole() {
    let dir = TempDir::new("probecuts-frag");
    let done = finished(75);
    let data = unfinished(&done, 15);
    let b = boxes(&data);
    let kinds: Vec<&[u8; 4]> = b.iter().map(|(k, _, _)| k).collect();
    assert_eq!(kinds[..2], [b"ftyp", b"moov"]);
    assert_eq!(kinds.iter().filter(|k| **k == b"moof").count(), 5, "{kinds:?}");
    let (_, moof_at, moof_len) = *b.iter().rev().find(|(k, _, _)| k == b"moof").unwrap();
    assert_eq!(moof_at + moof_len + b.last().unwrap().2, data.len());
    let path = dir.join("unfinished.mp4");
    std::fs::write(&path, &data).unwrap();
    let index = packet_index(&path);
    assert_eq!(index.len(), 75);
    // Whole: every frame; the file without its last fragment: the frames before it, whole.
    let whole = probe_reader(Cursor::new(&data)).unwrap();
    assert_eq!((whole.frame_count, whole.frames_present, whole.truncated()), (75, 75, false));
    let before = probe_reader(Cursor::new(&data[..moof_at])).unwrap();
    let n_before = whole_frames(&index, moof_at);
    assert!(n_before > 50 && n_before < 75, "{n_before}");
    assert_eq!((before.frame_count, before.frames_present, before.truncated()), (n_before, n_before, false));
    // Every cut from the last moof's first byte to the end: called truncated, all but the one
    // at the moof's start and the whole file. ffmpeg decodes every 7th cut in the moof, every
    // 101st in the mdat.
    let mdat_at = moof_at + moof_len;
    let sample = |c: usize| if c < mdat_at { c.is_multiple_of(7) } else { c.is_multiple_of(101) || c < mdat_at + 16 };
    let n = check_cuts(&dir, &data, &index, moof_at..=data.len(), sample);
    assert_eq!(n, data.len() - moof_at - 1, "every cut but the whole ones is truncated");
    // In the moof, the warning names it and the frames before it.
    let info = probe_reader(Cursor::new(&data[..moof_at + moof_len / 2])).unwrap();
    assert_eq!((info.frame_count, info.frames_present, info.torn_box.as_str()), (n_before, n_before, "moof"));
    assert_eq!(info.torn_bytes, (moof_len / 2) as u64);
    let w = info.truncation_warning().unwrap();
    assert!(w.starts_with(&format!("truncated: the file ends {} bytes into a \"moof\" box", moof_len / 2)), "{w}");
    assert!(w.contains(&format!("{n_before} frames are whole before it")), "{w}");
}

#[test]
fn a_finished_file_cut_in_its_moov_or_mdat_is_never_called_whole() {
    let dir = TempDir::new("probecuts-done");
    let data = finished(40);
    let b = boxes(&data);
    let kinds: Vec<&[u8; 4]> = b.iter().map(|(k, _, _)| k).collect();
    assert_eq!(kinds, [b"ftyp", b"moov", b"mdat"]);
    let (_, moov_at, _) = b[1];
    let path = dir.join("finished.mp4");
    std::fs::write(&path, &data).unwrap();
    let index = packet_index(&path);
    assert_eq!(index.len(), 40);
    // Every cut from the moov's first byte to one byte short of the end (probe refuses a file
    // cut in its moov); ffmpeg decodes every 211th.
    let n = check_cuts(&dir, &data, &index, moov_at..data.len(), |c| c.is_multiple_of(211));
    assert_eq!(n, data.len() - moov_at);
}

#[test]
fn an_ffmpeg_fragmented_file_cut_in_its_last_fragment_is_never_called_whole() {
    let dir = TempDir::new("probecuts-ff");
    let path = dir.join("ff.mp4");
    common::run_tool(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "50"])
            .args(["-c:v", "libx264", "-preset", "medium", "-g", "10", "-pix_fmt", "yuv420p"])
            .args(["-movflags", "frag_keyframe+empty_moov"])
            .arg(&path),
    );
    let data = std::fs::read(&path).unwrap();
    let b = boxes(&data);
    let (_, moof_at, _) = *b.iter().rev().find(|(k, _, _)| k == b"moof").unwrap();
    let last = b.last().unwrap();
    // ffmpeg ends the file with an mfra index after the last fragment: cut up to its start.
    let end = if &last.0 == b"mfra" { last.1 } else { data.len() };
    let whole = probe_reader(Cursor::new(&data[..end])).unwrap();
    assert_eq!((whole.frame_count, whole.frames_present, whole.truncated()), (50, 50, false));
    let index = packet_index(&path);
    assert_eq!(index.len(), 50);
    let mdat_at = b.iter().find(|(k, at, _)| k == b"mdat" && *at > moof_at).unwrap().1;
    let sample = |c: usize| {
        c == end || if c < mdat_at { c.is_multiple_of(7) } else { c.is_multiple_of(101) || c < mdat_at + 16 }
    };
    let n = check_cuts(&dir, &data, &index, moof_at..=end, sample);
    assert_eq!(n, end - moof_at - 1, "every cut but the whole ones");
}
