//! iCalendar text (RFC 5545): a calendar of events, written so that calendar
//! programs (Outlook, Google Calendar, Thunderbird, Apple Calendar) read it.
//!
//! The rules kept:
//!
//! - **Lines end in CRLF** and are **folded at 75 octets**: a longer line
//!   goes on in lines that begin with one space, and a character of several
//!   UTF-8 bytes is never cut (RFC 5545 §3.1).
//! - **Text is escaped**: `\`, `;` and `,` get a backslash, a line break
//!   becomes `\n`, and other control characters (which a content line may
//!   not hold) are dropped (§3.3.11).
//! - **Times are UTC** (`20260601T070000Z`) or **on the wall clock of an IANA
//!   zone** (`DTSTART;TZID=Europe/Berlin:20260601T090000`); every zone
//!   named has its `VTIMEZONE`, written from the time-zone database (§3.6.5).
//!   Its observances cover the events' years (from 1900 at the earliest)
//!   and ten years past the calendar's stamp; a yearly pattern of changes ("the last Sunday of
//!   March at 02:00") is written as one observance with an `RRULE`, any
//!   other change on its own, so a program that reads only the
//!   `VTIMEZONE` (Outlook) gets the same offsets as one that knows the zone
//!   by name.
//! - **An end is exact**: RFC 5545 gives every occurrence of a recurring
//!   event the exact duration between its `DTSTART` and `DTEND`, which is how
//!   ferry counts a window's duration (elapsed time). Where the end's wall
//!   clock reading would not name the end's instant (it falls in the hour a
//!   clock change repeats), the event has a `DURATION` instead of a `DTEND`.
//!
//! Nothing here reads a clock: the calendar's stamp is given.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc, Weekday,
};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::windows::IcalRule;

/// The longest a content line may be, in octets, without its CRLF.
pub const LINE_OCTETS: usize = 75;

/// How many years past the calendar's stamp a `VTIMEZONE` spells out.
const ZONE_YEARS_AHEAD: i32 = 10;

/// The earliest year a `VTIMEZONE` spells out.
const EARLIEST_ZONE_YEAR: i32 = 1900;

/// A calendar: its name and its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// `PRODID`: who made it, such as `-//ferry//ferry 0.1.0//EN`.
    pub product: String,
    /// The calendar's name for people (`NAME`, `X-WR-CALNAME`).
    pub name: String,
    /// A description for people (`DESCRIPTION`, `X-WR-CALDESC`).
    pub description: String,
    /// How often a subscriber should fetch it again
    /// (`REFRESH-INTERVAL`, `X-PUBLISHED-TTL`).
    pub refresh: Option<Duration>,
    /// When it was made: every event's `DTSTAMP`, and where the zones'
    /// observances end.
    pub stamp: DateTime<Utc>,
    /// Its events.
    pub events: Vec<Event>,
}

/// One event, maybe recurring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `UID`: the same for the same event on every fetch.
    pub uid: String,
    /// When it starts (its first occurrence, for a recurring one).
    pub start: Time,
    /// When it ends; `None` for an instant (it ends when it starts).
    pub end: Option<End>,
    /// `RRULE`: how it recurs, for a recurring one.
    pub rrule: Option<String>,
    /// `SUMMARY`: what it is, in a line.
    pub summary: String,
    /// `DESCRIPTION`: more, for people (left out when empty).
    pub description: String,
    /// `CATEGORIES`, such as `window`.
    pub categories: Vec<String>,
    /// Whether it leaves its time free (`TRANSP:TRANSPARENT`), as a window
    /// does; otherwise it shows as busy.
    pub transparent: bool,
}

/// A time of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// An instant, written in UTC.
    Utc(DateTime<Utc>),
    /// A reading of the wall clock of a zone, written with its `TZID`.
    Local(Tz, NaiveDateTime),
}

/// How an event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// At a time (`DTEND`).
    At(Time),
    /// After an exact duration (`DURATION`).
    After(Duration),
}

impl Event {
    /// A recurring event over a recurrence's RFC 5545 form: starting at its
    /// first start on its zone's wall clock (in UTC when its zone is UTC),
    /// ending after its duration, repeating by its rule.
    pub fn recurring(uid: String, rule: &IcalRule, summary: String) -> Self {
        let start = if rule.timezone == Tz::UTC {
            Time::Utc(rule.first_instant)
        } else {
            Time::Local(rule.timezone, rule.first_start)
        };
        let end = rule
            .first_instant
            .checked_add_signed(rule.duration)
            .map_or(End::After(rule.duration), |end| {
                exact_end(rule.timezone, end, rule.duration)
            });
        Self {
            uid,
            start,
            end: Some(end),
            rrule: Some(rule.rrule.clone()),
            summary,
            description: String::new(),
            categories: Vec::new(),
            transparent: false,
        }
    }

    /// An event from `start` to `end` (in UTC); an instant when they are
    /// equal (or `end` is earlier).
    pub fn once(uid: String, start: DateTime<Utc>, end: DateTime<Utc>, summary: String) -> Self {
        Self {
            uid,
            start: Time::Utc(start),
            end: (end > start).then_some(End::At(Time::Utc(end))),
            rrule: None,
            summary,
            description: String::new(),
            categories: Vec::new(),
            transparent: false,
        }
    }
}

/// The end at instant `end`, `length` after the start, of an event in
/// `tz`: on the zone's wall clock when that reading names `end` (of two
/// readings of the hour a clock change repeats, RFC 5545 takes the earlier),
/// else as the length.
fn exact_end(tz: Tz, end: DateTime<Utc>, length: Duration) -> End {
    if tz == Tz::UTC {
        return End::At(Time::Utc(end));
    }
    let local = end.with_timezone(&tz).naive_local();
    match tz.from_local_datetime(&local).earliest() {
        Some(read) if read.with_timezone(&Utc) == end => End::At(Time::Local(tz, local)),
        _ => End::After(length),
    }
}

impl Calendar {
    /// The calendar as iCalendar text: CRLF line ends, lines folded at 75
    /// octets, a `VTIMEZONE` for every zone its events name.
    pub fn render(&self) -> String {
        let mut lines = Lines::default();
        lines.push("BEGIN:VCALENDAR");
        lines.push("VERSION:2.0");
        lines.push(format!("PRODID:{}", escape(&self.product)));
        lines.push("CALSCALE:GREGORIAN");
        lines.push("METHOD:PUBLISH");
        if !self.name.is_empty() {
            lines.push(format!("NAME:{}", escape(&self.name)));
            lines.push(format!("X-WR-CALNAME:{}", escape(&self.name)));
        }
        if !self.description.is_empty() {
            lines.push(format!("DESCRIPTION:{}", escape(&self.description)));
            lines.push(format!("X-WR-CALDESC:{}", escape(&self.description)));
        }
        if let Some(refresh) = self.refresh {
            lines.push(format!(
                "REFRESH-INTERVAL;VALUE=DURATION:{}",
                duration(refresh)
            ));
            lines.push(format!("X-PUBLISHED-TTL:{}", duration(refresh)));
        }
        for (tz, first_year) in self.zones() {
            // Before 1900 the database has local mean time only; starting
            // there bounds the work for a rule that begins centuries back.
            let first_year = first_year.max(EARLIEST_ZONE_YEAR);
            let last_year = (self.stamp.year() + ZONE_YEARS_AHEAD).max(first_year);
            for line in vtimezone(tz, first_year, last_year) {
                lines.push(line);
            }
        }
        for event in &self.events {
            self.render_event(&mut lines, event);
        }
        lines.push("END:VCALENDAR");
        lines.text
    }

    fn render_event(&self, lines: &mut Lines, event: &Event) {
        lines.push("BEGIN:VEVENT");
        lines.push(format!("UID:{}", escape(&event.uid)));
        lines.push(format!("DTSTAMP:{}", utc(self.stamp)));
        lines.push(format!("DTSTART{}", time_value(event.start)));
        match event.end {
            None => {}
            Some(End::At(time)) => lines.push(format!("DTEND{}", time_value(time))),
            Some(End::After(length)) => lines.push(format!("DURATION:{}", duration(length))),
        }
        if let Some(rule) = &event.rrule {
            lines.push(format!("RRULE:{rule}"));
        }
        lines.push(format!("SUMMARY:{}", escape(&event.summary)));
        if !event.description.is_empty() {
            lines.push(format!("DESCRIPTION:{}", escape(&event.description)));
        }
        if !event.categories.is_empty() {
            let categories: Vec<String> = event.categories.iter().map(|c| escape(c)).collect();
            lines.push(format!("CATEGORIES:{}", categories.join(",")));
        }
        if event.transparent {
            lines.push("TRANSP:TRANSPARENT");
        }
        lines.push("END:VEVENT");
    }

    /// Every zone the events name, with the first year its `VTIMEZONE` must
    /// cover: the year before the earliest wall-clock time read in it.
    fn zones(&self) -> Vec<(Tz, i32)> {
        let mut zones: Vec<(Tz, i32)> = Vec::new();
        for event in &self.events {
            let end = match event.end {
                Some(End::At(time)) => Some(time),
                _ => None,
            };
            for time in std::iter::once(event.start).chain(end) {
                if let Time::Local(tz, local) = time {
                    let year = local.year() - 1;
                    match zones.iter_mut().find(|(known, _)| *known == tz) {
                        Some((_, first)) => *first = (*first).min(year),
                        None => zones.push((tz, year)),
                    }
                }
            }
        }
        zones
    }
}

/// Content lines being written: each folded, each ended with CRLF.
#[derive(Default)]
struct Lines {
    text: String,
}

impl Lines {
    fn push(&mut self, line: impl AsRef<str>) {
        fold_into(&mut self.text, line.as_ref());
    }
}

/// Appends `line` folded at [`LINE_OCTETS`] octets, each physical line
/// ended with CRLF; a continuation begins with one space, which counts
/// towards its 75 octets. A character is never cut.
fn fold_into(out: &mut String, line: &str) {
    let mut budget = LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let width = c.len_utf8();
        if used + width > budget {
            out.push_str("\r\n ");
            // The space that begins a continuation takes one octet.
            budget = LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += width;
    }
    out.push_str("\r\n");
}

/// A line folded as iCalendar writes it (for tests and tools).
pub fn fold(line: &str) -> String {
    let mut out = String::new();
    fold_into(&mut out, line);
    out
}

/// A TEXT value escaped (RFC 5545 §3.3.11): `\` `;` `,` get a backslash, a
/// line break (CRLF, LF or CR) becomes `\n`, and any other control character
/// but a tab is dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `;TZID=...:VALUE` or `:VALUEZ`, after a property's name.
fn time_value(time: Time) -> String {
    match time {
        Time::Utc(at) => format!(":{}", utc(at)),
        Time::Local(tz, local) => format!(";TZID={}:{}", tz.name(), floating(local)),
    }
}

/// A UTC DATE-TIME value, such as `20260601T070000Z`.
pub fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A DATE-TIME value of local time, such as `20260601T090000`.
fn floating(local: NaiveDateTime) -> String {
    local.format("%Y%m%dT%H%M%S").to_string()
}

/// A DURATION value in exact time (hours, minutes, seconds): a day of RFC
/// 5545 is nominal (23 or 25 hours across a clock change), ferry's is 24
/// hours, so days are written as hours. Negative durations are written as
/// zero.
pub fn duration(length: Duration) -> String {
    let total = length.num_seconds().max(0);
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::from("PT");
    if hours > 0 {
        let _ = write!(out, "{hours}H");
    }
    if minutes > 0 {
        let _ = write!(out, "{minutes}M");
    }
    if seconds > 0 || total == 0 {
        let _ = write!(out, "{seconds}S");
    }
    out
}

/// A UTC-OFFSET value, such as `+0100` or `+005328`.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let magnitude = seconds.unsigned_abs();
    let (hours, minutes, rest) = (magnitude / 3600, magnitude / 60 % 60, magnitude % 60);
    if rest == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{rest:02}")
    }
}

/// What a zone's clock reads as at some instant: its offset from UTC,
/// whether it is daylight saving time, and its abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    offset: i32,
    daylight: bool,
    name: Option<String>,
}

fn observed(tz: Tz, at: DateTime<Utc>) -> Observed {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc());
    Observed {
        offset: offset.fix().local_minus_utc(),
        daylight: !offset.dst_offset().is_zero(),
        name: offset.abbreviation().map(str::to_owned),
    }
}

/// One change of a zone's clock: at `at` (UTC) it goes from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transition {
    at: DateTime<Utc>,
    from: Observed,
    to: Observed,
}

impl Transition {
    /// When it happens on the clock before it (an observance's `DTSTART`).
    fn local(&self) -> NaiveDateTime {
        self.at.naive_utc() + Duration::seconds(i64::from(self.from.offset))
    }
}

/// The first instant of `year` in UTC.
fn year_start(year: i32) -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(year, 1, 1).map(|date| date.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// The zone's clock changes from the start of `first_year` to the end of
/// `last_year` (UTC), found by reading the clock each day and narrowing
/// each change down to the second.
fn transitions(tz: Tz, first_year: i32, last_year: i32) -> (Observed, Vec<Transition>) {
    let (Some(start), Some(end)) = (year_start(first_year), year_start(last_year + 1)) else {
        return (observed(tz, DateTime::UNIX_EPOCH), Vec::new());
    };
    let initial = observed(tz, start);
    let mut found = Vec::new();
    let mut at = start;
    let mut current = initial.clone();
    while at < end {
        let next_at = (at + Duration::days(1)).min(end);
        if observed(tz, next_at) == current {
            at = next_at;
            continue;
        }
        // The clock changed in (at, next_at]: find the first second it reads
        // otherwise.
        let (mut low, mut high) = (at.timestamp(), next_at.timestamp());
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            let reads = DateTime::from_timestamp(middle, 0).map(|middle| observed(tz, middle));
            if reads.as_ref() == Some(&current) {
                low = middle;
            } else {
                high = middle;
            }
        }
        let high = DateTime::from_timestamp(high, 0).unwrap_or(next_at);
        let to = observed(tz, high);
        found.push(Transition {
            at: high,
            from: current,
            to: to.clone(),
        });
        current = to;
        at = high;
    }
    (initial, found)
}

/// When in its month a transition falls, as `BYDAY` can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Nth {
    /// The n-th such weekday of the month (1 to 4).
    Ordinal(u32),
    /// The last such weekday of the month.
    Last,
}

/// The ways `BYDAY` can name the day of `local`.
fn nths(local: NaiveDateTime) -> BTreeSet<Nth> {
    let day = local.day();
    let mut ways = BTreeSet::new();
    let ordinal = (day - 1) / 7 + 1;
    if ordinal <= 4 {
        ways.insert(Nth::Ordinal(ordinal));
    }
    let next_week = local.date() + Duration::days(7);
    if next_week.month() != local.month() {
        ways.insert(Nth::Last);
    }
    ways
}

fn weekday_code(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// One observance of a `VTIMEZONE`: from its first onset, once or yearly.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observance {
    from: Observed,
    to: Observed,
    /// The first onset, on the clock before it.
    first: NaiveDateTime,
    /// Yearly on this weekday of the first onset's month, until this last
    /// onset (UTC; `None`: for ever); `None`: once.
    yearly: Option<(Nth, Option<DateTime<Utc>>)>,
}

/// The observances that give `transitions`: runs of yearly changes on the
/// same weekday of the same month at the same time, each as one observance
/// with a rule, the others one each. A run that reaches `last_year` goes
/// on for ever, as the database's rule does.
fn observances(
    initial: Observed,
    transitions: &[Transition],
    first_year: i32,
    last_year: i32,
) -> Vec<Observance> {
    let mut out = Vec::new();
    if let Some(start) = year_start(first_year) {
        out.push(Observance {
            first: start.naive_utc() + Duration::seconds(i64::from(initial.offset)),
            from: initial.clone(),
            to: initial,
            yearly: None,
        });
    }
    // Transitions of the same kind (the same clocks before and after), in order.
    let mut kinds: Vec<(Observed, Observed, Vec<Transition>)> = Vec::new();
    for transition in transitions {
        match kinds
            .iter_mut()
            .find(|(from, to, _)| *from == transition.from && *to == transition.to)
        {
            Some((_, _, list)) => list.push(transition.clone()),
            None => kinds.push((
                transition.from.clone(),
                transition.to.clone(),
                vec![transition.clone()],
            )),
        }
    }
    for (from, to, list) in kinds {
        let mut index = 0;
        while index < list.len() {
            let first = list[index].local();
            let mut ways = nths(first);
            let mut end = index + 1;
            while end < list.len() {
                let next = list[end].local();
                let previous = list[end - 1].local();
                let common: BTreeSet<Nth> = ways.intersection(&nths(next)).copied().collect();
                let fits = next.year() == previous.year() + 1
                    && next.month() == first.month()
                    && next.weekday() == first.weekday()
                    && next.time() == first.time()
                    && !common.is_empty();
                if !fits {
                    break;
                }
                ways = common;
                end += 1;
            }
            let run = &list[index..end];
            let yearly = (run.len() > 1).then(|| {
                // The last weekday reads best, and lasts: prefer it.
                let nth = if ways.contains(&Nth::Last) {
                    Nth::Last
                } else {
                    ways.iter().next().copied().unwrap_or(Nth::Last)
                };
                let last = &run[run.len() - 1];
                let ongoing = end == list.len() && last.local().year() >= last_year;
                (nth, (!ongoing).then_some(last.at))
            });
            out.push(Observance {
                from: from.clone(),
                to: to.clone(),
                first,
                yearly,
            });
            index = end;
        }
    }
    out.sort_by_key(|observance| observance.first);
    out
}

/// The lines of the `VTIMEZONE` of `tz` from `first_year` to `last_year`.
fn vtimezone(tz: Tz, first_year: i32, last_year: i32) -> Vec<String> {
    let (initial, changes) = transitions(tz, first_year, last_year);
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{}", tz.name())];
    for observance in observances(initial, &changes, first_year, last_year) {
        let kind = if observance.to.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", floating(observance.first)));
        if let Some((nth, until)) = observance.yearly {
            let day = match nth {
                Nth::Ordinal(n) => format!("{n}{}", weekday_code(observance.first.weekday())),
                Nth::Last => format!("-1{}", weekday_code(observance.first.weekday())),
            };
            let mut rule = format!(
                "RRULE:FREQ=YEARLY;BYMONTH={};BYDAY={day}",
                observance.first.month()
            );
            if let Some(until) = until {
                let _ = write!(rule, ";UNTIL={}", utc(until));
            }
            lines.push(rule);
        }
        lines.push(format!(
            "TZOFFSETFROM:{}",
            utc_offset(observance.from.offset)
        ));
        lines.push(format!("TZOFFSETTO:{}", utc_offset(observance.to.offset)));
        if let Some(name) = &observance.to.name {
            lines.push(format!("TZNAME:{}", escape(name)));
        }
        lines.push(format!("END:{kind}"));
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

#[cfg(test)]
mod tests;
