import { describe, expect, it } from "vitest";
import type { BoardDocument, BoardNode } from "../board/document.ts";
import { BoardBuilder, payload } from "../templates/builder.ts";
import { compileBoard } from "./compile.ts";
import { diagnosticCatalogue, diagnosticCodes, formatDiagnostic, type DiagnosticCode } from "./diagnostics.ts";

/**
 * A small clean board: Sales takes an order and asks Payments to charge it. Each case below
 * breaks it in one way and expects one diagnostic code on one element.
 */
function orderBoard(change?: (board: BoardBuilder) => void): BoardDocument {
  const board = new BoardBuilder();
  const sales = board.context("sales", "Sales");
  const payments = board.context("payments", "Payments");
  const placeOrder = board.command(sales, "place-order", "PlaceOrder", payload({ orderId: "string", amount: "number" }));
  const orderPlaced = board.event(sales, "order-placed", "OrderPlaced", payload({ orderId: "string", amount: "number" }), { visibility: "public", lifecycle: "start" });
  board.aggregate(sales, "order", "Order", { idExpression: "command.orderId", state: [{ name: "placed", type: "boolean", initial: false }] });
  board
    .decide("order", placeOrder, [{ emit: [{ event: orderPlaced, mapping: { orderId: "command.orderId", amount: "command.amount" } }] }])
    .evolve("order", orderPlaced, { placed: "true" });
  const chargePayment = board.command(payments, "charge-payment", "ChargePayment", payload({ orderId: "string", amount: "number" }));
  const paymentCharged = board.event(payments, "payment-charged", "PaymentCharged", payload({ orderId: "string", amount: "number" }), {
    visibility: "public",
    lifecycle: "complete",
  });
  board.aggregate(payments, "payment", "Payment", { idExpression: "command.orderId" });
  board.decide("payment", chargePayment, [{ emit: [{ event: paymentCharged, mapping: { orderId: "command.orderId", amount: "command.amount" } }] }]);
  board.policy(sales, "request-payment", "Request payment", {
    on: [orderPlaced],
    issue: chargePayment,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", amount: "event.amount" },
  });
  board.actor(null, "customer", "Customer", [placeOrder]);
  board.readModel(sales, "orders", "Orders", {
    fields: [
      { name: "orderId", type: "string" },
      { name: "amount", type: "number" },
      { name: "paid", type: "boolean" },
    ],
    updates: [
      { event: orderPlaced, key: "event.orderId", set: { orderId: "event.orderId", amount: "event.amount" } },
      { event: paymentCharged, key: "event.orderId", set: { paid: "true" } },
    ],
  });
  change?.(board);
  return board.build();
}

/** Changes a built board in ways the builder would not allow. */
function edited(edit: (board: BoardDocument, node: (id: string) => BoardNode) => void): BoardDocument {
  const board = orderBoard();
  edit(board, (id) => {
    const found = board.nodes.find((node) => node.id === id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  });
  return board;
}

const data = (node: BoardNode) => node.data as Record<string, unknown> & { rules: { outcome: { events: { mapping: Record<string, string> }[] } }[] };

interface Case {
  code: DiagnosticCode;
  what: string;
  board: () => BoardDocument;
  subject: { nodeId?: string; edgeId?: string };
  field?: string;
}

const cases: Case[] = [
  {
    code: "SB001",
    what: "an event connected straight to a command",
    board: () => edited((board) => board.edges.push({ id: "wrong", source: "order-placed", target: "charge-payment" })),
    subject: { edgeId: "wrong" },
  },
  {
    code: "SB002",
    what: "two messages with one name",
    board: () => orderBoard((board) => void board.event("sales", "order-placed-2", "OrderPlaced", payload({ orderId: "string" }))),
    subject: { nodeId: "order-placed-2" },
  },
  {
    code: "SB003",
    what: "two read models with one name",
    board: () => orderBoard((board) => void board.readModel("sales", "orders-2", "Orders", { fields: [], updates: [{ event: "order-placed", key: "event.orderId", set: {} }] })),
    subject: { nodeId: "orders-2" },
  },
  {
    code: "SB004",
    what: "a compensation that names an event",
    board: () => edited((_, node) => Object.assign(data(node("request-payment")), { compensation: "order-placed" })),
    subject: { nodeId: "request-payment" },
    field: "compensation",
  },
  {
    code: "SB005",
    what: "a rule emitting an event the aggregate is not connected to",
    board: () => edited((board) => board.edges.splice(board.edges.findIndex((edge) => edge.source === "order" && edge.target === "order-placed"), 1)),
    subject: { nodeId: "order" },
    field: "rules[0].outcome.events[0].event",
  },
  {
    code: "SB010",
    what: "a command nobody handles",
    board: () => orderBoard((board) => void board.command("sales", "cancel-order", "CancelOrder", payload({ orderId: "string" }))),
    subject: { nodeId: "cancel-order" },
  },
  {
    code: "SB011",
    what: "a command handled by two aggregates",
    board: () =>
      orderBoard((board) => {
        board.aggregate("sales", "order-copy", "OrderCopy", { idExpression: "command.orderId" });
        board.decide("order-copy", "place-order", [{ reject: "never" }]);
      }),
    subject: { nodeId: "place-order" },
  },
  {
    code: "SB012",
    what: "a handled command without a rule",
    board: () => edited((board) => board.edges.push({ id: "charge-to-order", source: "charge-payment", target: "order" })),
    subject: { nodeId: "order" },
    field: "rules",
  },
  {
    code: "SB013",
    what: "a rule behind an unconditional one",
    board: () =>
      edited((_, node) => {
        const rules = data(node("order")).rules as unknown[];
        rules.push({ id: "late", command: "place-order", outcome: { kind: "reject", reason: "never tried" } });
      }),
    subject: { nodeId: "order" },
    field: "rules[1]",
  },
  {
    code: "SB015",
    what: "an evolution on an event the aggregate never emits",
    board: () => orderBoard((board) => void board.evolve("order", "payment-charged", { placed: "false" })),
    subject: { nodeId: "order" },
    field: "evolutions[1].event",
  },
  {
    code: "SB016",
    what: "an expected-version field that is a string",
    board: () =>
      edited((_, node) => {
        data(node("order")).expectedVersionField = "orderId";
      }),
    subject: { nodeId: "place-order" },
  },
  {
    code: "SB017",
    what: "an expected-version field no command carries",
    board: () =>
      edited((_, node) => {
        data(node("order")).expectedVersionField = "expectedVersion";
      }),
    subject: { nodeId: "order" },
  },
  {
    code: "SB020",
    what: "an event nothing emits",
    board: () => orderBoard((board) => void board.event("sales", "order-audited", "OrderAudited", payload({ orderId: "string" }))),
    subject: { nodeId: "order-audited" },
  },
  {
    code: "SB021",
    what: "Payments emitting an event owned by Sales",
    board: () =>
      edited((_, node) => {
        node("payment-charged").parentId = "sales";
      }),
    subject: { edgeId: "payment->payment-charged" },
  },
  {
    code: "SB022",
    what: "a command drawn in Sales but handled in Payments",
    board: () =>
      edited((_, node) => {
        node("charge-payment").parentId = "sales";
      }),
    subject: { nodeId: "charge-payment" },
  },
  {
    code: "SB030",
    what: "a policy without trigger",
    board: () => edited((board) => board.edges.splice(board.edges.findIndex((edge) => edge.target === "request-payment"), 1)),
    subject: { nodeId: "request-payment" },
  },
  {
    code: "SB031",
    what: "a policy without command",
    board: () => edited((board) => board.edges.splice(board.edges.findIndex((edge) => edge.source === "request-payment"), 1)),
    subject: { nodeId: "request-payment" },
  },
  {
    code: "SB032",
    what: "a policy issuing two commands",
    board: () => edited((board) => board.edges.push({ id: "second-command", source: "request-payment", target: "place-order" })),
    subject: { nodeId: "request-payment" },
  },
  {
    code: "SB033",
    what: "a correlation key the trigger does not carry",
    board: () =>
      edited((_, node) => {
        data(node("request-payment")).correlationKey = "event.customerId";
      }),
    subject: { nodeId: "request-payment" },
    field: "correlationKey",
  },
  {
    code: "SB040",
    what: "a mapping to a field the command lacks",
    board: () =>
      edited((_, node) => {
        (data(node("request-payment")).mapping as Record<string, string>).currency = "'EUR'";
      }),
    subject: { nodeId: "request-payment" },
    field: "mapping.currency",
  },
  {
    code: "SB041",
    what: "a string mapped into a number",
    board: () =>
      edited((_, node) => {
        (data(node("request-payment")).mapping as Record<string, string>).amount = "event.orderId";
      }),
    subject: { nodeId: "request-payment" },
    field: "mapping.amount",
  },
  {
    code: "SB042",
    what: "a required field left out of a mapping",
    board: () =>
      edited((_, node) => {
        delete (data(node("request-payment")).mapping as Record<string, string>).amount;
      }),
    subject: { nodeId: "request-payment" },
    field: "mapping",
  },
  {
    code: "SB043",
    what: "a mapping reading a field the event lacks",
    board: () =>
      edited((_, node) => {
        (data(node("request-payment")).mapping as Record<string, string>).amount = "event.total";
      }),
    subject: { nodeId: "request-payment" },
    field: "mapping.amount",
  },
  {
    code: "SB050",
    what: "a condition that is not JSONata",
    board: () =>
      edited((_, node) => {
        data(node("request-payment")).condition = "event.amount >";
      }),
    subject: { nodeId: "request-payment" },
    field: "condition",
  },
  {
    code: "SB051",
    what: "an empty read model key",
    board: () =>
      edited((_, node) => {
        ((data(node("orders")).updates as { key: string }[])[0] as { key: string }).key = " ";
      }),
    subject: { nodeId: "orders" },
    field: "updates[0].key",
  },
  {
    code: "SB052",
    what: "the clock in a state evolution",
    board: () => orderBoard((board) => void board.evolve("order", "order-placed", { placed: "$millis() > 0" })),
    subject: { nodeId: "order" },
    field: "evolutions[1].set.placed",
  },
  {
    code: "SB060",
    what: "a policy no start event leads to",
    board: () =>
      orderBoard((board) => {
        board.command("sales", "audit", "AuditOrder", payload({ orderId: "string" }));
        board.event("sales", "audit-requested", "AuditRequested", payload({ orderId: "string" }));
        board.decide("order", "audit", [{ emit: [{ event: "audit-requested", mapping: { orderId: "command.orderId" } }] }]);
        board.policy("sales", "audit-again", "Audit again", {
          on: ["audit-requested"],
          issue: "audit",
          condition: "event.orderId != ''",
          correlationKey: "event.orderId",
          mapping: { orderId: "event.orderId" },
        });
      }),
    subject: { nodeId: "audit-again" },
  },
  {
    code: "SB061",
    what: "a process nothing completes",
    board: () =>
      edited((_, node) => {
        data(node("payment-charged")).lifecycle = "none";
      }),
    subject: { nodeId: "order-placed" },
  },
  {
    code: "SB062",
    what: "a loop nothing can stop",
    board: () =>
      orderBoard((board) => {
        board.policy("sales", "place-again", "Place again", {
          on: ["order-placed"],
          issue: "place-order",
          correlationKey: "event.orderId",
          mapping: { orderId: "event.orderId", amount: "event.amount" },
        });
      }),
    subject: { nodeId: "place-again" },
  },
  {
    code: "SB063",
    what: "policies without a start event",
    board: () =>
      edited((_, node) => {
        data(node("order-placed")).lifecycle = "none";
      }),
    subject: {},
  },
  {
    code: "SB070",
    what: "a Redis binding without a channel",
    board: () =>
      orderBoard((board) => {
        board.externalSystem(null, "bus", "Partner bus", {
          binding: { kind: "redis", channel: " ", mode: "pubsub" },
          outbound: [{ source: "payment-charged", message: "payment_charged", mapping: { order: "event.orderId" } }],
        });
      }),
    subject: { nodeId: "bus" },
    field: "binding",
  },
  {
    code: "SB071",
    what: "an external system connected to nothing",
    board: () => orderBoard((board) => void board.externalSystem(null, "bus", "Partner bus", { binding: { kind: "nats", subject: "orders.>" } })),
    subject: { nodeId: "bus" },
  },
  {
    code: "SB080",
    what: "an aggregate outside any context",
    board: () =>
      edited((_, node) => {
        delete node("order").parentId;
      }),
    subject: { nodeId: "order" },
  },
  {
    code: "SB081",
    what: "an internal event read by another context",
    board: () =>
      edited((_, node) => {
        data(node("payment-charged")).visibility = "internal";
      }),
    subject: { nodeId: "payment-charged" },
    field: "visibility",
  },
  {
    code: "SB082",
    what: "a timer nothing schedules",
    board: () => orderBoard((board) => void board.timer("sales", "reminder", "Reminder", { afterMs: 60_000, scheduledBy: [] })),
    subject: { nodeId: "reminder" },
  },
  {
    code: "SB083",
    what: "a compensation command the trigger cannot fill",
    board: () => {
      const board = orderBoard((builder) => {
        builder.command("payments", "refund", "RefundPayment", payload({ orderId: "string", reason: "string" }));
        builder.decide("payment", "refund", [{ reject: "nothing to refund" }]);
      });
      const policy = board.nodes.find((node) => node.id === "request-payment");
      if (policy?.type === "policy") policy.data.compensation = "refund";
      return board;
    },
    subject: { nodeId: "request-payment" },
    field: "compensation",
  },
  {
    code: "SB085",
    what: "a rule reading a view of another context",
    board: () =>
      edited((_, node) => {
        (node("payment").data as unknown as { rules: { condition?: string }[] }).rules[0]!.condition = "$view('Orders', command.orderId).paid";
      }),
    subject: { nodeId: "payment" },
    field: "rules[0].condition",
  },
  {
    code: "SB084",
    what: "a read model without updates",
    board: () => orderBoard((board) => void board.readModel("sales", "empty-view", "EmptyView", { fields: [{ name: "orderId", type: "string" }], updates: [] })),
    subject: { nodeId: "empty-view" },
  },
];

describe("diagnostics", () => {
  it("the base board is clean", () => {
    const result = compileBoard(orderBoard(), { id: "orders", name: "Orders" });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(result.definition).toBeDefined();
  });

  it("every code in the catalogue has a case here", () => {
    expect([...new Set(cases.map((item) => item.code))].sort()).toEqual([...diagnosticCodes].sort());
  });

  it.each(cases)("$code: $what", ({ code, board, subject, field }) => {
    const result = compileBoard(board(), { id: "orders", name: "Orders" });
    const found = result.diagnostics.filter((item) => item.code === code);
    expect(found.length, result.diagnostics.map(formatDiagnostic).join("\n")).toBeGreaterThan(0);
    const match = found.find((item) => item.nodeId === subject.nodeId && item.edgeId === subject.edgeId && (field === undefined || item.field === field));
    expect(match, found.map(formatDiagnostic).join("\n")).toBeDefined();
    expect(match?.severity).toBe(diagnosticCatalogue[code].severity);
    expect(match?.message.length).toBeGreaterThan(10);
    expect(match?.hint.length).toBeGreaterThan(10);
    if (diagnosticCatalogue[code].severity === "error") expect(result.definition).toBeUndefined();
    else expect(result.definition).toBeDefined();
  });

  it("a syntax error carries the position inside the expression", () => {
    const board = edited((_, node) => {
      data(node("request-payment")).condition = "event.amount > > 3";
    });
    const syntax = compileBoard(board, { id: "orders", name: "Orders" }).diagnostics.find((item) => item.code === "SB050");
    expect(syntax).toMatchObject({ nodeId: "request-payment", field: "condition", position: 16 });
  });

  describe("$view", () => {
    const viewProblems = (edit: (node: (id: string) => BoardNode) => void) =>
      compileBoard(
        edited((_, node) => edit(node)),
        { id: "orders", name: "Orders" },
      ).diagnostics.filter((item) => item.code === "SB085");
    const firstRule = (node: (id: string) => BoardNode, id: string) => (node(id).data as unknown as { rules: { condition?: string }[] }).rules[0]!;

    it("is clean when a rule reads a view of its own context, in its condition and in an emitted event", () => {
      const board = edited((_, node) => {
        firstRule(node, "order").condition = "$not($view('Orders', command.orderId).paid)";
        data(node("order")).rules[0]!.outcome.events[0]!.mapping.amount = "$view('Orders', command.orderId).amount";
      });
      const result = compileBoard(board, { id: "orders", name: "Orders" });
      expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
      expect(result.definition?.aggregates.find((aggregate) => aggregate.name === "Order")?.decisions[0]?.rules[0]?.condition?.source).toContain("$view('Orders'");
    });

    it("names the owner of a foreign view and says how to get its data into the reader's context", () => {
      const [problem] = viewProblems((node) => void (firstRule(node, "payment").condition = "command.amount > $view(\"Orders\", command.orderId).amount"));
      expect(problem).toMatchObject({
        severity: "error",
        nodeId: "payment",
        field: "rules[0].condition",
        position: 31, // JSONata positions point just after the token: the end of "Orders"
        message: expect.stringContaining("reads Orders, a view of Sales, but Payment belongs to Payments"),
        hint: "A context reads only its own views; subscribe a view in Payments to Sales's events.",
      });
    });

    it("reports a view that does not exist, listing the context's own", () => {
      const problems = viewProblems((node) => void (firstRule(node, "order").condition = "$view('Order', command.orderId).paid"));
      expect(problems.map((item) => [item.message, item.hint])).toEqual([
        [expect.stringContaining('reads the view "Order", but there is no read model of that name'), "Read models of Sales: Orders. A context reads only its own views."],
      ]);
    });

    it("reports a computed view name, which cannot be checked", () => {
      const problems = viewProblems((node) => void (firstRule(node, "order").condition = "$view('Ord' & 'ers', command.orderId).paid"));
      expect(problems.map((item) => item.message)).toEqual([expect.stringContaining("with a computed name")]);
    });

    it("checks the fields read from a row against the read model, inside filters too", () => {
      const board = edited((_, node) => {
        firstRule(node, "order").condition = "$view('Orders', command.orderId).payed or $exists([command.orderId][$view('Orders', $).amont > 0])";
      });
      const unknown = compileBoard(board, { id: "orders", name: "Orders" }).diagnostics.filter((item) => item.code === "SB043");
      expect(unknown.map((item) => [item.field, item.position, item.message.slice(item.message.lastIndexOf('" reads'))])).toEqual([
        ["rules[0].condition", 92, '" reads "amont", but Orders has no such field.'],
        ["rules[0].condition", 38, '" reads "payed", but Orders has no such field.'],
      ]);
      expect(unknown[1]?.hint).toBe("Fields of Orders: orderId, amount, paid.");
    });

    it("reports $view outside aggregate rules, even inside a filter", () => {
      const problems = viewProblems((node) => {
        data(node("request-payment")).condition = "$count(event[$view('Orders', orderId).paid]) = 0";
        data(node("order")).idExpression = "$view('Orders', command.orderId).orderId";
      });
      expect(problems.map((item) => [item.nodeId, item.field])).toEqual([
        ["order", "idExpression"],
        ["request-payment", "condition"],
      ]);
      expect(problems[1]?.message).toContain("only aggregate rules can use; policies see nothing but");
    });
  });

  it("reports a wrong enum literal and names the allowed values", () => {
    const board = orderBoard((builder) => {
      builder.command("payments", "flag", "FlagPayment", payload({ orderId: "string", level: { type: "string", enum: ["low", "high"] } }));
      builder.decide("payment", "flag", [{ reject: "not yet" }]);
      builder.policy("payments", "flag-large", "Flag large payments", {
        on: ["payment-charged"],
        issue: "flag",
        condition: "event.amount > 1000",
        correlationKey: "event.orderId",
        mapping: { orderId: "event.orderId", level: "'urgent'" },
      });
    });
    const wrong = compileBoard(board, { id: "orders", name: "Orders" }).diagnostics.find((item) => item.code === "SB041");
    expect(wrong?.message).toContain('expects one of "low", "high" but gets "urgent"');
  });
});
