import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeByPosition, resumePoint } from "./live-merge.ts";

const at = (...positions: number[]) => positions.map((position) => ({ position, label: `e${position}` }));

describe("mergeByPosition", () => {
  it("appends newer events without copying what it holds", () => {
    const held = at(1, 2, 3);
    const merged = mergeByPosition(held, at(4, 7));
    expect(merged.map((event) => event.position)).toEqual([1, 2, 3, 4, 7]);
    expect(mergeByPosition(held, [])).toBe(held);
  });

  it("drops positions it already holds when a reconnect or reload replays them", () => {
    const held = at(1, 2, 3, 4);
    expect(mergeByPosition(held, at(3, 4, 5)).map((event) => event.position)).toEqual([1, 2, 3, 4, 5]);
    expect(mergeByPosition(held, at(1, 2, 3, 4)).map((event) => event.position)).toEqual([1, 2, 3, 4]);
  });

  it("keeps the held copy of a replayed position", () => {
    const held = [{ position: 1, label: "first copy" }];
    expect(mergeByPosition(held, [{ position: 1, label: "replayed" }])).toEqual([{ position: 1, label: "first copy" }]);
  });

  it("sorts events that arrive out of order", () => {
    expect(mergeByPosition(at(2, 5), at(4, 1, 6)).map((event) => event.position)).toEqual([1, 2, 4, 5, 6]);
  });

  it("holds every position exactly once, in order, however the deliveries are cut and repeated", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 15 }), { maxLength: 12 }), (deliveries) => {
        let held: { position: number }[] = [];
        for (const delivery of deliveries) held = mergeByPosition(held, delivery.map((position) => ({ position })));
        const expected = [...new Set(deliveries.flat())].sort((a, b) => a - b);
        expect(held.map((event) => event.position)).toEqual(expected);
      }),
    );
  });
});

describe("resumePoint", () => {
  it("is the newest position held, or 0 for the whole history", () => {
    expect(resumePoint([])).toBe("0");
    expect(resumePoint(at(3, 9))).toBe("9");
  });
});
