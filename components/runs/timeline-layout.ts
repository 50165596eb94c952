/**
 * Where the timeline draws each message. Time runs left to right on a compressed scale: the gap
 * between two consecutive messages grows with the logarithm of the time between them, so a
 * 12-second wait for a slow context is visibly longer than 100 ms without pushing everything
 * else off screen. x never decreases along the log, and messages in one lane never overlap.
 */
import { isBookkeeping, lanesOf, type Lane, type TimelineMessage } from "./timeline-model.ts";

export type Shape = "card" | "pill" | "dot";

export const LANE_HEIGHT = 96;
export const CARD = { width: 156, height: 58 };
export const PILL = { width: 112, height: 30 };
export const DOT = { width: 14, height: 14 };
export const PADDING = 24;
/** Pixels per doubling of the time between consecutive messages (in units of 10 ms). */
export const TIME_SCALE = 26;
const TIME_UNIT_MS = 10;
/** Between consecutive messages in different lanes, so the log order stays readable. */
const MIN_STEP = 12;
const LANE_GAP = 14;

export interface PlacedLane extends Lane {
  index: number;
  y: number;
  height: number;
}

export interface PlacedMessage {
  message: TimelineMessage;
  shape: Shape;
  x: number;
  y: number;
  width: number;
  height: number;
}

export type LinkKind = "handled" | "reacted" | "follows";

export interface CausationLink {
  from: PlacedMessage;
  to: PlacedMessage;
  /** command → the events it caused: "handled"; event → the command it was translated into: "reacted". */
  kind: LinkKind;
  durationMs: number;
  path: string;
  labelX: number;
  labelY: number;
}

export interface TimelineLayout {
  lanes: PlacedLane[];
  items: PlacedMessage[];
  links: CausationLink[];
  width: number;
  height: number;
}

export function shapeOf(message: TimelineMessage): Shape {
  if (isBookkeeping(message.kind)) return "dot";
  return message.kind === "status" || message.kind === "started" ? "pill" : "card";
}

function sizeOf(shape: Shape): { width: number; height: number } {
  switch (shape) {
    case "card":
      return CARD;
    case "pill":
      return PILL;
    case "dot":
      return DOT;
    default: {
      const unknownShape: never = shape;
      throw new Error(`unknown shape ${String(unknownShape)}`);
    }
  }
}

/** Horizontal space for the time between two consecutive messages. */
export function timeGap(elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : TIME_SCALE * Math.log2(1 + elapsedMs / TIME_UNIT_MS);
}

function linkKind(from: TimelineMessage, to: TimelineMessage): LinkKind {
  const fromCommand = from.kind === "command" || from.kind === "compensation";
  const toCommand = to.kind === "command" || to.kind === "compensation";
  if (fromCommand && !toCommand) return "handled";
  if (toCommand) return "reacted";
  return "follows";
}

function linkPath(from: PlacedMessage, to: PlacedMessage): { path: string; labelX: number; labelY: number } {
  const sameLane = from.y === to.y;
  const startX = from.x + from.width;
  const startY = from.y + from.height / 2;
  const endX = to.x;
  const endY = to.y + to.height / 2;
  if (sameLane || endX - startX > 40) {
    const bend = Math.max(24, (endX - startX) / 2);
    return {
      path: `M ${startX} ${startY} C ${startX + bend} ${startY}, ${endX - bend} ${endY}, ${endX} ${endY}`,
      labelX: (startX + endX) / 2,
      // Between neighbours in one lane there is no room beside the arrow: the label goes above the cards.
      labelY: sameLane ? Math.min(from.y, to.y) - 6 : (startY + endY) / 2 - 6,
    };
  }
  // Close together horizontally: leave the cause from its bottom or top edge and curve into the effect's left side.
  const down = endY > startY;
  const fromX = from.x + from.width / 2;
  const fromY = down ? from.y + from.height : from.y;
  const controlY = down ? Math.max(fromY + 24, endY) : Math.min(fromY - 24, endY);
  return {
    path: `M ${fromX} ${fromY} C ${fromX} ${controlY}, ${endX - 30} ${endY}, ${endX} ${endY}`,
    labelX: Math.min(fromX, endX) - 4,
    labelY: (fromY + endY) / 2,
  };
}

/** `messages` in log order. Links join cards and pills; the bookkeeping dots carry none. */
export function layoutTimeline(messages: readonly TimelineMessage[]): TimelineLayout {
  const lanes: PlacedLane[] = lanesOf(messages).map((lane, index) => ({ ...lane, index, y: index * LANE_HEIGHT, height: LANE_HEIGHT }));
  const laneOf = new Map(lanes.map((lane) => [lane.key, lane]));
  const laneRight = new Map<string, number>();
  const items: PlacedMessage[] = [];
  let previousX = PADDING - MIN_STEP;
  let previousTime: number | null = null;
  for (const message of messages) {
    const lane = laneOf.get(message.lane.key)!;
    const shape = shapeOf(message);
    const size = sizeOf(shape);
    const elapsed = previousTime === null ? 0 : message.time - previousTime;
    const right = laneRight.get(lane.key);
    const x = Math.max(previousX + MIN_STEP + timeGap(elapsed), right === undefined ? PADDING : right + LANE_GAP);
    const placed: PlacedMessage = { message, shape, x, y: lane.y + (LANE_HEIGHT - size.height) / 2, width: size.width, height: size.height };
    items.push(placed);
    laneRight.set(lane.key, x + size.width);
    previousX = x;
    previousTime = previousTime === null ? message.time : Math.max(previousTime, message.time);
  }

  const byKey = new Map<string, PlacedMessage>();
  const links: CausationLink[] = [];
  // One plain "follows" arrow per cause and lane: an instance starting and turning running on the same event needs one arrow, not two.
  const followed = new Set<string>();
  for (const item of items) {
    const { causeKey } = item.message;
    const cause = causeKey === null ? undefined : byKey.get(causeKey);
    if (cause && cause !== item && cause.shape !== "dot" && item.shape !== "dot") {
      const kind = linkKind(cause.message, item.message);
      const followKey = `${cause.message.position}>${item.message.lane.key}`;
      if (kind !== "follows" || !followed.has(followKey)) {
        if (kind === "follows") followed.add(followKey);
        links.push({ from: cause, to: item, kind, durationMs: Math.max(0, item.message.time - cause.message.time), ...linkPath(cause, item) });
      }
    }
    for (const key of item.message.keys) if (!byKey.has(key)) byKey.set(key, item);
  }
  const width = items.reduce((widest, item) => Math.max(widest, item.x + item.width), 0) + PADDING;
  return { lanes, items, links, width, height: lanes.length * LANE_HEIGHT };
}
