/**
 * An aggregate of the definition as a decider: `decide(command, state, ctx)` returns the events
 * to record or a rejection with its reason, `evolve(state, event)` folds one event, and
 * `initialState()` starts the fold. No I/O of its own: the version and the reader of `$view` rows
 * are passed in.
 */
import type { AggregateDefinition, ElementRef } from "../../definition/v1.ts";
import { applyMapping, holds } from "./expressions.ts";
import type { DomainCommand, Payload } from "./types.ts";
import { bindViews, type ViewSource } from "./views.ts";

export interface AggregateState {
  readonly fields: Readonly<Payload>;
}

export interface DecidedEvent {
  event: ElementRef;
  payload: Payload;
}

export type RejectionCode =
  /** A rule's reject outcome. */
  | "rule"
  /** The command named a version (expectedVersionField) that is no longer current. */
  | "concurrency"
  /** Rules exist but no condition held. */
  | "no-rule-applies"
  /** The aggregate has no rules for the command. */
  | "not-handled";

export type AggregateDecision =
  | { kind: "accepted"; ruleId: string; events: DecidedEvent[] }
  | { kind: "rejected"; code: RejectionCode; reason: string; ruleId: string | null };

export interface DecisionContext {
  /** The aggregate's version before the command (0: no events yet). */
  version: number;
  /** Where `$view(readModel, key)` reads rows; without it every `$view` call fails. */
  views?: ViewSource;
}

export interface AggregateEvent {
  event: ElementRef;
  payload: Payload;
}

export interface AggregateDecider {
  initialState(): AggregateState;
  decide(command: DomainCommand, state: AggregateState, context: DecisionContext): Promise<AggregateDecision>;
  evolve(state: AggregateState, event: AggregateEvent): Promise<AggregateState>;
}

export function aggregateDecider(definition: AggregateDefinition): AggregateDecider {
  const initialFields: Payload = {};
  for (const field of definition.state) initialFields[field.name] = field.initial === undefined ? null : field.initial;

  return {
    initialState: () => ({ fields: { ...initialFields } }),

    async decide(command, state, context) {
      const versionField = definition.expectedVersionField;
      const expected = versionField === null ? undefined : command.payload[versionField];
      if (expected !== undefined && expected !== null && expected !== context.version) {
        return {
          kind: "rejected",
          code: "concurrency",
          reason: `Concurrency conflict: the command was based on version ${JSON.stringify(expected)} of ${definition.name}, which is now at version ${context.version}.`,
          ruleId: null,
        };
      }
      const decision = definition.decisions.find((candidate) => candidate.command.id === command.command.id);
      if (!decision || decision.rules.length === 0) {
        return { kind: "rejected", code: "not-handled", reason: `${definition.name} has no rules for ${command.command.name}.`, ruleId: null };
      }
      const input = { command: command.payload, state: state.fields, meta: { ...command.meta, version: context.version } };
      const views = bindViews(definition, context.views);
      try {
        for (const rule of decision.rules) {
          if (!(await holds(rule.condition, input, `${definition.name} rule ${rule.id} condition`, views.functions))) continue;
          const outcome = rule.outcome;
          switch (outcome.kind) {
            case "reject":
              return { kind: "rejected", code: "rule", reason: outcome.reason, ruleId: rule.id };
            case "emit": {
              const events: DecidedEvent[] = [];
              for (const emitted of outcome.events) {
                events.push({ event: emitted.event, payload: await applyMapping(emitted.mapping, input, `${definition.name} rule ${rule.id} → ${emitted.event.name}`, views.functions) });
              }
              return { kind: "accepted", ruleId: rule.id, events };
            }
            default: {
              const unknownOutcome: never = outcome;
              throw new Error(`unknown rule outcome ${JSON.stringify(unknownOutcome)}`);
            }
          }
        }
      } catch (error) {
        throw views.readFailure ?? error;
      }
      return { kind: "rejected", code: "no-rule-applies", reason: `No rule of ${definition.name} accepts ${command.command.name} in its current state.`, ruleId: null };
    },

    async evolve(state, event) {
      const evolution =
        definition.evolutions.find((candidate) => candidate.event.id === event.event.id) ??
        definition.evolutions.find((candidate) => candidate.event.name === event.event.name);
      if (!evolution) return state;
      const changes = await applyMapping(evolution.set, { event: event.payload, state: state.fields }, `${definition.name} evolution on ${event.event.name}`);
      return { fields: { ...state.fields, ...changes } };
    },
  };
}
