//! Single-track H.264 MP4 writer: fragmented while writing, faststart when finished.
//!
//! Why our own muxer: the maintained crate shiguredo_mp4 was evaluated; its stable release
//! (2025.4.0) has no composition offsets (ctts) for B-frames and no colr box, its ctts support
//! exists only in a canary pre-release, and it can only make a faststart file when moov space
//! is reserved up front from a known sample count, while framepipe streams an unknown number of
//! frames and relocates the media data at finish — so a small single-track writer is simpler
//! and safer.
//!
//! **While writing** the file is always playable: `ftyp | moov (with mvex) | moof mdat | …`
//! ([`super::fragment`]). Packets are collected in memory into a fragment of about
//! [`Mp4Writer::set_fragment_frames`] frames (one second by default), cut where every frame
//! presented so far has been written (so no fragment leaves a gap in presentation order,
//! B-frames included), and each fragment is written with one pair of writes — and with
//! [`Mp4Writer::set_durable`], synced to the disk. A process killed at any moment leaves a file
//! that ffmpeg, browsers and `framepipe probe` read up to its last complete fragment, and that
//! [`super::repair`] turns into a finished file. Memory stays flat: the per-sample index
//! (size, keyframe flag, timestamps as run lengths) and one fragment's bytes.
//!
//! **At [`Mp4Writer::finish`]** the file becomes an ordinary faststart MP4, byte for byte what
//! a writer of the whole index at once would make: `ftyp | moov | mdat`. The complete `moov` is
//! built in memory. Then, for an output with a replacement (a file: see
//! [`Mp4Sink::replacement`]), the finished file is written front to back into a new file beside
//! it — ftyp, moov, the mdat header, then the samples of each fragment copied in order (the
//! fragment headers dropped) and those of the fragment still in memory — synced when durable,
//! and renamed over the fragmented file. No byte of the fragmented file is touched before that
//! rename, so a process killed at any moment of `finish` leaves either the fragmented file, with
//! every frame that was on disk, or the finished one; the I/O is the same as moving the samples
//! in place (each byte read once and written once), but the disk must hold both files for a
//! moment. If the finished file cannot be written (a full disk), the fragment still in memory is
//! added to the fragmented file, which stays the output (it plays), and `finish` returns the
//! error, saying so: [`super::repair`] finishes the file once there is room.
//!
//! An output without a replacement (memory) is finished in place: it is first extended to the
//! final size if it must grow (so a full disk fails before any byte moves); then each
//! fragment's samples are moved to their final place, the fragment still in memory is written
//! after them, the moov and the mdat header go in front, and the output is cut to its final
//! length. If the output cannot grow that far, the longest decode-order prefix of frames with
//! contiguous presentation times whose file fits in the bytes the output already has is kept:
//! losing a few frames at the end beats losing the file.
//!
//! After a failed write (or [`Mp4Writer::mark_interrupted`]) the stream may stop in the middle
//! of a group of B-frames. `finish` then keeps only the longest decode-order prefix whose
//! presentation times are contiguous, so the duration always equals frames / fps.
//! [`Mp4Writer::frames`] reports what the finished file holds, and a `finish` that cannot make
//! a playable file returns an error.
//!
//! Timestamps and timescales: [`super::timing`]; the index and the moov: [`super::index`].

use std::collections::BTreeSet;
use std::io::SeekFrom;

use super::audio::{AudioIndex, AudioTrak};
use super::boxes::BoxBuf;
use super::fragment::{fragment_header_trafs, FragSample, Traf};
use super::index::{MoovExtra, SampleIndex};
use super::timing::check_fps;
use crate::encode::{AudioPacket, Packet};
use crate::error::{Error, IoContext, Result};
use crate::mux::{AudioTrack, VideoTrack};

mod finish;
mod sink;

/// Size of the mdat header of the finished file: 32-bit size 1, "mdat", 64-bit largesize.
const MDAT_HEADER: u64 = 16;
/// A fragment is written at the latest when it holds this many times the fragment length
/// (a stream that never reaches a point without a presentation gap still keeps memory flat).
const MAX_FRAGMENT_FACTOR: usize = 4;

pub use sink::{copy_through, Mp4Sink};

/// The `ftyp` box: major brand isom, minor version 512, compatible isom, iso2, avc1, mp41.
fn ftyp() -> Vec<u8> {
    let mut b = BoxBuf::new();
    let o = b.open(b"ftyp");
    b.bytes(b"isom").u32(512);
    for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
        b.bytes(brand);
    }
    b.close(o);
    b.into_vec()
}

fn check_track(track: &VideoTrack) -> Result<()> {
    if track.width == 0 || track.height == 0 || track.width > 65535 || track.height > 65535 {
        return Err(Error::parameter(format!(
            "MP4 track size {}x{} must be between 1 and 65535 in each dimension",
            track.width, track.height
        )));
    }
    check_fps(track.fps)?;
    let avc = &track.avc;
    if avc.sps.is_empty() || avc.sps.len() > 31 {
        return Err(Error::parameter(format!("H.264 config needs 1 to 31 SPS, got {}", avc.sps.len())));
    }
    if avc.pps.is_empty() || avc.pps.len() > 255 {
        return Err(Error::parameter(format!("H.264 config needs 1 to 255 PPS, got {}", avc.pps.len())));
    }
    if avc.sps.iter().any(|s| s.len() < 4 || s.len() > 65535) || avc.pps.iter().any(|p| p.is_empty() || p.len() > 65535)
    {
        return Err(Error::parameter("H.264 SPS/PPS of an invalid length (SPS needs at least 4 bytes)"));
    }
    if avc.sps[0][0] & 0x1f != 7 {
        return Err(Error::parameter(format!(
            "the first SPS is not an SPS NAL unit (NAL type {}); pass parameter sets without start codes",
            avc.sps[0][0] & 0x1f
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Writing,
    Finished,
    /// finish() failed; the output is incomplete.
    Failed,
    /// finish() could not write the finished file; the output is the fragmented file, with
    /// [`Mp4Writer::frames_on_disk`] frames.
    Fragmented,
}

/// A fragment on disk: where its samples' bytes start, how many bytes and samples of video,
/// and of audio (after the video's).
#[derive(Debug, Clone, Copy)]
struct Written {
    payload_at: u64,
    payload_len: u64,
    samples: u64,
    audio_samples: u64,
}

/// An audio packet is written as part of an audio-only fragment when the audio in memory ends
/// this long after the end of the video accepted so far (audio written ahead of the video).
const AUDIO_AHEAD_SECONDS: u64 = 2;

/// The audio track (track 2) of a writer: its index, and the samples not yet written.
#[derive(Debug)]
struct AudioState {
    track: crate::mux::AudioTrack,
    /// Every audio sample accepted.
    index: AudioIndex,
    /// Samples in fragments on disk, and their summed duration.
    written: usize,
    written_pts: u64,
    /// The bytes and durations of the samples after those (in memory).
    pending: Vec<u8>,
    pending_durations: Vec<u32>,
    /// Audio samples (summed durations) of the finished file.
    finished_samples: u64,
}

/// The fragment being collected in memory.
#[derive(Debug, Default)]
struct Collecting {
    samples: Vec<FragSample>,
    data: Vec<u8>,
    /// Decode time (in frames) of its first sample.
    first_dts: i64,
}

/// Writes one H.264 video track into an MP4 file (see the module documentation).
///
/// Works with any [`Mp4Sink`] output, e.g. `std::fs::File` (opened for reading and writing) or
/// `std::io::Cursor<Vec<u8>>`. The output should be empty (or positioned at its end): the
/// writer starts at the current position and uses absolute offsets.
pub struct Mp4Writer<W: Mp4Sink> {
    out: W,
    track: VideoTrack,
    /// Every sample accepted: the fragments on disk, then the one in memory.
    index: SampleIndex,
    /// pts values not below the last dts: the only ones a new pts could repeat.
    pending_pts: BTreeSet<i64>,
    /// Offset of the ftyp box (where the writer started).
    base: u64,
    /// End of the ftyp box: where the moov goes.
    head_end: u64,
    /// The fragmented file's moov is on disk (written with the first fragment).
    moov_written: bool,
    /// The fragments on disk, in order.
    written: Vec<Written>,
    /// End of the last complete fragment (or of the ftyp).
    data_end: u64,
    collecting: Collecting,
    /// Frames per fragment (about one second by default).
    fragment_frames: usize,
    /// Sync each fragment to the disk.
    durable: bool,
    /// The output position may not be `data_end` (after a failed write).
    need_seek: bool,
    /// The stream was cut short (a write failed, or [`Mp4Writer::mark_interrupted`]): finish
    /// keeps only the longest decode-order prefix with contiguous presentation times.
    interrupted: bool,
    state: State,
    faststart: bool,
    bytes_written: u64,
    /// The metadata box written into the moov (empty: none).
    udta: Vec<u8>,
    /// finish could not write the finished file and left the fragmented one.
    left_fragmented: bool,
    /// The audio track, if any.
    audio: Option<Box<AudioState>>,
}

impl<W: Mp4Sink> Mp4Writer<W> {
    /// Writes the ftyp immediately; the moov follows with the first fragment.
    pub fn new(mut out: W, track: VideoTrack) -> Result<Self> {
        check_track(&track)?;
        let base = out.stream_position().ctx(|| "starting MP4 output".into())?;
        let head = ftyp();
        out.write_all(&head).ctx(|| "writing MP4 header".into())?;
        // finish() reads the media data back to move it behind the moov: check now that the
        // output can be read (a File from File::create is write-only).
        let mut back = [0u8; 8];
        let readable =
            out.seek(SeekFrom::Start(base)).and_then(|_| out.read_exact(&mut back)).map(|_| back[..] == head[..8]);
        match readable {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                return Err(Error::parameter(
                    "the MP4 output must be readable as well as writable (open files with \
                     OpenOptions::new().read(true).write(true).create(true).truncate(true), \
                     or use Mp4Writer::create; File::create opens write-only)",
                ))
            }
        }
        let head_end = base + head.len() as u64;
        out.seek(SeekFrom::Start(head_end)).ctx(|| "writing MP4 header".into())?;
        let index = SampleIndex::new(track.fps.num, track.fps.den);
        let fragment_frames = default_fragment_frames(track.fps.num, track.fps.den);
        Ok(Mp4Writer {
            out,
            track,
            index,
            pending_pts: BTreeSet::new(),
            base,
            head_end,
            moov_written: false,
            written: Vec::new(),
            data_end: head_end,
            collecting: Collecting::default(),
            fragment_frames,
            durable: false,
            need_seek: false,
            interrupted: false,
            state: State::Writing,
            faststart: false,
            bytes_written: head.len() as u64,
            udta: Vec::new(),
            left_fragmented: false,
            audio: None,
        })
    }

    /// Like [`new`](Self::new), with an audio track (track 2) beside the video.
    pub fn with_audio(out: W, track: VideoTrack, audio: AudioTrack) -> Result<Self> {
        super::audio::check_track(&audio)?;
        let mut w = Self::new(out, track)?;
        w.audio = Some(Box::new(AudioState {
            track: audio,
            index: AudioIndex::default(),
            written: 0,
            written_pts: 0,
            pending: Vec::new(),
            pending_durations: Vec::new(),
            finished_samples: 0,
        }));
        Ok(w)
    }

    /// One encoded audio packet, in order, in any interleaving with
    /// [`write_packet`](Self::write_packet). `pts` = cumulative samples from 0 on the decoder's
    /// output timeline (priming included).
    ///
    /// Audio is written with the video fragment whose time it falls in; audio running more than
    /// two seconds ahead of the video (or more than two seconds plus two fragments' worth in
    /// memory) is written as an audio-only fragment, once the first video packet is there (the
    /// file's header needs it). As for video, an I/O error here is that fragment's, and this
    /// packet is then not accepted.
    pub fn write_audio_packet(&mut self, packet: &AudioPacket) -> Result<()> {
        if self.state != State::Writing {
            return Err(Error::parameter("MP4 writer: write_audio_packet after finish"));
        }
        let Some(a) = self.audio.as_ref() else {
            return Err(Error::parameter(
                "MP4 writer: write_audio_packet on a writer without an audio track (create it with with_audio)",
            ));
        };
        a.index.check(packet)?;
        if !a.pending_durations.is_empty() && self.audio_ahead(a.index.next_pts + u64::from(packet.duration)) {
            let n = a.pending_durations.len();
            self.write_fragment_parts(false, n)?;
        }
        let a = self.audio.as_mut().expect("checked above");
        a.index.push(packet.data.len() as u32, packet.duration);
        a.pending.extend_from_slice(&packet.data);
        a.pending_durations.push(packet.duration);
        Ok(())
    }

    /// Whether audio in memory up to `audio_end` (on the decoder's timeline) is to be written
    /// on its own: it ends more than [`AUDIO_AHEAD_SECONDS`] after the video accepted so far,
    /// or spans more than that plus two fragments. Never before the first video packet.
    fn audio_ahead(&self, audio_end: u64) -> bool {
        let Some(a) = self.audio.as_ref() else { return false };
        if self.index.len() == 0 {
            return false;
        }
        let (num, den) = (u128::from(self.track.fps.num), u128::from(self.track.fps.den));
        let rate = u128::from(a.track.sample_rate);
        let frames = (self.index.max_pts - self.index.min_pts) as u128 + 1;
        let end = u128::from(audio_end.saturating_sub(u64::from(a.track.priming)));
        // audio end (s) > video end (s) + AHEAD
        let ahead = end * num > (frames * den + u128::from(AUDIO_AHEAD_SECONDS) * num) * rate;
        let span = u128::from(audio_end - a.written_pts);
        let limit = (u128::from(AUDIO_AHEAD_SECONDS) * num + 2 * self.fragment_frames as u128 * den) * rate;
        ahead || span * num > limit
    }

    /// How many of the audio samples in memory start before the end of the video accepted so
    /// far (on the presentation timeline: after the priming).
    fn audio_before_video_end(&self) -> usize {
        let Some(a) = self.audio.as_ref() else { return 0 };
        if self.index.len() == 0 {
            return 0;
        }
        let (num, den) = (u128::from(self.track.fps.num), u128::from(self.track.fps.den));
        let frames = (self.index.max_pts - self.index.min_pts) as u128 + 1;
        let limit = u128::from(a.track.priming) * num + frames * den * u128::from(a.track.sample_rate);
        let mut t = u128::from(a.written_pts);
        a.pending_durations
            .iter()
            .take_while(|&&d| {
                let before = t * num < limit;
                t += u128::from(d);
                before
            })
            .count()
    }

    /// The audio track's sample rate (0 without one).
    pub(crate) fn audio_rate(&self) -> u32 {
        self.audio.as_ref().map_or(0, |a| a.track.sample_rate)
    }

    /// Audio samples (per channel, at the codec rate) in the file: before `finish`, those
    /// accepted so far (on disk or in memory); after a successful `finish`, those the finished
    /// file holds (the audio after the video's end is dropped); after a failed one, those of
    /// the fragmented file left as the output, else 0. 0 without an audio track.
    pub fn audio_samples(&self) -> u64 {
        let Some(a) = self.audio.as_ref() else { return 0 };
        match self.state {
            State::Writing => a.index.next_pts,
            State::Finished => a.finished_samples,
            State::Fragmented => a.written_pts,
            State::Failed => 0,
        }
    }

    /// Movie metadata (title, artist, comment, …: see [`super::metadata`]) for the file. Set
    /// it before the first fragment is written (it goes into the moov written with it, so that
    /// a repaired file keeps it too); replaces metadata set before.
    pub fn set_metadata(&mut self, tags: &[(String, String)]) -> Result<()> {
        super::metadata::validate(tags)?;
        if self.moov_written {
            return Err(Error::parameter("MP4 metadata must be set before the first fragment is written"));
        }
        self.udta = super::metadata::udta(tags);
        Ok(())
    }

    /// The metadata box as found in another file's moov (for [`super::repair`]).
    pub(crate) fn set_udta(&mut self, udta: Vec<u8>) {
        self.udta = udta;
    }

    /// Frames per fragment: how much a killed process can lose at most (besides what the
    /// encoder still held). The default is one second of frames. A fragment ends at the first
    /// point after this many frames where no presented frame is missing.
    pub fn set_fragment_frames(&mut self, frames: u32) -> Result<()> {
        if frames == 0 {
            return Err(Error::parameter("an MP4 fragment must hold at least 1 frame"));
        }
        self.fragment_frames = frames as usize;
        Ok(())
    }

    /// Sync every fragment to the disk as it is written (fsync), so that it survives a power
    /// loss too, not only a killed process.
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    /// The output, for example the `Cursor<Vec<u8>>` holding the file (call after `finish`).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Frames in the output. Before `finish`: packets accepted so far (on disk, or in the
    /// fragment being collected). After a successful `finish`: the frames the finished file
    /// holds, which can be fewer when the stream was cut short (trailing frames whose
    /// presentation would leave a gap are dropped) or when the disk was too full for the index
    /// (trailing frames make room for it). After a failed `finish`: the frames of the
    /// fragmented file left as the output when there was no room for the finished one (see the
    /// module documentation), else 0.
    pub fn frames(&self) -> u64 {
        match self.state {
            State::Failed => 0,
            State::Fragmented => self.frames_on_disk(),
            _ => self.index.len(),
        }
    }

    /// The output, e.g. to sync it or to rename it into place while writing.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Frames in complete fragments on disk: what a reader of the unfinished file finds.
    pub fn frames_on_disk(&self) -> u64 {
        self.written.iter().map(|w| w.samples).sum()
    }

    /// Tell the writer that the stream was cut short, e.g. the encoder failed mid-stream, so
    /// the packets written may end in the middle of a group of B-frames. `finish` then keeps
    /// only the longest decode-order prefix whose presentation times have no gap, so that the
    /// file's duration is exactly its frame count over the frame rate. A failed
    /// `write_packet` (an I/O error) does this by itself.
    pub fn mark_interrupted(&mut self) {
        self.interrupted = true;
    }

    /// True once `finish` has made the faststart file (moov before mdat).
    pub fn is_faststart(&self) -> bool {
        self.faststart
    }

    /// Media timescale of the track (ticks per second) and ticks per frame.
    pub fn timescale(&self) -> (u32, u32) {
        (self.index.timescale, self.index.sample_duration)
    }

    /// Bytes written to the output so far (headers, fragments; after finish: the file).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Append one packet (in decode order). It is written with the fragment it belongs to; an
    /// I/O error here is the previous fragment's, and this packet is then not accepted (write
    /// it again to retry).
    pub fn write_packet(&mut self, packet: &Packet) -> Result<()> {
        if self.state != State::Writing {
            return Err(Error::parameter("MP4 writer: write_packet after finish"));
        }
        self.index.check(packet, &self.pending_pts)?;
        if self.fragment_due(packet.keyframe) {
            self.write_fragment()?;
        }
        let dur = i64::from(self.index.sample_duration);
        let c = &mut self.collecting;
        match c.samples.last_mut() {
            Some(last) => last.duration = ((packet.dts - self.index.last_dts) * dur) as u32,
            None => c.first_dts = packet.dts,
        }
        c.samples.push(FragSample {
            size: packet.data.len() as u32,
            duration: dur as u32,
            cts_offset: ((packet.pts - packet.dts) * dur) as u32,
            keyframe: packet.keyframe,
        });
        c.data.extend_from_slice(&packet.data);
        self.index.push(packet);
        self.pending_pts = self.pending_pts.split_off(&packet.dts);
        self.pending_pts.insert(packet.pts);
        Ok(())
    }

    /// Whether the fragment in memory should be written before a packet is added to it: it is
    /// long enough and ends where every frame presented so far is there (at a keyframe, half
    /// the length is enough), or it has grown far too long.
    fn fragment_due(&self, keyframe: bool) -> bool {
        let n = self.collecting.samples.len();
        if n == 0 {
            return false;
        }
        let i = &self.index;
        let contiguous = (i.max_pts - i.min_pts) as u64 + 1 == i.len();
        let target = self.fragment_frames;
        (contiguous && (n >= target || (keyframe && 2 * n >= target))) || n >= MAX_FRAGMENT_FACTOR * target
    }

    /// Write the fragment collected in memory (with the moov before the first one) and, if
    /// durable, sync it. On failure nothing is lost from memory: the fragment stays there for
    /// the next try or for `finish`, and the output is cut back to the last whole fragment.
    ///
    /// With an audio track, the fragment also takes the audio in memory that starts before the
    /// end of the video accepted so far.
    pub fn write_fragment(&mut self) -> Result<()> {
        let audio = self.audio_before_video_end();
        self.write_fragment_parts(true, audio)
    }

    /// Write a fragment of the video collected in memory (if `video`) and the first `audio`
    /// audio samples in memory (see [`Self::write_fragment`]).
    fn write_fragment_parts(&mut self, video: bool, audio: usize) -> Result<()> {
        let video = video && !self.collecting.samples.is_empty();
        // The file's header (written with the first fragment) needs the video's first packet.
        if self.state != State::Writing || (!video && audio == 0) || self.index.len() == 0 {
            return Ok(());
        }
        let dur = self.index.sample_duration;
        let mut head = Vec::new();
        if !self.moov_written {
            // Every sample so far is in this fragment: the edit list starts the presentation
            // at the first presented frame, as in the finished file.
            let media_time = (self.index.min_pts - self.index.first_dts) as u64 * u64::from(dur);
            head = match self.audio.as_deref() {
                None => self.index.moov_fragmented(&self.track, &self.udta, media_time),
                Some(a) => {
                    let trak = AudioTrak { track: &a.track, index: &a.index, keep: 0, chunks: None, edit: 0 }.build();
                    let extra = MoovExtra {
                        audio_trak: Some(&trak),
                        audio_duration: a.pending_durations.first().copied().unwrap_or(1024),
                        video_chunks: None,
                    };
                    self.index.moov_fragmented_with(&self.track, &self.udta, media_time, extra)
                }
            };
        }
        let c = &self.collecting;
        let video_samples: &[FragSample] = if video { &c.samples } else { &[] };
        let video_len = if video { c.data.len() as u64 } else { 0 };
        let base_dts = (c.first_dts - self.index.first_dts) as u64 * u64::from(dur);
        let mut trafs = vec![Traf { track_id: 1, base_dts, default_duration: dur, samples: video_samples, data_at: 0 }];
        let audio_samples: Vec<FragSample>;
        let mut audio_len = 0u64;
        if let Some(a) = self.audio.as_deref() {
            audio_samples = a.pending_durations[..audio]
                .iter()
                .zip(a.index.sizes[a.written..].iter())
                .map(|(&duration, &size)| FragSample { size, duration, cts_offset: 0, keyframe: true })
                .collect();
            audio_len = audio_samples.iter().map(|s| u64::from(s.size)).sum();
            trafs.push(Traf {
                track_id: 2,
                base_dts: a.written_pts,
                default_duration: audio_samples.first().map_or(1024, |s| s.duration),
                samples: &audio_samples,
                data_at: video_len,
            });
        }
        let sequence = self.written.len() as u32 + 1;
        let moof_in_head = head.len();
        head.extend_from_slice(&fragment_header_trafs(sequence, &trafs, video_len + audio_len));
        let first = self.frames_on_disk();
        let n = video_samples.len() as u64;
        // The fragment is written as a `free` box followed by its mdat, and only then does the
        // `free` become the `moof` (one 4-byte write): cut at any byte (a power loss), or
        // killed at any moment, the file ends with whole fragments and, at most, bytes readers
        // skip. A torn moof, or a moof whose mdat is cut short, would make ffmpeg refuse the
        // whole file or report a partial one.
        let moof_at = self.data_end + moof_in_head as u64;
        head[moof_in_head + 4..moof_in_head + 8].copy_from_slice(b"free");
        let head_len = head.len() as u64;
        let durable = self.durable;
        let result = (|| {
            if self.need_seek {
                self.out.seek(SeekFrom::Start(self.data_end))?;
                self.need_seek = false;
            }
            // One write: a process killed while writing leaves whole fragments far more often
            // than a torn one.
            if video {
                head.extend_from_slice(&self.collecting.data);
            }
            if let Some(a) = self.audio.as_deref() {
                head.extend_from_slice(&a.pending[..audio_len as usize]);
            }
            self.out.write_all(&head)?;
            self.out.flush()?;
            if durable {
                self.out.sync()?;
            }
            let end = self.out.stream_position()?;
            self.out.seek(SeekFrom::Start(moof_at + 4))?;
            self.out.write_all(b"moof")?;
            self.out.seek(SeekFrom::Start(end))?;
            self.out.flush()?;
            if durable {
                self.out.sync()?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Cut the torn fragment off, so the unfinished file ends with a whole one. The
            // caller may stop here: finish then keeps the frames up to the last one with no gap
            // before it (unless the fragment is written after all).
            self.need_seek = true;
            self.interrupted = true;
            let _ = self.out.set_len(self.data_end);
            return Err(Error::io(
                format!("writing MP4 frames {first}..{} ({} bytes)", first + n, head_len + video_len + audio_len),
                e,
            ));
        }
        let payload_at = self.data_end + head_len;
        self.written.push(Written { payload_at, payload_len: video_len, samples: n, audio_samples: audio as u64 });
        self.data_end = payload_at + video_len + audio_len;
        self.bytes_written = self.data_end - self.base;
        self.moov_written = true;
        if video {
            self.collecting.samples.clear();
            self.collecting.data.clear();
        }
        if let Some(a) = self.audio.as_deref_mut() {
            a.pending.drain(..audio_len as usize);
            a.written_pts += a.pending_durations.drain(..audio).map(u64::from).sum::<u64>();
            a.written += audio;
        }
        Ok(())
    }

    /// Write the index and close the container. Must be called once; afterwards the output is
    /// a complete, playable faststart file with every packet written so far — or, after a
    /// failed write, with the longest run of frames that plays without a gap. An error if not
    /// even one fits, or (for an output with a replacement) if the finished file could not be
    /// written beside the output: then the output stays the fragmented file, which plays, with
    /// [`frames`](Self::frames) frames (see the module documentation).
    pub fn finish(&mut self) -> Result<()> {
        match self.state {
            State::Finished => Ok(()),
            State::Failed => Err(Error::parameter("MP4 writer: finish failed earlier; the output is incomplete")),
            State::Fragmented => Err(Error::parameter(
                "MP4 writer: finish failed earlier; the output is the unfinished (fragmented) file",
            )),
            State::Writing => match self.finish_inner() {
                Ok(()) => {
                    self.state = State::Finished;
                    let keep = self.audio_keep(&self.index);
                    if let Some(a) = self.audio.as_deref_mut() {
                        a.finished_samples = a.index.duration_of(keep);
                    }
                    Ok(())
                }
                Err(e) => {
                    self.state = if self.left_fragmented { State::Fragmented } else { State::Failed };
                    Err(e)
                }
            },
        }
    }
}

/// About one second of frames (at least 1).
fn default_fragment_frames(num: u32, den: u32) -> usize {
    (u64::from(num).div_ceil(u64::from(den.max(1)))).clamp(1, 1 << 16) as usize
}

impl Mp4Writer<std::fs::File> {
    /// Create (or truncate) the file at `path`, opened for reading and writing, and start an MP4
    /// in it.
    pub fn create(path: &std::path::Path, track: VideoTrack) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .ctx(|| format!("creating {}", path.display()))?;
        Self::new(file, track)
    }
}

#[cfg(test)]
pub(crate) mod tests;
