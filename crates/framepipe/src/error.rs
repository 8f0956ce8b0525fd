//! The one error type of the engine, grouped by kind (parameter, unsupported, invalid data,
//! io, encoder, out of memory).
//! Every variant keeps the underlying cause: the message names what was wrong, and for frames,
//! which frame.

use std::io;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in framepipe.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value the caller passed is wrong (a frame of the wrong size, crf out of range, ...).
    #[error("{0}")]
    Parameter(String),
    /// Valid in principle, but not supported (a pixel format or container we do not handle).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading or writing failed; `context` says what was being done (and to which path).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The encoder refused an option or failed while encoding.
    #[error("encoder: {0}")]
    Encoder(String),
    /// A file framepipe reads (an MP4 to probe or join, a GIF to probe) is malformed or not of
    /// the format it claims.
    #[error("{0}")]
    InvalidData(String),
    /// A buffer could not be allocated; the message says how large and what for.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
}

impl Error {
    pub fn parameter(msg: impl Into<String>) -> Self {
        Error::Parameter(msg.into())
    }
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Error::Unsupported(msg.into())
    }
    pub fn encoder(msg: impl Into<String>) -> Self {
        Error::Encoder(msg.into())
    }
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
    pub fn invalid_data(msg: impl Into<String>) -> Self {
        Error::InvalidData(msg.into())
    }
    pub fn out_of_memory(msg: impl Into<String>) -> Self {
        Error::OutOfMemory(msg.into())
    }
    /// The same error again (same kind, message and errno), prefixed with `prefix`; for
    /// reporting an earlier failure when the caller tries to go on.
    pub fn again(&self, prefix: &str) -> Error {
        match self {
            Error::Parameter(m) => Error::Parameter(format!("{prefix}{m}")),
            Error::Unsupported(m) => Error::Unsupported(format!("{prefix}{m}")),
            Error::Encoder(m) => Error::Encoder(format!("{prefix}{m}")),
            Error::OutOfMemory(m) => Error::OutOfMemory(format!("{prefix}{m}")),
            Error::InvalidData(m) => Error::InvalidData(format!("{prefix}{m}")),
            Error::Io { context, source } => {
                let source = match source.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(source.kind(), source.to_string()),
                };
                Error::Io { context: format!("{prefix}{context}"), source }
            }
        }
    }

    /// The error with `note` appended to its message (kind and errno kept).
    pub fn with_note(self, note: &str) -> Error {
        match self {
            Error::Parameter(m) => Error::Parameter(format!("{m}; {note}")),
            Error::Unsupported(m) => Error::Unsupported(format!("{m}; {note}")),
            Error::Encoder(m) => Error::Encoder(format!("{m}; {note}")),
            Error::OutOfMemory(m) => Error::OutOfMemory(format!("{m}; {note}")),
            Error::InvalidData(m) => Error::InvalidData(format!("{m}; {note}")),
            Error::Io { context, source } => Error::Io { context: format!("{context} ({note})"), source },
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
