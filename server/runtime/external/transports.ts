/**
 * How messages reach external handlers. A transport per binding kind: webhooks ship here; Redis
 * and NATS transports plug in through registerTransport (their buses live in server/buses). A
 * binding without a transport fails the delivery, which lands in the dead-letter queue saying so.
 */
import type { BindingDefinition } from "../../definition/v1.ts";
import { PermanentHandlerError } from "../errors.ts";
import { CLOUDEVENTS_CONTENT_TYPE, SIGNATURE_HEADER, signBody, type OutgoingCloudEvent } from "./cloudevents.ts";

export type DeliverableBinding = Exclude<BindingDefinition, { kind: "none" }>;

export interface ExternalTransport {
  /** Resolves once the receiver acknowledged the message; throws to have it retried (or parked). */
  deliver(binding: DeliverableBinding, event: OutgoingCloudEvent, options: { timeoutMs: number }): Promise<void>;
}

export class WebhookError extends Error {
  override name = "WebhookError";
  constructor(
    message: string,
    readonly status: number | null,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** POSTs the CloudEvent (structured JSON), signed with the binding's secret when it has one. */
export const webhookTransport: ExternalTransport = {
  async deliver(binding, event, options) {
    if (binding.kind !== "webhook") throw new PermanentHandlerError(`the webhook transport cannot deliver to a ${binding.kind} binding`);
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { "content-type": CLOUDEVENTS_CONTENT_TYPE, "user-agent": "sagaboard-runtime" };
    if (binding.secret) headers[SIGNATURE_HEADER] = signBody(binding.secret, body);
    let response: Response;
    try {
      response = await fetch(binding.url, { method: "POST", headers, body, signal: AbortSignal.timeout(options.timeoutMs), redirect: "error" });
    } catch (error) {
      const reason = (error as Error).name === "TimeoutError" ? `no answer within ${options.timeoutMs} ms` : ((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
      throw new WebhookError(`POST ${binding.url} failed: ${reason}`, null, false);
    }
    const text = await response.text().catch(() => "");
    if (response.ok) return;
    // A 4xx other than these says the message itself is refused: sending it again cannot help.
    const retryable = response.status >= 500 || [408, 409, 425, 429].includes(response.status);
    throw new WebhookError(`POST ${binding.url} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ""}`, response.status, !retryable);
  },
};

const KEY = Symbol.for("sagaboard.runtime.transports");
type GlobalWithTransports = typeof globalThis & { [KEY]?: Map<DeliverableBinding["kind"], ExternalTransport> };

function transports(): Map<DeliverableBinding["kind"], ExternalTransport> {
  const global = globalThis as GlobalWithTransports;
  global[KEY] ??= new Map([["webhook", webhookTransport]]);
  return global[KEY];
}

export function registerTransport(kind: DeliverableBinding["kind"], transport: ExternalTransport): () => void {
  const map = transports();
  const previous = map.get(kind);
  map.set(kind, transport);
  return () => {
    if (previous) map.set(kind, previous);
    else map.delete(kind);
  };
}

export function transportFor(kind: DeliverableBinding["kind"]): ExternalTransport {
  const transport = transports().get(kind);
  if (!transport) throw new Error(`no transport is installed for ${kind} bindings yet`);
  return transport;
}
