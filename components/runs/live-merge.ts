/**
 * Live events arrive over a resumable subscription: after a reconnect the server replays from the
 * last position the client acknowledged, and a page reload replays from the start. Either way the
 * client may see a position twice; these helpers keep every position exactly once, in log order.
 */

export interface Positioned {
  position: number;
}

/**
 * `current` must be sorted by position without duplicates (what this function returns). The
 * common case — every incoming event is newer than the newest held — appends without sorting.
 */
export function mergeByPosition<T extends Positioned>(current: readonly T[], incoming: readonly T[]): T[] {
  if (incoming.length === 0) return current as T[];
  const newest = current.length > 0 ? current[current.length - 1]!.position : -Infinity;
  let ascendingAfterNewest = true;
  let previous = newest;
  for (const event of incoming) {
    if (event.position <= previous) {
      ascendingAfterNewest = false;
      break;
    }
    previous = event.position;
  }
  if (ascendingAfterNewest) return [...current, ...incoming];
  const byPosition = new Map<number, T>();
  for (const event of current) byPosition.set(event.position, event);
  for (const event of incoming) if (!byPosition.has(event.position)) byPosition.set(event.position, event);
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}

/** The position to resume after: the newest one held, or "0" (from the start) when nothing is. */
export function resumePoint(events: readonly Positioned[]): string {
  return events.length > 0 ? String(events[events.length - 1]!.position) : "0";
}
