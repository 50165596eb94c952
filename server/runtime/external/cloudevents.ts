/**
 * CloudEvents 1.0 (JSON format) as the runtime sends them to external handlers and accepts them
 * back on POST /api/events. Sagaboard facts travel as extension attributes (lower-case letters and
 * digits only, as CloudEvents requires).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";

export const SIGNATURE_HEADER = "x-sagaboard-signature";
export const CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json";
export const CLOUDEVENTS_BATCH_CONTENT_TYPE = "application/cloudevents-batch+json";

export interface OutgoingCloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  time: string;
  datacontenttype: "application/json";
  subject?: string;
  data: unknown;
  /** Echo it on the events you report back, so they join the same timeline. */
  correlationid: string;
  causationid: string;
  boardid: string;
  boardversion: number;
  /** command: asks the receiver to do something; event: tells it something happened. */
  sagaboardkind: "command" | "event";
}

/** `sha256=<hex>` of HMAC-SHA256 over the exact request body. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function verifySignature(secret: string, body: string, header: string | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const extensionValue = z.union([z.string(), z.number(), z.boolean()]);

/** An event reported to Sagaboard. `boardid` names the board; `boardversion` pins a version (else the deployed one). */
export const incomingCloudEventSchema = z
  .object({
    specversion: z.literal("1.0", { error: 'specversion must be "1.0"' }),
    id: z.string().min(1).max(400),
    source: z.string().min(1).max(2000),
    type: z.string().min(1).max(200),
    time: z.string().optional(),
    datacontenttype: z.string().optional(),
    subject: z.string().optional(),
    data: z.unknown().optional(),
    boardid: z.string().min(1).max(100),
    boardversion: z.coerce.number().int().min(1).optional(),
    correlationid: z.string().min(1).max(400).optional(),
    causationid: z.string().min(1).max(400).optional(),
  })
  .catchall(extensionValue.or(z.unknown()));
export type IncomingCloudEvent = z.infer<typeof incomingCloudEventSchema>;

/**
 * The CloudEvents in a request: structured mode (one JSON event), batch mode (a JSON array), or
 * binary mode (attributes in ce-* headers, the body is the data).
 */
export function cloudEventsFromRequest(headers: Headers, body: string): { events: unknown[]; problems: string[] } {
  const contentType = headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (headers.has("ce-id") || headers.has("ce-specversion")) {
    const event: Record<string, unknown> = {};
    headers.forEach((value, name) => {
      if (name.toLowerCase().startsWith("ce-")) event[name.slice(3).toLowerCase()] = value;
    });
    if (body.length > 0) {
      try {
        event.data = contentType.includes("json") ? JSON.parse(body) : body;
      } catch {
        return { events: [], problems: ["body: not valid JSON"] };
      }
    }
    return { events: [event], problems: [] };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { events: [], problems: ["body: not valid JSON"] };
  }
  if (Array.isArray(parsed)) return { events: parsed, problems: parsed.length === 0 ? ["body: the batch is empty"] : [] };
  return { events: [parsed], problems: [] };
}
