/**
 * A fake external carrier behind a webhook: records the CloudEvents it receives (checking their
 * signature) and answers as the test tells it to.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, verifySignature, type OutgoingCloudEvent } from "../external/cloudevents.ts";

export interface ReceivedDelivery {
  event: OutgoingCloudEvent;
  contentType: string | undefined;
  signed: boolean;
  signatureValid: boolean;
}

export interface Carrier {
  url: string;
  received: ReceivedDelivery[];
  /** Status to answer with for the next request (default 200); called per request. */
  answer: (event: OutgoingCloudEvent) => number | Promise<number>;
  close(): Promise<void>;
}

export async function startCarrier(secret: string | null): Promise<Carrier> {
  const carrier: Carrier = {
    url: "",
    received: [],
    answer: () => 200,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const event = JSON.parse(body) as OutgoingCloudEvent;
      const header = request.headers[SIGNATURE_HEADER] as string | undefined;
      carrier.received.push({
        event,
        contentType: request.headers["content-type"],
        signed: header !== undefined,
        signatureValid: secret !== null && verifySignature(secret, body, header ?? null),
      });
      const status = await carrier.answer(event);
      response.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "not now");
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  carrier.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/carrier`;
  return carrier;
}
