/**
 * Process definition, format version 1: what the compiler makes of a board and what the runtime
 * executes. This zod schema is the source of truth; public/schemas/process-definition.v1.json is
 * generated from it (scripts/generate-json-schema.ts).
 *
 * Conventions the runtime can rely on:
 * - Element ids are the board's node ids; every reference carries both id and name.
 * - Absent things are `null`, never missing keys. Lists are sorted by name, then id, except where
 *   order means something (an aggregate's rules for one command are tried in the given order).
 * - Every expression is JSONata 2.2 source plus the name of the input object it is evaluated
 *   against (see `expressionInputs`). A mapping is a set of such expressions sharing one input.
 * - Objects are written with their keys in schema order, user-named keys (payload properties,
 *   mapping fields) sorted, so the same board always gives byte-identical JSON.
 */
import { z } from "zod";

export const DEFINITION_FORMAT_VERSION = 1;
export const EXPRESSION_LANGUAGE = "jsonata@2.2";

const elementId = z.string().min(1).max(100);
const elementName = z.string().min(1).max(120);
const description = z.string().max(4000);
const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);

/**
 * The input object each kind of expression sees. The runtime must build exactly these objects;
 * the compiler checks field references against them.
 */
export const expressionInputs = {
  /** Step condition, mapping and correlation keys; compensation and timeout mappings. */
  policy: { roots: ["event", "meta", "process"], description: "{ event: the triggering event's payload, meta, process: the process instance }" },
  /** An aggregate's id expression: names the stream a command goes to. */
  aggregateId: { roots: ["command", "meta"], description: "{ command: the command's payload, meta }" },
  /** Rule conditions and the fields of emitted events. */
  decision: {
    roots: ["command", "state", "meta"],
    description: "{ command: the command's payload, state: the aggregate's current state, meta }, and $view(readModel, key): a row of a read model of the aggregate's context",
  },
  /** How an event changes aggregate state; must be pure (replay gives the same state). */
  evolution: { roots: ["event", "state"], description: "{ event: the event's payload, state: the state before the event }" },
  /** Read model key and field updates; `view` is absent while the key is computed. */
  projection: { roots: ["event", "view", "meta"], description: "{ event: the event's payload, view: the current row (absent if none), meta }" },
  /** External message → command or event. */
  inbound: { roots: ["message", "meta"], description: "{ message: the external message's body, meta }" },
  /** Event → external message. */
  outboundEvent: { roots: ["event", "meta"], description: "{ event: the event's payload, meta }" },
  /** Command → external message. */
  outboundCommand: { roots: ["command", "meta"], description: "{ command: the command's payload, meta }" },
} as const satisfies Record<string, { roots: readonly string[]; description: string }>;
export type ExpressionInput = keyof typeof expressionInputs;
export const expressionInputNames = Object.keys(expressionInputs) as [ExpressionInput, ...ExpressionInput[]];

/**
 * `meta` describes the message being handled. correlationId is the id of the message that began
 * the causal chain; every command and event inherits it from the message that caused it.
 * version is the aggregate's version before the command (decision), or the event's version in its
 * stream (everywhere else).
 */
export const metaFields = {
  messageId: "string",
  messageName: "string",
  correlationId: "string",
  causationId: "string",
  occurredAt: "date-time",
  version: "integer",
} as const;

/**
 * `process` (policy input) is the process instance: its id, its correlation key, when it
 * started, and the latest payload of every event it has seen so far, by event name.
 */
export const processInstanceFields = {
  instanceId: "string",
  correlationKey: "string",
  startedAt: "date-time",
  events: "object",
} as const;

export const expressionSchema = z
  .object({
    input: z.enum(expressionInputNames),
    source: z.string().min(1).max(4000),
  })
  .meta({ id: "Expression", description: "JSONata source and the input object it is evaluated against" });
export type Expression = z.infer<typeof expressionSchema>;

export const mappingSchema = z
  .object({
    input: z.enum(expressionInputNames),
    /** Target field → JSONata source. */
    fields: z.record(z.string().min(1), z.string().min(1).max(4000)),
  })
  .meta({ id: "Mapping", description: "Target field → JSONata source, all evaluated against one input object" });
export type Mapping = z.infer<typeof mappingSchema>;

export const elementRefSchema = z.object({ id: elementId, name: elementName }).meta({ id: "ElementRef" });
export type ElementRef = z.infer<typeof elementRefSchema>;

/** The JSON Schema subset payloads are written in (same as the board's). */
export interface PayloadPropertyV1 {
  type: "string" | "number" | "integer" | "boolean" | "object" | "array";
  format?: "date-time";
  enum?: string[];
  description?: string;
  properties?: Record<string, PayloadPropertyV1>;
  required?: string[];
  items?: PayloadPropertyV1;
}
export const payloadPropertySchema: z.ZodType<PayloadPropertyV1> = z.lazy(() =>
  z
    .object({
      type: z.enum(["string", "number", "integer", "boolean", "object", "array"]),
      format: z.literal("date-time").optional(),
      enum: z.array(z.string().min(1)).min(1).optional(),
      description: z.string().max(2000).optional(),
      properties: z.record(fieldName, payloadPropertySchema).optional(),
      required: z.array(z.string()).optional(),
      items: payloadPropertySchema.optional(),
    }),
).meta({ id: "PayloadProperty" });
export const payloadSchemaSchema = z
  .object({
    type: z.literal("object"),
    properties: z.record(fieldName, payloadPropertySchema),
    required: z.array(z.string()),
  })
  .meta({ id: "PayloadSchema", description: "JSON Schema of a message payload" });
export type PayloadSchemaV1 = z.infer<typeof payloadSchemaSchema>;

export const contextSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/).nullable(),
});

export const actorSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  context: elementRefSchema.nullable(),
  /** Commands the actor can send. */
  invokes: z.array(elementRefSchema),
});

export const commandSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  /** The context that handles the command (its handler's), or where it is drawn if unhandled. */
  context: elementRefSchema.nullable(),
  /** public: accepted from outside its context (an actor, an external system, another context's policy). */
  visibility: z.enum(["internal", "public"]),
  schema: payloadSchemaSchema,
});
export type CommandDefinition = z.infer<typeof commandSchema>;

export const eventSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  /** The single context allowed to emit the event. */
  context: elementRefSchema.nullable(),
  visibility: z.enum(["internal", "public"]),
  lifecycle: z.enum(["none", "start", "complete", "fail"]),
  schema: payloadSchemaSchema,
});
export type EventDefinition = z.infer<typeof eventSchema>;

export const stateFieldSchema = z.object({
  name: fieldName,
  type: z.enum(["string", "number", "integer", "boolean", "date-time", "enum", "object", "array"]),
  /** Value before the first event; null when the board gives none. */
  initial: z.unknown(),
});
export type StateField = z.infer<typeof stateFieldSchema>;

export const ruleOutcomeSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("emit"),
    /** Emitted in this order; each mapping uses the `decision` input. */
    events: z.array(z.object({ event: elementRefSchema, mapping: mappingSchema })).min(1),
  }),
  z.object({ kind: z.literal("reject"), reason: z.string().min(1).max(500) }),
]);
export type RuleOutcome = z.infer<typeof ruleOutcomeSchema>;

export const ruleSchema = z.object({
  id: elementId,
  /** `decision` input; null means the rule always applies. */
  condition: expressionSchema.nullable(),
  outcome: ruleOutcomeSchema,
});
export type RuleDefinition = z.infer<typeof ruleSchema>;

export const aggregateSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  context: elementRefSchema.nullable(),
  /** `aggregateId` input: names the instance (stream) a command is for. */
  idExpression: expressionSchema,
  handles: z.array(elementRefSchema),
  emits: z.array(elementRefSchema),
  state: z.array(stateFieldSchema),
  /** Per handled command, rules tried in order; the first whose condition holds decides. */
  decisions: z.array(z.object({ command: elementRefSchema, rules: z.array(ruleSchema) })),
  /** Per emitted event, how state changes (`evolution` input); fields not set keep their value. */
  evolutions: z.array(z.object({ event: elementRefSchema, set: mappingSchema })),
  /** Store a snapshot every N versions; 0 = never. */
  snapshotEvery: z.number().int().min(0),
  /** When a command carries this field, it must equal the aggregate's current version or the command is rejected. */
  expectedVersionField: fieldName.nullable(),
});
export type AggregateDefinition = z.infer<typeof aggregateSchema>;

export const handlerRefSchema = z.object({
  kind: z.enum(["aggregate", "externalSystem"]),
  id: elementId,
  name: elementName,
});

/** A command sent by the process: to whom, in which context, with which payload (`policy` input). */
export const dispatchSchema = z.object({
  command: elementRefSchema,
  context: elementRefSchema.nullable(),
  handler: handlerRefSchema,
  mapping: mappingSchema,
});
export type Dispatch = z.infer<typeof dispatchSchema>;

export const retryPolicySchema = z.object({
  maxAttempts: z.number().int().min(1),
  initialDelayMs: z.number().int().min(0),
  multiplier: z.number().min(1),
  maxDelayMs: z.number().int().min(0),
});

export const stepTriggerSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("event"),
    event: elementRefSchema,
    /** `policy` input: finds the process instance this event belongs to. */
    correlationKey: expressionSchema,
  }),
  z.object({
    kind: z.literal("timer"),
    timer: elementRefSchema,
    /** The event that scheduled the timer; it is the step's `event` when the timer fires. */
    event: elementRefSchema,
    correlationKey: expressionSchema,
  }),
]);
export type StepTrigger = z.infer<typeof stepTriggerSchema>;

export const stepSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  /** Where the policy lives: the process manager's context when orchestrated, the subscriber's when choreographed. */
  context: elementRefSchema.nullable(),
  triggers: z.array(stepTriggerSchema).min(1),
  /** The correlation key the policy declares; null when each trigger's key was inferred. */
  correlationKey: expressionSchema.nullable(),
  /** `policy` input; null means the step always runs. */
  condition: expressionSchema.nullable(),
  send: dispatchSchema,
  /** Events the handler can answer the command with; one of them settles the step. */
  expects: z.array(elementRefSchema),
  retry: retryPolicySchema,
  deadline: z
    .object({
      afterMs: z.number().int().min(1),
      /** Sent when none of `expects` arrives in time; when null the process compensates. */
      onTimeout: dispatchSchema.nullable(),
    })
    .nullable(),
  /** Undoes this step's effect when the process fails after the step ran. */
  compensation: dispatchSchema.nullable(),
});
export type StepDefinition = z.infer<typeof stepSchema>;

export const lifecycleEventSchema = z.object({ event: elementRefSchema, correlationKey: expressionSchema });

export const processManagerSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  /** The context the process lives in (that of its start events), null if they disagree. */
  context: elementRefSchema.nullable(),
  start: z.array(lifecycleEventSchema),
  completion: z.array(lifecycleEventSchema),
  failure: z.array(lifecycleEventSchema),
  steps: z.array(stepSchema),
  /** An instance waiting longer than this is reported stuck. */
  stuckAfterMs: z.number().int().min(1),
});
export type ProcessManagerDefinition = z.infer<typeof processManagerSchema>;

export const readModelSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  context: elementRefSchema.nullable(),
  fields: z.array(stateFieldSchema),
  updates: z.array(
    z.object({
      event: elementRefSchema,
      /** `projection` input: which row the event updates. */
      key: expressionSchema,
      set: mappingSchema,
      /** The row is deleted instead of updated. */
      remove: z.boolean(),
    }),
  ),
});
export type ReadModelDefinition = z.infer<typeof readModelSchema>;

export const timerSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  context: elementRefSchema.nullable(),
  afterMs: z.number().int().min(1),
  scheduledBy: z.array(elementRefSchema),
});
export type TimerDefinition = z.infer<typeof timerSchema>;

export const bindingSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({ kind: z.literal("webhook"), url: z.string().min(1).max(2000), secret: z.string().max(200).nullable() }),
  z.object({
    kind: z.literal("redis"),
    channel: z.string().min(1).max(200),
    mode: z.enum(["pubsub", "stream"]),
    batchSize: z.number().int().min(1).max(1000).optional().describe("Stream mode: entries read per batch (default 50)."),
    pollIntervalMs: z.number().int().min(10).max(60_000).optional().describe("Stream mode: how long one read waits for new entries, in ms (default 1000)."),
  }),
  z.object({ kind: z.literal("nats"), subject: z.string().min(1).max(200), queueGroup: z.string().max(100).nullable() }),
]);
export type BindingDefinition = z.infer<typeof bindingSchema>;

export const messageKindRefSchema = z.object({
  kind: z.enum(["command", "event"]),
  id: elementId,
  name: elementName,
});

export const externalSystemSchema = z.object({
  id: elementId,
  name: elementName,
  description,
  context: elementRefSchema.nullable(),
  binding: bindingSchema,
  /** External message → command or event (`inbound` input). */
  inbound: z.array(z.object({ message: z.string().min(1).max(200), target: messageKindRefSchema, mapping: mappingSchema })),
  /** Command or event → external message (`outboundCommand` / `outboundEvent` input). */
  outbound: z.array(z.object({ source: messageKindRefSchema, message: z.string().min(1).max(200), mapping: mappingSchema })),
});
export type ExternalSystemDefinition = z.infer<typeof externalSystemSchema>;

export const processDefinitionV1Schema = z
  .object({
    formatVersion: z.literal(DEFINITION_FORMAT_VERSION),
    expressionLanguage: z.literal(EXPRESSION_LANGUAGE),
    id: elementId,
    name: elementName,
    description,
    contexts: z.array(contextSchema),
    actors: z.array(actorSchema),
    commands: z.array(commandSchema),
    events: z.array(eventSchema),
    aggregates: z.array(aggregateSchema),
    processManagers: z.array(processManagerSchema),
    readModels: z.array(readModelSchema),
    timers: z.array(timerSchema),
    externalSystems: z.array(externalSystemSchema),
  })
  .meta({
    title: "Sagaboard process definition v1",
    description: "A compiled Sagaboard board: messages, aggregates, process managers, read models, timers and external bindings, executable by the Sagaboard runtime.",
  });
export type ProcessDefinitionV1 = z.infer<typeof processDefinitionV1Schema>;

/** The one way definitions are written to files and compared. */
export function serializeDefinition(definition: ProcessDefinitionV1): string {
  return `${JSON.stringify(definition, null, 2)}\n`;
}

export class DefinitionFormatError extends Error {
  override name = "DefinitionFormatError";
  constructor(readonly problems: string[]) {
    super(`The process definition is not valid: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`);
  }
}

/** Reads a definition from parsed JSON, listing what is wrong if it is not one. */
export function parseDefinition(input: unknown): ProcessDefinitionV1 {
  if (typeof input === "object" && input !== null && "formatVersion" in input && input.formatVersion !== DEFINITION_FORMAT_VERSION) {
    throw new DefinitionFormatError([`formatVersion: ${String(input.formatVersion)} is not supported (expected ${DEFINITION_FORMAT_VERSION})`]);
  }
  const parsed = processDefinitionV1Schema.safeParse(input);
  if (!parsed.success) {
    throw new DefinitionFormatError(parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "definition"}: ${issue.message}`));
  }
  return parsed.data;
}
