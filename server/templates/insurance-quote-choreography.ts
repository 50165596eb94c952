/**
 * SEEDS 000, choreographed: the same three contexts and messages as the orchestrated quote, but
 * there is no process manager. Each context subscribes to the previous context's public event and
 * translates it into its own command, so every step lives in the context that reacts.
 */
import type { BoardBuilder } from "./builder.ts";
import { insuranceContexts } from "./insurance-quote.ts";

export function insuranceQuoteChoreography(board: BoardBuilder): void {
  const { underwriting, risk, rate, messages } = insuranceContexts(board);
  const retry = { maxAttempts: 8, initialDelayMs: 500, multiplier: 2, maxDelayMs: 60_000 };
  board.policy(risk, "assess-submitted-applications", "Assess submitted applications", {
    description: "Risk listens to Underwriting's ApplicationSubmitted and asks itself to AssessRisk.",
    on: [messages.applicationSubmitted],
    issue: messages.assessRisk,
    correlationKey: "event.applicationId",
    mapping: { applicationId: "event.applicationId", applicant: "event.applicant", coverage: "event.coverage" },
    retry,
  });
  board.policy(rate, "rate-assessed-risks", "Rate assessed risks", {
    description: "Rate listens to RiskAssessed (and the application it belongs to) and asks itself to CalculateRate.",
    on: [messages.riskAssessed],
    issue: messages.calculateRate,
    correlationKey: "event.applicationId",
    mapping: {
      applicationId: "event.applicationId",
      riskScore: "event.riskScore",
      riskBand: "event.riskBand",
      coverage: "process.events.ApplicationSubmitted.coverage",
    },
    retry,
  });
  board.policy(underwriting, "quote-rated-applications", "Quote rated applications", {
    description: "Underwriting listens to RateCalculated and dispatches GenerateQuote to QuoteGenerator.",
    on: [messages.rateCalculated],
    issue: messages.generateQuote,
    correlationKey: "event.applicationId",
    mapping: {
      quoteId: "event.applicationId & '-Q'",
      applicationId: "event.applicationId",
      currency: "event.currency",
      premiumRates: "event.premiumRates",
      deductible: "process.events.ApplicationSubmitted.coverage.deductible",
    },
    retry,
  });
}
