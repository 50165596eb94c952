/**
 * Boards the runtime's tests run besides the shipped templates: an order saga with a
 * compensation, a deadline and an external carrier behind a webhook, and a reminder driven by a
 * timer. Built with the template builder and compiled like any user board.
 */
import { compileBoard } from "../../compiler/compile.ts";
import type { ProcessDefinitionV1 } from "../../definition/v1.ts";
import { BoardBuilder, payload } from "../../templates/builder.ts";
import { findTemplate } from "../../templates/index.ts";

export function compiled(board: ReturnType<BoardBuilder["build"]>, id: string, name: string): ProcessDefinitionV1 {
  const result = compileBoard(board, { id, name });
  if (!result.definition) {
    throw new Error(`${id} does not compile: ${result.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  }
  return result.definition;
}

export function templateDefinition(templateId: "insurance-quote" | "user-registration"): ProcessDefinitionV1 {
  const template = findTemplate(templateId);
  if (!template) throw new Error(`no template ${templateId}`);
  return compiled(template.board, template.id, template.name);
}

export interface OrderSagaOptions {
  carrierUrl: string;
  carrierSecret?: string | null;
  shippingDeadlineMs?: number;
}

/**
 * OrderPlaced → ChargePayment (Payments) → PaymentCharged → ShipOrder (to the Carrier webhook),
 * which answers OrderShipped and completes the order. Charges over 1000 are rejected; when the
 * carrier does not answer before the deadline, the payment is refunded (compensation).
 */
export function orderSagaBoard(options: OrderSagaOptions) {
  const board = new BoardBuilder();
  const orders = board.context("orders", "Orders");
  const payments = board.context("payments", "Payments");
  const shipping = board.context("shipping", "Shipping");

  const orderPlaced = board.event(orders, "order-placed", "OrderPlaced", payload({ orderId: "string", amount: "number", customer: "string" }), {
    lifecycle: "start",
    visibility: "public",
  });
  const chargePayment = board.command(payments, "charge-payment", "ChargePayment", payload({ orderId: "string", amount: "number" }));
  const refundPayment = board.command(payments, "refund-payment", "RefundPayment", payload({ orderId: "string", amount: "number" }));
  const paymentCharged = board.event(payments, "payment-charged", "PaymentCharged", payload({ orderId: "string", amount: "number" }), { visibility: "public" });
  const paymentRefunded = board.event(payments, "payment-refunded", "PaymentRefunded", payload({ orderId: "string", amount: "number" }), { visibility: "public" });
  const payment = board.aggregate(payments, "payment", "Payment", {
    idExpression: "command.orderId",
    state: [
      { name: "charged", type: "boolean", initial: false },
      { name: "refunded", type: "boolean", initial: false },
      { name: "amount", type: "number", initial: 0 },
    ],
  });
  board
    .decide(payment, chargePayment, [
      { when: "state.charged", reject: "This order has already been charged." },
      { when: "command.amount > 1000", reject: "The amount is over the card limit." },
      { emit: [{ event: paymentCharged, mapping: { orderId: "command.orderId", amount: "command.amount" } }] },
    ])
    .decide(payment, refundPayment, [
      { when: "$not(state.charged) or state.refunded", reject: "Nothing to refund." },
      { emit: [{ event: paymentRefunded, mapping: { orderId: "command.orderId", amount: "state.amount" } }] },
    ])
    .evolve(payment, paymentCharged, { charged: "true", amount: "event.amount" })
    .evolve(payment, paymentRefunded, { refunded: "true" });

  const shipOrder = board.command(shipping, "ship-order", "ShipOrder", payload({ orderId: "string", amount: "number" }));
  const orderShipped = board.event(shipping, "order-shipped", "OrderShipped", payload({ orderId: "string", trackingCode: "string" }), {
    lifecycle: "complete",
    visibility: "public",
  });
  board.externalSystem(shipping, "carrier", "Carrier", {
    binding: { kind: "webhook", url: options.carrierUrl, ...(options.carrierSecret ? { secret: options.carrierSecret } : {}) },
    outbound: [{ source: shipOrder, message: "ShipmentRequested", mapping: { orderId: "command.orderId", parcelValue: "command.amount" } }],
    inbound: [{ message: "ParcelShipped", target: orderShipped, mapping: { orderId: "message.reference", trackingCode: "message.tracking" } }],
  });

  board.policy(payments, "charge", "Charge the customer", {
    on: [orderPlaced],
    issue: chargePayment,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", amount: "event.amount" },
    retry: { maxAttempts: 3, initialDelayMs: 10, multiplier: 2, maxDelayMs: 50 },
    compensation: refundPayment,
  });
  board.policy(shipping, "ship", "Ship the order", {
    on: [paymentCharged],
    issue: shipOrder,
    correlationKey: "event.orderId",
    mapping: { orderId: "event.orderId", amount: "process.events.OrderPlaced.amount" },
    retry: { maxAttempts: 3, initialDelayMs: 10, multiplier: 2, maxDelayMs: 50 },
    deadline: { afterMs: options.shippingDeadlineMs ?? 60_000 },
  });
  board.actor(orders, "customer", "Customer", []);
  return board.build();
}

export function orderSagaDefinition(options: OrderSagaOptions): ProcessDefinitionV1 {
  return compiled(orderSagaBoard(options), "order-saga", "Order saga");
}

/** SignedUp starts it; 30 s later a timer makes it send a welcome mail (WelcomeSent completes). */
export function reminderDefinition(): ProcessDefinitionV1 {
  const board = new BoardBuilder();
  const crm = board.context("crm", "CRM");
  const signedUp = board.event(crm, "signed-up", "SignedUp", payload({ memberId: "string", email: "string" }), { lifecycle: "start", visibility: "public" });
  const sendWelcome = board.command(crm, "send-welcome", "SendWelcome", payload({ memberId: "string", email: "string" }));
  const welcomeSent = board.event(crm, "welcome-sent", "WelcomeSent", payload({ memberId: "string", email: "string" }), { lifecycle: "complete" });
  const mailbox = board.aggregate(crm, "mailbox", "Mailbox", { idExpression: "command.memberId", state: [{ name: "sent", type: "integer", initial: 0 }] });
  board
    .decide(mailbox, sendWelcome, [{ emit: [{ event: welcomeSent, mapping: { memberId: "command.memberId", email: "command.email" } }] }])
    .evolve(mailbox, welcomeSent, { sent: "state.sent + 1" });
  const delay = board.timer(crm, "welcome-delay", "Welcome delay", { afterMs: 30_000, scheduledBy: [signedUp] });
  board.policy(crm, "welcome", "Welcome the member", {
    firedBy: [delay],
    issue: sendWelcome,
    correlationKey: "event.memberId",
    mapping: { memberId: "event.memberId", email: "event.email" },
  });
  board.actor(crm, "member", "Member", []);
  return compiled(board.build(), "reminder", "Welcome reminder");
}
