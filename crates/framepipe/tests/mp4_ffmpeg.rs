//! The MP4 writer checked by a real decoder: H.264 packets made by ffmpeg's libx264 are muxed
//! with `Mp4Writer`, then ffprobe/ffmpeg must read the file back with the right frame count,
//! size, rate, duration and colour, decode it without a message, and decode exactly the same
//! pictures as from the raw H.264 stream (muxing must not change a bit).
//!
//! A file cut short by a full disk / file-size limit is checked the same way: whatever frames
//! the writer keeps must play, with the right count and duration.
//!
//! ffmpeg and ffprobe are required: without them these tests fail (run scripts/setup.sh, or
//! install ffmpeg). CI installs them.

use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{ffmpeg_decode, ffprobe_flat, ffprobe_text, field, run_tool, TempDir};

use framepipe::testing::VideoTrack;
use framepipe::testing::{probe, probe_reader, Mp4Sink, Mp4Writer};
use framepipe::testing::{AvcConfig, ColorInfo, Packet};
use framepipe::Rational;

/// Fail (rather than pass without checking anything) when ffmpeg/ffprobe are missing.
fn require_tools() {
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = Command::new(tool).arg("-version").output().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "{tool} not found or not working: the MP4 decoder checks need ffmpeg and ffprobe \
             (run scripts/setup.sh, or install ffmpeg, e.g. `apt-get install ffmpeg`)"
        );
    }
}

/// ffmpeg's options that tag the colour as BT.709 (primaries, transfer, matrix).
const BT709_TAGS: [&str; 6] = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"];

/// What the encoder side of the test produced: the stream as Annex-B, the packets in decode
/// order with pts/dts in frame units, and the parameter sets.
struct Source {
    h264: PathBuf,
    avc: AvcConfig,
    packets: Vec<Packet>,
}

/// Encode `frames` test pictures with libx264 (`x264_args` extra ffmpeg options) into an MP4
/// (for the timestamps) and an Annex-B copy of the same stream (for the packets).
fn make_source(dir: &TempDir, rate: &str, frames: u32, x264_args: &[&str]) -> Source {
    let mp4 = dir.join("ref.mp4");
    let h264 = dir.join("ref.h264");
    run_tool(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size=320x240:rate={rate}"))
            .args(["-frames:v", &frames.to_string(), "-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .args(x264_args)
            .args(BT709_TAGS)
            .args(["-color_range", "tv"])
            .arg(&mp4),
    );
    run_tool(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&mp4)
            .args(["-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264"])
            .arg(&h264),
    );

    // Timestamps in decode order, converted to frame units.
    let tb = ffprobe_text(&mp4, "stream=time_base,r_frame_rate", "csv=p=0");
    let parts: Vec<&str> = tb.trim().split(',').collect();
    let ratio = |s: &str| -> (i64, i64) {
        let (a, b) = s.split_once('/').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    };
    // csv order follows the section's field order: r_frame_rate, time_base.
    let (fps_n, fps_d) = ratio(parts[0]);
    let (tb_n, tb_d) = ratio(parts[1]);
    let to_frames = |t: i64| -> i64 {
        let num = t * tb_n * fps_n;
        let den = tb_d * fps_d;
        assert_eq!(num % den, 0, "timestamp {t} is not on a frame boundary");
        num / den
    };
    let list = ffprobe_text(&mp4, "packet=pts,dts,flags", "csv=p=0");
    let stamps: Vec<(i64, i64, bool)> = list
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (to_frames(f[0].parse().unwrap()), to_frames(f[1].parse().unwrap()), f[2].starts_with('K'))
        })
        .collect();

    let annexb = std::fs::read(&h264).unwrap();
    let (avc, units) = split_access_units(&annexb);
    assert_eq!(units.len(), stamps.len(), "access units vs packets");
    let packets =
        units.into_iter().zip(stamps).map(|(data, (pts, dts, keyframe))| Packet { data, pts, dts, keyframe }).collect();
    Source { h264, avc, packets }
}

/// Split an Annex-B stream into NAL units.
fn nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = if k + 1 < starts.len() { starts[k + 1] - 3 } else { data.len() };
        while e > s && data[e - 1] == 0 {
            e -= 1; // the leading zero of a 4-byte start code / trailing zeros
        }
        nals.push(&data[s..e]);
    }
    nals
}

/// Group NAL units into access units (AVCC, 4-byte lengths) and collect SPS/PPS. A new access
/// unit starts at an AUD/SPS/PPS/SEI or at a slice with first_mb_in_slice == 0, once the
/// current one has a slice. SPS, PPS and AUD NALs are left out of the samples (they go in avcC).
fn split_access_units(data: &[u8]) -> (AvcConfig, Vec<Vec<u8>>) {
    let mut avc = AvcConfig { sps: vec![], pps: vec![] };
    let mut units: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut cur_has_slice = false;
    for nal in nal_units(data) {
        let kind = nal[0] & 0x1f;
        let is_slice = matches!(kind, 1 | 5);
        let starts_au = matches!(kind, 6..=9) || (is_slice && nal[1] & 0x80 != 0);
        if starts_au && cur_has_slice {
            units.push(std::mem::take(&mut cur));
            cur_has_slice = false;
        }
        match kind {
            7 => {
                if !avc.sps.iter().any(|s| s == nal) {
                    avc.sps.push(nal.to_vec());
                }
            }
            8 => {
                if !avc.pps.iter().any(|p| p == nal) {
                    avc.pps.push(nal.to_vec());
                }
            }
            9 => {}
            _ => {
                cur.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                cur.extend_from_slice(nal);
                cur_has_slice |= is_slice;
            }
        }
    }
    if cur_has_slice {
        units.push(cur);
    }
    (avc, units)
}

fn track(src: &Source, fps: Rational) -> VideoTrack {
    VideoTrack { width: 320, height: 240, fps, avc: src.avc.clone(), color: ColorInfo::BT709_LIMITED }
}

/// What `check_file` asks ffprobe (`-of flat` keys: `streams.stream.0.width`, `format.duration`).
const PROBE_ENTRIES: &str = "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,nb_read_frames,nb_frames,duration,start_time,color_primaries,color_transfer,color_space,color_range,profile:format=duration,start_time";

fn top_level_boxes(file: &Path) -> Vec<String> {
    let data = std::fs::read(file).unwrap();
    let mut names = Vec::new();
    let mut i = 0usize;
    while i + 8 <= data.len() {
        let mut size = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as u64;
        if size == 1 {
            size = u64::from_be_bytes(data[i + 8..i + 16].try_into().unwrap());
        }
        names.push(String::from_utf8_lossy(&data[i + 4..i + 8]).into_owned());
        assert!(size >= 8);
        i += size as usize;
    }
    assert_eq!(i, data.len(), "top-level boxes must tile the file");
    names
}

/// Every picture ffmpeg decodes, in decode order, as raw YUV 4:2:0.
fn decode_raw(input: &Path) -> Vec<u8> {
    let yuv = ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p"];
    ffmpeg_decode(input, &yuv).0
}

/// A full decode to nowhere at `-v warning`: its stderr holds whatever ffmpeg objected to.
fn decode_to_null(input: &Path) -> Output {
    Command::new("ffmpeg").args(["-v", "warning", "-i"]).arg(input).args(["-f", "null", "-"]).output().unwrap()
}

/// Write all of `src`'s packets and finish.
fn mux<W: Mp4Sink>(mut w: Mp4Writer<W>, src: &Source) -> Mp4Writer<W> {
    for p in &src.packets {
        w.write_packet(p).unwrap();
    }
    w.finish().unwrap();
    w
}

/// Mux `src` into `out` and run every decoder check.
fn check_file(src: &Source, out: &Path, fps: Rational) {
    let n = src.packets.len() as f64;
    let p = ffprobe_flat(out, PROBE_ENTRIES);
    let get = |k: &str| field(&p, k).to_string();
    assert_eq!(get("streams.stream.0.codec_name"), "h264");
    assert_eq!(get("streams.stream.0.width"), "320");
    assert_eq!(get("streams.stream.0.height"), "240");
    assert_eq!(get("streams.stream.0.nb_read_frames"), src.packets.len().to_string());
    assert_eq!(get("streams.stream.0.nb_frames"), src.packets.len().to_string());
    assert_eq!(get("streams.stream.0.r_frame_rate"), format!("{}/{}", fps.num, fps.den));
    assert_eq!(get("streams.stream.0.avg_frame_rate"), format!("{}/{}", fps.num, fps.den));
    assert_eq!(get("streams.stream.0.color_primaries"), "bt709");
    assert_eq!(get("streams.stream.0.color_transfer"), "bt709");
    assert_eq!(get("streams.stream.0.color_space"), "bt709");
    assert_eq!(get("streams.stream.0.color_range"), "tv");
    let want = n * fps.den as f64 / fps.num as f64;
    for key in ["format.duration", "streams.stream.0.duration"] {
        let d: f64 = get(key).parse().unwrap();
        assert!((d - want).abs() <= 0.001, "{key} {d} != {want}");
    }
    for key in ["format.start_time", "streams.stream.0.start_time"] {
        let s: f64 = get(key).parse().unwrap();
        assert!(s.abs() < 1e-9, "{key} = {s}");
    }
    assert_eq!(top_level_boxes(out), ["ftyp", "moov", "mdat"]);

    // A full decode prints nothing.
    let o = decode_to_null(out);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "decoder messages");

    // Same pictures as decoding the raw stream.
    let ours = decode_raw(out);
    let reference = decode_raw(&src.h264);
    assert_eq!(ours.len(), src.packets.len() * 320 * 240 * 3 / 2);
    assert!(ours == reference, "decoded pictures differ from the raw H.264 decode");

    // Our own reader agrees.
    let info = probe(out).unwrap();
    assert_eq!((info.width, info.height, info.frame_count), (320, 240, src.packets.len() as u64));
    assert_eq!(info.fps, Some(fps));
    assert!((info.duration_seconds - want).abs() <= 0.001);
    assert!(info.faststart);
    assert_eq!(info.color, Some(ColorInfo::BT709_LIMITED));
    assert_eq!(info.keyframes, src.packets.iter().filter(|p| p.keyframe).count() as u64);
    assert_eq!(info.profile, "High");
}

#[test]
fn mp4_bframes_ntsc_rate_to_file() {
    require_tools();
    let dir = TempDir::new("mp4-bframes");
    let src = make_source(&dir, "30000/1001", 45, &["-bf", "3", "-g", "20"]);
    assert!(src.packets[0].dts < 0, "expected negative first dts with B-frames");
    assert!(src.packets.iter().any(|p| p.pts != p.dts));
    let fps = Rational::new(30000, 1001).unwrap();
    let out = dir.join("ours.mp4");
    let w = mux(Mp4Writer::create(&out, track(&src, fps)).unwrap(), &src);
    assert_eq!(w.frames(), 45);
    assert!(w.is_faststart());
    assert_eq!(w.bytes_written(), std::fs::metadata(&out).unwrap().len());
    drop(w);
    check_file(&src, &out, fps);
}

#[test]
fn mp4_no_bframes_in_memory() {
    require_tools();
    let dir = TempDir::new("mp4-nob");
    let src = make_source(&dir, "30", 40, &["-bf", "0", "-g", "15"]);
    assert!(src.packets.iter().all(|p| p.pts == p.dts));
    let fps = Rational::new(30, 1).unwrap();
    let w = mux(Mp4Writer::new(Cursor::new(Vec::new()), track(&src, fps)).unwrap(), &src);
    let bytes = w.into_inner().into_inner();
    let info = probe_reader(Cursor::new(&bytes)).unwrap();
    assert_eq!(info.frame_count, 40);
    let out = dir.join("ours.mp4");
    std::fs::write(&out, &bytes).unwrap();
    check_file(&src, &out, fps);
}

#[test]
fn mp4_bframe_pyramid_25fps() {
    require_tools();
    let dir = TempDir::new("mp4-pyramid");
    let src = make_source(&dir, "25", 33, &["-bf", "2", "-x264-params", "b-pyramid=normal"]);
    let fps = Rational::new(25, 1).unwrap();
    let out = dir.join("ours.mp4");
    drop(mux(Mp4Writer::create(&out, track(&src, fps)).unwrap(), &src));
    check_file(&src, &out, fps);
}

#[test]
fn mp4_probe_reads_ffmpeg_files() {
    require_tools();
    let dir = TempDir::new("mp4-probe");
    for (name, flags) in [("plain.mp4", None), ("fast.mp4", Some("+faststart"))] {
        let out = dir.join(name);
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x128:rate=24", "-frames:v", "24"])
            .args(["-c:v", "libx264", "-profile:v", "main", "-level", "3.1", "-pix_fmt", "yuv420p", "-g", "12"])
            .args(BT709_TAGS);
        if let Some(f) = flags {
            cmd.args(["-movflags", f]);
        }
        run_tool(cmd.arg(&out));
        let info = probe(&out).unwrap();
        assert_eq!((info.width, info.height, info.frame_count), (160, 128, 24), "{name}");
        assert_eq!(info.fps, Some(Rational::new(24, 1).unwrap()), "{name}");
        assert!((info.duration_seconds - 1.0).abs() < 0.001, "{name}: {}", info.duration_seconds);
        assert_eq!(info.codec, "avc1");
        assert_eq!(info.profile, "Main");
        assert_eq!(info.level, "3.1");
        assert_eq!(info.brand, "isom");
        assert_eq!(info.faststart, flags.is_some(), "{name}");
        assert_eq!(info.keyframes, 2, "{name}");
        assert_eq!(info.file_size, std::fs::metadata(&out).unwrap().len());
        let c = info.color.expect("colr");
        assert_eq!((c.primaries, c.transfer, c.matrix), (1, 1, 1));
    }
    // Not an MP4.
    let txt = dir.join("notes.txt");
    std::fs::write(&txt, "just some text, not a video").unwrap();
    let e = probe(&txt).unwrap_err();
    assert!(matches!(e, framepipe::Error::InvalidData(_)));
    assert!(e.to_string().contains("not an MP4 file"), "{e}");
    let e = probe(&dir.join("missing.mp4")).unwrap_err();
    assert!(matches!(e, framepipe::Error::Io { .. }), "{e}");
}

/// A file that refuses to grow past `cap` bytes, like a file-size limit (EFBIG) or a full disk:
/// a write crossing the cap writes what fits, the next one fails.
struct Capped {
    file: std::fs::File,
    cap: u64,
}
impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}
impl Seek for Capped {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}
impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let pos = self.file.stream_position()?;
        if pos >= self.cap {
            return Err(std::io::Error::from_raw_os_error(27)); // EFBIG
        }
        let n = buf.len().min((self.cap - pos) as usize);
        self.file.write(&buf[..n])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
impl Mp4Sink for Capped {
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        if len > self.cap && len > self.file.metadata()?.len() {
            return Err(std::io::Error::from_raw_os_error(27));
        }
        self.file.set_len(len)
    }
}

#[test]
fn mp4_cut_short_by_a_full_disk_still_plays() {
    require_tools();
    let dir = TempDir::new("mp4-full");
    let src = make_source(&dir, "30", 60, &["-bf", "3", "-g", "25"]);
    assert!(src.packets.iter().any(|p| p.pts != p.dts));
    let fps = Rational::new(30, 1).unwrap();
    let all_frames = decode_raw(&src.h264);
    let frame_bytes = 320 * 240 * 3 / 2;
    let payload: u64 = src.packets.iter().map(|p| p.data.len() as u64).sum();
    let samples_end = 48 + payload;
    // Mid-stream at several points, the samples exactly filling the limit, and a limit
    // leaving a little room but not enough for the index.
    let mut caps: Vec<u64> = [0.15, 0.4, 0.63, 0.9].iter().map(|f| (samples_end as f64 * f) as u64).collect();
    caps.extend([samples_end, samples_end + 100]);
    let mut fewer = 0;
    for cap in caps {
        let out = dir.join(&format!("cut-{cap}.mp4"));
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&out).unwrap();
        let mut w = Mp4Writer::new(Capped { file, cap }, track(&src, fps)).unwrap();
        let mut written = 0;
        for p in &src.packets {
            match w.write_packet(p) {
                Ok(()) => written += 1,
                Err(e) => {
                    assert!(e.is_disk_full(), "cap {cap}: {e}");
                    break;
                }
            }
        }
        w.mark_interrupted(); // as the pipeline does after an error
        w.finish().unwrap_or_else(|e| panic!("cap {cap}: finish failed: {e}"));
        let frames = w.frames();
        assert!(frames >= 1 && frames <= written, "cap {cap}: {frames} of {written}");
        let faststart = w.is_faststart();
        assert!(faststart, "cap {cap}");
        fewer += usize::from(frames < src.packets.len() as u64);
        eprintln!("cap {cap}: kept {frames} of {written} frames written");
        let len = std::fs::metadata(&out).unwrap().len();
        assert!(len <= cap, "cap {cap}: file of {len} bytes");
        assert_eq!(w.bytes_written(), len);
        drop(w);

        let p = ffprobe_flat(&out, PROBE_ENTRIES);
        let get = |k: &str| p.get(k).unwrap_or_else(|| panic!("cap {cap}: ffprobe gave no {k}: {p:?}")).clone();
        assert_eq!(get("streams.stream.0.nb_read_frames"), frames.to_string(), "cap {cap}");
        assert_eq!(get("streams.stream.0.nb_frames"), frames.to_string(), "cap {cap}");
        let want = frames as f64 / 30.0;
        for key in ["format.duration", "streams.stream.0.duration"] {
            let d: f64 = get(key).parse().unwrap();
            assert!((d - want).abs() <= 0.001, "cap {cap}: {key} {d} != {want}");
        }
        let o = decode_to_null(&out);
        assert!(o.status.success(), "cap {cap}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "cap {cap}: decoder messages");
        // The frames kept are the first ones presented, bit for bit.
        let ours = decode_raw(&out);
        assert_eq!(ours.len(), frames as usize * frame_bytes, "cap {cap}");
        assert!(ours[..] == all_frames[..ours.len()], "cap {cap}: decoded pictures differ from the raw H.264 decode");
        let info = probe(&out).unwrap();
        assert_eq!(info.frame_count, frames);
        assert!((info.duration_seconds - want).abs() <= 0.001);
        assert_eq!(info.faststart, faststart);
        assert_eq!(top_level_boxes(&out), ["ftyp", "moov", "mdat"], "cap {cap}");
    }
    assert!(fewer >= 3, "the disk was full for all frames only {fewer} times");
}

/// A copy of the unfinished file after every fragment: ffprobe counts, and ffmpeg decodes
/// without a complaint, exactly the frames of the whole fragments, which are the first frames
/// of the stream bit for bit; our probe says so too. Then the finished file.
#[test]
fn mp4_unfinished_file_plays_up_to_its_last_fragment() {
    require_tools();
    let dir = TempDir::new("mp4-fragments");
    let src = make_source(&dir, "30", 75, &["-bf", "3", "-g", "40"]);
    let fps = Rational::new(30, 1).unwrap();
    let all_frames = decode_raw(&src.h264);
    let frame_bytes = 320 * 240 * 3 / 2;
    let out = dir.join("growing.mp4");
    let mut w = Mp4Writer::create(&out, track(&src, fps)).unwrap();
    w.set_fragment_frames(10).unwrap();
    let mut seen = 0;
    let mut checked = 0;
    for p in &src.packets {
        w.write_packet(p).unwrap();
        let on_disk = w.frames_on_disk();
        if on_disk == seen {
            continue;
        }
        seen = on_disk;
        let copy = dir.join(&format!("copy-{on_disk}.mp4"));
        std::fs::copy(&out, &copy).unwrap();
        let pr = ffprobe_flat(&copy, PROBE_ENTRIES);
        assert_eq!(pr.get("streams.stream.0.nb_read_frames"), Some(&on_disk.to_string()), "{on_disk}: {pr:?}");
        let o = decode_to_null(&copy);
        assert!(o.status.success());
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{on_disk}: decoder messages");
        let ours = decode_raw(&copy);
        assert_eq!(ours.len(), on_disk as usize * frame_bytes, "{on_disk}");
        assert!(ours[..] == all_frames[..ours.len()], "{on_disk}: decoded pictures differ");
        let info = probe(&copy).unwrap();
        assert!(info.fragmented);
        assert_eq!((info.frame_count, info.frames_present), (on_disk, on_disk));
        assert!((info.duration_seconds - on_disk as f64 / 30.0).abs() < 1e-9, "{}", info.duration_seconds);
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
    w.finish().unwrap();
    drop(w);
    check_file(&src, &out, fps);
}

/// Frame rates across everything framepipe accepts for MP4, from the slowest (one frame an
/// hour; 1167/2^22 has the largest denominator) to the fastest x264 takes (2^31 - 1 fps, its
/// H.264 timing limit).
const SWEEP_RATES: [(u32, u32); 15] = [
    (1, framepipe::MAX_FRAME_SECONDS),
    (1167, framepipe::MAX_FPS_DEN),
    (1, 60),
    (1, 7),
    (1, 1),
    (24000, 1001),
    (30, 1),
    (60000, 1001),
    (120, 1),
    (1000, 1),
    (2500, 1),
    (5000, 1),
    (30000, 1),
    (120_000, 1),
    (i32::MAX as u32, 1),
];
const SWEEP_W: u32 = 64;
const SWEEP_H: u32 = 48;

/// Moving gradients, packed RGB: different pictures, so x264 makes P- and B-frames.
fn sweep_picture(i: u32) -> Vec<u8> {
    let t = i as f32 * 0.3;
    let mut v = Vec::with_capacity((SWEEP_W * SWEEP_H * 3) as usize);
    for y in 0..SWEEP_H {
        for x in 0..SWEEP_W {
            v.push((128.0 + 100.0 * (x as f32 / 9.0 + t).sin()) as u8);
            v.push((128.0 + 100.0 * (y as f32 / 7.0 - t).sin()) as u8);
            v.push((128.0 + 100.0 * ((x + y) as f32 / 13.0 + 0.5 * t).cos()) as u8);
        }
    }
    v
}

/// Frames `range` encoded by the engine at `fps` into an MP4 in memory.
fn sweep_encode(fps: Rational, preset: framepipe::Preset, range: std::ops::Range<u32>) -> Vec<u8> {
    let opts = framepipe::EncodeOptions { fps, preset, threads: Some(1), ..Default::default() };
    let mut w = framepipe::VideoWriter::in_memory(opts).unwrap();
    for i in range {
        let pic = sweep_picture(i);
        w.write(&framepipe::Frame::packed(&pic, SWEEP_W, SWEEP_H, framepipe::PixelFormat::Rgb24).unwrap())
            .unwrap_or_else(|e| panic!("{fps} fps, frame {i}: {e}"));
    }
    w.finish_to_vec().unwrap().1
}

/// Every one of the `n` frames of `path` (made at `fps` from `sweep_picture(0..n)`) plays in
/// ffmpeg, at exactly frame `i` × 1/fps, and the file lasts n/fps.
fn check_sweep_file(path: &Path, fps: Rational, n: usize, what: &str) {
    let p = ffprobe_flat(path, "stream=nb_read_frames,nb_frames,r_frame_rate,time_base,duration:format=duration");
    let get = |k: &str| field(&p, k).to_string();
    assert_eq!(get("streams.stream.0.nb_read_frames"), n.to_string(), "{what}: {p:?}");
    assert_eq!(get("streams.stream.0.nb_frames"), n.to_string(), "{what}");
    assert_eq!(get("streams.stream.0.r_frame_rate"), format!("{}/{}", fps.num, fps.den), "{what}");
    // Duration n/fps: to the millisecond up to 1000 fps (the movie timescale, nearest tick),
    // else exact; ffprobe prints microseconds.
    let want = n as f64 * fps.den as f64 / fps.num as f64;
    let tick = if fps.num as u64 <= 1000 * fps.den as u64 { 0.0005 } else { 0.0 };
    for key in ["format.duration", "streams.stream.0.duration"] {
        let d: f64 = get(key).parse().unwrap();
        assert!((d - want).abs() <= tick + 1.5e-6 + want * 1e-12, "{what}: {key} {d} != {want}");
    }
    // Decoded frames' presentation times, in decoder output order: exactly i/fps.
    let tb = get("streams.stream.0.time_base");
    let (tb_n, tb_d) = tb.split_once('/').unwrap();
    let (tb_n, tb_d): (i128, i128) = (tb_n.parse().unwrap(), tb_d.parse().unwrap());
    let pts: Vec<i128> = ffprobe_text(path, "frame=pts", "csv=p=0")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_end_matches(',').parse().unwrap_or_else(|_| panic!("{what}: pts {l:?}")))
        .collect();
    assert_eq!(pts.len(), n, "{what}: {pts:?}");
    for (i, &t) in pts.iter().enumerate() {
        // t * tb == i * den / num
        assert_eq!(
            t * tb_n * i128::from(fps.num),
            i as i128 * i128::from(fps.den) * tb_d,
            "{what}: frame {i} at {t} × {tb_n}/{tb_d} s: {pts:?}"
        );
    }
    // A transcode by the ffmpeg tool (variable frame rate output, nothing dropped or doubled):
    // every frame, at frame i × 1/fps, and no message.
    let o =
        Command::new("ffmpeg").args(["-v", "warning", "-i"]).arg(path).args(["-f", "framemd5", "-"]).output().unwrap();
    assert!(o.status.success(), "{what}");
    let msgs = String::from_utf8_lossy(&o.stderr);
    // (ffmpeg's raw output "encoder" finds a bitrate below 1000 bit/s suspicious: not ours.
    // framemd5 hashes yuv420p, 12 bits a pixel.)
    let raw_bits = f64::from(SWEEP_W * SWEEP_H * 12) * fps.num as f64 / fps.den as f64;
    let low_rate = |l: &str| raw_bits < 1000.0 && l.contains("The bitrate parameter is set too low");
    let msgs: Vec<&str> = msgs.lines().filter(|l| !low_rate(l)).collect();
    assert!(msgs.is_empty(), "{what}: decoder messages: {msgs:?}");
    let lines = String::from_utf8(o.stdout).unwrap();
    let (otb_n, otb_d) = lines
        .lines()
        .find_map(|l| l.strip_prefix("#tb 0: "))
        .and_then(|t| t.trim().split_once('/'))
        .map(|(a, b)| (a.parse::<i128>().unwrap(), b.parse::<i128>().unwrap()))
        .unwrap_or_else(|| panic!("{what}: no time base in {lines}"));
    let times: Vec<i128> = lines
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(',').nth(2).unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(times.len(), n, "{what}: {lines}");
    for (i, &t) in times.iter().enumerate() {
        assert_eq!(
            t * otb_n * i128::from(fps.num),
            i as i128 * i128::from(fps.den) * otb_d,
            "{what}: ffmpeg's frame {i} at {t} × {otb_n}/{otb_d} s: {times:?}"
        );
    }
    // The pictures are the source's.
    let mut args = vec!["-fps_mode", "passthrough"];
    args.extend(common::RAW_RGB24);
    let (rgb, msgs) = ffmpeg_decode(path, &args);
    let msgs: Vec<&str> = msgs.lines().filter(|l| !low_rate(l)).collect();
    assert!(msgs.is_empty(), "{what}: decoder messages: {msgs:?}");
    let source: Vec<u8> = (0..n as u32).flat_map(sweep_picture).collect();
    assert_eq!(rgb.len(), source.len(), "{what}");
    let q = common::psnr(&rgb, &source);
    assert!(q > 30.0, "{what}: PSNR {q:.1} dB");
}

/// The rates of the sweep with x264's default preset (3 B-frames, pyramid), and the slowest
/// one also with placebo (16 B-frames: frames presented up to 19 frames after decoding).
fn sweep_cases() -> Vec<(Rational, framepipe::Preset)> {
    let mut v: Vec<_> =
        SWEEP_RATES.iter().map(|&(num, den)| (Rational::new(num, den).unwrap(), framepipe::Preset::Medium)).collect();
    v.push((Rational::new(1, 3600).unwrap(), framepipe::Preset::Placebo));
    v
}

/// Every frame plays, at exact times, at any frame rate: milliseconds as the movie timescale
/// cut the presentation short above 1000 fps (100 frames at 30000 fps played 90, 10 played
/// none), and frames of tens of millions of ticks at slow rates made ffmpeg discard the
/// B-frames' composition offsets (10 frames at 1/10000 fps played 8).
#[test]
fn mp4_every_frame_plays_at_any_frame_rate() {
    require_tools();
    let dir = TempDir::new("mp4-rates");
    let n = 12;
    for (fps, preset) in sweep_cases() {
        let out = dir.join(&format!("r{}_{}_{preset:?}.mp4", fps.num, fps.den));
        std::fs::write(&out, sweep_encode(fps, preset, 0..n)).unwrap();
        check_sweep_file(&out, fps, n as usize, &format!("{fps} fps, {preset:?}"));
    }
}

/// The same for chunks joined by `Mp4Concat` (what parallel rendering does), whose decode
/// delay adds to the composition offsets (with a delay of 16 frames, 1/10000 fps gave ffmpeg
/// warnings and 1/50000 fps lost frames).
#[test]
fn mp4_concat_every_frame_plays_at_any_frame_rate() {
    require_tools();
    let dir = TempDir::new("mp4-rates-concat");
    for (fps, preset) in sweep_cases() {
        let mut c = framepipe::testing::Mp4Concat::new(Cursor::new(Vec::new()));
        for range in [0..7, 7..8, 8..13] {
            c.append(Cursor::new(sweep_encode(fps, preset, range))).unwrap();
        }
        let (frames, out) = c.finish().unwrap();
        assert_eq!(frames, 13);
        let path = dir.join(&format!("c{}_{}_{preset:?}.mp4", fps.num, fps.den));
        std::fs::write(&path, out.into_inner()).unwrap();
        check_sweep_file(&path, fps, 13, &format!("{fps} fps, {preset:?}, joined"));
    }
}

/// A rate too slow for an MP4 track is refused before anything is written: more than an hour
/// a frame, or a denominator above 2^22.
#[test]
fn mp4_too_slow_a_rate_is_refused() {
    let src_avc = AvcConfig { sps: vec![vec![0x67, 0x64, 0x00, 0x0d, 0xac]], pps: vec![vec![0x68, 0xeb]] };
    let max = framepipe::MAX_FPS_DEN;
    for (num, den, ok) in [(1, 3600, true), (1, 3601, false), (1167, max, true), (1167, max + 1, false)] {
        let t = VideoTrack {
            width: 64,
            height: 48,
            fps: Rational::new(num, den).unwrap(),
            avc: src_avc.clone(),
            color: ColorInfo::BT709_LIMITED,
        };
        let mut out = Cursor::new(Vec::new());
        let r = Mp4Writer::new(&mut out, t);
        assert_eq!(r.is_ok(), ok, "{num}/{den}");
        if let Err(e) = r {
            assert!(matches!(e, framepipe::Error::Parameter(_)), "{e}");
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("frame rate {num}/{den} ")), "{e}");
            assert!(msg.contains("MP4"), "{e}");
            assert!(out.get_ref().is_empty());
        }
    }
}
