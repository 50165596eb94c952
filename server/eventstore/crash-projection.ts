import type { ProjectionDefinition } from "./projections.ts";

/** Counts events per stream; `last` must follow on from the previous version, so a double apply shows. */
export const crashCounter: ProjectionDefinition<{ count: number; last: number }> = {
  name: "crashCounter",
  handlers: {
    Tick: {
      key: (event) => event.streamId,
      apply: (state, event) => ({ count: (state?.count ?? 0) + 1, last: event.streamVersion }),
    },
  },
};
