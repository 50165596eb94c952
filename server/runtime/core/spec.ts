/**
 * Given/When/Then for deciders, after Emmett's DeciderSpecification: given past events folded
 * with `evolve` from `initialState()`, when a command is decided, then the decision is what was
 * expected. Async throughout, because expressions are evaluated asynchronously.
 */
import { expect } from "vitest";
import { aggregateDecider, type AggregateDecision, type AggregateEvent, type AggregateState } from "./aggregate.ts";
import type { AggregateDefinition } from "../../definition/v1.ts";
import { decideProcess, evolveProcess, initialProcessState, type ProcessContext, type ProcessDecision, type ProcessInput, type ProcessState } from "./process.ts";
import type { DomainCommand } from "./types.ts";
import type { ViewSource } from "./views.ts";

export interface Decider<Command, Event, State, Decision> {
  initialState(): State;
  evolve(state: State, event: Event): State | Promise<State>;
  decide(command: Command, state: State): Decision | Promise<Decision>;
}

export interface Outcome<State, Decision> {
  /** The whole decision equals `expected` (asymmetric matchers allowed). */
  then(expected: Decision): Promise<void>;
  /** The decision contains `expected` (toMatchObject). */
  thenMatches(expected: object): Promise<void>;
  /** Free-form checks on the decision and on the state it was made in. */
  thenCheck(check: (decision: Decision, state: State) => void): Promise<void>;
  thenThrows(expected?: RegExp | string): Promise<void>;
}

export type Specification<Command, Event, State, Decision> = (...given: Event[]) => { when(command: Command): Outcome<State, Decision> };

export function deciderSpecification<Command, Event, State, Decision>(decider: Decider<Command, Event, State, Decision>): Specification<Command, Event, State, Decision> {
  return (...given) => ({
    when(command) {
      const run = async (): Promise<{ decision: Decision; state: State }> => {
        let state = decider.initialState();
        for (const event of given) state = await decider.evolve(state, event);
        return { decision: await decider.decide(command, state), state };
      };
      return {
        async then(expected) {
          expect((await run()).decision).toEqual(expected);
        },
        async thenMatches(expected) {
          expect((await run()).decision).toMatchObject(expected);
        },
        async thenCheck(check) {
          const { decision, state } = await run();
          check(decision, state);
        },
        async thenThrows(expected) {
          await expect(run()).rejects.toThrow(expected);
        },
      };
    },
  });
}

/** An aggregate of a definition; each given event adds one version. `views` answers its `$view` calls. */
export function aggregateSpecification(
  definition: AggregateDefinition,
  views?: ViewSource,
): Specification<DomainCommand, AggregateEvent, { state: AggregateState; version: number }, AggregateDecision> {
  const decider = aggregateDecider(definition);
  return deciderSpecification({
    initialState: () => ({ state: decider.initialState(), version: 0 }),
    evolve: async (current, event) => ({ state: await decider.evolve(current.state, event), version: current.version + 1 }),
    decide: (command, current) => decider.decide(command, current.state, { version: current.version, ...(views ? { views } : {}) }),
  });
}

/**
 * A process manager instance. What is given are earlier inputs: each is decided in turn and its
 * records folded, as the runtime does; `now` is the same clock for all of them unless an input
 * says otherwise.
 */
export function processSpecification(
  context: ProcessContext,
  now: Date,
): Specification<ProcessInput | { input: ProcessInput; at: Date }, ProcessInput | { input: ProcessInput; at: Date }, ProcessState, ProcessDecision> {
  const unpack = (entry: ProcessInput | { input: ProcessInput; at: Date }) => ("input" in entry ? entry : { input: entry, at: now });
  return deciderSpecification({
    initialState: initialProcessState,
    async evolve(state, entry) {
      const { input, at } = unpack(entry);
      const decision = await decideProcess(context, input, state, at);
      return decision.records.reduce(evolveProcess, state);
    },
    decide(entry, state) {
      const { input, at } = unpack(entry);
      return decideProcess(context, input, state, at);
    },
  });
}
