/** fast-check arbitrary of synthetic board specs, for the property-based tests. */
import fc from "fast-check";
import type { SyntheticSpec } from "./synthetic-board.ts";

export const specArbitrary: fc.Arbitrary<SyntheticSpec> = fc.record({
  contexts: fc.integer({ min: 1, max: 4 }),
  unitsPerContext: fc.integer({ min: 1, max: 4 }),
  readModelEvery: fc.integer({ min: 0, max: 3 }),
  timers: fc.boolean(),
  conditions: fc.boolean(),
  deadlines: fc.boolean(),
  compensation: fc.boolean(),
  lifecycle: fc.boolean(),
  externalSystem: fc.constantFrom("none", "webhook", "redis", "nats"),
});
