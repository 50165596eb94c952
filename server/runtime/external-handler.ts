import { randomUUID } from "node:crypto";
/**
 * Delivers an outbox message to something outside: a command for an external system (through its
 * outbound mapping), an event an external system subscribes to, or any command of a context bound
 * to a webhook at run time. The send happens outside any transaction; afterwards the row leaves
 * the outbox in a transaction that also acknowledges compensations to their process instance.
 * Delivery is at least once: receivers deduplicate by the CloudEvent id.
 */
import type { BindingDefinition } from "../definition/v1.ts";
import { applyMapping } from "./core/expressions.ts";
import { derivedId } from "./core/ids.ts";
import { notifyWorkers, type RuntimeContext } from "./context.ts";
import { LostClaimError, PermanentHandlerError } from "./errors.ts";
import type { HandleResult, HandlerOptions } from "./aggregate-handler.ts";
import type { OutgoingCloudEvent } from "./external/cloudevents.ts";
import { transportFor, type DeliverableBinding } from "./external/transports.ts";
import type { OutboxMessage } from "./outbox.ts";
import { CommitLog, takeAndClaimInbox, enqueueLogged } from "./recording.ts";
import { commandOutcomeMessage } from "./routing.ts";
import type { LoadedVersion } from "./versions.ts";

export const DEFAULT_EXTERNAL_TIMEOUT_MS = 10_000;

async function outgoing(version: LoadedVersion, message: OutboxMessage): Promise<{ binding: BindingDefinition; type: string; payload: unknown }> {
  const system = version.index.externalSystemsById.get(message.targetId);
  if (!system) throw new PermanentHandlerError(`external system ${message.targetId} is not in version ${version.id}`);
  if (message.kind === "external") return { binding: system.binding, type: message.type, payload: message.payload };
  const entry = version.index.outbound.get(message.metadata.elementId)?.find((candidate) => candidate.system.id === system.id)?.entry;
  if (!entry) return { binding: system.binding, type: message.type, payload: message.payload };
  const meta = {
    messageId: message.messageId,
    messageName: message.type,
    correlationId: message.metadata.correlationId,
    causationId: message.metadata.causationId,
    occurredAt: message.metadata.occurredAt,
    version: 0,
  };
  return { binding: system.binding, type: entry.message, payload: await applyMapping(entry.mapping, { command: message.payload, meta }, `${system.name} outbound ${entry.message}`) };
}

/**
 * Sends `message` through its binding (or `override`, a context's run-time webhook), then takes
 * it out of the outbox. `claimToken` null: a duplicate delivery, the send is repeated (receivers
 * deduplicate) and the inbox notes nothing new.
 */
export async function deliverExternal(
  rt: RuntimeContext,
  message: OutboxMessage,
  claimToken: string | null,
  options: HandlerOptions & { timeoutMs: number; override?: { url: string; secret: string | null } },
): Promise<HandleResult> {
  const version = await rt.versions.get(message.versionId);
  const target = options.override
    ? { binding: { kind: "webhook" as const, url: options.override.url, secret: options.override.secret }, type: message.type, payload: message.payload }
    : await outgoing(version, message);
  if (target.binding.kind === "none") throw new PermanentHandlerError(`${message.targetId} is bound to nothing, so ${message.type} cannot be delivered`);
  const event: OutgoingCloudEvent = {
    specversion: "1.0",
    id: message.messageId,
    source: `/sagaboard/${encodeURIComponent(version.boardId)}`,
    type: target.type,
    time: message.metadata.occurredAt,
    datacontenttype: "application/json",
    ...(message.instanceId ? { subject: message.instanceId } : {}),
    data: target.payload,
    correlationid: message.metadata.correlationId,
    causationid: message.metadata.causationId,
    boardid: version.boardId,
    boardversion: version.version,
    sagaboardkind: message.kind === "external" ? "event" : "command",
  };
  await transportFor((target.binding as DeliverableBinding).kind).deliver(target.binding as DeliverableBinding, event, { timeoutMs: options.timeoutMs });

  return rt.sql.transaction(async (tx) => {
    const now = rt.clock.now();
    const log = new CommitLog(now);
    if (claimToken !== null && options.handoffLeaseMs) log.handoff = { token: randomUUID(), leaseUntil: new Date(now.getTime() + options.handoffLeaseMs) };
    const taken = await takeAndClaimInbox(tx, claimToken === null ? null : { outboxId: message.id, token: claimToken }, `external:${version.boardId}:${message.targetId}`, message.messageId, now);
    if (!taken.claimed) throw new LostClaimError(message.id);
    if (!taken.fresh) return { outcome: "duplicate", reason: null, events: [], log, next: log.next };
    await rt.hooks.onEffect?.(tx, message);
    const ack = commandOutcomeMessage(version, message, "handled", null, now, derivedId(message.messageId, "outcome"));
    if (ack) {
      await enqueueLogged(tx, log, [ack], now);
      if (log.queuedForAnyWorker) notifyWorkers(tx, rt.sql);
    }
    return { outcome: "delivered", reason: null, events: [], log, next: log.next };
  });
}
