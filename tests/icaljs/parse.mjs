// Parse iCalendar feeds with ical.js (independent of the Python icalendar library) and print
// JSON: {file: {calname, timezones, events: [{uid, dtstart, dtend, summary, sequence, status,
// location, description}]}}, times as UTC ISO strings resolved through the feed's own VTIMEZONE.
// Usage: node parse.mjs FILE.ics [FILE.ics ...]
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const out = {};
for (const file of process.argv.slice(2)) {
  const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
  const timezones = [];
  for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
    const zone = new ICAL.Timezone(vtimezone);
    ICAL.TimezoneService.register(zone, vtimezone.getFirstPropertyValue("tzid"));
    timezones.push(zone.tzid);
  }
  const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      dtstart: event.startDate.toJSDate().toISOString(),
      dtend: event.endDate.toJSDate().toISOString(),
      tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
      summary: event.summary,
      sequence: event.sequence,
      status: vevent.getFirstPropertyValue("status"),
      location: event.location,
      description: event.description,
    };
  });
  out[file] = {
    method: calendar.getFirstPropertyValue("method"),
    calname: calendar.getFirstPropertyValue("x-wr-calname"),
    timezones,
    events,
  };
}
process.stdout.write(JSON.stringify(out));
