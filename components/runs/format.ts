/** How the Runs area writes durations, times and counts. */

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s`;
  const hours = Math.floor(totalSeconds / 3600);
  if (hours < 48) return `${hours} h ${Math.floor((totalSeconds % 3600) / 60)} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Wall-clock time to the millisecond, in the viewer's time zone. */
export function formatClock(time: number | Date): string {
  const date = typeof time === "number" ? new Date(time) : time;
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

// Intl formatters are costly to build; a list renders several per row on every scroll frame.
const DATE_TIME = new Intl.DateTimeFormat("en", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const COUNT = new Intl.NumberFormat("en");

export function formatDateTime(time: number | Date): string {
  return DATE_TIME.format(time);
}

export function formatRelative(time: number, now: number): string {
  const seconds = Math.round((time - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return "just now";
  if (abs < 60) return RELATIVE.format(seconds, "second");
  if (abs < 3600) return RELATIVE.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return RELATIVE.format(Math.round(seconds / 3600), "hour");
  return RELATIVE.format(Math.round(seconds / 86_400), "day");
}

export function formatCount(count: number): string {
  return COUNT.format(count);
}

/** Long ids (UUIDs, instance ids) shortened for tables; the full id stays in the title. */
export function shortId(id: string, keep = 8): string {
  return id.length <= keep + 1 ? id : `${id.slice(0, keep)}…`;
}
