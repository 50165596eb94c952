/**
 * The runtime: executes published process definitions (v1) on the event store.
 *
 * - Pure cores (core/): aggregates and process managers as deciders over the definition.
 * - Handlers: a command to an aggregate, a delivery to a process instance, a message to an
 *   external handler; each deduplicates by message id (inbox) and commits its effects, the
 *   messages they cause (outbox) and the removal of what it handled in one transaction.
 * - Workers claim outbox rows per stream in order (FOR UPDATE SKIP LOCKED), retry with backoff,
 *   park in the dead-letter queue, fire durable timers, and apply context faults.
 */
export { aggregateDecider, type AggregateDecider, type AggregateDecision, type AggregateState, type RejectionCode } from "./core/aggregate.ts";
export { indexDefinition, type DefinitionIndex } from "./core/definition-index.ts";
export { payloadViolations } from "./core/payload-schema.ts";
export {
  decideProcess,
  evolveProcess,
  initialProcessState,
  PROCESS_STATUSES,
  type InstanceStatus,
  type ProcessDecision,
  type ProcessInput,
  type ProcessRecord,
  type ProcessState,
  type ProcessStatus,
} from "./core/process.ts";
export { DEFAULT_RETRY_POLICY, type MessageMeta, type RetryPolicy } from "./core/types.ts";
export { systemClock, type Clock, type RuntimeHooks } from "./context.ts";
export type { ContextSettings, ContextSettingsPatch } from "./contexts.ts";
export {
  asRuntimeError,
  InvalidRequestError,
  NotDeployedError,
  PayloadValidationError,
  PublishRefusedError,
  RuntimeConflictError,
  RuntimeError,
  RuntimeNotFoundError,
  type RuntimeErrorCode,
  type RuntimeErrorShape,
} from "./errors.ts";
export { SIGNATURE_HEADER, signBody, verifySignature, type OutgoingCloudEvent } from "./external/cloudevents.ts";
export { registerTransport, type DeliverableBinding, type ExternalTransport } from "./external/transports.ts";
export type { InboundResult } from "./inbound.ts";
export { emitInspection, onInspection, type HandledOutcome, type InspectionEvent, type InspectionKind, type InspectionListener, type MessageRef, type OutboxKind } from "./inspection.ts";
export type { InstanceDetail, InstanceFilter, InstancePage, InstanceRecord, InstanceSummary } from "./instances.ts";
export type { OutboxMessage, OutboxPage } from "./outbox.ts";
export { getRuntime, Runtime, type CommandOutcome, type ContextView, type IngestResult, type RuntimeOptions, type SendInput, type StartInput, type StartResult } from "./runtime.ts";
export type { TimerView } from "./timers.ts";
export type { LoadedVersion, PublishedVersion } from "./versions.ts";
export { RuntimeWorker, type WorkerOptions, type WorkerStats } from "./worker.ts";
