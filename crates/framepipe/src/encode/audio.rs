//! The audio side of [`crate::encode`]: one trait, [`AudioEncoder`], with an implementation per
//! codec ([`super::aac::AacEncoder`], [`super::opus::OpusEncoder`]), and what an MP4 sample entry
//! needs to describe each stream ([`AudioConfig`]).
//!
//! Timing: every encoder delays its input by [`AudioEncoder::priming`] samples. Packet `k` has
//! `pts` = the sum of the earlier packets' durations (AAC: 1024 k, Opus: 960 k), on the decoder's
//! output timeline; the input's sample 0 is decoded at `priming` and its last sample at
//! `priming + samples_in - 1`, so an edit list of (media time `priming`, duration `samples_in`)
//! plays exactly the input. The last packet is padded (its tail is past the edit).

use crate::audio::SampleStats;
use crate::error::{Error, Result};

/// An audio codec framepipe encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// AAC-LC (MPEG-4 audio object type 2), `mp4a` in MP4. Plays everywhere.
    Aac,
    /// Opus, `Opus` in MP4. Better per bit; always 48 kHz.
    Opus,
}

impl AudioCodec {
    /// "aac" or "opus".
    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aac",
            AudioCodec::Opus => "opus",
        }
    }

    /// Parses "aac" or "opus" (any case).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "aac" => Ok(AudioCodec::Aac),
            "opus" => Ok(AudioCodec::Opus),
            _ => Err(Error::parameter(format!("audio codec {s:?} is not supported; allowed: \"aac\", \"opus\""))),
        }
    }

    /// The bitrate used when none is given, in bit/s: AAC 64 kbit/s per full-range channel
    /// (mono 64k, stereo 128k, 5.1 320k); Opus mono 64k, stereo 96k, 3.0 128k, 4.0 160k, 5.0
    /// 192k, 5.1 256k, 6.1 320k, 7.1 384k.
    pub fn default_bitrate(self, channels: u16) -> u32 {
        match self {
            AudioCodec::Aac => {
                let full = if channels >= 6 { channels - 1 } else { channels };
                64_000 * u32::from(full)
            }
            AudioCodec::Opus => match channels {
                1 => 64_000,
                2 => 96_000,
                3 => 128_000,
                4 => 160_000,
                5 => 192_000,
                6 => 256_000,
                7 => 320_000,
                _ => 384_000,
            },
        }
    }

    /// The rate the codec encodes a source of `source_rate` Hz at: Opus always 48 kHz; AAC the
    /// source's own rate when it is one of AAC's rates up to 48 kHz (44.1 kHz stays 44.1 kHz: no
    /// resampling for the usual sources), else 48 kHz (88.2 and 96 kHz would spend the bits on
    /// inaudible bands; other rates have no AAC sampling-frequency index).
    pub fn sample_rate_for(self, source_rate: u32) -> u32 {
        match self {
            AudioCodec::Opus => 48_000,
            AudioCodec::Aac => {
                if super::aac::AAC_RATES.contains(&source_rate) && source_rate <= 48_000 {
                    source_rate
                } else {
                    48_000
                }
            }
        }
    }
}

/// One encoded audio access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// The raw access unit (AAC: a raw_data_block without ADTS header; Opus: one Opus packet).
    pub data: Vec<u8>,
    /// Presentation time of the packet's first decoded sample, in samples at the codec's rate, on
    /// the decoder's output timeline (which starts `priming` samples before the input).
    pub pts: i64,
    /// Samples (per channel) the packet decodes to: 1024 for AAC, 960 for Opus.
    pub duration: u32,
}

/// The codec configuration an MP4 sample entry carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioConfig {
    Aac(AacConfig),
    Opus(OpusConfig),
}

/// AAC-LC: the `esds` box's DecoderSpecificInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AacConfig {
    /// AudioSpecificConfig (ISO 14496-3 1.6.2.1) as FFmpeg's encoder writes it: object type 2
    /// (LC), the sampling-frequency index, the channel configuration, for configuration 0 (6.1)
    /// a program config element, then the explicit "no SBR" sync extension (0x2b7); 5 bytes for
    /// configurations 1-7. The MP4 `esds` carries it whole.
    pub audio_specific_config: Vec<u8>,
    pub sample_rate: u32,
    /// channelConfiguration (ISO 14496-3 table 1.19): 1-6 (mono to 5.1), 7 (7.1), or 0 for 6.1,
    /// whose layout the program config element in `audio_specific_config` gives.
    pub channel_configuration: u8,
}

impl AacConfig {
    /// For channel configuration 0, what goes before the first access unit of an ADTS stream:
    /// the program config element of the AudioSpecificConfig as a raw-data-block element
    /// (ID_PCE, then the PCE re-aligned to the block), as FFmpeg's ADTS muxer writes it; `None`
    /// for configurations 1-7. Its length counts in the first frame's ADTS `payload_len`.
    pub fn adts_pce(&self) -> Result<Option<Vec<u8>>> {
        if self.channel_configuration != 0 {
            return Ok(None);
        }
        let bad = || Error::invalid_data("AudioSpecificConfig: a truncated program config element");
        let asc = &self.audio_specific_config;
        // AudioSpecificConfig: object type (5), frequency index (4), configuration (4),
        // GASpecificConfig's 3 flags: the PCE starts at bit 16 (byte-aligned).
        let mut r = BitReader { data: asc, pos: 16 };
        let mut w = BitWriter::default();
        let copy = |r: &mut BitReader, w: &mut BitWriter, n: u32| -> Result<u32> {
            let v = r.read(n).ok_or_else(bad)?;
            w.write(n, v);
            Ok(v)
        };
        w.write(3, 5); // ID_PCE
        copy(&mut r, &mut w, 10)?; // element_instance_tag, object_type, sampling_frequency_index
        let mut five = copy(&mut r, &mut w, 4)? + copy(&mut r, &mut w, 4)? + copy(&mut r, &mut w, 4)?;
        let four = copy(&mut r, &mut w, 2)? + copy(&mut r, &mut w, 3)?; // LFE, data elements
        five += copy(&mut r, &mut w, 4)?; // coupling channel elements
        for extra in [4, 4, 3] {
            // mono, stereo and matrix mixdown: a flag, then the field when set
            if copy(&mut r, &mut w, 1)? == 1 {
                copy(&mut r, &mut w, extra)?;
            }
        }
        let mut bits = five * 5 + four * 4;
        while bits > 0 {
            let n = bits.min(16);
            copy(&mut r, &mut w, n)?;
            bits -= n;
        }
        // byte_alignment(): of the raw data block here, of the AudioSpecificConfig there.
        w.align();
        r.pos = r.pos.div_ceil(8) * 8;
        let comment = copy(&mut r, &mut w, 8)?;
        for _ in 0..comment {
            copy(&mut r, &mut w, 8)?;
        }
        Ok(Some(w.bytes))
    }

    /// A 7-byte ADTS header (MPEG-4, no CRC) for a raw access unit of `payload_len` bytes: for
    /// writing a `.aac` stream (tests, tools). For channel configuration 0 the first frame
    /// carries [`AacConfig::adts_pce`] before the access unit.
    pub fn adts_header(&self, payload_len: usize) -> Result<[u8; 7]> {
        let sf = super::aac::AAC_RATES
            .iter()
            .position(|&r| r == self.sample_rate)
            .ok_or_else(|| Error::parameter(format!("ADTS: {} Hz is not an AAC rate", self.sample_rate)))?
            as u8;
        let n = payload_len + 7;
        if n >= 1 << 13 {
            return Err(Error::parameter(format!("ADTS: a frame of {n} bytes exceeds ADTS's 8191")));
        }
        let ch = self.channel_configuration;
        Ok([
            0xFF,
            0xF1,
            (1 << 6) | (sf << 2) | (ch >> 2),
            ((ch & 3) << 6) | (n >> 11) as u8,
            ((n >> 3) & 0xFF) as u8,
            (((n & 7) << 5) as u8) | 0x1F,
            0xFC,
        ])
    }
}

/// Reads bits MSB first.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }
}

/// Writes bits MSB first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    fn write(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = ((v >> i) & 1) as u8;
            *self.bytes.last_mut().expect("pushed above") |= bit << (7 - self.bits % 8);
            self.bits += 1;
        }
    }

    fn align(&mut self) {
        self.bits = self.bits.div_ceil(8) * 8;
    }
}

/// Opus: the fields of the MP4 `dOps` box (Opus in ISOBMFF, section 4.3.2), which are those of
/// Ogg's `OpusHead` (RFC 7845 section 5.1) in big-endian order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusConfig {
    pub output_channel_count: u8,
    /// Samples at 48 kHz to drop at the start: the encoder's priming.
    pub pre_skip: u16,
    /// The rate of the source before encoding (informational for players).
    pub input_sample_rate: u32,
    /// Q7.8 dB; 0.
    pub output_gain: i16,
    /// 0 for mono and stereo, 1 (Vorbis channel order) for 3-8 channels.
    pub channel_mapping_family: u8,
    /// For family 1: the number of Opus streams, how many of them are coupled (stereo), and the
    /// stream channel each output channel (in Vorbis order) comes from. Empty for family 0.
    pub stream_count: u8,
    pub coupled_count: u8,
    pub channel_mapping: Vec<u8>,
}

impl OpusConfig {
    /// The payload of the `dOps` box (after its size and type): Version 0, then the fields.
    pub fn dops_payload(&self) -> Vec<u8> {
        let mut v = vec![0, self.output_channel_count];
        v.extend_from_slice(&self.pre_skip.to_be_bytes());
        v.extend_from_slice(&self.input_sample_rate.to_be_bytes());
        v.extend_from_slice(&self.output_gain.to_be_bytes());
        v.push(self.channel_mapping_family);
        if self.channel_mapping_family != 0 {
            v.extend_from_slice(&[self.stream_count, self.coupled_count]);
            v.extend_from_slice(&self.channel_mapping);
        }
        v
    }

    /// Ogg's `OpusHead` packet (RFC 7845 section 5.1, little-endian), for `.opus` files.
    pub fn opus_head(&self) -> Vec<u8> {
        let mut v = b"OpusHead".to_vec();
        v.extend_from_slice(&[1, self.output_channel_count]);
        v.extend_from_slice(&self.pre_skip.to_le_bytes());
        v.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        v.extend_from_slice(&self.output_gain.to_le_bytes());
        v.push(self.channel_mapping_family);
        if self.channel_mapping_family != 0 {
            v.extend_from_slice(&[self.stream_count, self.coupled_count]);
            v.extend_from_slice(&self.channel_mapping);
        }
        v
    }
}

/// An audio encoder: interleaved `f32` samples in [-1, 1] at [`AudioEncoder::sample_rate`], in
/// chunks of any size (buffered inside), packets out. The same samples give the same bytes,
/// however they are chunked.
pub trait AudioEncoder: Send {
    fn codec(&self) -> AudioCodec;
    /// The rate the samples must be at (the codec's; see [`AudioCodec::sample_rate_for`]).
    fn sample_rate(&self) -> u32;
    fn channels(&self) -> u16;
    /// The target bitrate, bit/s.
    fn bitrate(&self) -> u32;
    /// The encoder delay in samples: decoded output sample `priming` is input sample 0.
    fn priming(&self) -> u32;
    /// What the container's sample entry needs.
    fn config(&self) -> &AudioConfig;
    /// Queue interleaved samples (a multiple of the channel count). NaN or infinite values are
    /// refused (a Parameter error naming the sample; nothing of the chunk is kept); values outside
    /// [-1, 1] are clipped and counted in [`AudioEncoder::stats`]. Packets that become ready are
    /// returned by [`AudioEncoder::receive_packet`].
    fn send_samples(&mut self, samples: &[f32]) -> Result<()>;
    /// End of input: the rest of the packets become ready. Sending after this is an error.
    fn flush(&mut self) -> Result<()>;
    /// The next packet, in order, if one is ready.
    fn receive_packet(&mut self) -> Option<AudioPacket>;
    /// Sample frames accepted so far and how many samples were clipped.
    fn stats(&self) -> SampleStats;
}

/// An encoder for `codec` at `sample_rate` (which must be one the codec takes: see
/// [`AudioCodec::sample_rate_for`]) with `channels` channels; `bitrate` in bit/s, `None` for
/// [`AudioCodec::default_bitrate`]. `source_rate` is the rate of the audio before any
/// resampling (recorded in Opus's header; ignored by AAC).
pub fn new_audio_encoder(
    codec: AudioCodec,
    sample_rate: u32,
    channels: u16,
    bitrate: Option<u32>,
    source_rate: u32,
) -> Result<Box<dyn AudioEncoder>> {
    let bitrate = bitrate.unwrap_or_else(|| codec.default_bitrate(channels));
    Ok(match codec {
        AudioCodec::Aac => Box::new(super::aac::AacEncoder::new(sample_rate, channels, bitrate)?),
        AudioCodec::Opus => {
            if sample_rate != 48_000 {
                return Err(Error::parameter(format!(
                    "opus encodes 48000 Hz samples, {sample_rate} Hz given; resample first (audio::resample)"
                )));
            }
            Box::new(super::opus::OpusEncoder::new(channels, bitrate, source_rate)?)
        }
    })
}
