import { describe, expect, it } from "vitest";
import { currentPage, formatLinkHeader, pageLinks, pageRange, parseLinkHeader, parsePageRequest } from "./paging.ts";

describe("page ranges", () => {
  it("accepts aligned ranges of the page size and current", () => {
    expect(parsePageRequest("1-20")).toEqual({ ok: true, request: { kind: "range", range: { from: 1, to: 20 } } });
    expect(parsePageRequest("21-40")).toEqual({ ok: true, request: { kind: "range", range: { from: 21, to: 40 } } });
    expect(parsePageRequest("current")).toEqual({ ok: true, request: { kind: "current" } });
    expect(parsePageRequest("6-10", 5)).toEqual({ ok: true, request: { kind: "range", range: { from: 6, to: 10 } } });
  });

  it("names the problem with a malformed, unaligned or wrongly sized range", () => {
    const message = (segment: string) => {
      const parsed = parsePageRequest(segment);
      if (parsed.ok) throw new Error(`${segment} was accepted`);
      return parsed.message;
    };
    expect(message("abc")).toMatch(/Malformed range/);
    expect(message("1-")).toMatch(/Malformed range/);
    expect(message("-20")).toMatch(/Malformed range/);
    expect(message("1_20")).toMatch(/Malformed range/);
    expect(message("0-19")).toMatch(/start at 1/);
    expect(message("40-21")).toMatch(/before/);
    expect(message("1-10")).toMatch(/holds 10 events; pages hold exactly 20/);
    expect(message("2-21")).toMatch(/not aligned.*position 2 is on page 1-20/);
    expect(message("1-20x")).toMatch(/Malformed range/);
    expect(message("1234567890123456-1234567890123475")).toMatch(/Malformed range/);
  });

  it("finds the page of a position and the newest page", () => {
    expect(pageRange(1)).toEqual({ from: 1, to: 20 });
    expect(pageRange(20)).toEqual({ from: 1, to: 20 });
    expect(pageRange(21)).toEqual({ from: 21, to: 40 });
    expect(currentPage(0)).toEqual({ from: 1, to: 20 });
    expect(currentPage(40)).toEqual({ from: 21, to: 40 });
    expect(currentPage(41)).toEqual({ from: 41, to: 60 });
  });
});

describe("Link headers", () => {
  it("links a full middle page to first, prev, next and current", () => {
    const header = pageLinks("context-Risk assessment", { from: 21, to: 40 }, true);
    expect(header).toBe(
      '</api/streams/context-Risk%20assessment/1-20>; rel="first", ' +
        '</api/streams/context-Risk%20assessment/1-20>; rel="prev", ' +
        '</api/streams/context-Risk%20assessment/41-60>; rel="next", ' +
        '</api/streams/context-Risk%20assessment/current>; rel="current"',
    );
    expect(Object.fromEntries(parseLinkHeader(header))).toEqual({
      first: "/api/streams/context-Risk%20assessment/1-20",
      prev: "/api/streams/context-Risk%20assessment/1-20",
      next: "/api/streams/context-Risk%20assessment/41-60",
      current: "/api/streams/context-Risk%20assessment/current",
    });
  });

  it("gives the first page no prev and a partial page no next", () => {
    const links = parseLinkHeader(pageLinks("all", { from: 1, to: 20 }, false));
    expect([...links.keys()].sort()).toEqual(["current", "first"]);
  });

  it("parses headers written by others: several relations, extra parameters, unquoted rel", () => {
    const links = parseLinkHeader('</a>; rel="next prev"; title="x", </b>;rel=first , </c>; type="text/html"; rel="current"');
    expect(Object.fromEntries(links)).toEqual({ next: "/a", prev: "/a", first: "/b", current: "/c" });
    expect(formatLinkHeader([["first", "/x"]])).toBe('</x>; rel="first"');
  });
});
