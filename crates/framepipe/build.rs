//! Links FFmpeg's native AAC encoder: compiles `csrc/aac_shim.c` (the only C that touches
//! libavcodec) and links the minimal static libavcodec + libavutil that
//! `scripts/build-codecs.sh ffmpeg-aac` builds from FFmpeg's pinned source (the aac encoder and
//! nothing else). Where they are: the directory in `FRAMEPIPE_FFMPEG_DIR`, which the checkout's
//! `.cargo/config.toml` sets to `target/codecs/ffmpeg-aac` (the link build-codecs.sh keeps to its
//! newest build) and scripts/build-wheel.sh and the Python build backend set to the build they
//! made. Development builds and the wheel link the same archives.

use std::env;
use std::path::{Path, PathBuf};

const HOWTO: &str = "run `scripts/build-codecs.sh ffmpeg-aac` in the framepipe checkout (or `scripts/setup.sh`, \
                     which runs it): it builds FFmpeg's AAC encoder from its pinned source into target/codecs/ \
                     (once, about a minute; needs nasm, curl and make), and .cargo/config.toml points \
                     FRAMEPIPE_FFMPEG_DIR there";

fn main() {
    println!("cargo:rerun-if-env-changed=FRAMEPIPE_FFMPEG_DIR");
    println!("cargo:rerun-if-changed=csrc/aac_shim.c");
    let dir = match env::var_os("FRAMEPIPE_FFMPEG_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => fail("FRAMEPIPE_FFMPEG_DIR is not set"),
    };
    let lib = dir.join("lib");
    let include = dir.join("include");
    let archives = [lib.join("libavcodec.a"), lib.join("libavutil.a")];
    for a in &archives {
        if !a.is_file() {
            fail(&format!("{} does not exist", a.display()));
        }
        // The link may move to a new build (a new recipe or FFmpeg version): relink then.
        println!("cargo:rerun-if-changed={}", a.display());
    }
    if !include.join("libavcodec/avcodec.h").is_file() {
        fail(&format!("{} has no libavcodec/avcodec.h", include.display()));
    }
    let source = dir.join("SOURCE");
    println!("cargo:rerun-if-changed={}", source.display());
    check_source(&source);

    cc::Build::new()
        .file("csrc/aac_shim.c")
        .include(&include)
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .compile("framepipe_aac_shim");
    // Static archives, in dependency order; then what they need from libc. No -latomic (which
    // libavcodec.pc lists): x86-64 needs none of libatomic, and manylinux does not allow it.
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=static=avcodec");
    println!("cargo:rustc-link-lib=static=avutil");
    println!("cargo:rustc-link-lib=dylib=m");
    println!("cargo:rustc-link-lib=dylib=pthread");
}

/// The build must be of the FFmpeg this source expects (the SOURCE file build-codecs.sh writes).
fn check_source(source: &Path) {
    let text = std::fs::read_to_string(source)
        .unwrap_or_else(|e| fail(&format!("{} cannot be read ({e}): the build is incomplete", source.display())));
    let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").trim().to_string();
    if field("name=") != "ffmpeg-aac" || field("version=") != "7.1.5" {
        fail(&format!(
            "{} describes {:?} {:?}, not ffmpeg-aac 7.1.5",
            source.display(),
            field("name="),
            field("version=")
        ));
    }
}

/// Stops the build with the reason and what to run (cargo prints `cargo::error` lines as errors).
fn fail(why: &str) -> ! {
    println!(
        "cargo::error=framepipe links FFmpeg's AAC encoder from a static build made by scripts/build-codecs.sh, and {why}."
    );
    println!("cargo::error=To fix: {HOWTO}.");
    std::process::exit(1);
}
