//! The pipeline's seam: a [`Backend`] turns frames into pictures on the caller's thread and
//! encodes and writes them on the encoder thread. One per output format: [`Mp4Backend`] (x264
//! and the MP4 muxer) and [`GifBackend`].

use super::audio::{samples_for_frames, AudioChain};
use super::sink::Sink;
use crate::color::{self, padded_size, Converter, Yuv420Image};
use crate::encode::gif::GifEncoder;
use crate::encode::x264::X264Encoder;
use crate::encode::VideoEncoder;
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::mux::mp4::Mp4Writer;
use crate::rational::Rational;

/// What the encoder thread drives for one output format.
pub(super) trait Backend: Send + 'static {
    /// A converted frame on its way from the caller's thread to the encoder thread.
    type Picture: Send + 'static;
    /// How the caller's thread converts frames (and what it keeps between them).
    type Convert: Send;

    /// Convert `frame` on the caller's thread, reusing `recycled` (a picture the encoder thread
    /// is done with) if there is one.
    fn convert(conv: &mut Self::Convert, frame: &Frame, recycled: Option<Self::Picture>) -> Result<Self::Picture>;
    /// Encode and write frame `index` (an I/O error says which frame was being written).
    fn encode(&mut self, index: u64, picture: &Self::Picture) -> Result<()>;
    /// Encode and write checked samples of the sound track (only a writer with one gets them).
    fn audio(&mut self, samples: &[f32]) -> Result<()>;
    /// Flush what the encoder holds back, then finish the file with every frame written so
    /// far: after `error`, the longest run that plays without a gap. The sound track, if any,
    /// is ended at the video's end (padded with silence if it is shorter). Returns the error of
    /// flushing (if `error` was None) and the error of finishing.
    fn finish(&mut self, error: Option<&Error>) -> (Option<Error>, Option<Error>);
    /// Frames in the finished file; while running, frames encoded so far.
    fn frames(&self) -> u64;
    /// Frames a reader of the unfinished file finds (if the process died now).
    fn frames_on_disk(&self) -> u64;
    /// Bytes written so far.
    fn bytes_written(&self) -> u64;
    /// The output, given back once finished.
    fn into_sink(self) -> Option<Sink>;
    /// What is written, for messages (the path as given).
    fn target(&self) -> &str;
}

/// Rename the output file into place once `on_disk` frames are in it that a reader finds (a
/// whole MP4 fragment, a GIF frame), if not done yet (see [`Sink::place`]).
fn place_once(sink: Option<&mut Sink>, on_disk: u64, target: &str) -> Result<()> {
    match sink {
        Some(s) if on_disk > 0 && !s.is_placed() => {
            s.place().map_err(|e| Error::io(format!("renaming the new file over {target}"), e))
        }
        _ => Ok(()),
    }
}

/// An I/O error while writing frame `index` to `target`, saying so.
fn writing(e: Error, what: impl FnOnce() -> String) -> Error {
    match e {
        Error::Io { context, source } => Error::io(format!("{}: {context}", what()), source),
        other => other,
    }
}

/// x264 + the MP4 muxer, fed YUV 4:2:0 pictures; with a sound track, its resampler and encoder
/// too, fed samples.
pub(super) struct Mp4Backend<E: VideoEncoder + 'static = X264Encoder> {
    pub(super) encoder: E,
    pub(super) muxer: Mp4Writer<Sink>,
    pub(super) target: String,
    pub(super) audio: Option<AudioChain>,
    pub(super) fps: Rational,
}

impl<E: VideoEncoder + 'static> Mp4Backend<E> {
    /// Mux every packet the encoder has ready.
    fn drain(&mut self) -> Result<()> {
        while let Some(packet) = self.encoder.receive_packet()? {
            let pts = packet.pts;
            let target = &self.target;
            self.muxer.write_packet(&packet).map_err(|e| writing(e, || format!("writing frame {pts} to {target}")))?;
        }
        self.drain_audio()
    }

    /// Mux every audio packet the audio encoder has ready (also those encoded before the first
    /// frame, while the muxer did not exist yet).
    fn drain_audio(&mut self) -> Result<()> {
        let Some(chain) = self.audio.as_mut() else { return Ok(()) };
        while let Some(packet) = chain.receive() {
            let (target, rate) = (&self.target, chain.rate());
            self.muxer.write_audio_packet(&packet).map_err(|e| {
                writing(e, || format!("writing audio at {:.3} s to {target}", packet.pts as f64 / f64::from(rate)))
            })?;
        }
        Ok(())
    }

    /// End the sound track: at the video's end when the video was flushed, else (after an
    /// error) wherever the samples end; then mux its last packets.
    fn end_audio(&mut self, video_complete: bool) -> Result<()> {
        let frames = self.muxer.frames();
        let fps = self.fps;
        let Some(chain) = self.audio.as_mut() else { return Ok(()) };
        let length = video_complete.then(|| samples_for_frames(frames, fps, chain.rate()));
        chain.end(length)?;
        self.drain_audio()
    }
}

impl<E: VideoEncoder + 'static> Backend for Mp4Backend<E> {
    type Picture = Yuv420Image;
    type Convert = Converter;

    fn convert(conv: &mut Converter, frame: &Frame, recycled: Option<Yuv420Image>) -> Result<Yuv420Image> {
        let (pw, ph) = padded_size(frame.width(), frame.height());
        let mut pic = match recycled {
            Some(p) => p,
            None => Yuv420Image::try_new(pw, ph)?,
        };
        conv.convert(frame, &mut pic)?;
        Ok(pic)
    }

    fn encode(&mut self, index: u64, picture: &Yuv420Image) -> Result<()> {
        self.encoder.send_frame(picture, index as i64)?;
        self.drain()?;
        let on_disk = self.muxer.frames_on_disk();
        place_once(Some(self.muxer.get_mut()), on_disk, &self.target)
    }

    fn audio(&mut self, samples: &[f32]) -> Result<()> {
        let Some(chain) = self.audio.as_mut() else {
            return Err(Error::parameter("internal: audio for a writer without a sound track"));
        };
        chain.push(samples)?;
        self.drain_audio()
    }

    fn finish(&mut self, error: Option<&Error>) -> (Option<Error>, Option<Error>) {
        let mut flush_error = None;
        if error.is_none() {
            flush_error = self.encoder.flush().and_then(|_| self.drain()).err();
        }
        // The sound track ends at the video's end; after an error the muxer cuts it to the
        // frames kept, and an audio error then is not the news.
        let audio_error = self.end_audio(error.is_none() && flush_error.is_none()).err();
        if error.is_none() {
            flush_error = flush_error.or(audio_error);
        }
        // Finish even after an error: the frames muxed before it stay in a playable file
        // (trimmed to the last frame with no gap in presentation order before it).
        if error.is_some() || flush_error.is_some() {
            self.muxer.mark_interrupted();
        }
        let target = &self.target;
        (flush_error, self.muxer.finish().err().map(|e| writing(e, || format!("finishing {target}"))))
    }

    fn frames(&self) -> u64 {
        self.muxer.frames()
    }

    fn frames_on_disk(&self) -> u64 {
        self.muxer.frames_on_disk()
    }

    fn bytes_written(&self) -> u64 {
        self.muxer.bytes_written()
    }

    fn into_sink(self) -> Option<Sink> {
        Some(self.muxer.into_inner())
    }

    fn target(&self) -> &str {
        &self.target
    }
}

/// The GIF encoder, fed packed RGB.
pub(super) struct GifBackend {
    pub(super) gif: GifEncoder<Sink>,
    pub(super) target: String,
}

impl Backend for GifBackend {
    type Picture = Vec<u8>;
    /// The background that alpha is composited over.
    type Convert = [u8; 3];

    fn convert(background: &mut [u8; 3], frame: &Frame, recycled: Option<Vec<u8>>) -> Result<Vec<u8>> {
        let mut rgb = recycled.unwrap_or_default();
        color::to_rgb(frame, *background, &mut rgb)?;
        Ok(rgb)
    }

    fn encode(&mut self, index: u64, rgb: &Vec<u8>) -> Result<()> {
        let target = &self.target;
        self.gif.write_rgb(rgb).map_err(|e| writing(e, || format!("writing frame {index} to {target}")))?;
        let on_disk = self.gif.frames_on_disk();
        place_once(self.gif.sink_mut(), on_disk, target)
    }

    fn audio(&mut self, _: &[f32]) -> Result<()> {
        Err(Error::parameter("a GIF has no sound track")) // refused when the writer is created
    }

    /// After a write error the file is still finished: cut back to the last whole frame,
    /// trailer written, so the frames before the error stay in a valid GIF.
    fn finish(&mut self, error: Option<&Error>) -> (Option<Error>, Option<Error>) {
        let target = &self.target;
        let finish_error = self.gif.finish().err().map(|e| writing(e, || format!("finishing the GIF to {target}")));
        // Writing the last frame (done by finish) failed, but the file ends validly before it.
        let last_frame_error = match error {
            None => self.gif.take_write_error().map(|e| writing(e, || format!("writing the last frame to {target}"))),
            Some(_) => None,
        };
        (last_frame_error, finish_error)
    }

    fn frames(&self) -> u64 {
        self.gif.frames()
    }

    fn frames_on_disk(&self) -> u64 {
        self.gif.frames_on_disk()
    }

    fn bytes_written(&self) -> u64 {
        self.gif.bytes_written()
    }

    fn into_sink(self) -> Option<Sink> {
        self.gif.into_sink()
    }

    fn target(&self) -> &str {
        &self.target
    }
}
