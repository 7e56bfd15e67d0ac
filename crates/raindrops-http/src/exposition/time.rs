//! Timestamps as raindrops prints them: ISO-8601 UTC with seconds (`2026-11-22T21:59:49Z`)
//! and HTTP dates (`Sun, 22 Nov 2026 21:59:49 GMT`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as ISO-8601 UTC with whole seconds and a `Z`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use raindrops_http::exposition::time::iso8601;
///
/// let t = UNIX_EPOCH + Duration::from_secs(1_795_384_789);
/// assert_eq!(iso8601(t), "2026-11-22T21:59:49Z");
/// ```
pub fn iso8601(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `t` as an HTTP date (RFC 9110 IMF-fixdate).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use raindrops_http::exposition::time::http_date;
///
/// let t = UNIX_EPOCH + Duration::from_secs(1_795_384_789);
/// assert_eq!(http_date(t), "Sun, 22 Nov 2026 21:59:49 GMT");
/// ```
pub fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Year, month, day of the proleptic Gregorian calendar from days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use proptest::prelude::*;

    proptest! {
        /// Our ISO-8601 date agrees with httpdate's calendar for any second up to year 9999.
        #[test]
        fn agrees_with_httpdate(secs in 0u64..253_402_300_799) {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            let iso = super::iso8601(t);
            let http = super::http_date(t);
            // "Sun, 22 Nov 2026 21:59:49 GMT" -> day, month, year, time
            let parts: Vec<&str> = http.split(' ').collect();
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let month = months.iter().position(|m| *m == parts[2]).unwrap() + 1;
            let expected = format!("{}-{month:02}-{}T{}Z", parts[3], parts[1], parts[4]);
            prop_assert_eq!(iso, expected);
        }
    }
}
