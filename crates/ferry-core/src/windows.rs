//! Deployment windows and freeze periods: RRULE recurrences with a duration in an IANA time zone.
//!
//! An environment's deployment windows say when promotions into it may run; a
//! freeze says when they may not. Both are read here into values that answer
//! "is `at` inside an occurrence, and which one?" without I/O or a clock: the
//! instant asked about is always a parameter.
//!
//! The rules kept:
//!
//! - **Occurrences are computed on the wall clock of the window's time zone**
//!   (RFC 5545 expansion is civil): `BYHOUR=9` in `Europe/Berlin` starts at
//!   09:00 local time all year, which is 07:00 UTC in summer and 08:00 UTC in
//!   winter. Without a zone the rule is read in UTC.
//! - **A duration is elapsed time.** An `8h` window opening at 09:00 local time
//!   closes at 17:00 local time, except on the day the clocks change, when it
//!   still lasts 8 real hours (and so closes at 16:00 or 18:00 local time).
//! - **A start that does not exist on the wall clock** (in the spring-forward
//!   gap) is read with the UTC offset in force before the gap, which moves it
//!   forward by the gap's length: 02:30 on a day Berlin jumps from 02:00 to
//!   03:00 becomes 03:30 CEST. This is RFC 5545 §3.3.5's rule.
//! - **A start that exists twice** (in the fall-back hour) is the earlier of
//!   the two instants, as RFC 5545 §3.3.5 says.
//! - **Without `DTSTART`**, what the rule leaves open is taken from the start of
//!   its period: times are 00:00:00 unless `BYHOUR`/`BYMINUTE`/`BYSECOND` say
//!   otherwise, a `WEEKLY` rule without `BYDAY` falls on Mondays, a `MONTHLY`
//!   one without day parts on the 1st, a `YEARLY` one on January 1st. Such a
//!   rule has no beginning: it repeats as far back as asked. `COUNT` and
//!   `INTERVAL` above 1 count from a start, so they require a `DTSTART`.
//! - **With `DTSTART`**, the rule begins there and takes its defaults from it,
//!   as RFC 5545 says. `UNTIL` is inclusive; as a date (`UNTIL=20261231`) it
//!   includes that whole local day, as a floating time it is local time.
//! - **Occurrences may overlap** (a duration longer than the time between
//!   starts). [`Recurrence::occurrence_at`] then gives the one that ends last,
//!   and [`check_windows`] treats overlapping or touching windows as one span
//!   (followed up to 24 hours ahead).
//! - **Rules repeat at most hourly** (`FREQ=MINUTELY` and `SECONDLY` are
//!   refused) and an occurrence lasts at most 366 days: beyond that a query
//!   would have to expand too much.
//! - **Construction checks everything** (zone, rule, duration, a rule that
//!   can never match a date) and returns an error naming what is wrong; the
//!   queries never fail and never panic. Instants outside the years 1–9999 have
//!   no occurrences.
//!
//! Speed: a gate check evaluates every window of an environment on each call,
//! so a query never expands a rule from a `DTSTART` years back. A rule repeats
//! with its period (`INTERVAL` × `FREQ`), so expansion starts at a whole number
//! of periods after `DTSTART`, a few days before the instant asked about; the
//! defaults the rule took from `DTSTART` are made explicit at construction, so
//! the later start changes nothing. Rules with `COUNT` are expanded once, at
//! construction, and then searched.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, RRuleSetIter, Unvalidated};

use crate::Name;

/// The form [`parse_duration`] accepts, for error messages.
const DURATION_FORM: &str = "expected whole numbers each followed by d, h, m or s, largest unit first, such as 8h, 90m, 1h30m, 2d, 45s or 1d12h";

/// The longest window or recurring freeze accepted. Longer ones make every
/// query look that far back, and are not what a window means.
const MAX_DURATION_DAYS: i64 = 366;

/// The most occurrences a rule with `COUNT` may have: they are all computed
/// when the rule is read.
const MAX_COUNT: u32 = 10_000;

/// How far before the earliest start of interest (on the wall clock)
/// expansion begins. A wall-clock start can land up to a time-zone change
/// later than it reads, and the zone's offset can change by as much between
/// there and the instant asked about; no change is over a day (Samoa skipped
/// 30 December 2011), so three days cover both with room to spare.
const EXPANSION_SLACK_DAYS: i64 = 3;

/// How far past the instant asked about [`check_windows`] follows a span of
/// windows that overlap or touch: enough for any deployment to know it fits,
/// and short enough that windows which never close still answer quickly.
const SPAN_LOOKAHEAD_HOURS: i64 = 24;

/// Where a rule without `DTSTART` takes its defaults: a Monday, January 1st,
/// at midnight, so every field the rule leaves open is the start of its period.
const DEFAULTS_ANCHOR: NaiveDateTime = match NaiveDate::from_ymd_opt(2024, 1, 1) {
    Some(date) => date.and_time(NaiveTime::MIN),
    None => panic!("2024-01-01 is a date"),
};

/// Parses a duration such as `8h`, `90m`, `1h30m`, `2d`, `45s` or `1d12h`:
/// whole numbers each followed by a unit (`d`ays, `h`ours, `m`inutes,
/// `s`econds), each unit at most once and the largest first. A day is 24
/// hours of elapsed time. The error names the accepted form.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration; {DURATION_FORM}");
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid());
    }
    let mut total: i64 = 0;
    let mut previous_rank = None;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        let (rank, seconds) = match rest.as_bytes().get(digits) {
            Some(b'd') => (0, 86_400),
            Some(b'h') => (1, 3_600),
            Some(b'm') => (2, 60),
            Some(b's') => (3, 1),
            _ => return Err(invalid()),
        };
        if previous_rank.is_some_and(|previous| rank <= previous) {
            return Err(invalid());
        }
        previous_rank = Some(rank);
        total = number
            .checked_mul(seconds)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(invalid)?;
        rest = &rest[digits + 1..];
    }
    Duration::try_seconds(total).ok_or_else(invalid)
}

/// A deployment window or recurring freeze ready to evaluate: a recurrence
/// rule read in a time zone, and how long each occurrence lasts. See the
/// module documentation for how starts are computed.
#[derive(Debug, Clone)]
pub struct Recurrence {
    /// The rule with every default taken from `DTSTART` made explicit, so it
    /// can be expanded from any later period start. It is expanded in UTC on
    /// wall-clock readings ("floating" times); [`resolve`] turns each into an
    /// instant in `tz`, under this module's rules for gaps and overlaps.
    rule: RRule,
    /// `DTSTART` on the wall clock; `None` when the rule has no beginning.
    start: Option<NaiveDateTime>,
    /// The last instant an occurrence may start at (`UNTIL`, inclusive).
    last_start: Option<DateTime<Utc>>,
    /// Every start, in order, for rules with `COUNT`.
    fixed: Option<Arc<[DateTime<Utc>]>>,
    duration: Duration,
    tz: Tz,
    /// The RRULE value as configured, without `UNTIL`, for RFC 5545 output.
    text: String,
}

/// A recurrence in RFC 5545's terms (see [`Recurrence::to_ical`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalRule {
    /// The time zone its wall-clock times are read in.
    pub timezone: Tz,
    /// The first start on the zone's wall clock: an event's `DTSTART`. A
    /// start in a spring-forward gap is written as the rule gives it; RFC
    /// 5545 reads it as ferry does, moved forward by the gap.
    pub first_start: NaiveDateTime,
    /// The instant of the first start.
    pub first_instant: DateTime<Utc>,
    /// The `RRULE` value.
    pub rrule: String,
    /// How long each occurrence lasts (elapsed time).
    pub duration: Duration,
}

impl Recurrence {
    /// Reads a recurrence. `rrule` is an RFC 5545 RRULE value such as
    /// `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9` (an optional leading `RRULE:`
    /// is accepted; a full `DTSTART...\nRRULE:...` text also is); `duration`
    /// is read by [`parse_duration`]; `timezone` an IANA name (`None` means the
    /// zone of the `DTSTART`, or UTC). Errors name what is wrong: an unknown
    /// time zone, a bad rule, a bad duration.
    pub fn new(rrule: &str, duration: &str, timezone: Option<&str>) -> Result<Self, String> {
        let duration = parse_duration(duration)?;
        if duration <= Duration::zero() {
            return Err("a window or freeze must last longer than zero".to_owned());
        }
        if duration > Duration::days(MAX_DURATION_DAYS) {
            return Err(format!(
                "a window or recurring freeze lasts at most {MAX_DURATION_DAYS} days"
            ));
        }
        let bad_rule = |why: String| format!("invalid recurrence rule {rrule:?}: {why}");
        if !rrule.is_ascii() {
            return Err(bad_rule("it must be ASCII".to_owned()));
        }

        let text = RuleText::split(rrule).map_err(bad_rule)?;
        let zone = timezone.map(parse_zone).transpose()?;
        let (tz, start) = match text.dtstart {
            None => (zone.unwrap_or(Tz::UTC), None),
            Some(dtstart) => {
                let DtStart { tzid, time } = DtStart::parse(dtstart).map_err(bad_rule)?;
                let tz = match (zone, tzid) {
                    (Some(zone), Some(tzid)) if zone != tzid => {
                        return Err(bad_rule(format!(
                            "its DTSTART is in {} but the time zone given is {}; make them agree or give only one",
                            tzid.name(),
                            zone.name()
                        )));
                    }
                    (zone, tzid) => zone.or(tzid).unwrap_or(Tz::UTC),
                };
                let local = match time {
                    IcalTime::Date(date) => date.and_time(NaiveTime::MIN),
                    IcalTime::Floating(local) => local,
                    // A UTC start is read on the zone's wall clock, so the rule's
                    // defaults (BYHOUR...) are local times like everything else.
                    IcalTime::Utc(utc) => tz.from_utc_datetime(&utc).naive_local(),
                };
                (tz, Some(local))
            }
        };

        let unvalidated: RRule<Unvalidated> = text
            .rule
            .parse()
            .map_err(|error| bad_rule(format!("{error}")))?;
        let anchor = start.unwrap_or(DEFAULTS_ANCHOR);
        let rule = unvalidated
            .validate(floating(anchor))
            .map_err(|error| bad_rule(format!("{error}")))?;

        if matches!(rule.get_freq(), Frequency::Minutely | Frequency::Secondly) {
            // Windows that open every minute mean nothing for deployments, and
            // expanding them second by second would make every query slow.
            return Err(bad_rule(
                "windows and freezes repeat at most hourly; for several starts an hour use FREQ=HOURLY with BYMINUTE"
                    .to_owned(),
            ));
        }
        let interval = rule.get_interval();
        let count = rule.get_count();
        if interval == 0 {
            return Err(bad_rule("INTERVAL must be at least 1".to_owned()));
        }
        if start.is_none() && (interval > 1 || count.is_some()) {
            let part = match count {
                Some(count) => format!("COUNT={count}"),
                None => format!("INTERVAL={interval}"),
            };
            return Err(bad_rule(format!(
                "{part} counts from a start, so the rule needs a DTSTART, such as \"DTSTART;TZID=Europe/Berlin:20260105T090000\\nRRULE:{}\"",
                text.rule
            )));
        }
        if count.is_some() && text.until.is_some() {
            return Err(bad_rule(
                "COUNT and UNTIL cannot both be given (RFC 5545)".to_owned(),
            ));
        }
        if count == Some(0) {
            return Err(bad_rule("COUNT=0 has no occurrences".to_owned()));
        }
        if count.is_some_and(|count| count > MAX_COUNT) {
            return Err(bad_rule(format!(
                "COUNT above {MAX_COUNT} is not supported; use UNTIL for long rules"
            )));
        }

        let last_start = match text.until {
            None => None,
            Some(until) => {
                let time = IcalTime::parse(until)
                    .ok_or_else(|| bad_rule(format!("UNTIL={until} is not {ICAL_TIME_FORM}")))?;
                let last = match time {
                    IcalTime::Utc(utc) => Some(utc.and_utc()),
                    IcalTime::Floating(local) => resolve(tz, local).map(|(at, _)| at),
                    // The whole day: up to the last second before the next local midnight.
                    IcalTime::Date(date) => date
                        .succ_opt()
                        .and_then(|next| resolve(tz, next.and_time(NaiveTime::MIN)))
                        .and_then(|(midnight, _)| {
                            midnight.checked_sub_signed(Duration::seconds(1))
                        }),
                }
                .ok_or_else(|| bad_rule(format!("UNTIL={until} is out of range")))?;
                if let Some((first, _)) = start.and_then(|start| resolve(tz, start))
                    && last < first
                {
                    return Err(bad_rule(format!(
                        "UNTIL={until} is before DTSTART, so the rule has no occurrences"
                    )));
                }
                Some(last)
            }
        };

        let mut recurrence = Self {
            rule,
            start,
            last_start,
            fixed: None,
            duration,
            tz,
            text: text.normalized(),
        };
        if count.is_some() {
            // A counted rule is short and its count runs from DTSTART: expand it
            // once here, so queries search a list instead of re-counting.
            let mut starts: Vec<DateTime<Utc>> = recurrence
                .expand_from(anchor)
                .filter_map(|occurrence| resolve(tz, occurrence.naive_utc()))
                .map(|(at, _)| at)
                .collect();
            starts.sort_unstable();
            starts.dedup();
            if starts.is_empty() {
                return Err(bad_rule("it matches no date".to_owned()));
            }
            recurrence.fixed = Some(starts.into());
        } else if recurrence.expand_from(anchor).next().is_none() {
            // Catch rules no date satisfies (BYMONTH=2;BYMONTHDAY=30) here, once:
            // otherwise every query would search through the expansion limit.
            return Err(bad_rule(
                "it matches no date (check BYMONTH, BYMONTHDAY, BYYEARDAY and BYWEEKNO)".to_owned(),
            ));
        }
        Ok(recurrence)
    }

    /// Reads a deployment window as configured.
    pub fn from_window(window: &crate::environment::Window) -> Result<Self, String> {
        Self::new(&window.rrule, &window.duration, window.timezone.as_deref())
    }

    /// How long each occurrence lasts.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The time zone the rule is read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// This recurrence as RFC 5545 writes it: its first start on the wall
    /// clock of its zone (an event's `DTSTART`) and the `RRULE` that repeats
    /// it, which together give exactly the starts this recurrence has.
    /// `None` when it has no start at all (an `UNTIL` before the first).
    ///
    /// The `RRULE` is the rule as configured (upper-cased, `FREQ` first),
    /// with `UNTIL` as the UTC instant of the last start allowed (RFC 5545
    /// wants UTC there when `DTSTART` has a zone). `DTSTART` is the first
    /// start the rule gives, so it is always one of the rule's own starts
    /// (RFC 5545 leaves a `DTSTART` the rule does not give undefined), and
    /// every default the rule takes from it (the hour, the weekday...) is
    /// the one ferry took. A rule without a `DTSTART` has no beginning;
    /// here it begins at its first start on or after 1 January 2024.
    pub fn to_ical(&self) -> Option<IcalRule> {
        let anchor = self.start.unwrap_or(DEFAULTS_ANCHOR);
        let first = self.expand_from(anchor).next()?.naive_utc();
        let (first_instant, _) = resolve(self.tz, first)?;
        if self.last_start.is_some_and(|last| first_instant > last) {
            return None;
        }
        let mut rrule = self.text.clone();
        if let Some(last) = self.last_start {
            rrule.push_str(&format!(";UNTIL={}", last.format("%Y%m%dT%H%M%SZ")));
        }
        Some(IcalRule {
            timezone: self.tz,
            first_start: first,
            first_instant,
            rrule,
            duration: self.duration,
        })
    }

    /// The occurrence `[start, end)` containing `at`, if any. When several do
    /// (occurrences that overlap), the one that ends last.
    pub fn occurrence_at(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        // An occurrence contains `at` when start <= at < start + duration.
        let latest = self
            .starts_after(self.ends_after(at))
            .take_while(|start| *start <= at)
            .last()?;
        self.with_end(latest)
    }

    /// The first occurrence (by start) that contains `after` or starts after it.
    pub fn current_or_next(&self, after: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        // Ending after `after` is exactly "contains it or starts after it".
        self.starts_after(self.ends_after(after))
            .find_map(|start| self.with_end(start))
    }

    /// Occurrences overlapping `[from, to)`, in order of start (at most `limit`).
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if from >= to || limit == 0 {
            return Vec::new();
        }
        self.starts_after(self.ends_after(from))
            .take_while(|start| *start < to)
            .filter_map(|start| self.with_end(start))
            .take(limit)
            .collect()
    }

    /// The bound such that an occurrence ends after `at` exactly when it
    /// starts after the bound.
    fn ends_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at.checked_sub_signed(self.duration)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn with_end(&self, start: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((start, start.checked_add_signed(self.duration)?))
    }

    /// Every start strictly after `after`, in order, without duplicates.
    fn starts_after(&self, after: DateTime<Utc>) -> Starts<'_> {
        let mut starts = Starts {
            recurrence: self,
            source: Source::Done,
            pending: BinaryHeap::new(),
            floor: None,
            last: None,
            after,
        };
        if after.year() > MAX_YEAR {
            return starts;
        }
        // Nothing starts before year 1 (DTSTART is checked to be after it).
        let after = after.max(MIN_INSTANT.and_utc());
        starts.source = match &self.fixed {
            Some(fixed) => {
                let skip = fixed.partition_point(|start| *start <= after);
                Source::Fixed(fixed[skip..].iter())
            }
            None => match self.expansion_anchor(after) {
                Some(anchor) => Source::Rule(self.expand_from(anchor)),
                None => Source::Done,
            },
        };
        starts
    }

    /// A wall-clock time at which expanding the rule yields every start after
    /// `after` exactly as expanding from `DTSTART` would: `DTSTART` itself, or
    /// the start of a period a whole number of `INTERVAL`s after it, a few days
    /// before `after`. Later periods repeat the first, because every default
    /// was made explicit at construction.
    fn expansion_anchor(&self, after: DateTime<Utc>) -> Option<NaiveDateTime> {
        let freq = self.rule.get_freq();
        let local = after.with_timezone(&self.tz).naive_local();
        let lower = local.checked_sub_signed(Duration::days(EXPANSION_SLACK_DAYS))?;
        let Some(start) = self.start else {
            // No beginning (and INTERVAL is 1): any period start will do.
            return period_start(freq, period_index(freq, lower));
        };
        if lower <= start {
            return Some(start);
        }
        let step =
            i64::from(self.rule.get_interval()) * if freq == Frequency::Weekly { 7 } else { 1 };
        let periods = (period_index(freq, lower) - period_index(freq, start)).div_euclid(step);
        if periods == 0 {
            return Some(start);
        }
        period_start(freq, period_index(freq, start) + periods * step)
    }

    /// The rule's wall-clock starts from `anchor` on. The expansion limit of
    /// the rrule crate ends the search in a rule whose next start is
    /// implausibly far away rather than looping.
    fn expand_from(&self, anchor: NaiveDateTime) -> RRuleSetIter {
        let set = RRuleSet::new(floating(anchor))
            .rrule(self.rule.clone())
            .limit();
        (&set).into_iter()
    }
}

/// The last year in which occurrences are computed.
const MAX_YEAR: i32 = 9999;

/// The first instant at which occurrences are computed.
const MIN_INSTANT: NaiveDateTime = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(date) => date.and_time(NaiveTime::MIN),
    None => panic!("0001-01-01 is a date"),
};

/// The starts of a recurrence after some instant, in order and without
/// duplicates. Wall-clock starts map to instants in order except around a
/// spring-forward gap, where a start moved past the gap can land after the
/// next ones: such starts wait in `pending` until nothing earlier can come.
struct Starts<'a> {
    recurrence: &'a Recurrence,
    source: Source<'a>,
    pending: BinaryHeap<Reverse<DateTime<Utc>>>,
    /// Every start not yet taken from `source` is at or after this.
    floor: Option<DateTime<Utc>>,
    /// The last start yielded, to drop duplicates (two wall-clock times that
    /// a gap maps to the same instant).
    last: Option<DateTime<Utc>>,
    /// Only starts strictly after this are yielded.
    after: DateTime<Utc>,
}

enum Source<'a> {
    Rule(RRuleSetIter),
    Fixed(std::slice::Iter<'a, DateTime<Utc>>),
    Done,
}

impl Starts<'_> {
    /// The next start from the source and a lower bound on all later ones.
    fn pull(&mut self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &mut self.source {
            Source::Rule(occurrences) => {
                let occurrence = occurrences.next()?;
                resolve(self.recurrence.tz, occurrence.naive_utc())
            }
            Source::Fixed(starts) => starts.next().map(|start| (*start, *start)),
            Source::Done => None,
        }
    }
}

impl Iterator for Starts<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            let exhausted = matches!(self.source, Source::Done);
            if let Some(&Reverse(first)) = self.pending.peek()
                && (exhausted || self.floor.is_some_and(|floor| first <= floor))
            {
                self.pending.pop();
                if first <= self.after || self.last == Some(first) {
                    continue;
                }
                self.last = Some(first);
                return Some(first);
            }
            if exhausted {
                return None;
            }
            match self.pull() {
                None => self.source = Source::Done,
                Some((start, floor)) => {
                    self.floor = Some(floor);
                    match self.recurrence.last_start {
                        // Every later start is past UNTIL too.
                        Some(last) if floor > last => self.source = Source::Done,
                        Some(last) if start > last => {}
                        _ => self.pending.push(Reverse(start)),
                    }
                }
            }
        }
    }
}

/// The instant a wall-clock reading in `tz` stands for, under the module's
/// rules (a reading in a gap moves forward by the gap, an ambiguous one is the
/// earlier instant), and a lower bound on the instant of any later reading.
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if let Some(at) = tz.from_local_datetime(&local).earliest() {
        let at = at.with_timezone(&Utc);
        return Some((at, at));
    }
    // In a gap. A day earlier is before the change in every zone in the
    // database (no two changes are that close, no gap is longer), so its
    // offset is the one in force before the gap.
    let probe = local.checked_sub_signed(Duration::days(1))?;
    let before = tz.offset_from_utc_datetime(&probe).fix();
    let at = local.checked_sub_offset(before)?.and_utc();
    // Later readings are at or after the gap's end, which is this reading
    // under the offset after the gap.
    let after = tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    let floor = local.checked_sub_offset(after)?.and_utc();
    Some((at, floor.min(at)))
}

/// A wall-clock reading as the rrule crate's UTC: expansion in UTC has no
/// gaps or overlaps, so it is purely calendrical, as RFC 5545 expansion is.
fn floating(local: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&local)
}

/// The number of the rule's unit (year, month, day, hour...) containing `at`;
/// weeks are counted in days.
fn period_index(freq: Frequency, at: NaiveDateTime) -> i64 {
    let seconds = at.and_utc().timestamp();
    match freq {
        Frequency::Yearly => i64::from(at.year()),
        Frequency::Monthly => i64::from(at.year()) * 12 + i64::from(at.month0()),
        Frequency::Weekly | Frequency::Daily => seconds.div_euclid(86_400),
        Frequency::Hourly => seconds.div_euclid(3_600),
        Frequency::Minutely => seconds.div_euclid(60),
        Frequency::Secondly => seconds,
    }
}

/// The first wall-clock instant of the unit numbered `index` by [`period_index`].
fn period_start(freq: Frequency, index: i64) -> Option<NaiveDateTime> {
    let from_seconds =
        |seconds: i64| DateTime::<Utc>::from_timestamp(seconds, 0).map(|at| at.naive_utc());
    match freq {
        Frequency::Yearly => NaiveDate::from_ymd_opt(i32::try_from(index).ok()?, 1, 1)
            .map(|date| date.and_time(NaiveTime::MIN)),
        Frequency::Monthly => NaiveDate::from_ymd_opt(
            i32::try_from(index.div_euclid(12)).ok()?,
            u32::try_from(index.rem_euclid(12)).ok()? + 1,
            1,
        )
        .map(|date| date.and_time(NaiveTime::MIN)),
        Frequency::Weekly | Frequency::Daily => from_seconds(index.checked_mul(86_400)?),
        Frequency::Hourly => from_seconds(index.checked_mul(3_600)?),
        Frequency::Minutely => from_seconds(index.checked_mul(60)?),
        Frequency::Secondly => from_seconds(index),
    }
}

fn parse_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| {
        format!(
            "unknown time zone {name:?}; expected an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\""
        )
    })
}

/// A rule text cut into its parts.
struct RuleText<'a> {
    /// The `DTSTART` line, if any.
    dtstart: Option<&'a str>,
    /// The RRULE value without `UNTIL`, which is applied here (the rrule crate
    /// would read a floating `UNTIL` in the machine's time zone).
    rule: String,
    /// The `UNTIL` value, if any.
    until: Option<&'a str>,
}

impl<'a> RuleText<'a> {
    fn split(text: &'a str) -> Result<Self, String> {
        let mut dtstart = None;
        let mut rrule = None;
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            let name_end = line.find([':', ';']).unwrap_or(line.len());
            let name = line[..name_end].to_ascii_uppercase();
            let (slot, value) = match name.as_str() {
                "DTSTART" => (&mut dtstart, line),
                "RRULE" => match line.as_bytes().get(name_end) {
                    Some(b':') => (&mut rrule, &line[name_end + 1..]),
                    _ => return Err("RRULE takes no parameters".to_owned()),
                },
                // A bare rule value: its first part is a NAME=VALUE pair.
                _ if !line.contains(':') && name.contains('=') => (&mut rrule, line),
                _ => {
                    return Err(format!(
                        "only DTSTART and RRULE are understood, not {:?}",
                        &line[..name_end]
                    ));
                }
            };
            if slot.replace(value).is_some() {
                return Err("it has more than one DTSTART or RRULE".to_owned());
            }
        }
        let rrule = rrule.ok_or("it has no RRULE")?;
        let mut until = None;
        let mut parts = Vec::new();
        for part in rrule.split(';').filter(|part| !part.is_empty()) {
            match part.split_once('=') {
                Some((key, value)) if key.trim().eq_ignore_ascii_case("UNTIL") => {
                    if until.replace(value.trim()).is_some() {
                        return Err("UNTIL is given twice".to_owned());
                    }
                }
                _ => parts.push(part),
            }
        }
        Ok(Self {
            dtstart,
            rule: parts.join(";"),
            until,
        })
    }

    /// The rule's value as RFC 5545 clients read it best: each part
    /// trimmed and upper-cased, `FREQ` first.
    fn normalized(&self) -> String {
        let mut parts: Vec<String> = self
            .rule
            .split(';')
            .map(|part| part.trim().to_ascii_uppercase())
            .filter(|part| !part.is_empty())
            .collect();
        parts.sort_by_key(|part| !part.starts_with("FREQ="));
        parts.join(";")
    }
}

/// A parsed `DTSTART` line.
struct DtStart {
    tzid: Option<Tz>,
    time: IcalTime,
}

impl DtStart {
    fn parse(line: &str) -> Result<Self, String> {
        let (head, value) = line
            .split_once(':')
            .ok_or_else(|| format!("{line:?} has no value; expected DTSTART:{ICAL_TIME_FORM}"))?;
        let mut tzid = None;
        let mut date_only = false;
        for parameter in head.split(';').skip(1) {
            let (key, parameter_value) = parameter
                .split_once('=')
                .ok_or_else(|| format!("DTSTART parameter {parameter:?} has no value"))?;
            match key.trim().to_ascii_uppercase().as_str() {
                "TZID" => tzid = Some(parse_zone(parameter_value.trim().trim_matches('"'))?),
                "VALUE" => match parameter_value.trim().to_ascii_uppercase().as_str() {
                    "DATE" => date_only = true,
                    "DATE-TIME" => {}
                    other => return Err(format!("DTSTART VALUE={other} is not DATE or DATE-TIME")),
                },
                _ => return Err(format!("DTSTART parameter {key:?} is not supported")),
            }
        }
        let time = IcalTime::parse(value.trim())
            .ok_or_else(|| format!("DTSTART {:?} is not {ICAL_TIME_FORM}", value.trim()))?;
        match time {
            IcalTime::Utc(_) if tzid.is_some() => {
                Err("DTSTART cannot have both a TZID and a UTC time (ending in Z)".to_owned())
            }
            IcalTime::Floating(_) | IcalTime::Utc(_) if date_only => {
                Err("DTSTART;VALUE=DATE takes a date such as 20260105".to_owned())
            }
            time => Ok(Self { tzid, time }),
        }
    }
}

const ICAL_TIME_FORM: &str = "a date such as 20260105, a local time such as 20260105T090000 or a UTC time such as 20260105T080000Z (years 0001-9999)";

/// An RFC 5545 DATE or DATE-TIME value.
enum IcalTime {
    Date(NaiveDate),
    Floating(NaiveDateTime),
    Utc(NaiveDateTime),
}

impl IcalTime {
    fn parse(value: &str) -> Option<Self> {
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let digits = value.get(range)?;
            if digits.bytes().all(|byte| byte.is_ascii_digit()) {
                digits.parse().ok()
            } else {
                None
            }
        };
        let year = i32::try_from(number(0..4)?).ok()?;
        if year < 1 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(year, number(4..6)?, number(6..8)?)?;
        if value.len() == 8 {
            return Some(Self::Date(date));
        }
        if value.as_bytes().get(8) != Some(&b'T') {
            return None;
        }
        let time = NaiveTime::from_hms_opt(number(9..11)?, number(11..13)?, number(13..15)?)?;
        let at = date.and_time(time);
        match &value[15..] {
            "" => Some(Self::Floating(at)),
            "Z" => Some(Self::Utc(at)),
            _ => None,
        }
    }
}

/// Whether an environment's windows allow deploying at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowCheck {
    /// The environment has no windows: deploying is always allowed.
    NoWindows,
    /// A window is open; deploying is allowed until `until` (exclusive), the
    /// end of the span of windows that overlap or touch.
    Open {
        /// When the span of open windows closes.
        until: DateTime<Utc>,
    },
    /// Every window is closed.
    Closed {
        /// When the next window opens; `None` if none ever does again.
        next_open: Option<DateTime<Utc>>,
    },
}

/// Whether an environment's windows allow deploying at `at`. Windows that
/// overlap or touch count as one span, so `until` is when deploying stops
/// being allowed. A span is followed up to 24 hours past `at`: one that lasts
/// longer is reported open until the end of the window that crosses that
/// mark, which is at least 24 hours away.
pub fn check_windows(windows: &[Recurrence], at: DateTime<Utc>) -> WindowCheck {
    if windows.is_empty() {
        return WindowCheck::NoWindows;
    }
    // One cursor per window, at its first occurrence ending after `at`: it
    // either contains `at` or is that window's next opening. The cursors then
    // walk the windows' occurrences together, in order of start, for as long
    // as each starts before the span built so far ends.
    let mut cursors: Vec<Starts<'_>> = windows
        .iter()
        .map(|window| window.starts_after(window.ends_after(at)))
        .collect();
    let mut next: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = cursors
        .iter_mut()
        .enumerate()
        .filter_map(|(index, cursor)| Some(Reverse((cursor.next()?, index))))
        .collect();
    match next.peek() {
        None => return WindowCheck::Closed { next_open: None },
        Some(Reverse((first, _))) if *first > at => {
            return WindowCheck::Closed {
                next_open: Some(*first),
            };
        }
        Some(_) => {}
    }
    let horizon = at
        .checked_add_signed(Duration::hours(SPAN_LOOKAHEAD_HOURS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut until = at;
    while let Some(&Reverse((start, index))) = next.peek() {
        // Everything open at `at` counts; beyond the horizon nothing more.
        if start > until || (until >= horizon && start > at) {
            break;
        }
        next.pop();
        if let Some(end) = start.checked_add_signed(windows[index].duration) {
            until = until.max(end);
        }
        if let Some(following) = cursors[index].next() {
            next.push(Reverse((following, index)));
        }
    }
    WindowCheck::Open { until }
}

/// A freeze ready to evaluate: one-off or recurring, on some environments.
#[derive(Debug, Clone)]
pub struct Freeze {
    /// Its name.
    pub name: String,
    /// Why, for the people it blocks.
    pub reason: String,
    /// The environments it freezes.
    pub environments: Vec<Name>,
    period: FreezePeriod,
}

#[derive(Debug, Clone)]
enum FreezePeriod {
    /// `[start, end)`.
    Once(DateTime<Utc>, DateTime<Utc>),
    /// Boxed: a recurrence is much larger than two instants.
    Recurring(Box<Recurrence>),
}

impl Freeze {
    /// Reads a freeze as configured, checking it as
    /// [`FreezeSpec::validate`](crate::freeze::FreezeSpec::validate) does and
    /// reading its rule, duration and zone.
    pub fn from_spec(spec: &crate::freeze::FreezeSpec) -> Result<Self, String> {
        spec.validate()?;
        let name = spec.name.as_str();
        let period = match (&spec.start, &spec.end, &spec.rrule, &spec.duration) {
            (Some(start), Some(end), _, _) => FreezePeriod::Once(
                crate::time::parse_time(start)?,
                crate::time::parse_time(end)?,
            ),
            (_, _, Some(rrule), Some(duration)) => FreezePeriod::Recurring(Box::new(
                Recurrence::new(rrule, duration, spec.timezone.as_deref())
                    .map_err(|error| format!("freeze {name:?}: {error}"))?,
            )),
            // `validate` accepted it, so it is one of the two.
            _ => return Err(format!("freeze {name:?} is neither one-off nor recurring")),
        };
        Ok(Self {
            name: name.to_owned(),
            reason: spec.reason.clone(),
            environments: spec.environments.clone(),
            period,
        })
    }

    /// The freeze period containing `at`, if `at` is frozen (start inclusive,
    /// end exclusive).
    pub fn active_at(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.period {
            FreezePeriod::Once(start, end) => (*start <= at && at < *end).then_some((*start, *end)),
            FreezePeriod::Recurring(recurrence) => recurrence.occurrence_at(at),
        }
    }

    /// The freeze periods overlapping `[from, to)`, in order (at most `limit`).
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.period {
            FreezePeriod::Once(start, end) => {
                if limit > 0 && *start < to && from < *end && from < to {
                    vec![(*start, *end)]
                } else {
                    Vec::new()
                }
            }
            FreezePeriod::Recurring(recurrence) => recurrence.occurrences(from, to, limit),
        }
    }

    /// The period of a one-off freeze; `None` for a recurring one.
    pub fn once(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.period {
            FreezePeriod::Once(start, end) => Some((*start, *end)),
            FreezePeriod::Recurring(_) => None,
        }
    }

    /// The recurrence of a recurring freeze; `None` for a one-off one.
    pub fn recurrence(&self) -> Option<&Recurrence> {
        match &self.period {
            FreezePeriod::Once(..) => None,
            FreezePeriod::Recurring(recurrence) => Some(recurrence),
        }
    }

    /// Whether it freezes `environment`.
    pub fn applies_to(&self, environment: &Name) -> bool {
        self.environments.contains(environment)
    }
}

/// The first freeze among `freezes` that applies to `environment` and is
/// active at `at`, with its period.
pub fn active_freeze<'a>(
    freezes: &'a [Freeze],
    environment: &Name,
    at: DateTime<Utc>,
) -> Option<(&'a Freeze, DateTime<Utc>, DateTime<Utc>)> {
    freezes
        .iter()
        .filter(|freeze| freeze.applies_to(environment))
        .find_map(|freeze| {
            freeze
                .active_at(at)
                .map(|(start, end)| (freeze, start, end))
        })
}

#[cfg(test)]
mod tests;
