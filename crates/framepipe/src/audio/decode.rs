//! Soundtrack files in (for the CLI's `--audio`): `symphonia` (pure Rust) reads WAV, FLAC,
//! MP3, AAC in ADTS or MP4/M4A, and Ogg Vorbis, one packet at a time (flat memory for any
//! length), gapless where the format says (MP3's LAME tag, Vorbis, FLAC).
//!
//! [`AudioFileReader`] yields interleaved `f32` chunks at the file's rate and channel count.
//! Errors: a missing or unreadable file is an Io error naming the path; a file that is not
//! audio framepipe reads (or has no audio track, or a codec it does not decode) is Unsupported;
//! a corrupt packet or a sample rate or channel count that changes mid-stream is InvalidData
//! naming the time; more than 8 channels is a Parameter error.

use super::check_format;
use crate::error::{Error, IoContext, Result};
use std::path::Path;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// The formats and codecs, for messages.
pub const READABLE: &str = "WAV, FLAC, MP3, AAC (ADTS, MP4/M4A) and Ogg Vorbis";

/// A soundtrack file, decoded packet by packet.
pub struct AudioFileReader {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    sample_rate: u32,
    channels: u16,
    frames_hint: Option<u64>,
    path: String,
    frames_read: u64,
    /// Samples decoded while opening, returned by the first read.
    first: Vec<f32>,
    /// An error was returned: the iterator ends.
    done: bool,
}

impl AudioFileReader {
    /// Opens `path` and finds its first audio track.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).ctx(|| format!("opening audio file {name}"))?;
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
            .map_err(|e| match e {
                SymError::IoError(io) => Error::io(format!("reading audio file {name}"), io),
                e => Error::unsupported(format!("{name}: not an audio file framepipe reads ({READABLE}): {e}")),
            })?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| Error::unsupported(format!("{name}: no audio track")))?;
        let track_id = track.id;
        let frames_hint = track.num_frames;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| Error::unsupported(format!("{name}: the audio track has no codec parameters")))?
            .clone();
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| {
                Error::unsupported(format!("{name}: audio codec {:?} is not supported ({READABLE}): {e}", params.codec))
            })?;
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| Error::invalid_data(format!("{name}: the audio track does not state its sample rate")))?;
        let channels = params.channels.as_ref().map_or(0, |c| c.count()) as u16;
        let mut reader = AudioFileReader {
            format,
            decoder,
            track_id,
            sample_rate,
            channels,
            frames_hint,
            path: name,
            frames_read: 0,
            first: Vec::new(),
            done: false,
        };
        if channels == 0 {
            // Some formats (ADTS) state the channels only in the decoded audio: decode the first
            // packet now and keep it for the first read.
            reader.channels = u16::MAX;
            let mut first = Vec::new();
            reader.read_chunk(&mut first)?;
            reader.first = first;
        }
        check_format(&reader.path, reader.sample_rate, reader.channels)?;
        Ok(reader)
    }

    /// The file's sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    /// The file's channel count.
    pub fn channels(&self) -> u16 {
        self.channels
    }
    /// The length in sample frames, when the container states it.
    pub fn frames_hint(&self) -> Option<u64> {
        self.frames_hint
    }
    /// Sample frames returned so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    fn rate_change(&self, rate: u32) -> Error {
        Error::invalid_data(format!(
            "{}: the sample rate changes from {} Hz to {rate} Hz at {:.3} s; a soundtrack must keep one rate",
            self.path,
            self.sample_rate,
            self.time()
        ))
    }

    fn time(&self) -> f64 {
        self.frames_read as f64 / self.sample_rate.max(1) as f64
    }

    /// Replaces `out`'s contents with the next decoded samples (interleaved); false at the end
    /// of the stream (`out` then empty).
    pub fn read_chunk(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        if !self.first.is_empty() {
            std::mem::swap(out, &mut self.first);
            return Ok(true);
        }
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(false),
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(SymError::IoError(e)) => return Err(Error::io(format!("reading audio file {}", self.path), e)),
                Err(SymError::ResetRequired) => {
                    let t = self.time();
                    let msg = "the stream changes (a chained stream); framepipe needs one format per soundtrack";
                    return Err(Error::invalid_data(format!("{}: at {t:.3} s {msg}", self.path)));
                }
                Err(e) => return Err(Error::invalid_data(format!("{}: at {:.3} s: {e}", self.path, self.time()))),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            if let Err(e) = self.decoder.decode(&packet) {
                // symphonia's MPEG audio decoder refuses a frame at another rate than the
                // stream's ("invalid audio buffer signal spec"): the frame header tells.
                if let Some(rate) = mpeg_audio_rate(&packet.data).filter(|&r| r != self.sample_rate) {
                    return Err(self.rate_change(rate));
                }
                let t = self.time();
                return Err(Error::invalid_data(format!("{}: corrupt audio at {t:.3} s: {e}", self.path)));
            }
            let buf = self.decoder.last_decoded();
            let (rate, channels) = (buf.spec().rate(), buf.spec().channels().count() as u16);
            if self.channels == u16::MAX {
                // Opening: the first packet says how many channels there are.
                self.channels = channels;
            }
            if rate != self.sample_rate {
                return Err(self.rate_change(rate));
            }
            if channels != self.channels {
                return Err(Error::invalid_data(format!(
                    "{}: the channel count changes from {} to {channels} at {:.3} s",
                    self.path,
                    self.channels,
                    self.time()
                )));
            }
            if buf.frames() == 0 {
                continue;
            }
            out.resize(buf.samples_interleaved(), 0.0);
            buf.copy_to_slice_interleaved(&mut out[..]);
            self.frames_read += buf.frames() as u64;
            return Ok(true);
        }
    }
}

/// The sample rate in an MPEG audio (MP1/2/3) frame header at the start of `data`, if there is one.
fn mpeg_audio_rate(data: &[u8]) -> Option<u32> {
    let h = data.get(..4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 || h[1] & 0x06 == 0 {
        return None; // no sync, or layer "reserved"
    }
    let base = match (h[2] >> 2) & 3 {
        0 => 44100,
        1 => 48000,
        2 => 32000,
        _ => return None,
    };
    match (h[1] >> 3) & 3 {
        3 => Some(base),     // MPEG-1
        2 => Some(base / 2), // MPEG-2
        0 => Some(base / 4), // MPEG-2.5
        _ => None,
    }
}

impl Iterator for AudioFileReader {
    type Item = Result<Vec<f32>>;
    /// The next chunk of interleaved samples; after an error, None.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut v = Vec::new();
        match self.read_chunk(&mut v) {
            Ok(true) => Some(Ok(v)),
            Ok(false) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
