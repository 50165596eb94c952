/**
 * The definitions the compiler writes are meant to be executed as they are. This runs three
 * templates' definitions with a deliberately small in-memory interpreter (decide, evolve, steps,
 * external bindings) built only from the definition and evaluateExpression: the scenarios of
 * SEEDS 000, 003 and 004 have to come out.
 */
import { describe, expect, it } from "vitest";
import { evaluateExpression } from "../definition/expressions.ts";
import type { Expression, Mapping, ProcessDefinitionV1 } from "../definition/v1.ts";
import { findTemplate } from "../templates/index.ts";
import { compileBoard } from "./compile.ts";

const limits = { timeoutMs: 1000, maxDepth: 500 };

interface Recorded {
  event: string;
  payload: Record<string, unknown>;
}

class MiniRuntime {
  readonly recorded: Recorded[] = [];
  readonly rejected: { command: string; reason: string }[] = [];
  readonly published: { channel: string; message: string; body: Record<string, unknown> }[] = [];
  private readonly streams = new Map<string, { state: Record<string, unknown>; version: number }>();
  private readonly processes = new Map<string, { events: Record<string, unknown> }>();
  private readonly queue: { command: string; payload: Record<string, unknown> }[] = [];
  private messageCount = 0;

  constructor(private readonly definition: ProcessDefinitionV1) {}

  private meta(name: string, version = 0) {
    this.messageCount++;
    return { messageId: `m${this.messageCount}`, messageName: name, correlationId: "c1", causationId: "c0", occurredAt: "2026-01-01T00:00:00.000Z", version };
  }

  private async value(expression: Expression | string, input: unknown): Promise<unknown> {
    const result = await evaluateExpression(typeof expression === "string" ? expression : expression.source, input, limits);
    if (!result.ok) throw new Error(`${typeof expression === "string" ? expression : expression.source}: ${result.message}`);
    return result.value;
  }

  private async mapped(mapping: Mapping, input: unknown): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [field, source] of Object.entries(mapping.fields)) {
      const value = await this.value(source, input);
      if (value !== undefined) out[field] = value;
    }
    return out;
  }

  send(command: string, payload: Record<string, unknown>): Promise<void> {
    this.queue.push({ command, payload });
    return this.drain();
  }

  async receive(message: string, body: Record<string, unknown>): Promise<void> {
    for (const system of this.definition.externalSystems) {
      for (const entry of system.inbound.filter((item) => item.message === message)) {
        this.queue.push({ command: entry.target.name, payload: await this.mapped(entry.mapping, { message: body, meta: this.meta(message) }) });
      }
    }
    return this.drain();
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) await this.handle(next.command, next.payload);
  }

  private async handle(commandName: string, command: Record<string, unknown>): Promise<void> {
    const aggregate = this.definition.aggregates.find((item) => item.handles.some((handled) => handled.name === commandName));
    if (!aggregate) throw new Error(`no aggregate handles ${commandName}`);
    const streamId = `${aggregate.id}/${String(await this.value(aggregate.idExpression, { command, meta: this.meta(commandName) }))}`;
    const stream = this.streams.get(streamId) ?? { state: Object.fromEntries(aggregate.state.map((field) => [field.name, field.initial])), version: 0 };
    const expected = aggregate.expectedVersionField;
    if (expected && command[expected] !== undefined && command[expected] !== stream.version) {
      this.rejected.push({ command: commandName, reason: `stale version ${String(command[expected])}, current ${stream.version}` });
      return;
    }
    const input = { command, state: stream.state, meta: this.meta(commandName, stream.version) };
    const rules = aggregate.decisions.find((decision) => decision.command.name === commandName)?.rules ?? [];
    for (const rule of rules) {
      if (rule.condition && !(await this.value(rule.condition, input))) continue;
      if (rule.outcome.kind === "reject") {
        this.rejected.push({ command: commandName, reason: rule.outcome.reason });
        return;
      }
      for (const emitted of rule.outcome.events) {
        const payload = await this.mapped(emitted.mapping, input);
        const evolution = aggregate.evolutions.find((item) => item.event.id === emitted.event.id);
        if (evolution) stream.state = { ...stream.state, ...(await this.mapped(evolution.set, { event: payload, state: stream.state })) };
        stream.version++;
        this.streams.set(streamId, stream);
        await this.happened(emitted.event.name, payload);
      }
      return;
    }
    throw new Error(`no rule of ${aggregate.name} applies to ${commandName}`);
  }

  private async happened(eventName: string, payload: Record<string, unknown>): Promise<void> {
    this.recorded.push({ event: eventName, payload });
    for (const manager of this.definition.processManagers) {
      for (const step of manager.steps) {
        const trigger = step.triggers.find((item) => item.kind === "event" && item.event.name === eventName);
        if (!trigger) continue;
        const key = String(await this.value(trigger.correlationKey, { event: payload, meta: this.meta(eventName), process: {} }));
        const instance = this.processes.get(key) ?? { events: {} };
        instance.events = { ...instance.events, [eventName]: payload };
        this.processes.set(key, instance);
        const input = { event: payload, meta: this.meta(eventName), process: { instanceId: key, correlationKey: key, startedAt: "2026-01-01T00:00:00.000Z", events: instance.events } };
        if (step.condition && !(await this.value(step.condition, input))) continue;
        this.queue.push({ command: step.send.command.name, payload: await this.mapped(step.send.mapping, input) });
      }
      for (const start of manager.start.filter((item) => item.event.name === eventName)) {
        const key = String(await this.value(start.correlationKey, { event: payload, meta: this.meta(eventName), process: {} }));
        const instance = this.processes.get(key) ?? { events: {} };
        this.processes.set(key, { events: { ...instance.events, [eventName]: payload } });
      }
    }
    for (const system of this.definition.externalSystems) {
      for (const entry of system.outbound.filter((item) => item.source.name === eventName)) {
        const channel = system.binding.kind === "redis" ? system.binding.channel : system.binding.kind;
        this.published.push({ channel, message: entry.message, body: await this.mapped(entry.mapping, { event: payload, meta: this.meta(eventName) }) });
      }
    }
  }
}

function runtimeFor(templateId: string): MiniRuntime {
  const template = findTemplate(templateId);
  if (!template) throw new Error(`no template ${templateId}`);
  const { definition } = compileBoard(template.board, { id: template.id, name: template.name });
  if (!definition) throw new Error(`${templateId} does not compile`);
  return new MiniRuntime(definition);
}

describe("compiled templates run", () => {
  it("batch allocation (SEEDS 004): a shrunken batch's line is reallocated and published on line_allocated", async () => {
    const runtime = runtimeFor("batch-allocation");
    await runtime.send("AddBatch", { batchref: "batch-1", sku: "RED-CHAIR", qty: 20 });
    await runtime.send("AddBatch", { batchref: "batch-2", sku: "RED-CHAIR", qty: 50 });
    await runtime.send("Allocate", { orderid: "order-1", sku: "RED-CHAIR", qty: 10 });
    await runtime.send("Allocate", { orderid: "order-2", sku: "RED-CHAIR", qty: 10 });
    await runtime.send("Allocate", { orderid: "order-3", sku: "BLUE-LAMP", qty: 1 });
    expect(runtime.published.map((item) => item.body)).toEqual([
      { orderid: "order-1", sku: "RED-CHAIR", qty: 10, batchref: "batch-1" },
      { orderid: "order-2", sku: "RED-CHAIR", qty: 10, batchref: "batch-1" },
    ]);
    expect(runtime.recorded.at(-1)).toEqual({ event: "OutOfStock", payload: { orderid: "order-3", sku: "BLUE-LAMP" } });

    await runtime.receive("change_batch_quantity", { batchref: "batch-1", qty: 15 });
    expect(runtime.recorded.slice(-3).map((item) => item.event)).toEqual(["LineDeallocated", "BatchQuantityChanged", "Allocated"]);
    expect(runtime.published.at(-1)).toEqual({
      channel: "line_allocated",
      message: "line_allocated",
      body: { orderid: "order-2", sku: "RED-CHAIR", qty: 10, batchref: "batch-2" },
    });
    await runtime.send("AddBatch", { batchref: "batch-1", sku: "RED-CHAIR", qty: 5 });
    expect(runtime.rejected.at(-1)).toEqual({ command: "AddBatch", reason: "A batch with this reference already exists." });
  });

  it("user registration (SEEDS 003): duplicates and stale versions are rejected", async () => {
    const runtime = runtimeFor("user-registration");
    await runtime.send("RegisterUser", { userId: "u1", userName: " ada ", password: "hash-1", email: "Ada@Example.org" });
    expect(runtime.recorded[0]).toMatchObject({ event: "UserRegistered", payload: { userId: "u1", userName: "ada", email: "ada@example.org", passwordHash: "hash-1" } });
    await runtime.send("RegisterUser", { userId: "u1", userName: "ada", password: "hash-2", email: "ada@example.org" });
    await runtime.send("RegisterUser", { userId: "u2", userName: "bob", password: "hash-3", email: "not-an-address" });
    expect(runtime.rejected).toEqual([
      { command: "RegisterUser", reason: "A user with this id is already registered." },
      { command: "RegisterUser", reason: "The email address is not valid." },
    ]);
    await runtime.send("UpdatePassword", { userId: "u1", newPassword: "hash-4", originalVersion: 1 });
    await runtime.send("UpdatePassword", { userId: "u1", newPassword: "hash-5", originalVersion: 1 });
    expect(runtime.recorded.at(-1)).toMatchObject({ event: "PasswordUpdated", payload: { passwordHash: "hash-4" } });
    expect(runtime.rejected.at(-1)).toEqual({ command: "UpdatePassword", reason: "stale version 1, current 2" });
  });

  it("insurance quote (SEEDS 000): an application is translated step by step into a quote", async () => {
    const runtime = runtimeFor("insurance-quote");
    await runtime.send("SubmitApplication", {
      applicationId: "app-7",
      applicant: { firstName: "Grace", lastName: "Hopper", dateOfBirth: "1906-12-09", postcode: "10001" },
      coverage: { product: "home", sumInsured: 300000, deductible: 500, startDate: "2026-02-01T00:00:00.000Z" },
      submittedAt: "2026-01-01T00:00:00.000Z",
    });
    expect(runtime.recorded.map((item) => item.event)).toEqual(["ApplicationSubmitted", "RiskAssessed", "RateCalculated", "QuoteGenerated"]);
    expect(runtime.recorded[1]?.payload).toMatchObject({ applicationId: "app-7", riskScore: 35, riskBand: "medium" });
    const quote = runtime.recorded[3]?.payload;
    expect(quote).toMatchObject({ quoteId: "app-7-Q", applicationId: "app-7", currency: "EUR" });
    expect(quote?.lines).toEqual([
      { coverage: "home", annualPremium: 607.5, monthlyPremium: 50.62 }, // $round rounds half to even
      { coverage: "liability", annualPremium: 126, monthlyPremium: 10.5 },
    ]);
    expect(quote?.totalAnnualPremium).toBe(733.5);
  });
});
