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

use framepipe::color::{Converter, Yuv420Image};
use framepipe::encode::x264::X264Encoder;
use framepipe::encode::{ColorInfo, VideoEncoder};
use framepipe::mux::mp4::Mp4Writer;
use framepipe::mux::{Muxer, VideoTrack};
use framepipe::options::{EncodeOptions, RateControl};
use framepipe::{Frame, PixelFormat, Preset, Rational, Tune};
use std::ffi::{c_int, c_long, CString};
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
    let mut r = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        rest: [0; 14],
    };
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
    let cmd = it
        .next()
        .ok_or("usage: encode_yuv convert|encode|x264-options [options] paths...")?;
    let mut a = Args {
        cmd,
        width: 1280,
        height: 720,
        opts: EncodeOptions::default(),
        frames: None,
        paths: vec![],
    };
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

/// x264's options string (its version SEI) for the parameters framepipe's `X264Encoder::new`
/// sets. The parameter set-up below mirrors encode/x264.rs; the SPS and PPS it yields are
/// compared with `X264Encoder`'s so that a drift between the two is reported, not hidden.
fn x264_options(a: &Args) -> AnyResult<()> {
    use x264_sys as sys;
    let opts = &a.opts;
    let enc = X264Encoder::new(a.width, a.height, opts)?;
    let theirs = enc.avc_config().clone();
    drop(enc);
    // SAFETY: plain C structs and calls as in encode/x264.rs; every pointer outlives its call.
    unsafe {
        let mut p: sys::x264_param_t = std::mem::zeroed();
        let preset = CString::new(opts.preset.as_str())?;
        let tune = opts.tune.map(|t| CString::new(t.as_str())).transpose()?;
        if sys::x264_param_default_preset(
            &mut p,
            preset.as_ptr(),
            tune.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
        ) < 0
        {
            return Err("preset refused".into());
        }
        p.i_log_level = sys::X264_LOG_ERROR as c_int;
        p.i_threads = opts.threads.map_or(0, |t| t as c_int);
        p.i_width = a.width as c_int;
        p.i_height = a.height as c_int;
        p.i_csp = sys::X264_CSP_I420 as c_int;
        p.i_bitdepth = 8;
        p.i_fps_num = opts.fps.num;
        p.i_fps_den = opts.fps.den;
        p.i_timebase_num = opts.fps.den;
        p.i_timebase_den = opts.fps.num;
        p.b_vfr_input = 0;
        p.b_repeat_headers = 0;
        p.b_annexb = 0;
        p.b_aud = 0;
        match opts.rate {
            RateControl::Crf(c) => {
                p.rc.i_rc_method = sys::X264_RC_CRF as c_int;
                p.rc.f_rf_constant = c;
            }
            RateControl::BitrateKbps(b) => {
                p.rc.i_rc_method = sys::X264_RC_ABR as c_int;
                p.rc.i_bitrate = b as c_int;
            }
        }
        p.vui.i_colorprim = 1;
        p.vui.i_transfer = 1;
        p.vui.i_colmatrix = 1;
        p.vui.b_fullrange = 0;
        p.vui.i_sar_width = 1;
        p.vui.i_sar_height = 1;
        let high = CString::new("high")?;
        if sys::x264_param_apply_profile(&mut p, high.as_ptr()) < 0 {
            return Err("profile refused".into());
        }
        let h = sys::x264_encoder_open(&mut p);
        if h.is_null() {
            return Err("x264_encoder_open failed".into());
        }
        let mut nals: *mut sys::x264_nal_t = std::ptr::null_mut();
        let mut n: c_int = 0;
        let rc = sys::x264_encoder_headers(h, &mut nals, &mut n);
        let mut sei = String::new();
        let (mut sps, mut pps) = (vec![], vec![]);
        if rc >= 0 && !nals.is_null() {
            for nal in std::slice::from_raw_parts(nals, n as usize) {
                let body = std::slice::from_raw_parts(nal.p_payload, nal.i_payload as usize)[4..].to_vec();
                match nal.i_type {
                    7 => sps.push(body),
                    8 => pps.push(body),
                    6 => {
                        let text = String::from_utf8_lossy(&body);
                        if let Some(i) = text.find("x264 - core") {
                            sei = text[i..]
                                .trim_end_matches(|c: char| c == '\0' || !c.is_ascii_graphic() && c != ' ')
                                .to_string();
                        }
                    }
                    _ => {}
                }
            }
        }
        sys::x264_encoder_close(h);
        let same = sps == theirs.sps && pps == theirs.pps;
        println!("x264 build: {}", sys::X264_BUILD);
        println!("SPS/PPS identical to framepipe's X264Encoder: {same}");
        println!("{sei}");
        if !same {
            return Err("the mirrored parameters differ from encode/x264.rs: update this example".into());
        }
    }
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
