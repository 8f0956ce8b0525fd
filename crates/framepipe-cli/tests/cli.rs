//! End-to-end tests of the `framepipe` binary. Every video it writes is decoded back with
//! ffprobe/ffmpeg (independent of framepipe's own MP4 reader) and compared with the source.

// The helpers framepipe's own integration tests use (scratch directories, ffprobe/ffmpeg,
// PSNR), shared by path: a separate test-support crate would be a workspace member for ~150
// lines of std-only code.
#[path = "../../framepipe/tests/common/mod.rs"]
mod common;

use common::{ffmpeg_decode, ffprobe_text, field, TempDir};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The command under test: cargo's `framepipe` binary, or the program FRAMEPIPE_CLI names
/// (scripts/test-wheel.sh runs these tests against the wheel's `framepipe` console script).
static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("FRAMEPIPE_CLI").unwrap_or_else(|_| env!("CARGO_BIN_EXE_framepipe").to_string())
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run the CLI with `stdin` piped in (written from a thread, so a large input cannot deadlock).
fn run(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(BIN.as_str())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run framepipe");
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // The CLI may exit before reading everything (an error): a broken pipe is fine.
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run_ok(args: &[&str], stdin: &[u8]) -> Run {
    let r = run(args, stdin);
    assert_eq!(r.code, Some(0), "framepipe {args:?} failed:\n{}", r.stderr);
    r
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One smooth, moving RGB frame: sinusoids drifting with the frame index, so that PSNR is
/// meaningful (no hard edges, but every frame different). The wavelengths are in pixels, not
/// fractions of the frame, so small test frames are as smooth as large ones (4:2:0 chroma
/// subsampling would otherwise dominate the error).
fn gradient(w: u32, h: u32, i: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    let t = i as f64;
    let tau = std::f64::consts::TAU;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f64 / 160.0, y as f64 / 120.0);
            let r = 128.0 + 90.0 * (tau * (fx + t / 40.0)).sin();
            let g = 128.0 + 90.0 * (tau * (fy * 0.8 - t / 50.0)).cos();
            let b = 128.0 + 70.0 * (tau * ((fx + fy) * 0.5 + t / 60.0)).sin();
            out.extend([r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// `n` frames of `gradient`, concatenated.
fn gradients(w: u32, h: u32, n: u32) -> Vec<Vec<u8>> {
    (0..n).map(|i| gradient(w, h, i)).collect()
}

/// Re-pack an RGB frame in another layout (alpha opaque). For gray8 the RGB frame must be gray.
fn pack(rgb: &[u8], fmt: &str) -> Vec<u8> {
    let px = rgb.chunks_exact(3);
    match fmt {
        "rgb24" => rgb.to_vec(),
        "bgr24" => px.flat_map(|p| [p[2], p[1], p[0]]).collect(),
        "rgba" => px.flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        "bgra" => px.flat_map(|p| [p[2], p[1], p[0], 255]).collect(),
        "argb" => px.flat_map(|p| [255, p[0], p[1], p[2]]).collect(),
        "gray8" => px.map(|p| p[0]).collect(),
        other => panic!("no packing for {other}"),
    }
}

/// A gray version of an RGB frame (R = G = B), so gray8 input has an exact RGB reference.
fn to_gray(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .flat_map(|p| {
            let g = ((p[0] as u32 * 2 + p[1] as u32 * 5 + p[2] as u32) / 8) as u8;
            [g, g, g]
        })
        .collect()
}

/// `ffprobe` of the first video stream and the container, as key=value pairs.
fn ffprobe(path: &Path) -> HashMap<String, String> {
    let entries = "stream=width,height,nb_read_frames,r_frame_rate,codec_name,profile,pix_fmt,\
                   color_primaries,color_transfer,color_space,color_range:format=duration";
    common::ffprobe(path, entries)
}

/// Decode every frame to packed RGB24 at the coded size. The BT.709 matrix and limited range
/// are forced so the comparison does not depend on which defaults this ffmpeg applies.
fn decode_rgb_bt709(path: &Path) -> Vec<u8> {
    let scale = "scale=in_color_matrix=bt709:in_range=tv:out_range=pc,format=rgb24";
    ffmpeg_decode(path, &["-vf", scale, "-f", "rawvideo", "-pix_fmt", "rgb24"]).0
}

/// PSNR (dB) between source frames (w x h, RGB) and decoded frames (cw x ch, RGB), over the
/// source's region.
fn psnr(src: &[Vec<u8>], decoded: &[u8], w: u32, h: u32, cw: u32, ch: u32) -> f64 {
    let coded = (cw * ch * 3) as usize;
    assert_eq!(decoded.len(), coded * src.len(), "decoded byte count");
    let (row, coded_row) = (w as usize * 3, cw as usize * 3);
    let region: Vec<u8> = decoded
        .chunks_exact(coded)
        .flat_map(|f| f.chunks_exact(coded_row).take(h as usize).flat_map(|r| &r[..row]))
        .copied()
        .collect();
    common::psnr(&src.concat(), &region)
}

struct Expect {
    /// Source size; the coded size is this padded to even.
    width: u32,
    height: u32,
    frames: usize,
    fps: (u32, u32),
}

/// Check everything ffprobe says about `path`, decode it and check PSNR against `src`.
fn check_video(path: &Path, e: &Expect, src: &[Vec<u8>], min_psnr: f64) {
    let (cw, ch) = (e.width + e.width % 2, e.height + e.height % 2);
    let p = ffprobe(path);
    let get = |k: &str| field(&p, k);
    assert_eq!(get("codec_name"), "h264", "{p:?}");
    assert_eq!(get("profile"), "High", "{p:?}");
    assert_eq!(get("pix_fmt"), "yuv420p", "{p:?}");
    assert_eq!(get("width"), cw.to_string(), "{p:?}");
    assert_eq!(get("height"), ch.to_string(), "{p:?}");
    assert_eq!(get("nb_read_frames"), e.frames.to_string(), "{p:?}");
    assert_eq!(get("r_frame_rate"), format!("{}/{}", e.fps.0, e.fps.1), "{p:?}");
    assert_eq!(get("color_primaries"), "bt709", "{p:?}");
    assert_eq!(get("color_transfer"), "bt709", "{p:?}");
    assert_eq!(get("color_space"), "bt709", "{p:?}");
    assert_eq!(get("color_range"), "tv", "{p:?}");
    let duration: f64 = get("duration").parse().unwrap();
    let expect = e.frames as f64 * e.fps.1 as f64 / e.fps.0 as f64;
    assert!((duration - expect).abs() < 0.001, "duration {duration}, expected {expect}");

    assert_eq!(src.len(), e.frames);
    let decoded = decode_rgb_bt709(path);
    let db = psnr(src, &decoded, e.width, e.height, cw, ch);
    assert!(db >= min_psnr, "PSNR {db:.2} dB < {min_psnr} dB");
}

fn encode_raw(dir: &TempDir, frames: &[Vec<u8>], extra: &[&str]) -> (PathBuf, Run) {
    let out = dir.join("out.mp4");
    let mut args = vec!["encode", path_str(&out)];
    args.extend_from_slice(extra);
    let r = run_ok(&args, &frames.concat());
    (out, r)
}

// ---------------------------------------------------------------------------------------------
// Raw frames on standard input
// ---------------------------------------------------------------------------------------------

#[test]
fn raw_rgb24_from_stdin() {
    let dir = TempDir::new("rgb24");
    let src = gradients(160, 120, 30);
    let (out, r) = encode_raw(&dir, &src, &["--size", "160x120", "--pix-fmt", "rgb24", "--fps", "30", "--crf", "23"]);
    // Not a terminal: no progress line, no warnings.
    assert_eq!(r.stderr, "", "unexpected stderr");
    assert_eq!(r.stdout, "");
    check_video(&out, &Expect { width: 160, height: 120, frames: 30, fps: (30, 1) }, &src, 35.0);
}

#[test]
fn raw_is_the_default_for_dash_and_pix_fmt_defaults_to_rgb24() {
    let dir = TempDir::new("dash");
    let src = gradients(64, 48, 5);
    let (out, _) = encode_raw(&dir, &src, &["-", "--size", "64x48"]);
    check_video(&out, &Expect { width: 64, height: 48, frames: 5, fps: (30, 1) }, &src, 35.0);
}

fn pixel_format_case(fmt: &str) {
    let dir = TempDir::new(fmt);
    let (w, h, n) = (48, 32, 6);
    let src: Vec<Vec<u8>> =
        gradients(w, h, n).into_iter().map(|f| if fmt == "gray8" { to_gray(&f) } else { f }).collect();
    let packed: Vec<Vec<u8>> = src.iter().map(|f| pack(f, fmt)).collect();
    let (out, r) = encode_raw(&dir, &packed, &["--size", "48x32", "--pix-fmt", fmt, "--fps", "25"]);
    assert_eq!(r.stderr, "");
    check_video(&out, &Expect { width: w, height: h, frames: n as usize, fps: (25, 1) }, &src, 35.0);
}

#[test]
fn pix_fmt_bgr24() {
    pixel_format_case("bgr24");
}
#[test]
fn pix_fmt_rgba() {
    pixel_format_case("rgba");
}
#[test]
fn pix_fmt_bgra() {
    pixel_format_case("bgra");
}
#[test]
fn pix_fmt_argb() {
    pixel_format_case("argb");
}
#[test]
fn pix_fmt_gray8() {
    pixel_format_case("gray8");
}

#[test]
fn transparent_pixels_are_composited_over_background() {
    let dir = TempDir::new("alpha");
    let (w, h, n) = (64, 48, 4);
    let rgb = gradients(w, h, n);
    // Left half fully transparent, right half opaque.
    let rgba: Vec<Vec<u8>> = rgb
        .iter()
        .map(|f| {
            f.chunks_exact(3)
                .enumerate()
                .flat_map(|(i, p)| [p[0], p[1], p[2], if (i as u32 % w) < w / 2 { 0 } else { 255 }])
                .collect()
        })
        .collect();
    let expect: Vec<Vec<u8>> = rgb
        .iter()
        .map(|f| {
            f.chunks_exact(3)
                .enumerate()
                .flat_map(|(i, p)| if (i as u32 % w) < w / 2 { [40, 160, 220] } else { [p[0], p[1], p[2]] })
                .collect()
        })
        .collect();
    let (out, _) = encode_raw(&dir, &rgba, &["--size", "64x48", "--pix-fmt", "rgba", "--background", "28a0dc"]);
    check_video(&out, &Expect { width: w, height: h, frames: n as usize, fps: (30, 1) }, &expect, 33.0);
    // The r,g,b spelling is the same colour.
    let out2 = dir.join("out2.mp4");
    run_ok(
        &["encode", path_str(&out2), "--size", "64x48", "--pix-fmt", "rgba", "--background", "40,160,220"],
        &rgba.concat(),
    );
    check_video(&out2, &Expect { width: w, height: h, frames: n as usize, fps: (30, 1) }, &expect, 33.0);
}

#[test]
fn odd_size_is_padded_with_a_warning() {
    let dir = TempDir::new("odd");
    let src = gradients(33, 17, 5);
    let (out, r) = encode_raw(&dir, &src, &["--size", "33x17"]);
    assert!(r.stderr.starts_with("framepipe: warning: "), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("33x17") && r.stderr.contains("34x18"), "stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "the warning is said once: {}", r.stderr);
    check_video(&out, &Expect { width: 33, height: 17, frames: 5, fps: (30, 1) }, &src, 33.0);
}

#[test]
fn ntsc_frame_rate_is_exact() {
    let dir = TempDir::new("ntsc");
    let src = gradients(64, 48, 12);
    let (out, _) = encode_raw(&dir, &src, &["--size", "64x48", "--fps", "30000/1001"]);
    check_video(&out, &Expect { width: 64, height: 48, frames: 12, fps: (30000, 1001) }, &src, 35.0);
    // 29.97 means the same exact rate.
    let out2 = dir.join("out2.mp4");
    run_ok(&["encode", path_str(&out2), "--size", "64x48", "--fps", "29.97"], &src.concat());
    assert_eq!(ffprobe(&out2)["r_frame_rate"], "30000/1001");
}

#[test]
fn metadata_tags_reach_the_file() {
    let dir = TempDir::new("tags");
    let src = gradients(64, 48, 5);
    let (out, _) = encode_raw(
        &dir,
        &src,
        &["--size", "64x48", "-m", "title=Wave ü", "--metadata", "comment=a=b", "--metadata", "subject=x"],
    );
    check_video(&out, &Expect { width: 64, height: 48, frames: 5, fps: (30, 1) }, &src, 35.0);
    let tags = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format_tags", "-of", "default=noprint_wrappers=1"])
        .arg(&out)
        .output()
        .expect("run ffprobe");
    let tags = String::from_utf8(tags.stdout).unwrap();
    for want in ["TAG:title=Wave ü", "TAG:comment=a=b", "TAG:subject=x", "TAG:encoder=framepipe "] {
        assert!(tags.contains(want), "{want:?} not in {tags}");
    }
    let probe = run_ok(&["probe", "--json", path_str(&out)], b"");
    assert!(probe.stdout.contains(r#""title": "Wave ü""#), "{}", probe.stdout);
    assert!(probe.stdout.contains(r#""comment": "a=b""#), "{}", probe.stdout);
    let probe = run_ok(&["probe", path_str(&out)], b"");
    assert!(probe.stdout.contains("tag subject: x"), "{}", probe.stdout);
    let gif = dir.join("t.gif");
    let r = run(&["encode", path_str(&gif), "--size", "64x48", "-m", "title=x"], &src.concat());
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("metadata applies to MP4 (H.264) output, not to a GIF"), "{}", r.stderr);
    let r = run(&["encode", path_str(&out), "--size", "64x48", "-m", "no equals sign"], &src.concat());
    assert!(r.stderr.contains("KEY=VALUE"), "{}", r.stderr);
    let r = run(&["encode", path_str(&out), "--size", "64x48", "-m", "bad key=1"], &src.concat());
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("metadata key"), "{}", r.stderr);
}

#[test]
fn other_encoder_options_are_accepted() {
    let dir = TempDir::new("opts");
    let src = gradients(64, 48, 10);
    let (out, _) = encode_raw(
        &dir,
        &src,
        &[
            "--size",
            "64x48",
            "--bitrate",
            "800",
            "--preset",
            "veryfast",
            "--tune",
            "animation",
            "--keyint",
            "5",
            "--threads",
            "2",
        ],
    );
    check_video(&out, &Expect { width: 64, height: 48, frames: 10, fps: (30, 1) }, &src, 30.0);
}

#[test]
fn trailing_partial_frame_keeps_the_complete_frames() {
    let dir = TempDir::new("partial");
    let (w, h) = (64u32, 48u32);
    let frame_len = (w * h * 3) as usize;
    let src = gradients(w, h, 10);
    let mut input = src.concat();
    input.extend_from_slice(&gradient(w, h, 10)[..1234]);
    let out = dir.join("out.mp4");
    let r = run(&["encode", path_str(&out), "--size", "64x48"], &input);
    assert_eq!(r.code, Some(1), "stderr: {}", r.stderr);
    let expected = format!(
        "framepipe: error: standard input ended 1234 bytes into frame 10, which needs {frame_len} bytes \
         (1234 read, {} missing); the 10 complete frames before it were kept in {}",
        frame_len - 1234,
        out.display()
    );
    assert_eq!(r.stderr.trim_end(), expected);
    check_video(&out, &Expect { width: w, height: h, frames: 10, fps: (30, 1) }, &src, 35.0);
}

#[test]
fn partial_first_frame_writes_nothing() {
    let dir = TempDir::new("partial0");
    let out = dir.join("out.mp4");
    let r = run(&["encode", path_str(&out), "--size", "64x48"], &[7u8; 100]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("100 bytes into frame 0") && r.stderr.contains("9116 missing"), "{}", r.stderr);
    assert!(r.stderr.contains("was not written"), "{}", r.stderr);
    assert!(!out.exists(), "an MP4 without frames was left behind");
}

#[test]
fn empty_stdin_is_an_error() {
    let dir = TempDir::new("empty");
    let out = dir.join("out.mp4");
    let r = run(&["encode", path_str(&out), "--size", "64x48"], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.starts_with("framepipe: error: standard input is empty"), "{}", r.stderr);
    assert!(r.stderr.contains("64x48 rgb24"), "{}", r.stderr);
    assert!(!out.exists(), "an MP4 without frames was left behind");
}

#[test]
fn failing_before_the_first_frame_leaves_an_existing_file_as_it_was() {
    let dir = TempDir::new("keep");
    let out = dir.join("o.mp4");
    let src = gradients(64, 48, 3);
    encode_raw_to(&out, &src, &["--size", "64x48"]);
    let before = std::fs::read(&out).unwrap();
    let bad_png = dir.join("bad.png");
    std::fs::write(&bad_png, b"\x89PNG\r\n\x1a\nnot a png").unwrap();
    let cases: Vec<(Vec<&str>, Vec<u8>, &str)> = vec![
        (vec!["encode", path_str(&out), "--size", "320x240"], vec![], "standard input is empty"),
        (vec!["encode", path_str(&out), "--size", "320x240"], vec![9u8; 1000], "1000 bytes into frame 0"),
        (vec!["encode", path_str(&out), path_str(&bad_png)], vec![], "cannot decode"),
    ];
    for (args, stdin, why) in cases {
        let r = run(&args, &stdin);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("{} was left as it was", out.display())), "{args:?}: {}", r.stderr);
        assert_eq!(std::fs::read(&out).unwrap(), before, "{args:?} changed the existing file");
    }
    check_video(&out, &Expect { width: 64, height: 48, frames: 3, fps: (30, 1) }, &src, 35.0);
}

/// Encode raw RGB frames into `out` (which must succeed).
fn encode_raw_to(out: &Path, frames: &[Vec<u8>], extra: &[&str]) {
    let mut args = vec!["encode", path_str(out)];
    args.extend_from_slice(extra);
    run_ok(&args, &frames.concat());
}

#[test]
fn a_full_disk_is_reported_once_with_the_frame_being_written() {
    // A file-size limit (EFBIG), as a full disk, with SIGXFSZ ignored so that writes fail instead
    // of killing the process; dash's `ulimit -f` counts 512-byte blocks: 300 KiB.
    let dir = TempDir::new("fsize");
    let out = dir.join("out.mp4");
    let (w, h) = (160u32, 120u32);
    let mut state = 12345u32;
    let noise: Vec<u8> = (0..w * h * 3 * 120)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let script = format!("trap '' XFSZ; ulimit -f 600; exec {} encode {} --size {w}x{h} --crf 1", *BIN, path_str(&out));
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&noise);
    });
    let r = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{stderr}");
    let numbered =
        stderr.match_indices("frame ").filter(|(i, _)| stderr[i + 6..].starts_with(|c: char| c.is_ascii_digit()));
    assert_eq!(numbered.count(), 1, "one frame number in the message: {stderr}");
    let re_written = stderr.find("writing frame ").expect("names the frame being written");
    assert!(stderr.starts_with("framepipe: error: writing frame "), "{stderr}");
    assert!(stderr.contains("File too large") || stderr.contains("No space left"), "{stderr}");
    let written: u64 = stderr[re_written + 14..].split_whitespace().next().unwrap().parse().unwrap();
    let kept = &ffprobe(&out)["nb_read_frames"];
    assert!(stderr.contains(&format!("the {kept} complete frames before it were kept")), "{stderr}");
    assert!(kept.parse::<u64>().unwrap() <= written && written > 0, "{kept} kept, failed writing {written}");
}

// ---------------------------------------------------------------------------------------------
// Image files
// ---------------------------------------------------------------------------------------------

fn write_images(dir: &TempDir, frames: &[Vec<u8>], w: u32, h: u32, ext: &str) -> Vec<PathBuf> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let p = dir.join(&format!("frame{i:03}.{ext}"));
            image::RgbImage::from_raw(w, h, f.clone()).unwrap().save(&p).unwrap();
            p
        })
        .collect()
}

fn encode_files(out: &Path, files: &[PathBuf], extra: &[&str]) -> Run {
    let mut args = vec!["encode", path_str(out)];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|p| path_str(p)));
    run(&args, &[])
}

#[test]
fn png_files() {
    let dir = TempDir::new("png");
    let src = gradients(64, 48, 6);
    let files = write_images(&dir, &src, 64, 48, "png");
    let out = dir.join("out.mp4");
    let r = encode_files(&out, &files, &["--fps", "24"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    check_video(&out, &Expect { width: 64, height: 48, frames: 6, fps: (24, 1) }, &src, 35.0);
}

#[test]
fn png_with_alpha_uses_background() {
    let dir = TempDir::new("pngalpha");
    let (w, h) = (32, 32);
    let mut files = Vec::new();
    let mut expect = Vec::new();
    for i in 0..3u32 {
        let rgb = gradient(w, h, i);
        // Top half transparent, so it shows the (white) background.
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .enumerate()
            .flat_map(|(k, p)| [p[0], p[1], p[2], if (k as u32) < w * h / 2 { 0 } else { 255 }])
            .collect();
        let p = dir.join(&format!("a{i}.png"));
        image::RgbaImage::from_raw(w, h, rgba).unwrap().save(&p).unwrap();
        files.push(p);
        expect.push(
            rgb.chunks_exact(3)
                .enumerate()
                .flat_map(|(k, p)| if (k as u32) < w * h / 2 { [255, 255, 255] } else { [p[0], p[1], p[2]] })
                .collect::<Vec<u8>>(),
        );
    }
    // An opaque PNG can follow transparent ones.
    let opaque = gradient(w, h, 3);
    files.extend(write_images(&dir, std::slice::from_ref(&opaque), w, h, "png"));
    expect.push(opaque);
    let out = dir.join("out.mp4");
    let r = encode_files(&out, &files, &["--background", "ffffff"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    check_video(&out, &Expect { width: w, height: h, frames: 4, fps: (30, 1) }, &expect, 33.0);
}

#[test]
fn jpeg_files() {
    let dir = TempDir::new("jpeg");
    let src = gradients(64, 48, 5);
    let files = write_images(&dir, &src, 64, 48, "jpg");
    // The reference is what the JPEGs decode to, not the lossless source.
    let decoded: Vec<Vec<u8>> = files.iter().map(|p| image::open(p).unwrap().to_rgb8().into_raw()).collect();
    let out = dir.join("out.mp4");
    let r = encode_files(&out, &files, &["--fps", "10"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    check_video(&out, &Expect { width: 64, height: 48, frames: 5, fps: (10, 1) }, &decoded, 35.0);
}

#[test]
fn image_of_another_size_is_an_error_naming_the_file() {
    let dir = TempDir::new("sizes");
    let src = gradients(64, 48, 3);
    let mut files = write_images(&dir, &src, 64, 48, "png");
    let odd = dir.join("bigger.png");
    image::RgbImage::from_raw(32, 32, gradient(32, 32, 0)).unwrap().save(&odd).unwrap();
    files.push(odd.clone());
    let out = dir.join("out.mp4");
    let r = encode_files(&out, &files, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.starts_with("framepipe: error: "), "{}", r.stderr);
    assert!(r.stderr.contains(path_str(&odd)), "error does not name the file: {}", r.stderr);
    assert!(r.stderr.contains("frame 3") && r.stderr.contains("32x32"), "{}", r.stderr);
    // In the images' own terms: RGB PNGs, not the RGBA the engine is fed.
    let expected = format!(
        "{} (frame 3) is a 32x32 RGB image, but the first image, {}, is 64x48 (RGB); every image must have the \
         first one's size",
        odd.display(),
        files[0].display()
    );
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(!r.stderr.contains("rgba"), "{}", r.stderr);
    assert!(r.stderr.contains("the 3 frames before it were kept"), "{}", r.stderr);
    check_video(&out, &Expect { width: 64, height: 48, frames: 3, fps: (30, 1) }, &src, 35.0);
}

#[test]
fn undecodable_image_is_an_error_naming_the_file() {
    let dir = TempDir::new("garbage");
    let src = gradients(64, 48, 2);
    let mut files = write_images(&dir, &src, 64, 48, "png");
    let bad = dir.join("broken.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nthis is not really a png").unwrap();
    files.push(bad.clone());
    files.extend(write_images(&dir, &gradients(64, 48, 1), 64, 48, "jpg"));
    let out = dir.join("out.mp4");
    let r = encode_files(&out, &files, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("cannot decode {}", bad.display())), "{}", r.stderr);
    assert!(r.stderr.contains("the 2 frames before it were kept"), "{}", r.stderr);
    check_video(&out, &Expect { width: 64, height: 48, frames: 2, fps: (30, 1) }, &src, 35.0);

    // A missing first file: nothing is written.
    let out2 = dir.join("out2.mp4");
    let missing = dir.join("missing.png");
    let r = encode_files(&out2, std::slice::from_ref(&missing), &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains(&format!("cannot read {} (frame 0)", missing.display())), "{}", r.stderr);
    assert!(!out2.exists());
}

// ---------------------------------------------------------------------------------------------
// probe
// ---------------------------------------------------------------------------------------------

#[test]
fn probe_describes_the_video() {
    let dir = TempDir::new("probe");
    let src = gradients(96, 64, 15);
    let (out, _) = encode_raw(&dir, &src, &["--size", "96x64", "--fps", "30000/1001"]);
    let r = run_ok(&["probe", path_str(&out)], &[]);
    let text = r.stdout.to_lowercase();
    for needle in ["width: 96", "height: 64", "frames: 15", "30000/1001", "avc1", "high", "bt709", "limited"] {
        assert!(text.contains(needle), "probe output lacks {needle:?}:\n{}", r.stdout);
    }
    let r = run_ok(&["probe", "--json", path_str(&out)], &[]);
    let j = r.stdout.replace(char::is_whitespace, "");
    for needle in ["\"width\":96", "\"height\":64", "\"frame_count\":15", "\"fps\":\"30000/1001\"", "\"primaries\":1"] {
        assert!(j.contains(needle), "probe --json lacks {needle:?}:\n{}", r.stdout);
    }
    assert!(j.starts_with('{') && j.ends_with('}'), "{}", r.stdout);
}

#[test]
fn probe_of_a_truncated_file_says_how_many_frames_it_holds_and_fails() {
    let dir = TempDir::new("probecut");
    let src = gradients(64, 48, 300);
    let (out, _) = encode_raw(&dir, &src, &["--size", "64x48"]);
    let whole = std::fs::read(&out).unwrap();
    let r = run_ok(&["probe", "--json", path_str(&out)], &[]);
    let j = r.stdout.replace(char::is_whitespace, "");
    assert!(j.contains("\"frame_count\":300,\"frames_present\":300,\"truncated\":false"), "{}", r.stdout);
    // Cut inside the media data at a few places (the moov is at the start: faststart).
    let mdat = whole.windows(4).position(|w| w == b"mdat").unwrap() + 12;
    for fraction in [0.15, 0.5, 0.9] {
        let cut = mdat + ((whole.len() - mdat) as f64 * fraction) as usize;
        let part = dir.join(&format!("cut{cut}.mp4"));
        std::fs::write(&part, &whole[..cut]).unwrap();
        let r = run(&["probe", path_str(&part)], &[]);
        assert_eq!(r.code, Some(1), "a truncated file is an error: {}", r.stderr);
        assert!(r.stdout.contains("frames: 300"), "{}", r.stdout);
        let present: u64 = r
            .stdout
            .split("but only ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no warning in:\n{}", r.stdout));
        assert!(r.stdout.contains("warning: truncated: the index lists 300 frames but only"), "{}", r.stdout);
        assert!(r.stderr.contains("truncated") && r.stderr.contains(path_str(&part)), "{}", r.stderr);
        // What an independent decoder gets out of the same bytes: every complete frame.
        let decoded: u64 = ffprobe(&part)["nb_read_frames"].parse().unwrap();
        assert_eq!(present, decoded, "cut at {cut} of {}", whole.len());
        assert!(present > 0 && present < 300);
        let r = run(&["probe", "--json", path_str(&part)], &[]);
        assert_eq!(r.code, Some(1));
        let j = r.stdout.replace(char::is_whitespace, "");
        assert!(j.contains(&format!("\"frames_present\":{present},\"truncated\":true")), "{}", r.stdout);
    }
}

#[test]
fn probe_of_a_file_torn_in_its_last_moof_fails_with_a_warning() {
    // Issue 21: a fragmented file cut inside its last moof (a power loss while the fragment was
    // written) was called healthy (exit 0), while ffmpeg cannot read it at all.
    use framepipe::testing::{Mp4Demuxer, Mp4Writer};
    let dir = TempDir::new("probetorn");
    let (out, _) = encode_raw(&dir, &gradients(64, 48, 45), &["--size", "64x48"]);
    // The same packets as a writer that never finished leaves them: fragments of 15 frames.
    let mut d = Mp4Demuxer::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut w = Mp4Writer::new(std::io::Cursor::new(Vec::new()), d.track().clone()).unwrap();
    w.set_fragment_frames(15).unwrap();
    while let Some(p) = d.read_packet().unwrap() {
        w.write_packet(&p).unwrap();
    }
    w.write_fragment().unwrap();
    let data = w.into_inner().into_inner();
    let moof = data.windows(4).rposition(|w| w == b"moof").unwrap() - 4;
    let moof_len = u32::from_be_bytes(data[moof..moof + 4].try_into().unwrap()) as usize;
    let whole = dir.join("unfinished.mp4");
    std::fs::write(&whole, &data).unwrap();
    let r = run_ok(&["probe", path_str(&whole)], &[]);
    assert!(r.stdout.contains("fragmented: yes") && !r.stdout.contains("warning"), "{}", r.stdout);
    let frames: u64 = field(&common::ffprobe(&whole, "stream=nb_read_frames"), "nb_read_frames").parse().unwrap();
    assert_eq!(frames, 45);
    // The frames of the fragments before the last one, by probe of the file cut there (whole).
    let before = framepipe::testing::probe_reader(std::io::Cursor::new(&data[..moof])).unwrap();
    let n = before.frames_present;
    assert!(!before.truncated() && (15..45).contains(&n), "{before:?}");
    for cut in [moof + 5, moof + 8, moof + moof_len / 2, moof + moof_len - 1] {
        let part = dir.join(&format!("torn{cut}.mp4"));
        std::fs::write(&part, &data[..cut]).unwrap();
        let r = run(&["probe", path_str(&part)], &[]);
        assert_eq!(r.code, Some(1), "a torn file is an error: {}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("fragmented: yes"), "{}", r.stdout);
        let torn = cut - moof;
        let warning = if torn < 8 {
            format!("warning: damaged: the last {torn} bytes of the file (from byte {moof}) are not a whole box")
        } else {
            format!("warning: truncated: the file ends {torn} bytes into a \"moof\" box (at byte {moof})")
        };
        assert!(r.stdout.contains(&warning), "{}", r.stdout);
        assert!(r.stdout.contains(&format!("{n} frames are whole before")), "{}", r.stdout);
        assert!(r.stderr.contains(path_str(&part)) && r.stderr.contains(&warning["warning: ".len()..]), "{}", r.stderr);
        let r = run(&["probe", "--json", path_str(&part)], &[]);
        assert_eq!(r.code, Some(1));
        let j = r.stdout.replace(char::is_whitespace, "");
        assert!(j.contains(&format!("\"frame_count\":{n},\"frames_present\":{n},\"truncated\":true")), "{}", r.stdout);
        let torn_box = if torn < 8 { "" } else { "moof" };
        assert!(j.contains(&format!("\"torn_bytes\":{torn},\"torn_box\":\"{torn_box}\"")), "{}", r.stdout);
    }
}

#[test]
fn probe_of_a_non_mp4_fails_clearly() {
    let dir = TempDir::new("probebad");
    let bad = dir.join("notes.txt");
    std::fs::write(&bad, "hello, this is not a video at all\n").unwrap();
    let r = run(&["probe", path_str(&bad)], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.starts_with("framepipe: error: "), "{}", r.stderr);
    assert!(r.stderr.contains(path_str(&bad)), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    // The file's real first bytes (not bytes 4..8, the box type of an MP4 header).
    assert!(
        r.stderr.contains("not an MP4 or GIF file: it starts with bytes 68 65 6c 6c 6f 2c 20 74 (\"hello, t\")"),
        "{}",
        r.stderr
    );
    let png = dir.join("picture.png");
    image::RgbImage::from_raw(4, 4, vec![7u8; 48]).unwrap().save(&png).unwrap();
    let r = run(&["probe", "--json", path_str(&png)], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not an MP4 or GIF file: it starts with bytes 89 50 4e 47 0d 0a 1a 0a"), "{}", r.stderr);
    let tiny = dir.join("tiny.bin");
    std::fs::write(&tiny, b"GIF8").unwrap();
    let r = run(&["probe", path_str(&tiny)], &[]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("not an MP4 or GIF file: it is only 4 bytes long: bytes 47 49 46 38 (\"GIF8\")"),
        "{}",
        r.stderr
    );

    let r = run(&["probe", path_str(&dir.join("missing.mp4"))], &[]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("missing.mp4"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Options and usage
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_crf_fails_before_writing() {
    let dir = TempDir::new("crf");
    let out = dir.join("out.mp4");
    // A usage error (the option table's check, before any input is read), as Python's message.
    let r = run(&["encode", path_str(&out), "--size", "64x48", "--crf", "99"], &gradient(64, 48, 0));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.starts_with("error: crf must be between 1 and 51, got 99\n"), "{}", r.stderr);
    assert!(!out.exists());
    let r = run(&["encode", path_str(&out), "--size", "64x48", "--crf", "0"], &gradient(64, 48, 0));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("lossless") && r.stderr.contains("crf 1 or more"), "{}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn other_containers_names_are_refused() {
    let dir = TempDir::new("webm");
    let out = dir.join("out.webm");
    let r = run(&["encode", path_str(&out), "--size", "64x48"], &gradient(64, 48, 0));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains(".webm file, but framepipe writes MP4 (H.264) or GIF: name it .mp4"), "{}", r.stderr);
    assert!(!r.stderr.contains("explicitly"), "the CLI has no option to give the format: {}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn unknown_preset_is_a_usage_error() {
    let dir = TempDir::new("preset");
    let out = dir.join("out.mp4");
    let r = run(&["encode", path_str(&out), "--size", "64x48", "--preset", "nonsense"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("unknown preset \"nonsense\""), "{}", r.stderr);
    assert!(r.stderr.contains("ultrafast") && r.stderr.contains("placebo"), "{}", r.stderr);
    assert!(!out.exists());

    let r = run(&["encode", path_str(&out), "--size", "64x48", "--pix-fmt", "yuv420p"], &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("unknown pix_fmt \"yuv420p\"; expected one of rgb24"), "{}", r.stderr);
    let r = run(&["encode", path_str(&out), "--size", "64x48", "--fps", "0"], &[]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("frame rate"), "{}", r.stderr);
}

#[test]
fn raw_input_needs_a_size() {
    let r = run(&["encode", "never.mp4"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--size"), "{}", r.stderr);
    assert!(!Path::new("never.mp4").exists());
}

#[test]
fn crf_and_bitrate_conflict() {
    let r = run(&["encode", "never.mp4", "--size", "8x8", "--crf", "20", "--bitrate", "100"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn version_and_help() {
    let r = run_ok(&["--version"], &[]);
    assert!(r.stdout.starts_with("framepipe "), "{}", r.stdout);
    let r = run_ok(&["--help"], &[]);
    assert!(r.stdout.contains("encode") && r.stdout.contains("probe"), "{}", r.stdout);
    assert!(r.stdout.contains("Examples:"), "{}", r.stdout);
    let r = run_ok(&["encode", "--help"], &[]);
    for flag in [
        "--size",
        "--pix-fmt",
        "--fps",
        "--crf",
        "--bitrate",
        "--preset",
        "--tune",
        "--keyint",
        "--threads",
        "--background",
    ] {
        assert!(r.stdout.contains(flag), "help lacks {flag}");
    }
}

// ---------------------------------------------------------------------------------------------
// Animated GIF (by the output's extension)
// ---------------------------------------------------------------------------------------------

/// ffprobe's per-packet durations (s) of a GIF, its decoded frame count and container duration.
fn gif_probe(path: &Path) -> (Vec<f64>, u64, f64) {
    let entries = "stream=codec_name,nb_read_frames:packet=duration_time:format=duration";
    let text = ffprobe_text(path, entries, "default=noprint_wrappers=1");
    assert!(text.contains("codec_name=gif"), "{text}");
    let get = |k: &'static str| text.lines().filter_map(move |l| l.strip_prefix(k)).map(|v| v.trim().to_string());
    let durations = get("duration_time=").map(|v| v.parse().unwrap()).collect();
    let frames = get("nb_read_frames=").next().unwrap().parse().unwrap();
    let duration = get("duration=").next_back().unwrap().parse().unwrap();
    (durations, frames, duration)
}

/// Every GIF image decoded by ffmpeg (one picture per image), packed RGB.
fn gif_decode(path: &Path) -> Vec<u8> {
    let (pictures, messages) =
        ffmpeg_decode(path, &["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24"]);
    assert_eq!(messages, "", "ffmpeg complained");
    pictures
}

#[test]
fn gif_from_raw_frames_with_options() {
    let dir = TempDir::new("gif-raw");
    let (w, h) = (81u32, 47u32); // odd: no padding in a GIF
    let src = gradients(w, h, 12);
    let out = dir.join("out.gif");
    let args = [
        "encode",
        path_str(&out),
        "--size",
        "81x47",
        "--fps",
        "30",
        "--colors",
        "128",
        "--dither",
        "ordered",
        "--loop",
        "3",
    ];
    let r = run_ok(&args, &src.concat());
    assert_eq!(r.stderr, "");
    let (durations, frames, duration) = gif_probe(&out);
    assert_eq!(frames, 12);
    assert_eq!(durations, [0.03, 0.03, 0.04, 0.03, 0.03, 0.04, 0.03, 0.03, 0.04, 0.03, 0.03, 0.04]);
    assert!((duration - 0.4).abs() < 0.011, "{duration}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(*bytes.last().unwrap(), 0x3B);
    // --loop 3 = three plays = NETSCAPE2.0 repeat count 2.
    let at = bytes.windows(11).position(|x| x == b"NETSCAPE2.0").expect("loop block");
    assert_eq!(&bytes[at + 11..at + 15], &[3, 1, 2, 0]);
    let db = psnr(&src, &gif_decode(&out), w, h, w, h);
    assert!(db >= 30.0, "PSNR {db:.2}");
}

#[test]
fn gif_from_png_files_plays_once_with_loop_1() {
    let dir = TempDir::new("gif-png");
    let src = gradients(64, 48, 5);
    let files = write_images(&dir, &src, 64, 48, "png");
    let out = dir.join("out.gif");
    let r = encode_files(&out, &files, &["--fps", "10", "--loop", "1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let (durations, frames, _) = gif_probe(&out);
    assert_eq!((frames, durations), (5, vec![0.1; 5]));
    assert!(!std::fs::read(&out).unwrap().windows(11).any(|x| x == b"NETSCAPE2.0"));
    assert!(psnr(&src, &gif_decode(&out), 64, 48, 64, 48) >= 30.0);
}

#[test]
fn gif_keeps_complete_frames_before_a_partial_one() {
    let dir = TempDir::new("gif-partial");
    let src = gradients(64, 48, 6);
    let mut input = src.concat();
    input.extend_from_slice(&[1u8; 500]);
    let out = dir.join("out.gif");
    let r = run(&["encode", path_str(&out), "--size", "64x48", "--fps", "20"], &input);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("500 bytes into frame 6") && r.stderr.contains("the 6 complete frames before it were kept"),
        "{}",
        r.stderr
    );
    let (_, frames, duration) = gif_probe(&out);
    assert_eq!(frames, 6);
    assert!((duration - 0.3).abs() < 0.011);
    assert!(psnr(&src, &gif_decode(&out), 64, 48, 64, 48) >= 30.0);
}

#[test]
fn options_of_the_other_format_are_usage_errors() {
    let dir = TempDir::new("gif-opts");
    let gif = dir.join("out.gif");
    let r = run(&["encode", path_str(&gif), "--size", "8x8", "--crf", "20", "--tune", "film"], &[0u8; 192]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("crf, tune apply to MP4 (H.264) output, not to a GIF"), "{}", r.stderr);
    let mp4 = dir.join("out.mp4");
    let r = run(&["encode", path_str(&mp4), "--size", "8x8", "--colors", "16"], &[0u8; 192]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("colors applies to GIF output only"), "{}", r.stderr);
    for bad in [["--colors", "1"], ["--colors", "300"], ["--dither", "sierra"], ["--loop", "-1"]] {
        let r = run(&["encode", path_str(&gif), "--size", "8x8", bad[0], bad[1]], &[0u8; 192]);
        assert_eq!(r.code, Some(2), "{bad:?}: {}", r.stderr);
    }
    assert!(!gif.exists() && !mp4.exists());
}

// ---------------------------------------------------------------------------------------------
// probe on a GIF, checked against ffprobe
// ---------------------------------------------------------------------------------------------

/// `framepipe probe` (text and --json) of a GIF against ffprobe's reading of it and the file.
fn check_gif_probe(path: &Path, expect_loop: u32) -> u64 {
    let p = common::ffprobe(path, "stream=codec_name,width,height,nb_read_frames:format=duration");
    let r = run_ok(&["probe", "--json", path_str(path)], &[]);
    let j = r.stdout.replace(char::is_whitespace, "");
    let size = std::fs::metadata(path).unwrap().len();
    for needle in [
        "\"format\":\"gif\"".to_string(),
        format!("\"width\":{}", field(&p, "width")),
        format!("\"height\":{}", field(&p, "height")),
        format!("\"frame_count\":{}", field(&p, "nb_read_frames")),
        format!("\"loop\":{expect_loop}"),
        format!("\"file_size\":{size}"),
    ] {
        assert!(j.contains(&needle), "probe --json lacks {needle}:\n{}\nffprobe: {p:?}", r.stdout);
    }
    let duration: f64 =
        j.split("\"duration_seconds\":").nth(1).unwrap().split([',', '}']).next().unwrap().parse().unwrap();
    let ff_duration: f64 = field(&p, "duration").parse().unwrap();
    assert!((duration - ff_duration).abs() < 0.0051, "probe {duration} s, ffprobe {ff_duration} s");

    let r = run_ok(&["probe", path_str(path)], &[]);
    for needle in [
        format!("width: {}", field(&p, "width")),
        format!("height: {}", field(&p, "height")),
        format!("frames: {}", field(&p, "nb_read_frames")),
        format!("loop: {expect_loop} "),
        format!("file size: {size} bytes"),
    ] {
        assert!(r.stdout.contains(&needle), "probe lacks {needle:?}:\n{}", r.stdout);
    }
    field(&p, "nb_read_frames").parse().unwrap()
}

#[test]
fn probe_describes_gifs_as_ffprobe_reads_them() {
    let dir = TempDir::new("probe-gif");
    // framepipe's GIFs: 30 fps (delays 3, 3, 4 cs), played 3 times; 7 fps, forever; once.
    let src = gradients(81, 47, 12);
    let out = dir.join("a.gif");
    run_ok(&["encode", path_str(&out), "--size", "81x47", "--fps", "30", "--loop", "3"], &src.concat());
    assert_eq!(check_gif_probe(&out, 3), 12);
    let out = dir.join("b.gif");
    run_ok(&["encode", path_str(&out), "--size", "81x47", "--fps", "7"], &src[..9].concat());
    assert_eq!(check_gif_probe(&out, 0), 9);
    let files = write_images(&dir, &gradients(64, 48, 4), 64, 48, "png");
    let out = dir.join("c.gif");
    assert_eq!(encode_files(&out, &files, &["--fps", "10", "--loop", "1"]).code, Some(0));
    assert_eq!(check_gif_probe(&out, 1), 4);
    // One that ffmpeg wrote (its own GIF muxer: loops forever, 10 fps).
    let out = dir.join("ffmpeg.gif");
    common::run_tool(
        Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10", "-frames:v", "15"])
            .arg(&out),
    );
    assert_eq!(check_gif_probe(&out, 0), 15);
}

// ---------------------------------------------------------------------------------------------
// Output `-` is refused
// ---------------------------------------------------------------------------------------------

#[test]
fn output_dash_is_a_usage_error() {
    let dir = TempDir::new("dash-out");
    for format_flag in [&[][..], &["--colors", "16"][..]] {
        let mut args = vec!["encode", "-", "--size", "8x8"];
        args.extend_from_slice(format_flag);
        let out = Command::new(BIN.as_str()).args(&args).current_dir(dir.path()).stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("the output cannot be `-` (standard output): an MP4 needs a seekable file"),
            "{stderr}"
        );
        assert!(stderr.contains("Usage: framepipe encode"), "{stderr}");
        assert!(out.stdout.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a file was written");
    }
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C, SIGTERM, SIGHUP: the file is finished with the frames encoded so far
// ---------------------------------------------------------------------------------------------

fn send_signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) with the pid of a child this test spawned and has not yet reaped.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Wait for the child to exit (at most `secs`; then kill it and fail): (exit code, stderr).
fn wait_exit(mut child: std::process::Child, secs: u64) -> (Option<i32>, String) {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return (status.code(), stderr);
        }
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("framepipe did not exit within {secs} s of the signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn spawn_encode(args: &[&str]) -> std::process::Child {
    Command::new(BIN.as_str())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run framepipe")
}

/// The interruption note must be the only line on stderr; returns the frame count it reports.
fn interrupted_frames(stderr: &str, signal: &str, out: &Path) -> u64 {
    let prefix = format!("framepipe: interrupted: {signal} received, stopped reading input; the ");
    let rest = stderr.strip_prefix(&prefix).unwrap_or_else(|| panic!("unexpected stderr: {stderr:?}"));
    let (n, rest) = rest.split_once(' ').unwrap();
    let n: u64 = n.parse().unwrap();
    let kept = if n == 1 { "frame encoded so far was kept in" } else { "frames encoded so far were kept in" };
    assert_eq!(rest, format!("{kept} {}\n", out.display()), "stderr: {stderr:?}");
    assert!(n >= 1);
    n
}

/// The top-level MP4 boxes, in file order.
fn top_level_boxes(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let (mut pos, mut names) = (0usize, Vec::new());
    while pos + 8 <= data.len() {
        let size = match u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) {
            1 => u64::from_be_bytes(data[pos + 8..pos + 16].try_into().unwrap()) as usize, // 64-bit size
            0 => data.len() - pos,                                                         // to the end of the file
            n => n as usize,
        };
        names.push(String::from_utf8_lossy(&data[pos + 4..pos + 8]).into_owned());
        assert!(size >= 8, "bad box size at {pos}");
        pos += size;
    }
    assert_eq!(pos, data.len(), "boxes do not end at the end of the file");
    names
}

/// A complete, faststart MP4 of exactly `src` (the frames kept), decoding without a complaint.
fn check_kept_mp4(out: &Path, src: &[Vec<u8>], w: u32, h: u32) {
    let boxes = top_level_boxes(out);
    assert_eq!(&boxes[..3], ["ftyp", "moov", "mdat"], "{boxes:?}");
    let (_, messages) = ffmpeg_decode(out, &["-f", "null"]);
    assert_eq!(messages, "", "ffmpeg complained decoding {}", out.display());
    check_video(out, &Expect { width: w, height: h, frames: src.len(), fps: (30, 1) }, src, 30.0);
}

#[test]
fn signal_with_steady_input_keeps_the_frames_encoded_so_far() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (w, h) = (160u32, 120u32);
    // The input cycles through these frames until the CLI stops reading.
    let cycle = Arc::new(gradients(w, h, 50));
    for (sig, name, code) in
        [(libc::SIGINT, "SIGINT", 130), (libc::SIGTERM, "SIGTERM", 143), (libc::SIGHUP, "SIGHUP", 129)]
    {
        let dir = TempDir::new("sig-steady");
        let out = dir.join("out.mp4");
        let mut child = spawn_encode(&["encode", path_str(&out), "--size", "160x120", "--preset", "veryfast"]);
        let mut pipe = child.stdin.take().unwrap();
        let written = Arc::new(AtomicUsize::new(0));
        let feeder = {
            let (cycle, written) = (Arc::clone(&cycle), Arc::clone(&written));
            std::thread::spawn(move || {
                // Stops at a broken pipe (the CLI exited), or after 100000 frames at the latest.
                for i in 0..100_000 {
                    if pipe.write_all(&cycle[i % cycle.len()]).is_err() {
                        break;
                    }
                    written.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while written.load(Ordering::SeqCst) < 40 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        send_signal(&child, sig);
        let (status, stderr) = wait_exit(child, 120);
        feeder.join().unwrap();
        assert_eq!(status, Some(code), "{name}: {stderr}");
        let n = interrupted_frames(&stderr, name, &out) as usize;
        assert!(n <= written.load(Ordering::SeqCst), "{n} frames kept, more than were written");
        let src: Vec<Vec<u8>> = (0..n).map(|i| cycle[i % cycle.len()].clone()).collect();
        check_kept_mp4(&out, &src, w, h);
    }
}

#[test]
fn signal_while_stdin_blocks_finishes_the_file() {
    let (w, h) = (96u32, 64u32);
    let src = gradients(w, h, 12);
    for (sig, name, code) in [(libc::SIGINT, "SIGINT", 130), (libc::SIGTERM, "SIGTERM", 143)] {
        let dir = TempDir::new("sig-blocked");
        let out = dir.join("out.mp4");
        let mut child = spawn_encode(&["encode", path_str(&out), "--size", "96x64"]);
        // 12 frames, then nothing: the pipe stays open, so the CLI's read blocks.
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(&src.concat()).unwrap();
        // Time to read and encode the 12 frames (one x264 call each).
        std::thread::sleep(std::time::Duration::from_millis(1500));
        send_signal(&child, sig);
        let (status, stderr) = wait_exit(child, 120);
        drop(pipe);
        assert_eq!(status, Some(code), "{name}: {stderr}");
        assert_eq!(interrupted_frames(&stderr, name, &out), 12);
        check_kept_mp4(&out, &src, w, h);
    }

    // Blocked before the first frame: nothing to keep, no file.
    let dir = TempDir::new("sig-blocked-empty");
    let out = dir.join("out.mp4");
    let mut child = spawn_encode(&["encode", path_str(&out), "--size", "96x64"]);
    let pipe = child.stdin.take().unwrap();
    // Time to start and wait for input: the console script (FRAMEPIPE_CLI) starts Python and
    // imports numpy first, which can take several hundred milliseconds on a busy machine.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    send_signal(&child, libc::SIGINT);
    let (status, stderr) = wait_exit(child, 60);
    drop(pipe);
    assert_eq!(status, Some(130), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "framepipe: interrupted: SIGINT received before any frame was encoded; {} was not written\n",
            out.display()
        )
    );
    assert!(!out.exists());
}

/// Start encoding `files` (cycled `times` times) to `out`, and send `sig` once the output has
/// grown past `min_bytes` (frames are being written). Returns (exit code, stderr, files given).
fn interrupt_image_encode(
    out: &Path,
    files: &[PathBuf],
    times: usize,
    sig: i32,
    min_bytes: u64,
) -> (Option<i32>, String, usize) {
    let list: Vec<&str> = (0..times).flat_map(|_| files.iter().map(|p| path_str(p))).collect();
    let mut args = vec!["encode", path_str(out)];
    args.extend_from_slice(&list);
    let child = Command::new(BIN.as_str())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::fs::metadata(out).map_or(0, |m| m.len()) < min_bytes {
        assert!(start.elapsed().as_secs() < 120, "the output never grew");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    send_signal(&child, sig);
    let (status, stderr) = wait_exit(child, 120);
    (status, stderr, list.len())
}

#[test]
fn signal_while_encoding_image_files_keeps_the_frames_so_far() {
    let dir = TempDir::new("sig-images");
    let (w, h) = (160u32, 120u32);
    let src = gradients(w, h, 10);
    let files = write_images(&dir, &src, w, h, "png");

    let out = dir.join("out.mp4");
    let (status, stderr, given) = interrupt_image_encode(&out, &files, 300, libc::SIGINT, 1);
    assert_eq!(status, Some(130), "{stderr}");
    let n = interrupted_frames(&stderr, "SIGINT", &out) as usize;
    assert!(n < given, "{n} of {given} frames: the signal came too late to test anything");
    let kept: Vec<Vec<u8>> = (0..n).map(|i| src[i % src.len()].clone()).collect();
    check_kept_mp4(&out, &kept, w, h);

    // An animated GIF: finished the same way (palette, trailer), every frame kept playable.
    let out = dir.join("out.gif");
    let (status, stderr, given) = interrupt_image_encode(&out, &files, 300, libc::SIGTERM, 20_000);
    assert_eq!(status, Some(143), "{stderr}");
    let n = interrupted_frames(&stderr, "SIGTERM", &out) as usize;
    assert!(n < given, "{n} of {given} frames: the signal came too late to test anything");
    let (durations, frames, _) = gif_probe(&out);
    assert_eq!(frames as usize, n, "{durations:?}");
    let kept: Vec<Vec<u8>> = (0..n).map(|i| src[i % src.len()].clone()).collect();
    assert!(psnr(&kept, &gif_decode(&out), w, h, w, h) >= 30.0);
    assert_eq!(check_gif_probe(&out, 0), n as u64);
}

#[test]
fn second_signal_exits_at_once() {
    // Frames of noise at the slowest preset: finishing (flushing x264's lookahead) takes many
    // seconds, so the second Ctrl-C comes while the first one's finishing is under way.
    let (w, h) = (640usize, 480usize);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..w * h * 3 * 8)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let dir = TempDir::new("sig-twice");
    let out = dir.join("out.mp4");
    let mut child = spawn_encode(&["encode", path_str(&out), "--size", "640x480", "--preset", "placebo"]);
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(&noise).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    send_signal(&child, libc::SIGINT);
    std::thread::sleep(std::time::Duration::from_millis(300));
    send_signal(&child, libc::SIGINT);
    let start = std::time::Instant::now();
    let (status, stderr) = wait_exit(child, 60);
    drop(pipe);
    assert_eq!(status, Some(130), "{stderr}");
    // Ended by the second signal, not after finishing the file.
    assert!(!stderr.contains("interrupted"), "the first signal's finishing completed: {stderr}");
    assert!(start.elapsed().as_secs() < 10, "took {:?} after the second signal", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// repair, and writing onto an input under another name
// ---------------------------------------------------------------------------------------------

/// The MP4 a writer of `frames` (w x h, x264 at preset medium: B-frames) leaves when killed
/// after its last fragment (fragments of `frag` frames, never finished), and the file a clean
/// close of the same writer makes.
fn killed_and_closed(frames: &[Vec<u8>], w: u32, h: u32, frag: u32) -> (Vec<u8>, Vec<u8>) {
    use framepipe::testing::{ColorInfo, VideoEncoder, X264Encoder};
    use framepipe::testing::{Converter, Yuv420Image};
    use framepipe::testing::{Mp4Writer, VideoTrack};
    let opts = framepipe::EncodeOptions { threads: Some(1), ..Default::default() };
    let mut enc = X264Encoder::new(w, h, &opts).unwrap();
    let track = VideoTrack {
        width: w,
        height: h,
        fps: opts.fps,
        avc: enc.avc_config().clone(),
        color: ColorInfo::BT709_LIMITED,
    };
    let mut mux = Mp4Writer::new(std::io::Cursor::new(Vec::new()), track).unwrap();
    mux.set_fragment_frames(frag).unwrap();
    let mut conv = Converter::new([0, 0, 0]);
    let mut pic = Yuv420Image::new(w, h);
    for (i, f) in frames.iter().enumerate() {
        conv.convert(&framepipe::Frame::packed(f, w, h, framepipe::PixelFormat::Rgb24).unwrap(), &mut pic).unwrap();
        enc.send_frame(&pic, i as i64).unwrap();
        while let Some(p) = enc.receive_packet().unwrap() {
            mux.write_packet(&p).unwrap();
        }
    }
    enc.flush().unwrap();
    while let Some(p) = enc.receive_packet().unwrap() {
        mux.write_packet(&p).unwrap();
    }
    mux.write_fragment().unwrap();
    assert_eq!(mux.frames_on_disk(), frames.len() as u64);
    let killed = mux.get_mut().get_ref().clone();
    mux.finish().unwrap();
    (killed, mux.into_inner().into_inner())
}

/// Names in `dir` of framepipe's temporaries (and of the `.NAME.repair-PID` ones older
/// versions left).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".fp-tmp") || n.contains(".repair-"))
        .collect()
}

/// ffmpeg decodes `path` without a message, to `frames` pictures that match `src` (PSNR).
fn check_decodes(path: &Path, src: &[Vec<u8>], w: u32, h: u32, frames: usize) {
    let (decoded, messages) = ffmpeg_decode(
        path,
        &["-vf", "scale=in_color_matrix=bt709:in_range=tv:out_range=pc,format=rgb24", "-f", "rawvideo"],
    );
    assert_eq!(messages, "", "{}: ffmpeg complained", path.display());
    assert_eq!(decoded.len(), (w * h * 3) as usize * frames, "{}: decoded frames", path.display());
    let db = psnr(&src[..frames], &decoded, w, h, w, h);
    assert!(db >= 35.0, "{}: PSNR {db:.2}", path.display());
}

#[test]
fn encode_onto_an_input_image_is_refused_whatever_its_name() {
    // The output is one of the input images by another name: `./name` (an image named like a
    // video: images are decoded by content), a symlink, a hard link. Refused before anything
    // is written; the images keep their bytes and no temporary is left.
    let dir = TempDir::new("onto-input");
    let src = gradients(64, 48, 3);
    let pngs = write_images(&dir, &src, 64, 48, "png");
    let disguised = dir.join("frame.mp4");
    std::fs::copy(&pngs[1], &disguised).unwrap();
    let inputs = vec![pngs[0].clone(), disguised.clone(), pngs[2].clone()];
    std::os::unix::fs::symlink(&pngs[0], dir.join("link.mp4")).unwrap();
    std::fs::hard_link(&pngs[2], dir.join("hard.gif")).unwrap();
    let before: Vec<Vec<u8>> = inputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let dotted = dir.path().join(".").join("frame.mp4");
    for (output, frame) in [(dotted, 1), (dir.join("link.mp4"), 0), (dir.join("hard.gif"), 2)] {
        let r = encode_files(&output, &inputs, &[]);
        assert_eq!(r.code, Some(2), "{}: {}", output.display(), r.stderr);
        let want = format!(
            "the output {} is the same file as input image {} (frame {frame})",
            output.display(),
            inputs[frame].display()
        );
        assert!(r.stderr.contains(&want) && r.stderr.contains("name another output file"), "{}", r.stderr);
        let after: Vec<Vec<u8>> = inputs.iter().map(|p| std::fs::read(p).unwrap()).collect();
        assert!(after == before, "{}: an input image changed", output.display());
        assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
    }
    assert!(std::fs::symlink_metadata(dir.join("link.mp4")).unwrap().file_type().is_symlink());
    // Another output name is fine.
    let r = encode_files(&dir.join("out.mp4"), &inputs, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    check_video(&dir.join("out.mp4"), &Expect { width: 64, height: 48, frames: 3, fps: (30, 1) }, &src, 35.0);
}

#[test]
fn repair_onto_the_input_by_another_name_repairs_in_place_and_never_empties_it() {
    let dir = TempDir::new("repair-names");
    let (w, h) = (64, 48);
    let src = gradients(w, h, 40);
    let (killed, closed) = killed_and_closed(&src, w, h, 8);
    let repair = |input: &Path, output: &Path| {
        let r = run(&["repair", path_str(input), path_str(output)], &[]);
        assert_eq!(r.code, Some(0), "repair {} {}: {}", input.display(), output.display(), r.stderr);
        r.stdout
    };

    // An unfinished file, output spelt `dir/./a.mp4`: repaired in place.
    let a = dir.join("a.mp4");
    std::fs::write(&a, &killed).unwrap();
    let out = repair(&a, &dir.path().join(".").join("a.mp4"));
    assert!(out.contains("kept 40 frames of the 40 in whole fragments"), "{out}");
    assert!(std::fs::read(&a).unwrap() == closed, "the repaired file is what a clean close makes");
    check_decodes(&a, &src, w, h, 40);
    // Through a symlink to the input: the file it points to is repaired, the link stays.
    let b = dir.join("b.mp4");
    std::fs::write(&b, &killed).unwrap();
    std::os::unix::fs::symlink(&b, dir.join("link.mp4")).unwrap();
    repair(&b, &dir.join("link.mp4"));
    assert!(std::fs::read(&b).unwrap() == closed);
    assert!(std::fs::symlink_metadata(dir.join("link.mp4")).unwrap().file_type().is_symlink());
    // Through a hard link: the repaired file goes to the output's name; the input's name keeps
    // the input's bytes (a file is replaced by name, never written into).
    let c = dir.join("c.mp4");
    std::fs::write(&c, &killed).unwrap();
    std::fs::hard_link(&c, dir.join("hard.mp4")).unwrap();
    repair(&c, &dir.join("hard.mp4"));
    assert!(std::fs::read(dir.join("hard.mp4")).unwrap() == closed);
    assert!(std::fs::read(&c).unwrap() == killed);

    // A finished file onto itself by the same three names: nothing to do, nothing emptied.
    let f = dir.join("f.mp4");
    std::fs::write(&f, &closed).unwrap();
    std::os::unix::fs::symlink(&f, dir.join("flink.mp4")).unwrap();
    std::fs::hard_link(&f, dir.join("fhard.mp4")).unwrap();
    for output in [dir.path().join(".").join("f.mp4"), dir.join("flink.mp4"), dir.join("fhard.mp4")] {
        let out = repair(&f, &output);
        assert!(out.contains("already a finished MP4 (40 frames); nothing to repair, left as it was"), "{out}");
        assert!(std::fs::read(&f).unwrap() == closed, "{}", output.display());
        assert!(std::fs::read(dir.join("fhard.mp4")).unwrap() == closed);
    }
    // Without an output: in place; to another file: copied.
    let out = repair(&f, &dir.join("copy.mp4"));
    assert!(out.contains("copied to"), "{out}");
    assert!(std::fs::read(dir.join("copy.mp4")).unwrap() == closed);
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
}

#[test]
fn repair_of_a_finished_file_cut_short_keeps_the_frames_it_holds() {
    // A finished file cut inside its media data: the index lists 40 frames, fewer are in the
    // file. Repair makes a clean file of those (no gap in presentation), says how many, and
    // ffmpeg decodes it without a message to the source's first frames.
    let dir = TempDir::new("repair-cut");
    let (w, h) = (64, 48);
    let src = gradients(w, h, 40);
    let (_, closed) = killed_and_closed(&src, w, h, 8);
    // Cuts between the end of the first frame (the keyframe, most of the bytes) and the end.
    let mdat = closed.windows(4).position(|b| b == b"mdat").unwrap() + 12;
    let mut demux = framepipe::testing::Mp4Demuxer::new(std::io::Cursor::new(&closed)).unwrap();
    let first_end = mdat + demux.read_packet().unwrap().unwrap().data.len();
    let cut_file = dir.join("cut.mp4");
    let fixed = dir.join("fixed.mp4");
    for fraction in [0.1, 0.35, 0.6, 0.85, 0.99] {
        let cut = first_end + ((closed.len() - first_end) as f64 * fraction) as usize;
        std::fs::write(&cut_file, &closed[..cut]).unwrap();
        let r = run(&["repair", path_str(&cut_file), path_str(&fixed)], &[]);
        assert_eq!(r.code, Some(0), "cut {cut}: {}", r.stderr);
        assert!(r.stdout.contains("is a finished MP4 cut short, its index lists 40 frames"), "{}", r.stdout);
        let kept: usize = r.stdout.split("kept ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!((1..40).contains(&kept), "cut {cut}: {}", r.stdout);
        check_decodes(&fixed, &src, w, h, kept);
        assert_eq!(field(&ffprobe(&fixed), "nb_read_frames"), kept.to_string());
        let p = run_ok(&["probe", "--json", path_str(&fixed)], &[]);
        let j = p.stdout.replace(char::is_whitespace, "");
        assert!(j.contains(&format!("\"frame_count\":{kept},\"frames_present\":{kept},\"truncated\":false")), "{j}");
        // In place, the same.
        let r = run(&["repair", path_str(&cut_file)], &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(std::fs::read(&cut_file).unwrap() == std::fs::read(&fixed).unwrap());
    }
    assert!(leftovers(dir.path()).is_empty());
}
