/**
 * Lookups over one process definition, built once per published version: which aggregate handles
 * a command, which process managers an event concerns and in which roles, which external systems
 * send or receive what.
 */
import type {
  AggregateDefinition,
  CommandDefinition,
  ElementRef,
  EventDefinition,
  Expression,
  ExternalSystemDefinition,
  ProcessDefinitionV1,
  ProcessManagerDefinition,
  TimerDefinition,
} from "../../definition/v1.ts";

export type ProcessRole = "start" | "complete" | "fail" | "step";

/** An event concerns a process manager in these roles, each with the key that finds the instance. */
export interface ProcessRoute {
  process: ProcessManagerDefinition;
  roles: ProcessRole[];
  /**
   * Distinct correlation key expressions, the start event's first, then completion and failure
   * keys, then the steps'. The first that gives a value names the instance: an event reaches one
   * instance per process manager, and lifecycle keys agree with each other.
   */
  correlationKeys: Expression[];
}

const ROLE_PRIORITY: Record<ProcessRole, number> = { start: 0, complete: 1, fail: 1, step: 2 };

export type ExternalOutbound = ExternalSystemDefinition["outbound"][number];
export type ExternalInbound = ExternalSystemDefinition["inbound"][number];

export interface DefinitionIndex {
  readonly definition: ProcessDefinitionV1;
  readonly eventsById: ReadonlyMap<string, EventDefinition>;
  readonly eventsByName: ReadonlyMap<string, EventDefinition>;
  readonly commandsById: ReadonlyMap<string, CommandDefinition>;
  readonly commandsByName: ReadonlyMap<string, CommandDefinition>;
  readonly aggregatesById: ReadonlyMap<string, AggregateDefinition>;
  /** Command id → the aggregate that handles it. */
  readonly aggregateByCommand: ReadonlyMap<string, AggregateDefinition>;
  readonly processesById: ReadonlyMap<string, ProcessManagerDefinition>;
  /** Event id → process managers it concerns. */
  readonly processRoutes: ReadonlyMap<string, ProcessRoute[]>;
  readonly timersById: ReadonlyMap<string, TimerDefinition>;
  readonly externalSystemsById: ReadonlyMap<string, ExternalSystemDefinition>;
  /** Event or command id → external systems that receive it, with their outbound mapping. */
  readonly outbound: ReadonlyMap<string, { system: ExternalSystemDefinition; entry: ExternalOutbound }[]>;
  /** External message name → where it goes. */
  readonly inbound: ReadonlyMap<string, { system: ExternalSystemDefinition; entry: ExternalInbound }[]>;
  /** Command id → external system that handles it (a step dispatches it there). */
  readonly externalHandlerByCommand: ReadonlyMap<string, ExternalSystemDefinition>;
}

function byKey<T>(items: readonly T[], key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return map;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function indexDefinition(definition: ProcessDefinitionV1): DefinitionIndex {
  const aggregateByCommand = new Map<string, AggregateDefinition>();
  for (const aggregate of definition.aggregates) {
    for (const command of aggregate.handles) if (!aggregateByCommand.has(command.id)) aggregateByCommand.set(command.id, aggregate);
  }

  const processRoutes = new Map<string, ProcessRoute[]>();
  for (const process of definition.processManagers) {
    const perEvent = new Map<string, { route: ProcessRoute; keys: { key: Expression; priority: number }[] }>();
    const add = (event: ElementRef, role: ProcessRole, key: Expression) => {
      let entry = perEvent.get(event.id);
      if (!entry) {
        entry = { route: { process, roles: [], correlationKeys: [] }, keys: [] };
        perEvent.set(event.id, entry);
      }
      if (!entry.route.roles.includes(role)) entry.route.roles.push(role);
      if (!entry.keys.some((known) => known.key.source === key.source)) entry.keys.push({ key, priority: ROLE_PRIORITY[role] });
    };
    for (const entry of process.start) add(entry.event, "start", entry.correlationKey);
    for (const entry of process.completion) add(entry.event, "complete", entry.correlationKey);
    for (const entry of process.failure) add(entry.event, "fail", entry.correlationKey);
    for (const step of process.steps) {
      for (const trigger of step.triggers) add(trigger.event, "step", trigger.correlationKey);
      // Events that settle a step must reach the instance too.
      const key = step.correlationKey ?? step.triggers[0]!.correlationKey;
      for (const expected of step.expects) add(expected, "step", key);
    }
    for (const [eventId, { route, keys }] of perEvent) {
      // Stable sort: within a role, keys keep the definition's order.
      route.correlationKeys = keys.sort((a, b) => a.priority - b.priority).map((entry) => entry.key);
      push(processRoutes, eventId, route);
    }
  }

  const outbound = new Map<string, { system: ExternalSystemDefinition; entry: ExternalOutbound }[]>();
  const inbound = new Map<string, { system: ExternalSystemDefinition; entry: ExternalInbound }[]>();
  for (const system of definition.externalSystems) {
    for (const entry of system.outbound) push(outbound, entry.source.id, { system, entry });
    for (const entry of system.inbound) push(inbound, entry.message, { system, entry });
  }
  const externalSystemsById = byKey(definition.externalSystems, (system) => system.id);
  const externalHandlerByCommand = new Map<string, ExternalSystemDefinition>();
  for (const process of definition.processManagers) {
    for (const step of process.steps) {
      for (const dispatch of [step.send, step.compensation, step.deadline?.onTimeout ?? null]) {
        if (dispatch?.handler.kind !== "externalSystem") continue;
        const system = externalSystemsById.get(dispatch.handler.id);
        if (system && !externalHandlerByCommand.has(dispatch.command.id)) externalHandlerByCommand.set(dispatch.command.id, system);
      }
    }
  }

  return {
    definition,
    eventsById: byKey(definition.events, (event) => event.id),
    eventsByName: byKey(definition.events, (event) => event.name),
    commandsById: byKey(definition.commands, (command) => command.id),
    commandsByName: byKey(definition.commands, (command) => command.name),
    aggregatesById: byKey(definition.aggregates, (aggregate) => aggregate.id),
    aggregateByCommand,
    processesById: byKey(definition.processManagers, (process) => process.id),
    processRoutes,
    timersById: byKey(definition.timers, (timer) => timer.id),
    externalSystemsById,
    outbound,
    inbound,
    externalHandlerByCommand,
  };
}
