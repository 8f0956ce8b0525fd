//! Exact frame rates (30000/1001 must stay exact: timestamps come from integer frame indices).

use crate::error::{Error, Result};
use std::fmt;

/// A positive rational number `num/den`, kept reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rational {
    pub num: u32,
    pub den: u32,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Rational {
    /// A reduced, positive rational; zero or a zero denominator is a parameter error.
    pub fn new(num: u32, den: u32) -> Result<Self> {
        if num == 0 || den == 0 {
            return Err(Error::parameter(format!("frame rate must be positive, got {num}/{den}")));
        }
        let g = gcd(num as u64, den as u64) as u32;
        Ok(Rational { num: num / g, den: den / g })
    }

    /// The nearest rational to a float frame rate: well-known NTSC rates (23.976, 29.97, 59.94...)
    /// become their exact x000/1001 forms, other values use a denominator up to 1001.
    pub fn from_f64(fps: f64) -> Result<Self> {
        if !fps.is_finite() || fps <= 0.0 {
            return Err(Error::parameter(format!("frame rate must be a positive finite number, got {fps}")));
        }
        if fps > 1_000_000.0 {
            return Err(Error::parameter(format!("frame rate {fps} is above the maximum of 1000000 fps")));
        }
        if (fps - fps.round()).abs() < 1e-9 {
            return Rational::new(fps.round() as u32, 1);
        }
        // NTSC family: n*1000/1001 within 0.001 → exact form.
        let n = (fps * 1001.0 / 1000.0).round();
        if n >= 1.0 && (n * 1000.0 / 1001.0 - fps).abs() < 1e-3 {
            return Rational::new((n * 1000.0) as u32, 1001);
        }
        // A slow rate given as a float, e.g. 1/60 (a frame a minute): one frame per whole
        // number of seconds.
        if fps < 1.0 {
            let period = (1.0 / fps).round();
            if period <= f64::from(u32::MAX) && (1.0 / period - fps).abs() <= fps * 1e-9 {
                return Rational::new(1, period as u32);
            }
        }
        // Otherwise the best approximation with denominator <= 1001, or larger for rates below
        // 1 fps so that the numerator is not 0 (a linear scan of denominators is exact enough
        // and cheap; continued fractions would be overkill).
        let max_den = if fps < 1.0 { ((1001.0 / fps).ceil().min(4_194_304.0)) as u32 } else { 1001 };
        let mut best: Option<(u32, u32)> = None;
        let mut best_err = f64::INFINITY;
        if fps >= 1.0 {
            best = Some((fps.round() as u32, 1));
            best_err = (fps.round() - fps).abs();
        }
        for den in 2..=max_den {
            let num = (fps * den as f64).round();
            if num < 1.0 {
                continue;
            }
            let err = (num / den as f64 - fps).abs();
            if err < best_err - 1e-12 {
                best = Some((num as u32, den));
                best_err = err;
            }
        }
        let (num, den) = best.ok_or_else(|| Error::parameter(format!("frame rate {fps} is too small")))?;
        Rational::new(num, den)
    }

    /// Parse "30", "29.97", "30000/1001".
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if let Some((a, b)) = s.split_once('/') {
            let bad = || Error::parameter(format!("cannot parse frame rate {s:?}"));
            let num: u32 = a.trim().parse().map_err(|_| bad())?;
            let den: u32 = b.trim().parse().map_err(|_| bad())?;
            Rational::new(num, den)
        } else {
            let f: f64 = s.parse().map_err(|_| Error::parameter(format!("cannot parse frame rate {s:?}")))?;
            Rational::from_f64(f)
        }
    }

    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntsc_rates_are_exact() {
        assert_eq!(Rational::from_f64(29.97).unwrap(), Rational { num: 30000, den: 1001 });
        assert_eq!(Rational::from_f64(23.976).unwrap(), Rational { num: 24000, den: 1001 });
        assert_eq!(Rational::from_f64(59.94).unwrap(), Rational { num: 60000, den: 1001 });
        assert_eq!(Rational::parse("30000/1001").unwrap(), Rational { num: 30000, den: 1001 });
        assert_eq!(Rational::parse("60/2").unwrap(), Rational { num: 30, den: 1 });
        assert_eq!(Rational::from_f64(12.5).unwrap(), Rational { num: 25, den: 2 });
        assert!(Rational::parse("0").is_err());
        assert!(Rational::parse("abc").is_err());
    }

    #[test]
    fn slow_float_rates_keep_a_non_zero_numerator() {
        assert_eq!(Rational::from_f64(1.0 / 60.0).unwrap(), Rational { num: 1, den: 60 });
        assert_eq!(Rational::from_f64(0.5).unwrap(), Rational { num: 1, den: 2 });
        assert_eq!(Rational::from_f64(1e-4).unwrap(), Rational { num: 1, den: 10_000 });
        assert_eq!(Rational::from_f64(0.4).unwrap(), Rational { num: 2, den: 5 });
        let r = Rational::from_f64(0.001234).unwrap();
        assert!(r.num >= 1 && (r.as_f64() - 0.001234).abs() < 1e-7, "{r}");
    }
}
