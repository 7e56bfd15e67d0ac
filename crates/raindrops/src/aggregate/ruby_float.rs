//! [`RubyFloat`]: an `f64` written as Ruby's `Float#to_s` writes it.

use std::fmt::{self, Write as _};

/// Formats an `f64` exactly like Ruby's `Float#to_s`, which raindrops uses
/// for the `X-Mean` and `X-Std-Dev` headers: the shortest representation that
/// round-trips, always with a fractional part (`3.0`), in exponent form with
/// at least two exponent digits outside `1e-4 <= |x| < 1e15` (`1.0e+15`,
/// `1.0e-05`), and `NaN`, `Infinity`, `-Infinity`.
///
/// # Examples
///
/// ```
/// use raindrops::RubyFloat;
///
/// assert_eq!(RubyFloat(3.0).to_string(), "3.0");
/// assert_eq!(RubyFloat(f64::NAN).to_string(), "NaN");
/// assert_eq!(RubyFloat(1e20).to_string(), "1.0e+20");
/// assert_eq!(RubyFloat(0.00001).to_string(), "1.0e-05");
/// assert_eq!(RubyFloat(-2.0 / 3.0).to_string(), "-0.6666666666666666");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct RubyFloat(pub f64);

impl fmt::Display for RubyFloat {
    /// Writes the value as Ruby's `Float#to_s` would.
    ///
    /// # Examples
    ///
    /// ```
    /// use raindrops::RubyFloat;
    ///
    /// assert_eq!(format!("X-Mean: {}", RubyFloat(12.5)), "X-Mean: 12.5");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        if value.is_nan() {
            return f.write_str("NaN");
        }
        if value.is_infinite() {
            return f.write_str(if value < 0.0 { "-Infinity" } else { "Infinity" });
        }
        if value.is_sign_negative() {
            f.write_char('-')?;
        }
        if value == 0.0 {
            return f.write_str("0.0");
        }
        // Shortest round-trip digits d1.d2d3...e<exp> from `{:e}`; Ruby's
        // `decpt` (value = 0.d1d2... * 10^decpt) is exp + 1.
        let mut scientific = String::with_capacity(32);
        write!(scientific, "{:e}", value.abs())?;
        let (mantissa, exponent) = scientific.split_once('e').ok_or(fmt::Error)?;
        let exponent: i32 = exponent.parse().map_err(|_| fmt::Error)?;
        let (lead, rest) = mantissa.split_at(1);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        let digits_len = 1 + rest.len() as i32;
        let decpt = exponent + 1;
        if (1..=15).contains(&decpt) {
            // Fixed: digits with the point after `decpt` of them.
            let digits = || lead.chars().chain(rest.chars());
            for c in digits().take(decpt as usize) {
                f.write_char(c)?;
            }
            for _ in digits_len..decpt {
                f.write_char('0')?;
            }
            f.write_char('.')?;
            if digits_len > decpt {
                for c in digits().skip(decpt as usize) {
                    f.write_char(c)?;
                }
            } else {
                f.write_char('0')?;
            }
            Ok(())
        } else if (-3..=0).contains(&decpt) {
            f.write_str("0.")?;
            for _ in decpt..0 {
                f.write_char('0')?;
            }
            write!(f, "{lead}{rest}")
        } else {
            let rest = if rest.is_empty() { "0" } else { rest };
            write!(f, "{lead}.{rest}e{exponent:+03}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_float_matches_ruby_to_s() {
        // Ruby 3.1: p [...].map(&:to_s)
        let table: [(f64, &str); 26] = [
            (1e20, "1.0e+20"),
            (1e16, "1.0e+16"),
            (1234567890123456.0, "1.234567890123456e+15"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5e-7, "1.5e-07"),
            (123e-310, "1.23e-308"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (100.0, "100.0"),
            (1e15, "1.0e+15"),
            (4611686018427387904.0, "4.611686018427388e+18"),
            (-2.5, "-2.5"),
            (1e14, "100000000000000.0"),
            (123456789012345.0, "123456789012345.0"),
            (999999999999999.9, "999999999999999.9"),
            (0.001, "0.001"),
            (0.00012345, "0.00012345"),
            (1.0, "1.0"),
            (5e-324, "5.0e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (f64::NAN, "NaN"),
        ];
        for (value, ruby) in table {
            assert_eq!(RubyFloat(value).to_string(), ruby);
        }
    }
}
