//! The encoder-alone limit for bench/bench_engine.py: x264 + the MP4 muxer on pictures that are
//! already YUV 4:2:0, with no colour conversion in the timed loop.
//!
//! ```sh
//! cargo build --release --example encode_yuv -p framepipe
//! # once, untimed: RGB frames -> yuv420p with framepipe's own BT.709 conversion
//! target/release/examples/encode_yuv convert --size 1280x720 frames.rgb frames.yuv
//! # timed: read each yuv420p frame from the file, encode, mux; prints one JSON line
//! target/release/examples/encode_yuv encode --size 1280x720 --crf 23 --preset medium frames.yuv out.mp4
//! # the effective x264 settings framepipe's encoder uses (x264's own options string)
//! target/release/examples/encode_yuv x264-options --size 1280x720 --crf 23 --preset medium
//! ```
//!
//! `encode` reads the frames from the file (normally in the page cache) on a reader thread, a few
//! frames ahead of the encoder (as framepipe's pipeline converts on the caller's thread ahead of
//! its encoder thread), so x264 never waits for input; the reader's time is reported as `read_s`.

use framepipe::options::{EncodeOptions, RateControl};
use framepipe::testing::Mp4Writer;
use framepipe::testing::VideoTrack;
use framepipe::testing::X264Encoder;
use framepipe::testing::{ColorInfo, VideoEncoder};
use framepipe::testing::{Converter, Yuv420Image};
use framepipe::{Frame, PixelFormat, Preset, Rational, Tune};
use std::ffi::{c_int, c_long};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

type AnyResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[repr(C)]
struct Timeval {
    sec: c_long,
    usec: c_long,
}

/// `struct rusage` (Linux): two timevals, then 14 longs (ru_maxrss first).
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [c_long; 14],
}

extern "C" {
    fn getrusage(who: c_int, usage: *mut Rusage) -> c_int;
}

/// (user seconds, system seconds, peak RSS in KiB) of this process so far.
fn rusage() -> (f64, f64, c_long) {
    let mut r = Rusage { utime: Timeval { sec: 0, usec: 0 }, stime: Timeval { sec: 0, usec: 0 }, rest: [0; 14] };
    // SAFETY: RUSAGE_SELF (0) with a correctly laid out struct rusage.
    unsafe { getrusage(0, &mut r) };
    let t = |tv: &Timeval| tv.sec as f64 + tv.usec as f64 * 1e-6;
    (t(&r.utime), t(&r.stime), r.rest[0])
}

struct Args {
    cmd: String,
    width: u32,
    height: u32,
    opts: EncodeOptions,
    frames: Option<u64>,
    paths: Vec<PathBuf>,
}

fn parse_args() -> AnyResult<Args> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or("usage: encode_yuv convert|encode|x264-options [options] paths...")?;
    let mut a = Args { cmd, width: 1280, height: 720, opts: EncodeOptions::default(), frames: None, paths: vec![] };
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--size" => {
                let v = val()?;
                let (w, h) = v.split_once('x').ok_or("--size is WxH")?;
                (a.width, a.height) = (w.parse()?, h.parse()?);
            }
            "--fps" => a.opts.fps = Rational::new(val()?.parse()?, 1)?,
            "--crf" => a.opts.rate = RateControl::Crf(val()?.parse()?),
            "--preset" => a.opts.preset = val()?.parse::<Preset>()?,
            "--tune" => a.opts.tune = Some(val()?.parse::<Tune>()?),
            "--threads" => a.opts.threads = Some(val()?.parse()?),
            "--frames" => a.frames = Some(val()?.parse()?),
            s if s.starts_with("--") => return Err(format!("unknown option {s}").into()),
            _ => a.paths.push(arg.into()),
        }
    }
    Ok(a)
}

/// RGB24 frames -> yuv420p frames with framepipe's converter (BT.709, limited range); prints the
/// time spent converting.
fn convert(a: &Args) -> AnyResult<()> {
    let [rgb, yuv] = &a.paths[..] else {
        return Err("convert needs IN.rgb OUT.yuv".into());
    };
    let mut input = std::io::BufReader::new(File::open(rgb)?);
    let mut out = BufWriter::new(File::create(yuv)?);
    let mut buf = vec![0u8; (a.width * a.height * 3) as usize];
    let mut pic = Yuv420Image::new(a.width, a.height);
    let mut conv = Converter::new([0, 0, 0]);
    let mut n = 0u64;
    let mut convert_s = 0.0;
    while a.frames.is_none_or(|f| n < f) && read_full(&mut input, &mut buf)? {
        let frame = Frame::packed(&buf, a.width, a.height, PixelFormat::Rgb24)?;
        let tc = Instant::now();
        conv.convert(&frame, &mut pic)?;
        convert_s += tc.elapsed().as_secs_f64();
        out.write_all(&pic.y)?;
        out.write_all(&pic.u)?;
        out.write_all(&pic.v)?;
        n += 1;
    }
    out.flush()?;
    // convert_s: time spent in framepipe's converter alone (file I/O excluded).
    println!("{{\"frames\": {n}, \"convert_s\": {convert_s:.4}}}");
    Ok(())
}

/// Fill `buf` completely; false at a clean end of input.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> AnyResult<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 if got == 0 => return Ok(false),
            0 => return Err("input ends in the middle of a frame".into()),
            k => got += k,
        }
    }
    Ok(true)
}

/// Timed: yuv420p frames from a file -> X264Encoder -> Mp4Writer. A reader thread reads the
/// frames ahead (queue of 4, like framepipe's pipeline) so the encoder never waits for input.
fn encode(a: &Args) -> AnyResult<()> {
    let [yuv, mp4] = &a.paths[..] else {
        return Err("encode needs IN.yuv OUT.mp4".into());
    };
    let (u0, s0, _) = rusage();
    let t0 = Instant::now();
    let mut input = File::open(yuv)?;
    let mut encoder = X264Encoder::new(a.width, a.height, &a.opts)?;
    let track = VideoTrack {
        width: a.width,
        height: a.height,
        fps: a.opts.fps,
        avc: encoder.avc_config().clone(),
        color: ColorInfo::BT709_LIMITED,
    };
    let mut muxer = Mp4Writer::create(mp4, track)?;
    let (w, h, limit) = (a.width, a.height, a.frames);
    let (tx, rx) = mpsc::sync_channel::<Yuv420Image>(4);
    let (back_tx, back_rx) = mpsc::channel::<Yuv420Image>();
    let reader = std::thread::spawn(move || -> Result<f64, String> {
        let mut read_s = 0.0;
        let mut n = 0u64;
        while limit.is_none_or(|f| n < f) {
            let tr = Instant::now();
            let mut pic = back_rx.try_recv().unwrap_or_else(|_| Yuv420Image::new(w, h));
            let more = read_full(&mut input, &mut pic.y).map_err(|e| e.to_string())?;
            if more {
                read_full(&mut input, &mut pic.u).map_err(|e| e.to_string())?;
                read_full(&mut input, &mut pic.v).map_err(|e| e.to_string())?;
            }
            read_s += tr.elapsed().as_secs_f64();
            if !more || tx.send(pic).is_err() {
                break;
            }
            n += 1;
        }
        Ok(read_s)
    });
    let mut n = 0u64;
    for pic in rx.iter() {
        encoder.send_frame(&pic, n as i64)?;
        while let Some(p) = encoder.receive_packet()? {
            muxer.write_packet(&p)?;
        }
        let _ = back_tx.send(pic);
        n += 1;
    }
    let read_s = reader.join().map_err(|_| "reader thread panicked")??;
    encoder.flush()?;
    while let Some(p) = encoder.receive_packet()? {
        muxer.write_packet(&p)?;
    }
    muxer.finish()?;
    let bytes = muxer.bytes_written();
    drop(muxer);
    drop(encoder);
    let wall = t0.elapsed().as_secs_f64();
    let (u1, s1, maxrss) = rusage();
    println!(
        "{{\"frames\": {n}, \"bytes\": {bytes}, \"wall_s\": {wall:.4}, \"read_s\": {read_s:.4}, \
         \"user_s\": {:.4}, \"sys_s\": {:.4}, \"maxrss_kb\": {maxrss}}}",
        u1 - u0,
        s1 - s0
    );
    Ok(())
}

/// x264's options string for framepipe's settings: `X264Encoder` puts x264's SEI (version and
/// options) in front of the first packet, so encode one frame and read it from there.
fn x264_options(a: &Args) -> AnyResult<()> {
    let mut enc = X264Encoder::new(a.width, a.height, &a.opts)?;
    enc.send_frame(&Yuv420Image::new(a.width, a.height), 0)?;
    enc.flush()?;
    let first = enc.receive_packet()?.ok_or("x264 produced no packet")?;
    let text = String::from_utf8_lossy(&first.data);
    let start = text.find("x264 - core").ok_or("no x264 SEI in the first packet")?;
    let sei =
        text[start..].split(|c: char| c == '\0' || (!c.is_ascii_graphic() && c != ' ')).next().unwrap_or_default();
    println!("x264 build: {}", x264_sys::X264_BUILD);
    println!("{sei}");
    Ok(())
}

fn main() -> ExitCode {
    let res = parse_args().and_then(|a| match a.cmd.as_str() {
        "convert" => convert(&a),
        "encode" => encode(&a),
        "x264-options" => x264_options(&a),
        other => Err(format!("unknown command {other:?}").into()),
    });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("encode_yuv: {e}");
            ExitCode::FAILURE
        }
    }
}
