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

/** The full date and time, for a tooltip. */
export const longDate = (t: number) => new Date(t).toLocaleString();
