//! The one error type of the engine, grouped by kind (parameter, unsupported, invalid data,
//! io, encoder, out of memory).
//! Every variant keeps the underlying cause: the message names what was wrong, and for frames,
//! which frame.

use std::io;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an error says, and about what: the frame and the argument as fields, so that a
/// program (the CLI, the Python binding) never reads them back out of the text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Detail {
    /// The whole message, for people (it names the frame and the argument in its own words).
    pub message: String,
    /// The index of the frame the error is about (a writer counts its frames from 0).
    pub frame: Option<u64>,
    /// The option or argument at fault ("crf", "dither", "fps", ...).
    pub argument: Option<String>,
}

impl Detail {
    fn new(message: impl Into<String>) -> Self {
        Detail { message: message.into(), frame: None, argument: None }
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Everything that can go wrong in framepipe. More kinds may come (`#[non_exhaustive]`); the
/// frame and argument an error is about are fields ([`Error::frame`], [`Error::argument`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value the caller passed is wrong (a frame of the wrong size, crf out of range, ...).
    #[error("{0}")]
    Parameter(Detail),
    /// Valid in principle, but not supported (a pixel format or container we do not handle).
    #[error("unsupported: {0}")]
    Unsupported(Detail),
    /// Reading or writing failed; `context` says what was being done (and to which path).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The encoder refused an option or failed while encoding.
    #[error("encoder: {0}")]
    Encoder(Detail),
    /// A file framepipe reads (an MP4 to probe or join, a GIF to probe) is malformed or not of
    /// the format it claims.
    #[error("{0}")]
    InvalidData(Detail),
    /// A buffer could not be allocated; the message says how large and what for.
    #[error("out of memory: {0}")]
    OutOfMemory(Detail),
}

impl Error {
    pub fn parameter(msg: impl Into<String>) -> Self {
        Error::Parameter(Detail::new(msg))
    }
    /// A parameter error about the option or argument `argument`.
    pub fn parameter_for(argument: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Parameter(Detail { argument: Some(argument.into()), ..Detail::new(msg) })
    }
    /// A parameter error about frame `frame`, whose message already names it.
    pub fn parameter_at(frame: u64, msg: impl Into<String>) -> Self {
        Error::Parameter(Detail { frame: Some(frame), ..Detail::new(msg) })
    }
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Error::Unsupported(Detail::new(msg))
    }
    pub fn encoder(msg: impl Into<String>) -> Self {
        Error::Encoder(Detail::new(msg))
    }
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
    pub fn invalid_data(msg: impl Into<String>) -> Self {
        Error::InvalidData(Detail::new(msg))
    }
    pub fn out_of_memory(msg: impl Into<String>) -> Self {
        Error::OutOfMemory(Detail::new(msg))
    }

    fn detail(&self) -> Option<&Detail> {
        match self {
            Error::Parameter(d)
            | Error::Unsupported(d)
            | Error::Encoder(d)
            | Error::InvalidData(d)
            | Error::OutOfMemory(d) => Some(d),
            Error::Io { .. } => None,
        }
    }
    fn detail_mut(&mut self) -> Option<&mut Detail> {
        match self {
            Error::Parameter(d)
            | Error::Unsupported(d)
            | Error::Encoder(d)
            | Error::InvalidData(d)
            | Error::OutOfMemory(d) => Some(d),
            Error::Io { .. } => None,
        }
    }

    /// The index of the frame the error is about, if it is about one.
    pub fn frame(&self) -> Option<u64> {
        self.detail().and_then(|d| d.frame)
    }

    /// The option or argument at fault, if one is.
    pub fn argument(&self) -> Option<&str> {
        self.detail().and_then(|d| d.argument.as_deref())
    }

    /// The error as one about frame `index`: an error that names no frame yet gets it as its
    /// field and its message starts with `frame {index}: `; one that names a frame is kept.
    pub fn with_frame(mut self, index: u64) -> Error {
        if let Some(d) = self.detail_mut() {
            if d.frame.is_none() {
                d.frame = Some(index);
                d.message = format!("frame {index}: {}", d.message);
            }
        }
        self
    }

    /// The error with its frame field set to `index`, the message unchanged (for a message that
    /// names the frame in its own words).
    pub fn naming_frame(mut self, index: u64) -> Error {
        if let Some(d) = self.detail_mut() {
            d.frame = Some(index);
        }
        self
    }

    /// The message with `f` applied (kind, frame, argument and errno kept).
    fn map_message(self, f: impl FnOnce(String) -> String) -> Error {
        match self {
            Error::Io { context, source } => Error::Io { context: f(context), source },
            mut other => {
                if let Some(d) = other.detail_mut() {
                    d.message = f(std::mem::take(&mut d.message));
                }
                other
            }
        }
    }

    /// The same error again (same kind, message, fields and errno), prefixed with `prefix`; for
    /// reporting an earlier failure when the caller tries to go on.
    pub fn again(&self, prefix: &str) -> Error {
        let copy = match self {
            Error::Io { context, source } => {
                let source = match source.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(source.kind(), source.to_string()),
                };
                Error::Io { context: context.clone(), source }
            }
            Error::Parameter(d) => Error::Parameter(d.clone()),
            Error::Unsupported(d) => Error::Unsupported(d.clone()),
            Error::Encoder(d) => Error::Encoder(d.clone()),
            Error::InvalidData(d) => Error::InvalidData(d.clone()),
            Error::OutOfMemory(d) => Error::OutOfMemory(d.clone()),
        };
        copy.map_message(|m| format!("{prefix}{m}"))
    }

    /// The error with `prefix` put before its message (kind, fields and errno kept).
    pub fn with_prefix(self, prefix: &str) -> Error {
        self.map_message(|m| format!("{prefix}{m}"))
    }

    /// The error with `note` appended to its message (kind, fields and errno kept).
    pub fn with_note(self, note: &str) -> Error {
        match self {
            Error::Io { context, source } => Error::Io { context: format!("{context} ({note})"), source },
            other => other.map_message(|m| format!("{m}; {note}")),
        }
    }

    /// True when the error is "no space left on the device" (or a file-size limit).
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => {
                matches!(source.kind(), io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge)
                    || matches!(source.raw_os_error(), Some(28) | Some(27))
            }
            _ => false,
        }
    }
}

/// Attach context to io results: `file.write_all(b).ctx("writing out.mp4")?`.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}
