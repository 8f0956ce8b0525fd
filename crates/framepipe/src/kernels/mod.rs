//! Pixel kernels used by the clip model (text rasterisation, ...).

pub mod text;
