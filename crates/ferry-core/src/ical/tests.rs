//! The tests of `ical`.

use super::*;
use crate::windows::Recurrence;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}

/// The physical lines of `text`, each without its CRLF; fails on a bare
/// LF or CR or a text that does not end with CRLF.
fn physical_lines(text: &str) -> Vec<&str> {
    assert!(text.ends_with("\r\n"), "{text:?} ends with CRLF");
    let lines: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    for line in &lines {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "a bare line break in {line:?}"
        );
    }
    lines
}

/// The logical lines of `text`: physical lines unfolded.
fn unfold(text: &str) -> Vec<String> {
    let mut logical: Vec<String> = Vec::new();
    for line in physical_lines(text) {
        match line.strip_prefix(' ') {
            Some(rest) => logical.last_mut().unwrap().push_str(rest),
            None => logical.push(line.to_owned()),
        }
    }
    logical
}

#[test]
fn long_lines_are_folded_at_75_octets_without_cutting_a_character() {
    let short = "SUMMARY:deploy";
    assert_eq!(fold(short), "SUMMARY:deploy\r\n");
    let exactly = format!("SUMMARY:{}", "x".repeat(LINE_OCTETS - 8));
    assert_eq!(fold(&exactly), format!("{exactly}\r\n"));

    let long = format!("DESCRIPTION:{}", "abcdefghij".repeat(30));
    let folded = fold(&long);
    let lines = physical_lines(&folded);
    assert!(lines.len() > 4, "{lines:?}");
    assert_eq!(lines[0].len(), LINE_OCTETS);
    for line in &lines[1..] {
        assert!(
            line.starts_with(' ') && line.len() <= LINE_OCTETS,
            "{line:?}"
        );
    }
    assert_eq!(unfold(&folded), [long]);

    // Two-, three- and four-byte characters: none is cut, and no line is
    // over 75 octets with its leading space.
    let wide = format!("SUMMARY:{}", "äöü€😀".repeat(40));
    let folded = fold(&wide);
    for line in physical_lines(&folded) {
        assert!(line.len() <= LINE_OCTETS, "{} octets: {line:?}", line.len());
    }
    assert_eq!(unfold(&folded), [wide]);
}

#[test]
fn text_is_escaped_and_control_characters_dropped() {
    assert_eq!(escape("plain text"), "plain text");
    assert_eq!(escape(r"a,b;c\d"), r"a\,b\;c\\d");
    assert_eq!(escape("one\ntwo\r\nthree\rfour"), r"one\ntwo\nthree\nfour");
    assert_eq!(escape("tab\there\u{0}\u{7}\u{1b}[31m"), "tab\there[31m");
    assert_eq!(
        escape(r"\n is not a line break"),
        r"\\n is not a line break"
    );
    // Colons and quotes need nothing in a TEXT value.
    assert_eq!(escape("at 09:00 \"quoted\""), "at 09:00 \"quoted\"");
}

#[test]
fn durations_are_exact_hours_minutes_and_seconds() {
    assert_eq!(duration(Duration::hours(8)), "PT8H");
    assert_eq!(duration(Duration::hours(66)), "PT66H");
    assert_eq!(duration(Duration::minutes(90)), "PT1H30M");
    assert_eq!(duration(Duration::seconds(45)), "PT45S");
    assert_eq!(duration(Duration::seconds(3_661)), "PT1H1M1S");
    assert_eq!(duration(Duration::zero()), "PT0S");
    assert_eq!(utc_offset(3600), "+0100");
    assert_eq!(utc_offset(-18_000), "-0500");
    assert_eq!(utc_offset(19_800), "+0530");
    assert_eq!(utc_offset(3_208), "+005328");
    assert_eq!(utc_offset(0), "+0000");
}

fn calendar(events: Vec<Event>) -> Calendar {
    Calendar {
        product: "-//ferry//ferry test//EN".into(),
        name: "ferry, releases".into(),
        description: String::new(),
        refresh: Some(Duration::hours(1)),
        stamp: at(2026, 5, 4, 10, 30, 0),
        events,
    }
}

#[test]
fn a_calendar_has_its_parts_in_crlf_lines() {
    let window = Recurrence::new(
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9",
        "8h",
        Some("Europe/Berlin"),
    )
    .unwrap();
    let mut recurring = Event::recurring(
        "window-prod-1@ferry".into(),
        &window.to_ical().unwrap(),
        "deployment window of prod".into(),
    );
    recurring.categories = vec!["window".into()];
    recurring.transparent = true;
    let mut once = Event::once(
        "change-7@ferry".into(),
        at(2026, 6, 1, 7, 0, 0),
        at(2026, 6, 1, 9, 0, 0),
        "change 7: refunds, v2; \\ fast".into(),
    );
    once.description = "line one\nline two".into();
    let instant = Event::once(
        "deployment-3@ferry".into(),
        at(2026, 6, 2, 8, 0, 0),
        at(2026, 6, 2, 8, 0, 0),
        "deployment 3".into(),
    );
    let text = calendar(vec![recurring, once, instant]).render();
    let lines = unfold(&text);
    for line in physical_lines(&text) {
        assert!(line.len() <= LINE_OCTETS, "{line:?}");
    }
    let has = |wanted: &str| lines.iter().any(|line| line == wanted);
    for wanted in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//ferry//ferry test//EN",
        "METHOD:PUBLISH",
        "NAME:ferry\\, releases",
        "X-WR-CALNAME:ferry\\, releases",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "UID:window-prod-1@ferry",
        "DTSTAMP:20260504T103000Z",
        "DTSTART;TZID=Europe/Berlin:20240101T090000",
        "DTEND;TZID=Europe/Berlin:20240101T170000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9",
        "CATEGORIES:window",
        "TRANSP:TRANSPARENT",
        "UID:change-7@ferry",
        "DTSTART:20260601T070000Z",
        "DTEND:20260601T090000Z",
        "SUMMARY:change 7: refunds\\, v2\\; \\\\ fast",
        "DESCRIPTION:line one\\nline two",
        "UID:deployment-3@ferry",
        "DTSTART:20260602T080000Z",
        "END:VCALENDAR",
    ] {
        assert!(
            has(wanted),
            "{wanted:?} is missing from:\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert_eq!(
        lines.iter().filter(|line| *line == "BEGIN:VEVENT").count(),
        3
    );
    // The instant has no end; every other event has one.
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with("DTEND"))
            .count(),
        2
    );
    // The zone is written once, before the events.
    assert_eq!(
        lines
            .iter()
            .filter(|line| *line == "BEGIN:VTIMEZONE")
            .count(),
        1
    );
    let zone = lines
        .iter()
        .position(|line| line == "BEGIN:VTIMEZONE")
        .unwrap();
    let event = lines
        .iter()
        .position(|line| line == "BEGIN:VEVENT")
        .unwrap();
    assert!(zone < event);
}

#[test]
fn utc_windows_need_no_zone_and_ends_in_a_repeated_hour_are_durations() {
    let utc_window = Recurrence::new("FREQ=DAILY;BYHOUR=6", "1h", None).unwrap();
    let event = Event::recurring("w@ferry".into(), &utc_window.to_ical().unwrap(), "w".into());
    assert_eq!(event.start, Time::Utc(at(2024, 1, 1, 6, 0, 0)));
    assert_eq!(event.end, Some(End::At(Time::Utc(at(2024, 1, 1, 7, 0, 0)))));
    let text = calendar(vec![event]).render();
    assert!(!text.contains("VTIMEZONE"), "{text}");

    // 01:30 CEST on 25 October 2026 plus 2 hours is 02:30 CET, the second
    // 02:30 of that night: a DTEND of 02:30 would mean the first.
    let night = Recurrence::new(
        "DTSTART;TZID=Europe/Berlin:20261025T013000\nRRULE:FREQ=DAILY",
        "2h",
        None,
    )
    .unwrap();
    let event = Event::recurring("n@ferry".into(), &night.to_ical().unwrap(), "n".into());
    assert_eq!(event.end, Some(End::After(Duration::hours(2))));
    let text = calendar(vec![event]).render();
    assert!(
        unfold(&text).contains(&"DURATION:PT2H".to_owned()),
        "{text}"
    );

    // Otherwise the end is on the same wall clock.
    let day = Recurrence::new(
        "DTSTART;TZID=Europe/Berlin:20261026T003000\nRRULE:FREQ=DAILY",
        "2h",
        None,
    )
    .unwrap();
    let event = Event::recurring("d@ferry".into(), &day.to_ical().unwrap(), "d".into());
    assert_eq!(
        event.end,
        Some(End::At(Time::Local(
            Tz::Europe__Berlin,
            local(2026, 10, 26, 2, 30)
        )))
    );
}

/// The onsets an observance gives, as (instant, offset after), up to
/// the end of `last_year`: how a reader of the VTIMEZONE sees the zone.
fn onsets(observance: &Observance, last_year: i32) -> Vec<(DateTime<Utc>, i32)> {
    let from = i64::from(observance.from.offset);
    let instant = |local: NaiveDateTime| (local - Duration::seconds(from)).and_utc();
    let Some((nth, until)) = observance.yearly else {
        return vec![(instant(observance.first), observance.to.offset)];
    };
    let month = observance.first.month();
    let weekday = observance.first.weekday();
    let mut out = Vec::new();
    for year in observance.first.year()..=last_year + 1 {
        let day = match nth {
            Nth::Ordinal(n) => NaiveDate::from_weekday_of_month_opt(year, month, weekday, n as u8),
            Nth::Last => (1..=5)
                .rev()
                .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)),
        }
        .unwrap();
        let onset = instant(day.and_time(observance.first.time()));
        if until.is_some_and(|until| onset > until) {
            break;
        }
        out.push((onset, observance.to.offset));
    }
    out
}

/// Checks that the VTIMEZONE of `zone` over the years gives the
/// database's offset at every change, just before it, and every six
/// hours; answers its observances.
fn check_zone(zone: Tz, first_year: i32, last_year: i32) -> Vec<Observance> {
    let (initial, changes) = transitions(zone, first_year, last_year);
    let observances = observances(initial, &changes, first_year, last_year);
    let mut all: Vec<(DateTime<Utc>, i32)> = observances
        .iter()
        .flat_map(|observance| onsets(observance, last_year))
        .collect();
    all.sort();
    let offset_at = |instant: DateTime<Utc>| {
        all.iter()
            .take_while(|(onset, _)| *onset <= instant)
            .last()
            .map(|(_, offset)| *offset)
    };
    let database = |instant: DateTime<Utc>| {
        zone.offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let mut instants: Vec<DateTime<Utc>> = changes
        .iter()
        .flat_map(|change| [change.at - Duration::seconds(1), change.at])
        .collect();
    let (start, end) = (
        year_start(first_year).unwrap(),
        year_start(last_year + 1).unwrap(),
    );
    let mut sample = start;
    while sample < end {
        instants.push(sample);
        sample += Duration::hours(6);
    }
    for instant in instants {
        assert_eq!(
            offset_at(instant),
            Some(database(instant)),
            "{} at {instant}: {observances:#?}",
            zone.name()
        );
    }
    observances
}

#[test]
fn vtimezones_give_the_offsets_of_the_time_zone_database() {
    for zone in [
        Tz::Europe__Berlin,
        Tz::America__New_York,
        Tz::Australia__Sydney,
        Tz::Australia__Lord_Howe,
        Tz::Asia__Tokyo,
        Tz::Asia__Kolkata,
        Tz::Europe__Istanbul,
        Tz::America__Sao_Paulo,
        Tz::Africa__Casablanca,
        Tz::Europe__Dublin,
        Tz::Pacific__Apia,
        Tz::America__Santiago,
        Tz::Etc__UTC,
    ] {
        check_zone(zone, 1995, 2040);
    }
}

#[test]
fn yearly_changes_are_one_observance_each() {
    let berlin = check_zone(Tz::Europe__Berlin, 2023, 2036);
    // The winter of the first year, then the two rules for ever.
    assert_eq!(berlin.len(), 3, "{berlin:#?}");
    let rules: Vec<_> = berlin.iter().filter_map(|o| o.yearly).collect();
    assert_eq!(rules, [(Nth::Last, None), (Nth::Last, None)]);
    let lines = vtimezone(Tz::Europe__Berlin, 2023, 2036);
    for wanted in [
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "BEGIN:DAYLIGHT",
        "DTSTART:20230326T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "TZNAME:CEST",
        "BEGIN:STANDARD",
        "DTSTART:20231029T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZNAME:CET",
        "END:VTIMEZONE",
    ] {
        assert!(
            lines.iter().any(|line| line == wanted),
            "{wanted}: {lines:#?}"
        );
    }

    // New York changed its rule in 2007: the old one ends then.
    let new_york = check_zone(Tz::America__New_York, 2003, 2036);
    let rules: Vec<_> = new_york.iter().filter_map(|o| o.yearly).collect();
    assert_eq!(rules.len(), 4, "{new_york:#?}");
    assert_eq!(rules.iter().filter(|(_, until)| until.is_some()).count(), 2);
    let lines = vtimezone(Tz::America__New_York, 2003, 2036);
    assert!(
        lines.contains(&"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z".to_owned()),
        "{lines:#?}"
    );

    // A zone without changes is one observance.
    let tokyo = check_zone(Tz::Asia__Tokyo, 2023, 2036);
    assert_eq!(tokyo.len(), 1);
    assert_eq!(
        vtimezone(Tz::Asia__Tokyo, 2023, 2036),
        [
            "BEGIN:VTIMEZONE",
            "TZID:Asia/Tokyo",
            "BEGIN:STANDARD",
            "DTSTART:20230101T090000",
            "TZOFFSETFROM:+0900",
            "TZOFFSETTO:+0900",
            "TZNAME:JST",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]
    );
}

#[test]
fn zones_cover_the_events_and_ten_years_past_the_stamp() {
    let window = Recurrence::new(
        "DTSTART;TZID=America/New_York:20050103T090000\nRRULE:FREQ=WEEKLY",
        "1h",
        None,
    )
    .unwrap();
    let event = Event::recurring("w@ferry".into(), &window.to_ical().unwrap(), "w".into());
    let calendar = calendar(vec![event]);
    assert_eq!(calendar.zones(), [(Tz::America__New_York, 2004)]);
    let lines = unfold(&calendar.render());
    // The first observance starts with 2004 (midnight UTC on New York's clock).
    assert!(
        lines.contains(&"DTSTART:20031231T190000".to_owned()),
        "{lines:#?}"
    );
    // Ten years past the stamp (2026) the rules still hold, for ever.
    assert!(
        lines.contains(&"RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU".to_owned()),
        "{lines:#?}"
    );
}
