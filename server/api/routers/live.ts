/**
 * Live events over tRPC: the same streams, hub and CloudEvents as /api/streams/{name}, as an
 * async-generator subscription. Every event is `tracked` by its global position, so
 * httpSubscriptionLink reconnects with `lastEventId` and the catch-up continues right after the
 * last event the client received: no gap, no duplicate. Pass `lastEventId: "0"` on the first
 * subscribe for the stream's whole history; without it only events from now on arrive.
 */
import { TRPCError, tracked } from "@trpc/server";
import { z } from "zod";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc.ts";
import { UnknownPositionError } from "@/server/live/hub.ts";
import type { LiveSubscription, SubscriptionEnd } from "@/server/live/live-subscription.ts";
import { getLiveHub } from "@/server/live/process-hub.ts";
import { parseResumePoint } from "@/server/live/sse.ts";
import { parseStreamName } from "@/server/live/stream-name.ts";

/** Ends without error when nothing went wrong; otherwise an error the client reconnects after. */
function endError(end: SubscriptionEnd): TRPCError | null {
  switch (end.reason) {
    case "client":
    case "deleted":
      return null;
    case "overflow":
      return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: `The client fell ${end.bufferedBytes} bytes behind (limit ${end.limitBytes}); reconnect to resume` });
    case "failed":
      return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: end.message });
    case "closed":
      return new TRPCError({ code: "SERVICE_UNAVAILABLE", message: "The server is shutting down" });
    default: {
      const unreachable: never = end;
      throw new Error(`unknown subscription end ${JSON.stringify(unreachable)}`);
    }
  }
}

export const liveRouter = createTRPCRouter({
  onEvents: publicProcedure
    .input(
      z.object({
        stream: z.string().min(1),
        /** The position of the last event the client has; set by httpSubscriptionLink on reconnect. */
        lastEventId: z.string().nullish(),
      }),
    )
    .subscription(async function* ({ input, ctx, signal }) {
      const parsedName = parseStreamName(input.stream);
      if (!parsedName.ok) throw new TRPCError({ code: "NOT_FOUND", message: parsedName.message });
      const resume = parseResumePoint(input.lastEventId ?? null, null);
      if (!resume.ok) throw new TRPCError({ code: "BAD_REQUEST", message: resume.message });
      let subscription: LiveSubscription;
      try {
        subscription = await getLiveHub(ctx.storage).open({
          name: parsedName.name,
          selector: parsedName.selector,
          after: resume.resume.kind === "after" ? resume.resume.position : null,
        });
      } catch (error) {
        if (error instanceof UnknownPositionError) throw new TRPCError({ code: "BAD_REQUEST", message: error.message });
        throw error;
      }
      const leave = () => subscription.close({ reason: "client" });
      if (signal?.aborted) leave();
      signal?.addEventListener("abort", leave, { once: true });
      try {
        for (;;) {
          const item = await subscription.next();
          switch (item.kind) {
            case "event":
              yield tracked(String(item.event.event.position), item.event.cloudEvent);
              break;
            case "heartbeat":
              // tRPC sends its own pings (sse.ping in server/api/trpc.ts).
              break;
            case "end": {
              const error = endError(item.end);
              if (error) throw error;
              return;
            }
            default: {
              const unreachable: never = item;
              throw new Error(`unknown subscription item ${JSON.stringify(unreachable)}`);
            }
          }
        }
      } finally {
        signal?.removeEventListener("abort", leave);
        leave();
      }
    }),
});
