/**
 * The board: what a user draws. It is a stored document with a schema version (see
 * migrations.ts); the compiler turns it into a process definition. Node and edge shapes follow
 * React Flow's (id, type, position, parentId, data) so the canvas binds to them directly, but
 * nothing here imports React.
 *
 * Topology lives in the edges; a node's data holds only what the edges cannot say (names,
 * schemas, expressions). Expressions are JSONata strings evaluated against an input object whose
 * shape depends on where they stand:
 *   policy mapping / condition / correlation key:  { event, meta, process }
 *   aggregate rule condition and emitted fields:   { command, state, meta }
 *   aggregate state evolution:                      { event, state }
 *   read model key and field updates:               { event, view, meta }
 *   external inbound mapping:                       { message, meta }
 *   external outbound mapping:                      { event, meta }
 */
import { z } from "zod";

export const BOARD_SCHEMA_VERSION = 1;

export const nodeKinds = [
  "context",
  "command",
  "event",
  "aggregate",
  "policy",
  "readModel",
  "externalSystem",
  "timer",
  "actor",
] as const;
export type NodeKind = (typeof nodeKinds)[number];

const id = z.string().min(1).max(100);
const name = z.string().trim().min(1, "name must not be empty").max(120);
const description = z.string().max(4000).default("");
/** A JSONata expression; checked by the compiler, never evaluated with eval. */
export const expressionSchema = z.string().max(4000);

export const fieldTypes = ["string", "number", "integer", "boolean", "date-time", "enum", "object", "array"] as const;
export type FieldType = (typeof fieldTypes)[number];

/** The JSON Schema subset payloads are stored in. */
export interface PayloadProperty {
  type: "string" | "number" | "integer" | "boolean" | "object" | "array";
  format?: "date-time";
  enum?: string[];
  description?: string;
  properties?: Record<string, PayloadProperty>;
  required?: string[];
  items?: PayloadProperty;
}
export const payloadPropertySchema: z.ZodType<PayloadProperty> = z.lazy(() =>
  z.object({
    type: z.enum(["string", "number", "integer", "boolean", "object", "array"]),
    format: z.literal("date-time").optional(),
    enum: z.array(z.string().min(1)).min(1).optional(),
    description: z.string().max(2000).optional(),
    properties: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "field names are letters, digits and _"), payloadPropertySchema).optional(),
    required: z.array(z.string()).optional(),
    items: payloadPropertySchema.optional(),
  }),
);
export const payloadSchemaSchema = z.object({
  type: z.literal("object"),
  properties: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "field names are letters, digits and _"), payloadPropertySchema),
  required: z.array(z.string()).default([]),
});
export type PayloadSchema = z.infer<typeof payloadSchemaSchema>;
export const emptyPayloadSchema = (): PayloadSchema => ({ type: "object", properties: {}, required: [] });

/** Field name → expression producing its value. */
export const mappingSchema = z.record(z.string().min(1), expressionSchema);
export type Mapping = z.infer<typeof mappingSchema>;

export const retryPolicySchema = z.object({
  maxAttempts: z.number().int().min(1).max(100).default(5),
  initialDelayMs: z.number().int().min(0).max(3_600_000).default(200),
  multiplier: z.number().min(1).max(10).default(2),
  maxDelayMs: z.number().int().min(0).max(86_400_000).default(30_000),
});
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

const contextData = z.object({
  name,
  description,
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/).optional(),
});
const commandData = z.object({ name, description, schema: payloadSchemaSchema });
const eventData = z.object({
  name,
  description,
  schema: payloadSchemaSchema,
  /** public: part of the context's published language (AsyncAPI, external buses). */
  visibility: z.enum(["internal", "public"]).default("internal"),
  /** The event's role in the process the board describes. */
  lifecycle: z.enum(["none", "start", "complete", "fail"]).default("none"),
});

export const aggregateRuleSchema = z.object({
  id,
  /** Node id of the command this rule handles. */
  command: id,
  /** When absent the rule always applies. Rules of one command are tried in order. */
  condition: expressionSchema.optional(),
  outcome: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("emit"), events: z.array(z.object({ event: id, mapping: mappingSchema })).min(1) }),
    z.object({ kind: z.literal("reject"), reason: z.string().min(1).max(500) }),
  ]),
});
export type AggregateRule = z.infer<typeof aggregateRuleSchema>;

const stateFieldSchema = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "field names are letters, digits and _"),
  type: z.enum(fieldTypes),
  initial: z.unknown().optional(),
});

const aggregateData = z.object({
  name,
  description,
  /** Expression over the command that names the aggregate instance (its stream). */
  idExpression: expressionSchema.default("command.id"),
  stateFields: z.array(stateFieldSchema).default([]),
  rules: z.array(aggregateRuleSchema).default([]),
  /** How each event changes state: event node id → state field → expression. */
  evolutions: z.array(z.object({ event: id, set: mappingSchema })).default([]),
  snapshotEvery: z.number().int().min(0).max(100_000).default(0),
  /** When set, commands carry the version the sender saw in this field; a stale one is rejected. */
  expectedVersionField: z.string().optional(),
});

const policyData = z.object({
  name,
  description,
  /** Mapping from the trigger event to the issued command's payload. */
  mapping: mappingSchema.default({}),
  correlationKey: expressionSchema.default(""),
  condition: expressionSchema.optional(),
  retry: retryPolicySchema.optional(),
  deadline: z
    .object({
      afterMs: z.number().int().min(1).max(31 * 86_400_000),
      /** Command node issued when the deadline passes; compensation runs when absent. */
      onTimeout: id.optional(),
    })
    .optional(),
  /** Command node that undoes this step's effect. */
  compensation: id.optional(),
});

const readModelData = z.object({
  name,
  description,
  fields: z.array(stateFieldSchema).default([]),
  updates: z
    .array(
      z.object({
        event: id,
        key: expressionSchema,
        set: mappingSchema.default({}),
        remove: z.boolean().default(false),
      }),
    )
    .default([]),
});

export const externalBindingSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({ kind: z.literal("webhook"), url: z.string().max(2000), secret: z.string().max(200).optional() }),
  z.object({
    kind: z.literal("redis"),
    channel: z.string().max(200),
    mode: z.enum(["pubsub", "stream"]).default("pubsub"),
    /** Stream mode, as a work queue: entries read per batch, and how long one read waits for new entries. */
    batchSize: z.number().int().min(1).max(1000).optional(),
    pollIntervalMs: z.number().int().min(10).max(60_000).optional(),
  }),
  z.object({ kind: z.literal("nats"), subject: z.string().max(200), queueGroup: z.string().max(100).optional() }),
]);
export type ExternalBinding = z.infer<typeof externalBindingSchema>;

const externalSystemData = z.object({
  name,
  description,
  binding: externalBindingSchema.default({ kind: "none" }),
  /** Inbound: external message name → the command or event it becomes, with its mapping. */
  inbound: z.array(z.object({ message: z.string().min(1).max(200), target: id, mapping: mappingSchema })).default([]),
  /** Outbound: event (or command) → the external message published for it. */
  outbound: z.array(z.object({ source: id, message: z.string().min(1).max(200), mapping: mappingSchema })).default([]),
});

const timerData = z.object({
  name,
  description,
  afterMs: z.number().int().min(1).max(31 * 86_400_000).default(60_000),
});

const actorData = z.object({ name, description });

const position = z.object({ x: z.number().finite(), y: z.number().finite() });

function nodeSchema<K extends NodeKind, D extends z.ZodType>(type: K, data: D) {
  return z.object({
    id,
    type: z.literal(type),
    position,
    /** The context this node belongs to; its position is then relative to the context. */
    parentId: id.optional(),
    width: z.number().positive().max(20_000).optional(),
    height: z.number().positive().max(20_000).optional(),
    data,
  });
}

export const boardNodeSchema = z.discriminatedUnion("type", [
  nodeSchema("context", contextData),
  nodeSchema("command", commandData),
  nodeSchema("event", eventData),
  nodeSchema("aggregate", aggregateData),
  nodeSchema("policy", policyData),
  nodeSchema("readModel", readModelData),
  nodeSchema("externalSystem", externalSystemData),
  nodeSchema("timer", timerData),
  nodeSchema("actor", actorData),
]);
export type BoardNode = z.infer<typeof boardNodeSchema>;
export type BoardNodeOf<K extends NodeKind> = Extract<BoardNode, { type: K }>;
export type NodeData<K extends NodeKind> = BoardNodeOf<K>["data"];

export const boardEdgeSchema = z.object({
  id,
  source: id,
  target: id,
  sourceHandle: z.string().max(100).nullish(),
  targetHandle: z.string().max(100).nullish(),
});
export type BoardEdge = z.infer<typeof boardEdgeSchema>;

export const boardDocumentSchema = z.object({
  schemaVersion: z.literal(BOARD_SCHEMA_VERSION),
  nodes: z.array(boardNodeSchema).max(5000),
  edges: z.array(boardEdgeSchema).max(10000),
  viewport: z.object({ x: z.number().finite(), y: z.number().finite(), zoom: z.number().positive() }).optional(),
  process: z
    .object({
      /** How long an instance may wait before it is reported stuck. */
      stuckAfterMs: z.number().int().min(1000).default(300_000),
    })
    .default({ stuckAfterMs: 300_000 }),
});
export type BoardDocument = z.infer<typeof boardDocumentSchema>;

export const emptyBoard = (): BoardDocument => ({
  schemaVersion: BOARD_SCHEMA_VERSION,
  nodes: [],
  edges: [],
  process: { stuckAfterMs: 300_000 },
});
