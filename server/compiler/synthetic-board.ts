/**
 * Generated boards of any size that compile without errors: chains of command → aggregate →
 * event → policy in each context, handed from context to context (choreography), with optional
 * read models, timers, deadlines, compensations, conditions and external bindings. The benchmark
 * and the property-based tests build on them.
 */
import type { BoardDocument } from "../board/document.ts";
import { BoardBuilder, payload } from "../templates/builder.ts";

export interface SyntheticSpec {
  contexts: number;
  unitsPerContext: number;
  /** Every n-th unit gets a read model; 0 for none. */
  readModelEvery: number;
  timers: boolean;
  conditions: boolean;
  deadlines: boolean;
  compensation: boolean;
  lifecycle: boolean;
  externalSystem: "none" | "webhook" | "redis" | "nats";
}

const casePayload = { caseId: "string", amount: "number", quantity: "integer", label: "string" } as const;

export function syntheticBoard(spec: SyntheticSpec): BoardDocument {
  const board = new BoardBuilder();
  const contexts = Array.from({ length: spec.contexts }, (_, c) => board.context(`ctx-${c}`, `Context ${c}`, { color: "#64748b" }));
  const id = (c: number, i: number, kind: string) => `c${c}-u${i}-${kind}`;
  const name = (c: number, i: number) => `${String.fromCharCode(65 + (c % 26))}${c}x${i}`;
  const lastContext = spec.contexts - 1;
  const last = spec.unitsPerContext - 1;

  contexts.forEach((context, c) => {
    for (let i = 0; i < spec.unitsPerContext; i++) {
      const command = board.command(context, id(c, i, "cmd"), `Do${name(c, i)}`, payload({ ...casePayload, requestedAt: "date-time" }));
      const isFirst = c === 0 && i === 0;
      const isFinal = c === lastContext && i === last;
      const event = board.event(context, id(c, i, "evt"), `Done${name(c, i)}`, payload({ ...casePayload, completedAt: "date-time" }), {
        visibility: i === last || i === 0 ? "public" : "internal",
        lifecycle: spec.lifecycle ? (isFinal ? "complete" : isFirst ? "start" : "none") : "none",
      });
      const aggregate = board.aggregate(context, id(c, i, "agg"), `Step${name(c, i)}`, {
        idExpression: "command.caseId",
        state: [
          { name: "done", type: "boolean", initial: false },
          { name: "total", type: "number", initial: 0 },
        ],
      });
      board
        .decide(aggregate, command, [
          ...(spec.conditions ? [{ when: "state.done", reject: `Step ${c}.${i} already ran for this case.` }] : []),
          {
            emit: [
              {
                event,
                mapping: {
                  caseId: "command.caseId",
                  amount: `$round(command.amount * ${(1 + (c * spec.unitsPerContext + i) / 1000).toFixed(3)}, 2)`,
                  quantity: "command.quantity",
                  label: `command.label & ' / ${c}.${i}'`,
                  completedAt: "$now()",
                },
              },
            ],
          },
        ])
        .evolve(aggregate, event, { done: "true", total: `state.total + event.amount` });
      if (spec.readModelEvery > 0 && i % spec.readModelEvery === 0) {
        board.readModel(context, id(c, i, "view"), `View${name(c, i)}`, {
          fields: [
            { name: "caseId", type: "string" },
            { name: "amount", type: "number" },
            { name: "label", type: "string" },
            { name: "updatedAt", type: "date-time" },
          ],
          updates: [{ event, key: "event.caseId", set: { caseId: "event.caseId", amount: "event.amount", label: "event.label", updatedAt: "event.completedAt" } }],
        });
      }
    }

    const firstAggregate = id(c, 0, "agg");
    const nudge = spec.timers || spec.deadlines ? board.command(context, `c${c}-nudge`, `Nudge${c}`, payload({ caseId: "string" })) : undefined;
    if (nudge) {
      const nudged = board.event(context, `c${c}-nudged`, `Nudged${c}`, payload({ caseId: "string", nudgedAt: "date-time" }));
      board.decide(firstAggregate, nudge, [{ emit: [{ event: nudged, mapping: { caseId: "command.caseId", nudgedAt: "$now()" } }] }]);
    }
    const cancel = spec.compensation ? board.command(context, `c${c}-cancel`, `Cancel${c}`, payload({ caseId: "string" })) : undefined;
    if (cancel) {
      const cancelled = board.event(context, `c${c}-cancelled`, `Cancelled${c}`, payload({ caseId: "string" }), { lifecycle: spec.lifecycle ? "fail" : "none" });
      board.decide(firstAggregate, cancel, [{ emit: [{ event: cancelled, mapping: { caseId: "command.caseId" } }] }]);
    }
    if (spec.timers && nudge) {
      const timer = board.timer(context, `c${c}-reminder`, `Reminder${c}`, { afterMs: 3_600_000, scheduledBy: [id(c, 0, "evt")] });
      board.policy(context, `c${c}-remind`, `Remind ${c}`, { firedBy: [timer], issue: nudge, mapping: { caseId: "event.caseId" }, correlationKey: "event.caseId" });
    }

    for (let i = 0; i < spec.unitsPerContext; i++) {
      const crossing = i === last;
      if (crossing && c === lastContext) continue;
      const target = crossing ? id(c + 1, 0, "cmd") : id(c, i + 1, "cmd");
      board.policy(crossing ? (contexts[c + 1] as string) : context, id(c, i, "pol"), `After ${name(c, i)}`, {
        on: [id(c, i, "evt")],
        issue: target,
        correlationKey: "event.caseId",
        ...(spec.conditions ? { condition: "event.amount >= 0 and event.quantity > 0" } : {}),
        mapping: { caseId: "event.caseId", amount: "event.amount", quantity: "event.quantity + 1", label: "event.label", requestedAt: "event.completedAt" },
        ...(spec.deadlines ? { deadline: { afterMs: 60_000 + i, ...(nudge && !crossing ? { onTimeout: nudge } : {}) } } : {}),
        ...(cancel && !crossing ? { compensation: cancel } : {}),
      });
    }
  });

  board.actor(null, "requester", "Requester", [id(0, 0, "cmd")]);
  if (spec.externalSystem !== "none") {
    const binding =
      spec.externalSystem === "webhook"
        ? { kind: "webhook" as const, url: "https://partner.example/hooks/cases" }
        : spec.externalSystem === "redis"
          ? { kind: "redis" as const, channel: "cases", mode: "pubsub" as const }
          : { kind: "nats" as const, subject: "cases.>", queueGroup: "sagaboard" };
    board.externalSystem(null, "partner", "Partner", {
      binding,
      inbound: [
        {
          message: "open_case",
          target: id(0, 0, "cmd"),
          mapping: { caseId: "message.id", amount: "message.amount", quantity: "1", label: "'from partner'", requestedAt: "$now()" },
        },
      ],
      outbound: [{ source: id(lastContext, last, "evt"), message: "case_done", mapping: { id: "event.caseId", total: "event.amount" } }],
    });
  }
  return board.build();
}

/** A board of about `nodes` nodes with every feature switched on. */
export function syntheticBoardOfSize(nodes: number): BoardDocument {
  const contexts = 10;
  // Per unit: command, aggregate, event, policy, and a read model every third unit; per context 7 more.
  const unitsPerContext = Math.max(1, Math.round((nodes / contexts - 8) / (4 + 1 / 3)));
  return syntheticBoard({
    contexts,
    unitsPerContext,
    readModelEvery: 3,
    timers: true,
    conditions: true,
    deadlines: true,
    compensation: true,
    lifecycle: true,
    externalSystem: "redis",
  });
}
