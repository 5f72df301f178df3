// Parse iCalendar feeds with the `ical` package (a second parser, independent of ical.js and of
// the Python icalendar library) and print JSON: {file: {events: [{uid, dtstart, dtend, tzid,
// summary, sequence, status, location, description}]}}, times as UTC ISO strings.
// `ical` reads a TZID time as the process's local time, so run it with TZ set to the feed's
// zone: the times then come from node's own tz database, not from the feed's VTIMEZONE.
// Usage: TZ=Europe/London node parse_ical.mjs FILE.ics [FILE.ics ...]
import ical from "ical";

const out = {};
for (const file of process.argv.slice(2)) {
  const events = Object.values(ical.parseFile(file))
    .filter((item) => item.type === "VEVENT")
    .map((item) => ({
      uid: item.uid,
      dtstart: item.start.toISOString(),
      dtend: item.end.toISOString(),
      tzid: item.start.tz ?? null,
      summary: item.summary,
      sequence: Number(item.sequence),
      status: item.status,
      location: item.location ?? null,
      description: item.description,
    }));
  out[file] = { events };
}
process.stdout.write(JSON.stringify(out));
