//! When a member can take a routed lead: their time zone, weekly working hours, time off,
//! the Away switch and a daily cap. Pure: "now" is an argument (epoch ms, UTC) and every
//! local time is worked out in the member's own IANA time zone, daylight-saving changes
//! included (a 09:00-17:00 day is 8 hours on both sides of a change).

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::kinds::closed_set;
use crate::domain::validate::FieldErrors;

pub const DEFAULT_TIMEZONE: &str = "UTC";
pub const CAP_RANGE: std::ops::RangeInclusive<i64> = 0..=10_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Time off longer than this is refused (a typo, not a sabbatical).
pub const TIME_OFF_MAX_MS: i64 = 366 * DAY_MS;
pub const REASON_MAX: usize = 200;
/// How far ahead "off until" and coverage look for the next working hours.
const LOOKAHEAD_DAYS: i32 = 8;

closed_set! {
    /// A day of the week, as working hours name it.
    pub enum Day {
        Mon = ("mon", "Monday"),
        Tue = ("tue", "Tuesday"),
        Wed = ("wed", "Wednesday"),
        Thu = ("thu", "Thursday"),
        Fri = ("fri", "Friday"),
        Sat = ("sat", "Saturday"),
        Sun = ("sun", "Sunday"),
    }
}

impl Day {
    fn of(date: Date) -> Day {
        Day::ALL[usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())]
    }
}

/// Minutes after local midnight, 0..1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minute(u16);

impl Minute {
    /// "09:30" -> 570; `None` for anything else than HH:MM from 00:00 to 23:59.
    pub fn parse(raw: &str) -> Option<Minute> {
        let (h, m) = raw.trim().split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(Minute(h * 60 + m))
    }

    pub fn as_string(self) -> String {
        format!("{:02}:{:02}", self.0 / 60, self.0 % 60)
    }

    fn time(self) -> Time {
        let (h, m) = (self.0 / 60, self.0 % 60);
        Time::new(h as i8, m as i8, 0, 0).unwrap_or(Time::midnight())
    }
}

/// One range of working hours: `end` before `start` is a shift past midnight, which
/// belongs to the day it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub day: Day,
    pub start: Minute,
    pub end: Minute,
}

impl Hours {
    fn overnight(&self) -> bool {
        self.end < self.start
    }

    /// The range as minutes of its own day; an overnight one runs past 1440.
    fn span(&self) -> (u16, u16) {
        let end = if self.overnight() {
            self.end.0 + 1440
        } else {
            self.end.0
        };
        (self.start.0, end)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeOff {
    pub id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub reason: Option<String>,
}

/// A member's availability settings, as stored.
#[derive(Debug, Clone)]
pub struct Availability {
    pub timezone: TimeZone,
    /// Empty: always working.
    pub working_hours: Vec<Hours>,
    pub away: bool,
    pub daily_cap: Option<i64>,
    pub time_off: Vec<TimeOff>,
}

/// Why a member cannot take a lead right now; `until` is when that ends, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    Away,
    TimeOff { until: i64 },
    OffHours { until: Option<i64> },
    Capped,
}

impl Unavailable {
    /// The reason's wire name (receipts, the simulator, the API).
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::Away => "away",
            Unavailable::TimeOff { .. } => "time_off",
            Unavailable::OffHours { .. } => "off_hours",
            Unavailable::Capped => "capped",
        }
    }
}

/// The time zone named `name`, or why not.
pub fn timezone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name.trim())
        .map_err(|_| "must be an IANA time zone name, such as Europe/Berlin".into())
}

fn zoned(at: i64, tz: &TimeZone) -> Option<ZonedDateTime> {
    Some(
        Timestamp::from_millisecond(at)
            .ok()?
            .to_zoned_datetime(tz.clone()),
    )
}

fn instant(date: Date, minute: Minute, tz: &TimeZone) -> Option<i64> {
    let local = date.to_datetime(minute.time());
    Some(
        local
            .to_zoned_datetime(tz.clone())
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

impl Availability {
    pub fn always(timezone: TimeZone) -> Self {
        Availability {
            timezone,
            working_hours: Vec::new(),
            away: false,
            daily_cap: None,
            time_off: Vec::new(),
        }
    }

    /// The member's IANA time zone name.
    pub fn timezone_name(&self) -> &str {
        self.timezone.iana_name().unwrap_or(DEFAULT_TIMEZONE)
    }

    /// The local day of `now`, as a number (20261204): the cap's day, reset at local
    /// midnight.
    pub fn day_key(&self, now: i64) -> i64 {
        zoned(now, &self.timezone).map_or(0, |z| {
            let d = z.date();
            i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
        })
    }

    /// The working ranges that start on the days around `now` as instants, in order:
    /// from the day before (an overnight shift) to [`LOOKAHEAD_DAYS`] ahead.
    fn shifts(&self, now: i64) -> Vec<(i64, i64)> {
        let Some(today) = zoned(now, &self.timezone).map(|z| z.date()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for offset in -1..=LOOKAHEAD_DAYS {
            let Ok(date) = today.checked_add(jiff::Span::new().days(offset)) else {
                continue;
            };
            for h in self.working_hours.iter().filter(|h| h.day == Day::of(date)) {
                let end_date = if h.overnight() {
                    date.tomorrow().ok()
                } else {
                    Some(date)
                };
                let start = instant(date, h.start, &self.timezone);
                let end = end_date.and_then(|d| instant(d, h.end, &self.timezone));
                if let (Some(s), Some(e)) = (start, end) {
                    out.push((s, e));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Whether `now` is inside the working hours (always, with none set), and if not,
    /// when they next start.
    pub fn working_at(&self, now: i64) -> Result<(), Option<i64>> {
        if self.working_hours.is_empty() {
            return Ok(());
        }
        let shifts = self.shifts(now);
        if shifts.iter().any(|&(s, e)| s <= now && now < e) {
            return Ok(());
        }
        Err(shifts.iter().map(|&(s, _)| s).find(|&s| s > now))
    }

    /// The time off `now` falls in, with when it ends (chained time off counts as one).
    fn off_until(&self, now: i64) -> Option<i64> {
        let mut until = self
            .time_off
            .iter()
            .find(|t| t.starts_at <= now && now < t.ends_at)?
            .ends_at;
        while let Some(next) = self
            .time_off
            .iter()
            .find(|t| t.starts_at <= until && until < t.ends_at)
        {
            until = next.ends_at;
        }
        Some(until)
    }

    /// Why the member cannot take a lead at `now`, if they cannot. `routed_today` is how
    /// many routed leads they got since local midnight; `hours_apply` is the rotation's
    /// "Only route during working hours" switch.
    pub fn unavailable(
        &self,
        now: i64,
        routed_today: i64,
        hours_apply: bool,
    ) -> Option<Unavailable> {
        if self.away {
            return Some(Unavailable::Away);
        }
        if let Some(until) = self.off_until(now) {
            return Some(Unavailable::TimeOff { until });
        }
        if hours_apply && let Err(until) = self.working_at(now) {
            return Some(Unavailable::OffHours { until });
        }
        if self.daily_cap.is_some_and(|cap| routed_today >= cap) {
            return Some(Unavailable::Capped);
        }
        None
    }

    /// "off until Mon 09:00 Europe/Berlin": a reason in words, in the member's zone.
    pub fn explain(&self, why: Unavailable) -> String {
        let at = |ms: i64| match zoned(ms, &self.timezone) {
            Some(z) => format!("{} {}", z.strftime("%a %H:%M"), self.timezone_name()),
            None => "later".into(),
        };
        match why {
            Unavailable::Away => "away".into(),
            Unavailable::TimeOff { until } => format!("on time off until {}", at(until)),
            Unavailable::OffHours { until: Some(until) } => format!("off until {}", at(until)),
            Unavailable::OffHours { until: None } => "outside working hours".into(),
            Unavailable::Capped => match self.daily_cap {
                Some(cap) => format!("reached the daily cap of {cap}"),
                None => "reached the daily cap".into(),
            },
        }
    }

    /// The instants in `[from, to)` when the member works and is not on time off, as
    /// sorted disjoint intervals (the Away switch and caps are about now, not the plan).
    pub fn planned(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut on: Vec<(i64, i64)> = if self.working_hours.is_empty() {
            vec![(from, to)]
        } else {
            let mut shifts = Vec::new();
            let mut day = from;
            while day < to + DAY_MS {
                shifts.extend(self.shifts(day));
                day += 7 * DAY_MS;
            }
            merge(shifts)
        };
        for off in &self.time_off {
            on = subtract(&on, off.starts_at, off.ends_at);
        }
        on.into_iter()
            .filter_map(|(s, e)| {
                let (s, e) = (s.max(from), e.min(to));
                (s < e).then_some((s, e))
            })
            .collect()
    }
}

/// Sorted, overlapping intervals merged into disjoint ones.
pub fn merge(mut intervals: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    intervals.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (s, e) in intervals {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn subtract(intervals: &[(i64, i64)], from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for &(s, e) in intervals {
        if e <= from || to <= s {
            out.push((s, e));
            continue;
        }
        if s < from {
            out.push((s, from));
        }
        if to < e {
            out.push((to, e));
        }
    }
    out
}

/// The gaps in `[from, to)` that none of `covered` (each sorted and disjoint) covers.
pub fn gaps(covered: &[Vec<(i64, i64)>], from: i64, to: i64) -> Vec<(i64, i64)> {
    let all = merge(covered.iter().flatten().copied().collect());
    let mut out = Vec::new();
    let mut at = from;
    for (s, e) in all {
        if s > at {
            out.push((at, s.min(to)));
        }
        at = at.max(e);
        if at >= to {
            break;
        }
    }
    if at < to {
        out.push((at, to));
    }
    out.retain(|(s, e)| s < e);
    out
}

/// Working hours as they arrive: `{"day", "start", "end"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoursInput {
    pub day: String,
    pub start: String,
    pub end: String,
}

impl From<&Hours> for HoursInput {
    fn from(h: &Hours) -> Self {
        HoursInput {
            day: h.day.as_str().into(),
            start: h.start.as_string(),
            end: h.end.as_string(),
        }
    }
}

/// Reads working hours, naming each bad field `working_hours[i].start` and refusing ranges
/// that start and end at once or overlap another range of the same day.
pub fn read_hours(input: &[HoursInput], errors: &mut FieldErrors) -> Vec<Hours> {
    let mut out: Vec<Hours> = Vec::new();
    for (i, h) in input.iter().enumerate() {
        let field = |name: &str| format!("working_hours[{i}].{name}");
        let day = Day::parse(h.day.trim());
        let start = Minute::parse(&h.start);
        let end = Minute::parse(&h.end);
        if day.is_none() {
            errors.add(
                &field("day"),
                "must be one of mon, tue, wed, thu, fri, sat, sun",
            );
        }
        if start.is_none() {
            errors.add(&field("start"), "must be a time HH:MM from 00:00 to 23:59");
        }
        if end.is_none() {
            errors.add(&field("end"), "must be a time HH:MM from 00:00 to 23:59");
        }
        let (Some(day), Some(start), Some(end)) = (day, start, end) else {
            continue;
        };
        if start == end {
            errors.add(&field("end"), "must differ from start");
            continue;
        }
        let hours = Hours { day, start, end };
        let (s, e) = hours.span();
        let overlaps = out.iter().filter(|o| o.day == day).any(|o| {
            let (os, oe) = o.span();
            s < oe && os < e
        });
        if overlaps {
            errors.add(&field("start"), "overlaps another range on the same day");
            continue;
        }
        out.push(hours);
    }
    out
}

/// Reads an RFC 3339 time as epoch ms, naming `field` when it is not one.
pub fn read_instant(raw: &str, field: &str, errors: &mut FieldErrors) -> Option<i64> {
    let parsed = raw
        .trim()
        .parse::<Timestamp>()
        .ok()
        .map(Timestamp::as_millisecond);
    if parsed.is_none() {
        errors.add(
            field,
            "must be an RFC 3339 time, such as 2026-12-24T00:00:00Z",
        );
    }
    parsed
}

/// Checks a time off's range: ends after it starts, at most a year long.
pub fn check_time_off(starts_at: i64, ends_at: i64, errors: &mut FieldErrors) {
    if ends_at <= starts_at {
        errors.add("ends_at", "must be after starts_at");
    } else if ends_at - starts_at > TIME_OFF_MAX_MS {
        errors.add("ends_at", "must be at most a year after starts_at");
    }
}

/// Checks a daily cap.
pub fn check_cap(cap: Option<i64>, errors: &mut FieldErrors) {
    if cap.is_some_and(|c| !CAP_RANGE.contains(&c)) {
        errors.add(
            "daily_cap",
            "must be a whole number from 0 to 10000, or null",
        );
    }
}

#[cfg(test)]
mod tests;
