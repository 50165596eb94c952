/**
 * Fixed-size pages of a stream. Positions within a stream's sequence are 1-based; page n covers
 * ((n-1)·size, n·size]. Only aligned, full-size ranges exist, so every URL names the same events
 * forever and full pages can be cached as immutable.
 */
import { streamPath } from "./stream-name.ts";

export const PAGE_SIZE = 20;

export interface PageRange {
  from: number;
  to: number;
}

export type PageRequest = { kind: "range"; range: PageRange } | { kind: "current" };

export type PageRequestResult = { ok: true; request: PageRequest } | { ok: false; message: string };

const RANGE = /^(\d{1,15})-(\d{1,15})$/;

/** Parses the last path segment of a page URL: `current` or `{from}-{to}`. */
export function parsePageRequest(segment: string, pageSize = PAGE_SIZE): PageRequestResult {
  if (segment === "current") return { ok: true, request: { kind: "current" } };
  const match = RANGE.exec(segment);
  if (!match) {
    return { ok: false, message: `Malformed range ${JSON.stringify(segment)}: use "{from}-{to}" such as "1-${pageSize}", or "current"` };
  }
  const from = Number(match[1]);
  const to = Number(match[2]);
  if (from < 1) return { ok: false, message: `Malformed range ${segment}: positions start at 1` };
  if (to < from) return { ok: false, message: `Malformed range ${segment}: "to" is before "from"` };
  if (to - from + 1 !== pageSize) {
    return { ok: false, message: `Range ${segment} holds ${to - from + 1} events; pages hold exactly ${pageSize} (for example ${pageRange(from, pageSize).from}-${pageRange(from, pageSize).to})` };
  }
  if ((from - 1) % pageSize !== 0) {
    const aligned = pageRange(from, pageSize);
    return { ok: false, message: `Range ${segment} is not aligned to pages of ${pageSize}: position ${from} is on page ${aligned.from}-${aligned.to}` };
  }
  return { ok: true, request: { kind: "range", range: { from, to } } };
}

/** The page holding the given 1-based position. */
export function pageRange(position: number, pageSize = PAGE_SIZE): PageRange {
  const from = Math.floor((Math.max(position, 1) - 1) / pageSize) * pageSize + 1;
  return { from, to: from + pageSize - 1 };
}

/** The newest page: the one holding the last event, or the first page of an empty stream. */
export function currentPage(eventCount: number, pageSize = PAGE_SIZE): PageRange {
  return pageRange(Math.max(eventCount, 1), pageSize);
}

export function formatRange(range: PageRange): string {
  return `${range.from}-${range.to}`;
}

export type LinkRelation = "first" | "prev" | "next" | "current";

/**
 * RFC 8288 Link header. A full page always links to its next page, which exists as a URL even
 * while it is still empty, so the header of an immutable page never needs to change.
 */
export function pageLinks(name: string, range: PageRange, full: boolean, pageSize = PAGE_SIZE): string {
  const links: [LinkRelation, string][] = [["first", streamPath(name, formatRange({ from: 1, to: pageSize }))]];
  if (range.from > 1) links.push(["prev", streamPath(name, formatRange({ from: range.from - pageSize, to: range.from - 1 }))]);
  if (full) links.push(["next", streamPath(name, formatRange({ from: range.to + 1, to: range.to + pageSize }))]);
  links.push(["current", streamPath(name, "current")]);
  return formatLinkHeader(links);
}

export function formatLinkHeader(links: readonly (readonly [LinkRelation, string])[]): string {
  return links.map(([rel, target]) => `<${target}>; rel="${rel}"`).join(", ");
}

/** Parses an RFC 8288 Link header into relation → target (first target per relation). */
export function parseLinkHeader(header: string): Map<string, string> {
  const links = new Map<string, string>();
  const pattern = /<([^>]*)>\s*((?:;\s*[a-zA-Z*]+\s*=\s*(?:"[^"]*"|[^;,\s]+)\s*)*)/g;
  for (const match of header.matchAll(pattern)) {
    const target = match[1]!;
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(match[2] ?? "");
    const relations = (rel?.[1] ?? rel?.[2] ?? "").split(/\s+/).filter(Boolean);
    for (const relation of relations) if (!links.has(relation.toLowerCase())) links.set(relation.toLowerCase(), target);
  }
  return links;
}
