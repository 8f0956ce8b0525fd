//! H.264 through libx264, linked in-process (`x264-sys` against Debian's `libx264-dev`).
//!
//! Unsafe code (allowed for this module only, in `encode/mod.rs`; the crate denies it): the FFI
//! calls into libx264 and the log callback that captures x264's messages so that errors carry
//! x264's own words, each block with its reason.

use super::{AvcConfig, ColorInfo, Packet, VideoEncoder};
use crate::color::Yuv420Image;
use crate::error::{Error, Result};
use crate::options::{EncodeOptions, RateControl};
use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;
use std::sync::Mutex;
use x264_sys as sys;

/// x264's log lines at error level, captured per encoder (x264 may log from its own threads).
type LogSink = Mutex<Vec<String>>;

#[cfg(target_arch = "x86_64")]
mod log {
    use super::*;
    extern "C" {
        fn vsnprintf(buf: *mut c_char, n: usize, fmt: *const c_char, ap: *mut sys::__va_list_tag) -> c_int;
    }
    /// x264's `pf_log`: format the message and keep it in the encoder's `LogSink`.
    pub(super) unsafe extern "C" fn capture(
        private: *mut c_void,
        _level: c_int,
        fmt: *const c_char,
        ap: *mut sys::__va_list_tag,
    ) {
        let mut buf = [0 as c_char; 1024];
        // SAFETY: x264 passes its printf-style format and the matching va_list; buf is large
        // enough and vsnprintf always NUL-terminates within `n`.
        let msg = unsafe {
            vsnprintf(buf.as_mut_ptr(), buf.len(), fmt, ap);
            CStr::from_ptr(buf.as_ptr()).to_string_lossy().trim().to_string()
        };
        // SAFETY: `private` is the `LogSink` boxed by the encoder, which outlives the handle.
        let sink = unsafe { &*(private as *const LogSink) };
        if let Ok(mut v) = sink.lock() {
            v.push(msg);
        }
    }
    pub(super) fn install(param: &mut sys::x264_param_t, sink: *const LogSink) {
        param.pf_log = Some(capture);
        param.p_log_private = sink as *mut c_void;
    }
}
#[cfg(not(target_arch = "x86_64"))]
mod log {
    // Elsewhere x264 logs to standard error itself; errors then say less.
    pub(super) fn install(_param: &mut super::sys::x264_param_t, _sink: *const super::LogSink) {}
}

/// An x264 encoder producing High-profile (at most: x264 signals a lower profile when a preset
/// such as ultrafast uses no High-only tools), yuv420p, BT.709-tagged H.264 in AVCC
/// (length-prefixed) form, with timestamps in frame units.
pub struct X264Encoder {
    handle: *mut sys::x264_t,
    avc: AvcConfig,
    width: u32,
    height: u32,
    pending: VecDeque<Packet>,
    /// x264's SEI NAL (its version and option string, length-prefixed), put in front of the
    /// first packet as ffmpeg does, so `strings out.mp4 | grep x264` shows the settings.
    sei: Option<Vec<u8>>,
    // Boxed so its address stays put while x264 holds a pointer to it.
    log: Box<LogSink>,
}

// SAFETY: the x264 handle is only used through &mut self, from one thread at a time; x264 does
// not tie an encoder to the thread that opened it.
unsafe impl Send for X264Encoder {}

impl Drop for X264Encoder {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            // SAFETY: the handle came from x264_encoder_open and is closed exactly once.
            unsafe { sys::x264_encoder_close(self.handle) };
        }
    }
}

fn cstring(s: &str) -> CString {
    CString::new(s).expect("option names have no NUL bytes")
}

impl X264Encoder {
    /// Open an encoder for pictures of `width`x`height` (both even) with the given options.
    pub fn new(width: u32, height: u32, opts: &EncodeOptions) -> Result<Self> {
        opts.validate()?;
        if !width.is_multiple_of(2) || !height.is_multiple_of(2) || width == 0 || height == 0 {
            return Err(Error::parameter(format!("x264 needs an even picture size, got {width}x{height}")));
        }
        let log: Box<LogSink> = Box::new(Mutex::new(Vec::new()));
        let take_log = |log: &LogSink| -> String {
            let v = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
            if v.is_empty() {
                String::new()
            } else {
                format!(": {}", v.join("; "))
            }
        };

        // SAFETY: x264_param_t is a plain C struct; x264_param_default_preset fills every field.
        let mut p: sys::x264_param_t = unsafe { std::mem::zeroed() };
        let preset = cstring(opts.preset.as_str());
        let tune = opts.tune.map(|t| cstring(t.as_str()));
        // SAFETY: p is a valid param struct; the strings are NUL-terminated and outlive the call.
        let rc = unsafe {
            sys::x264_param_default_preset(&mut p, preset.as_ptr(), tune.as_ref().map_or(ptr::null(), |t| t.as_ptr()))
        };
        if rc < 0 {
            return Err(Error::encoder(format!(
                "x264 refused preset {:?} with tune {:?}",
                opts.preset.as_str(),
                opts.tune.map(|t| t.as_str())
            )));
        }
        // Never x264's AVX-512 code. Its `mbtree_propagate_list` (x264 0.164, common/x86/mc-a2.asm)
        // processes a row of lowres macroblocks 8 at a time with no bound check on the last group,
        // so where the width in 16-pixel macroblocks is not a multiple of 8 it scatters costs from
        // entries past the row's end: in the last row, the allocation's alignment padding, which
        // holds whatever the heap held before. The macroblock tree, and with it every frame's
        // quantisers, then depended on what the process had done earlier (tests/test_determinism.py).
        // The SSSE3/AVX/AVX2 versions stop at the row's end, and x264 gains little from AVX-512.
        p.cpu &= !sys::X264_CPU_AVX512;
        log::install(&mut p, &*log);
        p.i_log_level = sys::X264_LOG_ERROR as c_int;
        p.i_threads = opts.threads.map_or(0, |t| t as c_int); // 0 = X264_THREADS_AUTO
        p.i_width = width as c_int;
        p.i_height = height as c_int;
        p.i_csp = sys::X264_CSP_I420 as c_int;
        p.i_bitdepth = 8;
        p.i_fps_num = opts.fps.num;
        p.i_fps_den = opts.fps.den;
        // Timestamps are frame indices: one tick per frame.
        p.i_timebase_num = opts.fps.den;
        p.i_timebase_den = opts.fps.num;
        p.b_vfr_input = 0;
        p.b_repeat_headers = 0; // SPS/PPS go into avcC
        p.b_annexb = 0; // 4-byte NAL length prefixes, as MP4 wants
        p.b_aud = 0;
        if let Some(k) = opts.keyint {
            p.i_keyint_max = k as c_int;
            // x264's minimum stays automatic (keyint/10) unless it would exceed the maximum.
            if p.i_keyint_min > k as c_int {
                p.i_keyint_min = k as c_int;
            }
        }
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
        let color = ColorInfo::BT709_LIMITED;
        p.vui.i_colorprim = color.primaries as c_int;
        p.vui.i_transfer = color.transfer as c_int;
        p.vui.i_colmatrix = color.matrix as c_int;
        p.vui.b_fullrange = color.full_range as c_int;
        p.vui.i_sar_width = 1;
        p.vui.i_sar_height = 1;

        // x264 treats crf below 1 as lossless, which High profile refuses; x264 says so on
        // stderr through its internal logger (not pf_log), so check here and say it ourselves.
        if let RateControl::Crf(c) = opts.rate {
            if c < 1.0 {
                return Err(Error::encoder(format!(
                    "x264 refused crf {c} with profile \"high\": crf below 1 is lossless, and high profile \
                     doesn't support lossless; use crf 1 or more"
                )));
            }
        }
        let high = cstring("high");
        // SAFETY: valid param struct and NUL-terminated profile name.
        if unsafe { sys::x264_param_apply_profile(&mut p, high.as_ptr()) } < 0 {
            // x264_param_apply_profile logs to stderr itself, not through pf_log: say its reason.
            return Err(Error::encoder(format!("x264 refused profile \"high\"{}", take_log(&log))));
        }
        // SAFETY: p is fully initialised; x264 copies what it needs.
        let handle = unsafe { sys::x264_encoder_open(&mut p) };
        if handle.is_null() {
            return Err(Error::encoder(format!(
                "x264 could not open an encoder for {width}x{height} (preset {}, {:?}){}",
                opts.preset,
                opts.rate,
                take_log(&log)
            )));
        }
        let mut enc = X264Encoder {
            handle,
            avc: AvcConfig { sps: vec![], pps: vec![] },
            width,
            height,
            pending: VecDeque::new(),
            sei: None,
            log,
        };
        let mut nals: *mut sys::x264_nal_t = ptr::null_mut();
        let mut n: c_int = 0;
        // SAFETY: handle is open; x264 points `nals` at `n` NAL descriptors it owns.
        let rc = unsafe { sys::x264_encoder_headers(enc.handle, &mut nals, &mut n) };
        if rc < 0 || nals.is_null() {
            return Err(enc.error("x264 could not produce SPS/PPS headers"));
        }
        // SAFETY: x264 guarantees `n` valid descriptors whose payloads live until the next call.
        let nals = unsafe { std::slice::from_raw_parts(nals, n as usize) };
        for nal in nals {
            // SAFETY: as above; payload is i_payload bytes, starting with a 4-byte length prefix.
            let payload = unsafe { std::slice::from_raw_parts(nal.p_payload, nal.i_payload as usize) };
            let body = payload[4..].to_vec();
            match nal.i_type {
                7 => enc.avc.sps.push(body),
                8 => enc.avc.pps.push(body),
                6 => enc.sei = Some(payload.to_vec()),
                _ => {}
            }
        }
        if enc.avc.sps.is_empty() || enc.avc.pps.is_empty() || enc.avc.sps[0].len() < 4 {
            return Err(Error::encoder("x264 returned no SPS/PPS"));
        }
        Ok(enc)
    }

    fn error(&self, what: &str) -> Error {
        let msgs = std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()));
        if msgs.is_empty() {
            Error::encoder(what.to_string())
        } else {
            Error::encoder(format!("{what}: {}", msgs.join("; ")))
        }
    }

    /// Run one x264_encoder_encode call (a picture, or null to drain) and queue its output.
    fn encode(&mut self, pic_in: Option<&mut sys::x264_picture_t>) -> Result<()> {
        let mut nals: *mut sys::x264_nal_t = ptr::null_mut();
        let mut n: c_int = 0;
        // SAFETY: x264_picture_t is plain data; x264 fills pic_out.
        let mut pic_out: sys::x264_picture_t = unsafe { std::mem::zeroed() };
        let pin = pic_in.map_or(ptr::null_mut(), |p| p as *mut _);
        // SAFETY: handle is open; pin is null or a picture whose planes are valid for this call
        // (x264 copies the input picture before returning).
        let size = unsafe { sys::x264_encoder_encode(self.handle, &mut nals, &mut n, pin, &mut pic_out) };
        if size < 0 {
            return Err(self.error("x264 failed to encode a frame"));
        }
        if size > 0 && n > 0 {
            // SAFETY: with b_annexb=0 the `size` bytes of all NALs are contiguous from the first
            // payload and stay valid until the next encoder call; we copy them out now.
            let bytes = unsafe { std::slice::from_raw_parts((*nals).p_payload, size as usize) };
            let data = match self.sei.take() {
                Some(mut sei) => {
                    sei.extend_from_slice(bytes);
                    sei
                }
                None => bytes.to_vec(),
            };
            self.pending.push_back(Packet {
                data,
                pts: pic_out.i_pts,
                dts: pic_out.i_dts,
                keyframe: pic_out.b_keyframe != 0,
            });
        }
        Ok(())
    }
}

/// Which x264 encodes: `core` and `version` of the library this process runs, as that library
/// writes them into every stream (its version SEI, "x264 - core 164 r3095 baee400 - ..."), and
/// the version of the headers the engine was compiled against (`x264_config.h`), which the
/// library in use may differ from only where it is a shared library replaced since the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X264BuildInfo {
    /// X264_BUILD of the running library (its API number, "core 164").
    pub core: u32,
    /// The running library's version as X264_POINTVER spells it: "0.164.3095 baee400".
    pub version: String,
    /// X264_BUILD of the headers the engine was compiled against.
    pub compiled_core: u32,
    /// X264_POINTVER of the headers the engine was compiled against.
    pub compiled_version: String,
}

/// The x264 this process encodes with (see [`X264BuildInfo`]). The first call opens a 16x16
/// encoder to read the library's version SEI (about a millisecond); later calls reuse the answer.
pub fn build_info() -> Result<X264BuildInfo> {
    static INFO: std::sync::OnceLock<std::result::Result<X264BuildInfo, String>> = std::sync::OnceLock::new();
    let info = INFO.get_or_init(|| {
        let opts =
            EncodeOptions { preset: crate::options::Preset::Ultrafast, threads: Some(1), ..EncodeOptions::default() };
        let enc = X264Encoder::new(16, 16, &opts).map_err(|e| e.to_string())?;
        let sei = enc.sei.as_deref().unwrap_or_default();
        let (core, version) = parse_version_sei(sei).ok_or("x264 wrote no version SEI")?;
        let compiled_version =
            CStr::from_bytes_with_nul(sys::X264_POINTVER).map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        Ok(X264BuildInfo { core, version, compiled_core: sys::X264_BUILD, compiled_version })
    });
    info.clone().map_err(Error::encoder)
}

/// Core number and X264_POINTVER-style version from x264's version SEI, whose text is
/// "x264 - core {X264_BUILD}{X264_VERSION} - H.264/MPEG-4 AVC codec - ..." with X264_VERSION
/// " r{revision} {commit}", while X264_POINTVER is "0.{X264_BUILD}.{revision} {commit}".
fn parse_version_sei(sei: &[u8]) -> Option<(u32, String)> {
    const TAG: &[u8] = b"x264 - core ";
    let at = sei.windows(TAG.len()).position(|w| w == TAG)? + TAG.len();
    let rest = &sei[at..];
    let end = rest.windows(3).position(|w| w == b" - ")?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    let (core, version) = text.split_once(' ')?;
    let core: u32 = core.parse().ok()?;
    let version = version.trim().strip_prefix('r')?;
    Some((core, format!("0.{core}.{version}")))
}

impl VideoEncoder for X264Encoder {
    fn avc_config(&self) -> &AvcConfig {
        &self.avc
    }

    fn send_frame(&mut self, picture: &Yuv420Image, pts: i64) -> Result<()> {
        if (picture.width, picture.height) != (self.width, self.height) {
            return Err(Error::parameter(format!(
                "picture is {}x{}, encoder was opened for {}x{}",
                picture.width, picture.height, self.width, self.height
            )));
        }
        // SAFETY: plain data, initialised by x264_picture_init.
        let mut pic: sys::x264_picture_t = unsafe { std::mem::zeroed() };
        // SAFETY: pic is a valid picture struct.
        unsafe { sys::x264_picture_init(&mut pic) };
        pic.img.i_csp = sys::X264_CSP_I420 as c_int;
        pic.img.i_plane = 3;
        pic.img.i_stride = [picture.y_stride() as c_int, picture.c_stride() as c_int, picture.c_stride() as c_int, 0];
        // x264 only reads the input planes; the *mut is what its C signature asks for.
        pic.img.plane = [
            picture.y.as_ptr() as *mut u8,
            picture.u.as_ptr() as *mut u8,
            picture.v.as_ptr() as *mut u8,
            ptr::null_mut(),
        ];
        pic.i_pts = pts;
        self.encode(Some(&mut pic))
    }

    fn flush(&mut self) -> Result<()> {
        // SAFETY: handle is open.
        while unsafe { sys::x264_encoder_delayed_frames(self.handle) } > 0 {
            self.encode(None)?;
        }
        Ok(())
    }

    fn receive_packet(&mut self) -> Result<Option<Packet>> {
        Ok(self.pending.pop_front())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Preset;

    fn encode_all(w: u32, h: u32, n: i64, opts: &EncodeOptions) -> (AvcConfig, Vec<Packet>) {
        let mut enc = X264Encoder::new(w, h, opts).unwrap();
        let mut pic = Yuv420Image::new(w, h);
        let mut out = vec![];
        for i in 0..n {
            for (k, v) in pic.y.iter_mut().enumerate() {
                *v = (16 + (k as i64 + i * 3) % 200) as u8;
            }
            enc.send_frame(&pic, i).unwrap();
            while let Some(p) = enc.receive_packet().unwrap() {
                out.push(p);
            }
        }
        enc.flush().unwrap();
        while let Some(p) = enc.receive_packet().unwrap() {
            out.push(p);
        }
        (enc.avc_config().clone(), out)
    }

    #[test]
    fn encodes_every_frame_with_high_profile_and_bt709_vui() {
        let opts = EncodeOptions { preset: Preset::Veryfast, ..Default::default() };
        let (avc, packets) = encode_all(64, 48, 20, &opts);
        assert_eq!(packets.len(), 20);
        assert_eq!(avc.profile_compat_level().0, 100, "High profile");
        let mut pts: Vec<i64> = packets.iter().map(|p| p.pts).collect();
        pts.sort();
        assert_eq!(pts, (0..20).collect::<Vec<_>>());
        assert!(packets[0].keyframe);
        // x264's settings string travels in an SEI in the first packet (as with ffmpeg).
        let text = String::from_utf8_lossy(&packets[0].data);
        assert!(text.contains("x264 - core") && text.contains("crf=23.0"), "no x264 SEI");
        // Decode order: dts strictly increasing and never after pts.
        for w in packets.windows(2) {
            assert!(w[0].dts < w[1].dts);
        }
        assert!(packets.iter().all(|p| p.dts <= p.pts));
        // AVCC: the length prefixes tile each packet exactly.
        for p in &packets {
            let mut i = 0;
            while i < p.data.len() {
                let len = u32::from_be_bytes(p.data[i..i + 4].try_into().unwrap()) as usize;
                i += 4 + len;
            }
            assert_eq!(i, p.data.len());
        }
    }

    #[test]
    fn lossless_crf_with_high_profile_is_refused_with_x264_reason() {
        let opts = EncodeOptions { rate: RateControl::Crf(0.0), ..Default::default() };
        let err = X264Encoder::new(64, 64, &opts).err().expect("x264 refuses lossless in High");
        let msg = err.to_string();
        assert!(msg.contains("profile"), "{msg}");
        #[cfg(target_arch = "x86_64")]
        assert!(msg.contains("lossless"), "x264's own reason is kept: {msg}");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn x264_messages_are_captured_into_the_error() {
        // x264 refuses this size in x264_encoder_open and says why through pf_log.
        let err = X264Encoder::new(65536, 16, &EncodeOptions::default()).err().expect("x264 refuses it");
        let msg = err.to_string();
        assert!(msg.contains("could not open"), "{msg}");
        assert!(msg.contains("invalid width x height"), "x264's own words are kept: {msg}");
    }

    #[test]
    fn build_info_names_the_running_x264() {
        let info = build_info().unwrap();
        // The library Debian 12 ships (and the wheel bundles) is the one compiled against.
        assert_eq!(info.core, info.compiled_core);
        assert_eq!(info.version, info.compiled_version);
        assert!(info.version.starts_with(&format!("0.{}.", info.core)), "{info:?}");
        assert_eq!(
            parse_version_sei(b"\x05x264 - core 164 r3095 baee400 - H.264/MPEG-4 AVC codec - Copyleft"),
            Some((164, "0.164.3095 baee400".to_string()))
        );
        assert_eq!(parse_version_sei(b"x264 - core 164"), None);
    }

    #[test]
    fn keyint_is_honoured() {
        let opts = EncodeOptions { preset: Preset::Ultrafast, keyint: Some(5), ..Default::default() };
        let (_, packets) = encode_all(32, 32, 12, &opts);
        let mut keys: Vec<i64> = packets.iter().filter(|p| p.keyframe).map(|p| p.pts).collect();
        keys.sort();
        assert_eq!(keys, vec![0, 5, 10]);
    }
}
