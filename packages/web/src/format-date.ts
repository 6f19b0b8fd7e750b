const time = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayMonth = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const full = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  year: "numeric",
});

/** A short date for the note list: the time today, day and month this year, else with the year. */
export function shortDate(t: number, now = new Date()): string {
  const d = new Date(t);
  if (d.toDateString() === now.toDateString()) return time.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayMonth.format(d);
  return full.format(d);
}

const long = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
/** The date and time, unambiguous in every locale ("2 Mar 2026, 09:30"). */
export const longDate = (t: number) => long.format(new Date(t));
