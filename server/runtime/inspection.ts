/**
 * What the runtime does, as it happens, for the live timeline: a typed union of inspection events
 * on an in-process emitter kept on globalThis (Next's route bundles and the server entry share it).
 * Events are emitted after the transaction that did the work committed.
 */
import type { InstanceStatus, StoredStatus } from "./core/process.ts";

export type OutboxKind = "command" | "event" | "external";

/** Which outbox message an inspection event is about. */
export interface MessageRef {
  boardId: string;
  versionId: string;
  outboxId: number;
  messageId: string;
  messageKind: OutboxKind;
  /** Command or event name, or the external message's name. */
  type: string;
  /** Aggregate, process manager or external system id. */
  targetId: string;
  contextId: string | null;
  instanceId: string | null;
  correlationId: string;
}

export type HandledOutcome = "accepted" | "rejected" | "delivered" | "recorded" | "ignored" | "duplicate";

export type InspectionEvent =
  | {
      kind: "message.appended";
      at: string;
      boardId: string;
      versionId: string;
      streamId: string;
      position: number;
      messageId: string;
      type: string;
      correlationId: string;
      causationId: string;
      context: string | null;
    }
  | ({ kind: "message.queued"; at: string } & MessageRef)
  | ({ kind: "message.dispatched"; at: string; attempt: number } & MessageRef)
  | ({ kind: "message.handled"; at: string; outcome: HandledOutcome; reason: string | null; events: string[]; durationMs: number; attempt: number } & MessageRef)
  | ({ kind: "message.failed"; at: string; attempt: number; error: string; retryAt: string } & MessageRef)
  | ({ kind: "message.parked"; at: string; attempts: number; error: string } & MessageRef)
  | ({ kind: "message.waiting"; at: string; reason: string; retryAt: string } & MessageRef)
  | ({ kind: "message.redriven"; at: string } & MessageRef)
  | ({ kind: "message.discarded"; at: string } & MessageRef)
  | { kind: "timer.set"; at: string; boardId: string; instanceId: string; timerId: string; timerKind: "deadline" | "timer"; stepId: string | null; fireAt: string }
  | { kind: "timer.fired"; at: string; boardId: string; instanceId: string; timerId: string }
  | { kind: "timer.cancelled"; at: string; boardId: string; instanceId: string; timerId: string; reason: string }
  | {
      kind: "instance.status-changed";
      at: string;
      boardId: string;
      versionId: string;
      instanceId: string;
      processId: string;
      correlationKey: string;
      correlationId: string;
      from: StoredStatus | InstanceStatus;
      to: InstanceStatus;
      reason: string;
    }
  | { kind: "context.settings-changed"; at: string; boardId: string; contextId: string; down: boolean; latencyMs: number; failureRate: number; duplicateDeliveries: number; webhookUrl: string | null }
  | { kind: "version.published" | "version.deployed" | "version.undeployed"; at: string; boardId: string; versionId: string; version: number };

export type InspectionKind = InspectionEvent["kind"];
export type InspectionListener = (event: InspectionEvent) => void;

const KEY = Symbol.for("sagaboard.runtime.inspection");
type GlobalWithListeners = typeof globalThis & { [KEY]?: Set<InspectionListener> };

function listeners(): Set<InspectionListener> {
  const global = globalThis as GlobalWithListeners;
  global[KEY] ??= new Set();
  return global[KEY];
}

/** Listens to every inspection event of this process; returns the function that stops listening. */
export function onInspection(listener: InspectionListener): () => void {
  const set = listeners();
  set.add(listener);
  return () => set.delete(listener);
}

export function hasInspectionListeners(): boolean {
  return listeners().size > 0;
}

export function emitInspection(events: InspectionEvent | readonly InspectionEvent[]): void {
  const set = listeners();
  if (set.size === 0) return;
  for (const event of Array.isArray(events) ? events : [events as InspectionEvent]) {
    for (const listener of set) {
      try {
        listener(event);
      } catch {
        // A failing listener must not break the runtime or the other listeners.
      }
    }
  }
}
