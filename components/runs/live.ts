"use client";

/**
 * Live events for the Runs area over `live.onEvents`. Every event is tracked by its global
 * position, so httpSubscriptionLink resumes a dropped connection right after the last event it
 * delivered; a reload starts again from where the page's own snapshot ends. Either way events are
 * merged by position, so none is lost and none is shown twice.
 */
import { skipToken } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useTRPC } from "@/components/trpc/client.tsx";
import type { CloudEvent } from "./cloud-events.ts";
import { mergeByPosition } from "./live-merge.ts";

export type LiveState = "connecting" | "live" | "reconnecting" | "offline" | "failed" | "off";

function liveStateOf(status: "idle" | "connecting" | "pending" | "error", hasError: boolean, started: boolean): LiveState {
  switch (status) {
    case "idle":
      return "off";
    case "connecting":
      return started || hasError ? "reconnecting" : "connecting";
    case "pending":
      return "live";
    case "error":
      return "failed";
    default: {
      const unknownStatus: never = status;
      throw new Error(`unknown subscription status ${String(unknownStatus)}`);
    }
  }
}

function subscribeToConnectivity(onChange: () => void): () => void {
  window.addEventListener("online", onChange);
  window.addEventListener("offline", onChange);
  return () => {
    window.removeEventListener("online", onChange);
    window.removeEventListener("offline", onChange);
  };
}

/** The browser's own view of the network: an open stream may not notice a lost network for minutes. */
function useOnline(): boolean {
  return useSyncExternalStore(
    subscribeToConnectivity,
    () => navigator.onLine,
    () => true,
  );
}

export interface LiveSubscription {
  state: LiveState;
  error: string | null;
  /** Starts the subscription again after it failed for good. */
  restart: () => void;
}

/**
 * Calls `onEvents` with batches of live events of `stream` after `after` (a position; "0" for the
 * whole history). Nothing is subscribed while `after` is null. Batches are flushed once per frame
 * so a catch-up of thousands of events renders a few times, not thousands.
 */
export function useLiveEvents(stream: string | null, after: string | null, onEvents: (events: CloudEvent[]) => void): LiveSubscription {
  const trpc = useTRPC();
  const buffered = useRef<CloudEvent[]>([]);
  const flushScheduled = useRef(false);
  const deliver = useRef(onEvents);
  deliver.current = onEvents;
  const [started, setStarted] = useState(false);

  const flush = useCallback(() => {
    flushScheduled.current = false;
    const batch = buffered.current;
    if (batch.length === 0) return;
    buffered.current = [];
    deliver.current(batch);
  }, []);

  const subscription = useSubscription(
    trpc.live.onEvents.subscriptionOptions(stream !== null && after !== null ? { stream, lastEventId: after } : skipToken, {
      onStarted: () => setStarted(true),
      onData: (tracked) => {
        buffered.current.push(tracked.data);
        if (flushScheduled.current) return;
        flushScheduled.current = true;
        if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible") requestAnimationFrame(flush);
        else setTimeout(flush, 50);
      },
    }),
  );
  useEffect(() => flush, [flush]);

  const online = useOnline();
  const { status, reset } = subscription;
  useEffect(() => {
    if (online && status === "error") reset();
  }, [online, status, reset]);

  return {
    state: online ? liveStateOf(status, subscription.error !== null, started) : "offline",
    error: subscription.error?.message ?? null,
    restart: subscription.reset,
  };
}

/** A stream's events in log order, each once: the timeline's source. */
export function useLiveLog(stream: string | null): { events: CloudEvent[]; live: LiveSubscription } {
  const [log, setLog] = useState<{ stream: string | null; events: CloudEvent[] }>({ stream, events: [] });
  const live = useLiveEvents(stream, stream === null ? null : "0", (batch) =>
    setLog((current) => (current.stream === stream ? { stream, events: mergeByPosition(current.events, batch) } : { stream, events: mergeByPosition([], batch) })),
  );
  return { events: log.stream === stream ? log.events : [], live };
}

/**
 * The newest position of the global log (from its newest page), so a subscription opened after a
 * snapshot resumes from before the snapshot was read: events in between arrive again and are
 * merged, none is missed.
 */
export async function fetchLogHead(signal: AbortSignal): Promise<string> {
  const response = await fetch("/api/streams/all/current", { cache: "no-store", signal, headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`The event log did not answer (${response.status})`);
  const page = (await response.json()) as { events: { position: number }[] };
  const newest = page.events[page.events.length - 1];
  return newest ? String(newest.position) : "0";
}
