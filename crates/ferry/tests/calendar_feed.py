#!/usr/bin/env python3
"""Reads one of ferry's calendar feeds as a calendar program does, and says
what it would show.

    calendar_feed.py FEED.ics FROM TO

FROM and TO are RFC 3339 instants. The feed is parsed with the `icalendar`
package and its events are expanded with `recurring-ical-events` (recurrence
rules, time zones and all) over FROM..TO. Printed on stdout, as JSON:

    {"occurrences": [{"uid", "kind", "summary", "start", "end"}, ...],
     "events": [{"uid", "dtstart", "rrule"}, ...],
     "zones": ["Europe/Berlin", ...]}

with every instant in UTC as `YYYY-MM-DDTHH:MM:SSZ`, and `kind` the event's
first category.

Checked on the way; a failure exits 1 and says why on stderr:

- the calendar is VERSION 2.0 with a PRODID, and every event has a UID, a
  DTSTAMP, a DTSTART and a SUMMARY, and no UID is used twice;
- every VTIMEZONE, read on its own (not looked up by its TZID, as Outlook
  reads it), gives the offsets of the time-zone database (zoneinfo) every
  hour from a week before FROM to a week after TO, and at each event's
  DTSTART in that zone.

Needs the packages `icalendar` and `recurring-ical-events`
(`pip install icalendar recurring-ical-events`); without them it exits 3.
"""

import datetime
import json
import sys
import zoneinfo

try:
    import icalendar
    import recurring_ical_events
except ImportError as error:  # pragma: no cover - the caller reports it
    print(
        f"the Python packages icalendar and recurring-ical-events are needed ({error}); "
        "install them with: pip install icalendar recurring-ical-events",
        file=sys.stderr,
    )
    sys.exit(3)

UTC = datetime.timezone.utc


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def utc_text(value, what):
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        fail(f"{what} is {value!r}, not a time with a zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_zones(calendar, start, end):
    """Each VTIMEZONE, read on its own, against zoneinfo."""
    names = []
    dtstarts = {}
    for event in calendar.walk("VEVENT"):
        value = event.decoded("DTSTART")
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            dtstarts.setdefault(str(event["DTSTART"].params.get("TZID", "")), []).append(
                value
            )
    for component in calendar.walk("VTIMEZONE"):
        name = str(component["TZID"])
        names.append(name)
        ours = component.to_tz(lookup_tzid=False)
        database = zoneinfo.ZoneInfo(name)
        moments = []
        at = start - datetime.timedelta(days=7)
        while at < end + datetime.timedelta(days=7):
            moments.append(at)
            at += datetime.timedelta(hours=1)
        for local in dtstarts.get(name, []):
            naive = local.replace(tzinfo=None)
            moments.append(naive.replace(tzinfo=database).astimezone(UTC))
        for moment in moments:
            got = moment.astimezone(ours).utcoffset()
            want = moment.astimezone(database).utcoffset()
            if got != want:
                fail(
                    f"the VTIMEZONE of {name} gives the offset {got} at {moment.isoformat()}, "
                    f"where the time-zone database gives {want}"
                )
    return names


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    path, start, end = sys.argv[1], instant(sys.argv[2]), instant(sys.argv[3])
    with open(path, "rb") as feed:
        calendar = icalendar.Calendar.from_ical(feed.read())
    if str(calendar.get("VERSION")) != "2.0" or not calendar.get("PRODID"):
        fail("the calendar needs VERSION:2.0 and a PRODID")
    events = []
    uids = set()
    for event in calendar.walk("VEVENT"):
        for name in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            if event.get(name) is None:
                fail(f"an event has no {name}: {event.to_ical().decode()}")
        uid = str(event["UID"])
        if uid in uids:
            fail(f"the UID {uid} is used twice")
        uids.add(uid)
        rrule = event.get("RRULE")
        events.append(
            {
                "uid": uid,
                "dtstart": event["DTSTART"].to_ical().decode(),
                "rrule": rrule.to_ical().decode() if rrule is not None else None,
            }
        )
    zones = check_zones(calendar, start, end)
    occurrences = []
    for occurrence in recurring_ical_events.of(calendar).between(start, end):
        uid = str(occurrence["UID"])
        began = occurrence.decoded("DTSTART")
        if occurrence.get("DTEND") is not None:
            ended = occurrence.decoded("DTEND")
        elif occurrence.get("DURATION") is not None:
            ended = began + occurrence.decoded("DURATION")
        else:
            ended = began
        categories = occurrence.get("CATEGORIES")
        kind = categories.cats[0] if categories is not None and categories.cats else ""
        occurrences.append(
            {
                "uid": uid,
                "kind": str(kind),
                "summary": str(occurrence["SUMMARY"]),
                "start": utc_text(began, f"the start of {uid}"),
                "end": utc_text(ended, f"the end of {uid}"),
            }
        )
    occurrences.sort(key=lambda o: (o["start"], o["kind"], o["summary"]))
    json.dump({"occurrences": occurrences, "events": events, "zones": zones}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
