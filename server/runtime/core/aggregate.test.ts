import { describe, expect, it } from "vitest";
import { templateDefinition } from "../testing/boards.ts";
import { aggregateSpecification } from "./spec.ts";
import type { DomainCommand, MessageMeta } from "./types.ts";

const users = templateDefinition("user-registration");
const insurance = templateDefinition("insurance-quote");
const user = aggregateSpecification(users.aggregates.find((aggregate) => aggregate.name === "User")!);
const riskAssessment = aggregateSpecification(insurance.aggregates.find((aggregate) => aggregate.name === "RiskAssessment")!);

const ref = (definition: typeof users, name: string) => {
  const found = [...definition.commands, ...definition.events].find((message) => message.name === name);
  if (!found) throw new Error(`no message ${name}`);
  return { id: found.id, name: found.name };
};

const meta = (name: string): MessageMeta => ({
  messageId: `m-${name}`,
  messageName: name,
  correlationId: "c-1",
  causationId: "c-1",
  occurredAt: "2026-11-23T10:00:00.000Z",
  version: 0,
});

const command = (definition: typeof users, name: string, payload: Record<string, unknown>): DomainCommand => ({ command: ref(definition, name), payload, meta: meta(name) });
const event = (definition: typeof users, name: string, payload: Record<string, unknown>) => ({ event: ref(definition, name), payload });

const registered = event(users, "UserRegistered", { userId: "u1", userName: "ada", email: "ada@example.org", passwordHash: "h1", registeredAt: "2026-11-23T09:00:00.000Z" });

describe("User aggregate (user-registration template)", () => {
  it("registers a new user with a trimmed name and a lower-cased email", () =>
    user()
      .when(command(users, "RegisterUser", { userId: "u1", userName: "  ada ", password: "h1", email: "Ada@Example.org" }))
      .then({
        kind: "accepted",
        ruleId: expect.any(String),
        events: [
          {
            event: ref(users, "UserRegistered"),
            payload: { userId: "u1", userName: "ada", email: "ada@example.org", passwordHash: "h1", registeredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) },
          },
        ],
      }));

  it("rejects a second registration of the same id with the rule's reason", () =>
    user(registered)
      .when(command(users, "RegisterUser", { userId: "u1", userName: "ada", password: "h2", email: "ada@example.org" }))
      .thenMatches({ kind: "rejected", code: "rule", reason: "A user with this id is already registered." }));

  it("tries rules in order: an invalid email is reported before a short name", () =>
    user()
      .when(command(users, "RegisterUser", { userId: "u2", userName: "x", password: "h", email: "not-an-email" }))
      .thenMatches({ kind: "rejected", reason: "The email address is not valid." }));

  it("accepts UpdatePassword carrying the current version", () =>
    user(registered)
      .when(command(users, "UpdatePassword", { userId: "u1", newPassword: "h2", originalVersion: 1 }))
      .thenMatches({ kind: "accepted", events: [{ event: ref(users, "PasswordUpdated"), payload: { userId: "u1", passwordHash: "h2" } }] }));

  it("rejects UpdatePassword carrying a stale version as a concurrency conflict", () =>
    user(registered, event(users, "PasswordUpdated", { userId: "u1", passwordHash: "h2", updatedAt: "2026-11-23T09:30:00.000Z" }))
      .when(command(users, "UpdatePassword", { userId: "u1", newPassword: "h3", originalVersion: 1 }))
      .thenMatches({ kind: "rejected", code: "concurrency", reason: expect.stringContaining("version 1") }));

  it("evolves state field by field: password changes are counted", () =>
    user(registered, event(users, "PasswordUpdated", { userId: "u1", passwordHash: "h2", updatedAt: "2026-11-23T09:30:00.000Z" }))
      .when(command(users, "UpdatePassword", { userId: "u1", newPassword: "h2" }))
      .thenCheck((decision, current) => {
        expect(current.version).toBe(2);
        expect(current.state.fields).toMatchObject({ registered: true, passwordHash: "h2", passwordChanges: 1, userName: "ada" });
        expect(decision).toMatchObject({ kind: "rejected", reason: "The new password must differ from the current one." });
      }));

  it("rejects a command it has no rules for", () =>
    user()
      .when(command(insurance, "AssessRisk", { applicationId: "a" }))
      .thenMatches({ kind: "rejected", code: "not-handled" }));
});

describe("RiskAssessment aggregate (insurance-quote template)", () => {
  const coverage = { product: "motor", sumInsured: 200_000, deductible: 500, startDate: "2027-01-01T00:00:00.000Z" };
  const applicant = { firstName: "Ada", lastName: "Lovelace", dateOfBirth: "1815-12-10", postcode: "W1" };

  it("scores the risk from the cover", () =>
    riskAssessment()
      .when(command(insurance, "AssessRisk", { applicationId: "a1", applicant, coverage }))
      .thenMatches({ kind: "accepted", events: [{ event: ref(insurance, "RiskAssessed"), payload: { applicationId: "a1", riskScore: 45, riskBand: "low" } }] }));

  it("declines cover above the underwriting limit", () =>
    riskAssessment()
      .when(command(insurance, "AssessRisk", { applicationId: "a1", applicant, coverage: { ...coverage, sumInsured: 6_000_000 } }))
      .thenMatches({ kind: "accepted", events: [{ event: ref(insurance, "RiskDeclined"), payload: { applicationId: "a1" } }] }));

  it("assesses each application once", () =>
    riskAssessment(event(insurance, "RiskAssessed", { applicationId: "a1", riskScore: 45, riskBand: "low", assessedAt: "2026-11-23T09:00:00.000Z" }))
      .when(command(insurance, "AssessRisk", { applicationId: "a1", applicant, coverage }))
      .thenMatches({ kind: "rejected", code: "rule", reason: "Risk has already been assessed for this application." }));

  it("fails loudly when a rule's expression cannot be evaluated", async () => {
    const broken = structuredClone(insurance.aggregates.find((aggregate) => aggregate.name === "RiskAssessment")!);
    broken.decisions[0]!.rules[0]!.condition = { input: "decision", source: "$undefinedFunction(command)" };
    await aggregateSpecification(broken)()
      .when(command(insurance, "AssessRisk", { applicationId: "a1", applicant, coverage }))
      .thenThrows(/rule .* condition/);
  });
});
