/**
 * Process definition → AsyncAPI 3.0, from the point of view of the running process: it receives
 * each context's commands and sends each context's events (one channel pair per context), and
 * it receives and sends the external messages of each binding (one channel per external system).
 */
import { expressionFacts, inferShape, type ValueShape } from "../definition/expression-analysis.ts";
import { parseExpression } from "../definition/expressions.ts";
import type {
  CommandDefinition,
  ElementRef,
  EventDefinition,
  ExternalSystemDefinition,
  PayloadPropertyV1,
  PayloadSchemaV1,
  ProcessDefinitionV1,
} from "../definition/v1.ts";

type JsonSchema = Record<string, unknown>;
interface Reference {
  $ref: string;
}
interface AsyncApiMessage {
  name: string;
  title: string;
  summary?: string;
  contentType: "application/json";
  payload: JsonSchema;
  tags: { name: string }[];
}
interface AsyncApiChannel {
  address: string;
  title: string;
  description?: string;
  messages: Record<string, Reference>;
  bindings?: Record<string, Record<string, unknown>>;
}
interface AsyncApiOperation {
  action: "send" | "receive";
  channel: Reference;
  title: string;
  messages: Reference[];
  bindings?: Record<string, Record<string, unknown>>;
}
export interface AsyncApiDocument {
  asyncapi: "3.0.0";
  info: { title: string; version: string; description?: string };
  defaultContentType: "application/json";
  channels: Record<string, AsyncApiChannel>;
  operations: Record<string, AsyncApiOperation>;
  components: { messages: Record<string, AsyncApiMessage> };
}

/** Keys of AsyncAPI maps allow letters, digits, dot, dash and underscore. */
const key = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, "_");
const slug = (text: string) =>
  text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "") || "unnamed";

const propertySchema = (property: PayloadPropertyV1): JsonSchema => ({ ...property });

function payloadSchema(schema: PayloadSchemaV1): JsonSchema {
  return { type: "object", properties: schema.properties, required: schema.required };
}

function schemaOfShape(shape: ValueShape): JsonSchema {
  switch (shape.kind) {
    case "string":
      return { type: "string", ...(shape.enum ? { enum: [...shape.enum] } : {}), ...(shape.format ? { format: shape.format } : {}) };
    case "number":
    case "integer":
    case "boolean":
    case "null":
      return { type: shape.kind };
    case "array":
      return { type: "array" };
    case "object":
      return { type: "object" };
    case "unknown":
      return {};
    default: {
      const unreachable: never = shape;
      return unreachable;
    }
  }
}

/** The schema of what an outbound mapping field produces, when it can be told. */
function outboundFieldSchema(source: string, root: string, rootSchema: PayloadSchemaV1): JsonSchema {
  const parsed = parseExpression(source);
  if (!parsed.ok) return {};
  const [reference] = expressionFacts(parsed.compiled.ast).references;
  const ast = parsed.compiled.ast;
  if (reference && reference.root === root && ast.type === "path" && ast.steps?.length === reference.path.length + 1) {
    let property: PayloadPropertyV1 | undefined = { type: "object", properties: rootSchema.properties };
    for (const name of reference.path) property = property?.properties?.[name];
    if (property) return propertySchema(property);
  }
  return schemaOfShape(inferShape(ast, {}));
}

/** What we know of an inbound message: the fields its mapping reads, typed where copied as is. */
function inboundMessageSchema(mapping: Readonly<Record<string, string>>, target: PayloadSchemaV1): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [field, source] of Object.entries(mapping)) {
    const parsed = parseExpression(source);
    if (!parsed.ok) continue;
    const ast = parsed.compiled.ast;
    for (const reference of expressionFacts(ast).references) {
      const [first, ...rest] = reference.path;
      if (reference.root !== "message" || first === undefined) continue;
      const copied = ast.type === "path" && ast.steps?.length === 2 && target.properties[field];
      if (copied && rest.length === 0) properties[first] = propertySchema(target.properties[field] as PayloadPropertyV1);
      else properties[first] ??= rest.length > 0 ? { type: "object" } : {};
    }
  }
  return { type: "object", properties };
}

function messageTags(visibility: string, context: ElementRef | null): { name: string }[] {
  return [{ name: visibility }, ...(context ? [{ name: context.name }] : [])];
}

export interface AsyncApiOptions {
  /** The API version written to info.version. */
  version?: string;
}

export function toAsyncApi(definition: ProcessDefinitionV1, options: AsyncApiOptions = {}): AsyncApiDocument {
  const document: AsyncApiDocument = {
    asyncapi: "3.0.0",
    info: { title: definition.name, version: options.version ?? "1.0.0", ...(definition.description ? { description: definition.description } : {}) },
    defaultContentType: "application/json",
    channels: {},
    operations: {},
    components: { messages: {} },
  };

  const addMessage = (message: CommandDefinition | EventDefinition, kind: "command" | "event") => {
    document.components.messages[key(message.name)] = {
      name: message.name,
      title: `${message.name} (${kind})`,
      ...(message.description ? { summary: message.description } : {}),
      contentType: "application/json",
      payload: payloadSchema(message.schema),
      tags: messageTags(message.visibility, message.context),
    };
  };

  const contextChannels = (context: ElementRef | null, kind: "commands" | "events", messages: readonly (CommandDefinition | EventDefinition)[]) => {
    if (messages.length === 0) return;
    const contextSlug = context ? slug(context.name) : "shared";
    const channelId = `${contextSlug}.${kind}`;
    const channel: AsyncApiChannel = {
      address: `${definition.id}.${contextSlug}.${kind}`,
      title: `${context?.name ?? "Shared"} ${kind}`,
      description:
        kind === "events" ? `Events recorded by ${context?.name ?? "elements outside any context"}.` : `Commands handled by ${context?.name ?? "elements outside any context"}.`,
      messages: {},
    };
    document.channels[channelId] = channel;
    for (const message of messages) {
      const messageId = key(message.name);
      channel.messages[messageId] = { $ref: `#/components/messages/${messageId}` };
      document.operations[`${kind === "events" ? "publish" : "handle"}${messageId}`] = {
        action: kind === "events" ? "send" : "receive",
        channel: { $ref: `#/channels/${channelId}` },
        title: kind === "events" ? `Publish ${message.name}` : `Handle ${message.name}`,
        messages: [{ $ref: `#/channels/${channelId}/messages/${messageId}` }],
      };
    }
  };

  for (const command of definition.commands) addMessage(command, "command");
  for (const event of definition.events) addMessage(event, "event");
  const contexts: (ElementRef | null)[] = [...definition.contexts.map((context) => ({ id: context.id, name: context.name })), null];
  for (const context of contexts) {
    const belongs = (message: { context: ElementRef | null }) => (message.context?.id ?? null) === (context?.id ?? null);
    contextChannels(context, "commands", definition.commands.filter(belongs));
    contextChannels(context, "events", definition.events.filter(belongs));
  }
  for (const system of definition.externalSystems) addExternalSystem(document, definition, system);
  return document;
}

function bindingAddress(system: ExternalSystemDefinition): string {
  const binding = system.binding;
  switch (binding.kind) {
    case "none":
      return `${slug(system.name)}`;
    case "webhook":
      return binding.url;
    case "redis":
      return binding.channel;
    case "nats":
      return binding.subject;
    default: {
      const unreachable: never = binding;
      return unreachable;
    }
  }
}

function addExternalSystem(document: AsyncApiDocument, definition: ProcessDefinitionV1, system: ExternalSystemDefinition): void {
  const systemSlug = slug(system.name);
  const channelId = `external.${systemSlug}`;
  const binding = system.binding;
  const channel: AsyncApiChannel = {
    address: bindingAddress(system),
    title: system.name,
    description: `${binding.kind === "none" ? "Unbound" : binding.kind === "redis" ? `Redis ${binding.mode === "stream" ? "stream" : "pub/sub channel"}` : binding.kind === "nats" ? "NATS subject" : "Webhook"} of ${system.name}.${system.description ? ` ${system.description}` : ""}`,
    messages: {},
  };
  document.channels[channelId] = channel;
  const operationBindings: Record<string, Record<string, unknown>> | undefined =
    binding.kind === "nats" && binding.queueGroup
      ? { nats: { queue: binding.queueGroup, bindingVersion: "0.1.0" } }
      : binding.kind === "webhook"
        ? { http: { method: "POST", bindingVersion: "0.3.0" } }
        : undefined;
  const messagesById = new Map([...definition.commands, ...definition.events].map((message) => [message.id, message]));
  const add = (direction: "inbound" | "outbound", message: string, payload: JsonSchema, summary: string) => {
    const messageId = key(`${systemSlug}.${direction}.${message}`);
    document.components.messages[messageId] = { name: message, title: message, summary, contentType: "application/json", payload, tags: [{ name: "external" }, { name: system.name }] };
    channel.messages[messageId] = { $ref: `#/components/messages/${messageId}` };
    document.operations[key(`${direction === "inbound" ? "receive" : "send"}.${systemSlug}.${message}`)] = {
      action: direction === "inbound" ? "receive" : "send",
      channel: { $ref: `#/channels/${channelId}` },
      title: `${direction === "inbound" ? "Receive" : "Send"} ${message} ${direction === "inbound" ? "from" : "to"} ${system.name}`,
      messages: [{ $ref: `#/channels/${channelId}/messages/${messageId}` }],
      ...(operationBindings ? { bindings: operationBindings } : {}),
    };
  };
  for (const entry of system.inbound) {
    const target = messagesById.get(entry.target.id);
    if (!target) continue;
    add("inbound", entry.message, inboundMessageSchema(entry.mapping.fields, target.schema), `Becomes the ${entry.target.kind} ${entry.target.name}.`);
  }
  for (const entry of system.outbound) {
    const source = messagesById.get(entry.source.id);
    if (!source) continue;
    const properties: Record<string, JsonSchema> = {};
    for (const [field, expression] of Object.entries(entry.mapping.fields)) properties[field] = outboundFieldSchema(expression, entry.source.kind, source.schema);
    add("outbound", entry.message, { type: "object", properties, required: Object.keys(properties) }, `Published for the ${entry.source.kind} ${entry.source.name}.`);
  }
}
