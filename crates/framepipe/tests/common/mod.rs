//! Helpers shared by the integration tests: scratch directories, the ffprobe/ffmpeg calls that
//! read every output back independently of framepipe, and PSNR.
//!
//! Used by `framepipe`'s tests (`mod common;` in tests/*.rs) and by `framepipe-cli`'s
//! (crates/framepipe-cli/tests/cli.rs, through `#[path]`), so it needs nothing but std.

// Each test file is a crate of its own and uses only some of these helpers: the others would
// be reported as dead code in that crate.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Set this environment variable (to anything) to keep the tests' scratch directories: each
/// one's path is printed as it is kept.
pub const KEEP_FILES_VAR: &str = "FRAMEPIPE_KEEP_TEST_FILES";

/// A scratch directory `framepipe-<name>-<pid>-<n>` in the system temp dir, a fresh one per
/// call (tests run in parallel threads of one process), removed with everything in it when
/// dropped, unless `FRAMEPIPE_KEEP_TEST_FILES` is set.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("framepipe-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A file (or directory) name inside the scratch directory.
    pub fn join(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Written to stderr directly: the test harness captures `eprintln!` of passing tests.
        let mut err = std::io::stderr();
        if std::env::var_os(KEEP_FILES_VAR).is_some() {
            let _ = writeln!(err, "{KEEP_FILES_VAR} is set: keeping {}", self.0.display());
            return;
        }
        if std::thread::panicking() {
            let _ = writeln!(err, "removing {} (set {KEEP_FILES_VAR}=1 to keep it)", self.0.display());
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run an external tool (ffmpeg, ffprobe) to completion; fails the test, with the tool's
/// messages, if it cannot be started or exits with an error.
pub fn run_tool(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e} (ffmpeg and ffprobe are installed by scripts/setup.sh)"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// ffprobe's output for the first video stream of `path` (frames counted by decoding them):
/// `entries` as `-show_entries`, in the output format `of`.
pub fn ffprobe_text(path: &Path, entries: &str, of: &str) -> String {
    let out = run_tool(
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", entries, "-of", of])
            .arg(path),
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `ffprobe_text` as key → value (`-of default=noprint_wrappers=1`: keys without their
/// section, so a key in two sections keeps the last one's value).
pub fn ffprobe(path: &Path, entries: &str) -> HashMap<String, String> {
    key_values(&ffprobe_text(path, entries, "default=noprint_wrappers=1"))
}

/// `ffprobe_text` as key → value with `-of flat` keys (`streams.stream.0.width`,
/// `format.duration`), values unquoted.
pub fn ffprobe_flat(path: &Path, entries: &str) -> HashMap<String, String> {
    key_values(&ffprobe_text(path, entries, "flat"))
}

fn key_values(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// The value ffprobe gave for `key`; fails the test if it gave none.
pub fn field<'a>(probe: &'a HashMap<String, String>, key: &str) -> &'a str {
    probe.get(key).map(String::as_str).unwrap_or_else(|| panic!("ffprobe gave no {key}: {probe:?}"))
}

/// What ffprobe says about the first video stream of a file.
#[derive(Debug)]
pub struct Facts {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Decoded frames (`nb_read_frames`).
    pub frames: u64,
    /// `r_frame_rate`, as ffprobe writes it (`30000/1001`).
    pub rate: String,
    /// The container's duration in seconds.
    pub duration: f64,
}

pub fn probe_facts(path: &Path) -> Facts {
    let p = ffprobe(path, "stream=codec_name,width,height,nb_read_frames,r_frame_rate:format=duration");
    Facts {
        codec: field(&p, "codec_name").to_string(),
        width: field(&p, "width").parse().unwrap(),
        height: field(&p, "height").parse().unwrap(),
        frames: field(&p, "nb_read_frames").parse().unwrap(),
        rate: field(&p, "r_frame_rate").to_string(),
        duration: field(&p, "duration").parse().unwrap(),
    }
}

/// ffmpeg's output options for packed RGB24 pictures on stdout.
pub const RAW_RGB24: [&str; 4] = ["-f", "rawvideo", "-pix_fmt", "rgb24"];

/// Decode every picture of `path` with ffmpeg (`-v error`), `output_args` placed before the
/// output `-` (stdout): (the pictures, what ffmpeg complained about). Fails the test if ffmpeg
/// fails.
pub fn ffmpeg_decode(path: &Path, output_args: &[&str]) -> (Vec<u8>, String) {
    let out = run_tool(Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(path).args(output_args).arg("-"));
    let messages = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.stdout, messages)
}

/// Every picture of `path` decoded by ffmpeg as packed RGB24, with ffmpeg's default conversion.
pub fn decode_rgb(path: &Path) -> Vec<u8> {
    ffmpeg_decode(path, &RAW_RGB24).0
}

/// PSNR in dB of 8-bit samples `a` against `b` (same length); infinite if they are equal.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}
