/**
 * SEEDS 000: the Application Premium Process, orchestrated. A process manager living in
 * Underwriting translates each context's event into the next context's command; Risk and Rate
 * only know their own language.
 */
import type { BoardBuilder } from "./builder.ts";
import { described, listOf, object, oneOf, payload } from "./builder.ts";

export const applicant = object({ firstName: "string", lastName: "string", dateOfBirth: described("string", "YYYY-MM-DD"), postcode: "string" });
export const coverage = object({
  product: oneOf("home", "motor", "life"),
  sumInsured: described("number", "EUR"),
  deductible: described("number", "EUR"),
  startDate: "date-time",
});
export const premiumRate = object({ coverage: "string", annualRate: described("number", "EUR per year") });
export const quoteLine = object({ coverage: "string", annualPremium: "number", monthlyPremium: "number" });

/** The messages and aggregates both insurance templates share; policies differ. */
export function insuranceContexts(board: BoardBuilder) {
  const underwriting = board.context("underwriting", "Underwriting", {
    color: "#2563eb",
    description: "Takes applications and issues premium quotes; owns the Application Premium Process.",
  });
  const risk = board.context("risk", "Risk", { color: "#dc2626", description: "Scores the risk of an application (domain service RiskAssessor)." });
  const rate = board.context("rate", "Rate", { color: "#16a34a", description: "Turns a risk score into premium rates (domain service RateCalculator)." });

  const submitApplication = board.command(
    underwriting,
    "submit-application",
    "SubmitApplication",
    payload({ applicationId: "string", applicant, coverage, submittedAt: "date-time" }),
    "An applicant asks for a premium quote.",
  );
  const applicationSubmitted = board.event(
    underwriting,
    "application-submitted",
    "ApplicationSubmitted",
    payload({ applicationId: "string", applicant, coverage, submittedAt: "date-time" }),
    { lifecycle: "start", visibility: "public", description: "Starts the Application Premium Process." },
  );
  const application = board.aggregate(underwriting, "application", "Application", {
    idExpression: "command.applicationId",
    state: [
      { name: "submitted", type: "boolean", initial: false },
      { name: "product", type: "string", initial: "" },
    ],
  });
  board
    .decide(application, submitApplication, [
      { when: "state.submitted", reject: "This application has already been submitted." },
      { when: "command.coverage.deductible > command.coverage.sumInsured", reject: "The deductible cannot exceed the sum insured." },
      {
        emit: [
          {
            event: applicationSubmitted,
            mapping: { applicationId: "command.applicationId", applicant: "command.applicant", coverage: "command.coverage", submittedAt: "command.submittedAt" },
          },
        ],
      },
    ])
    .evolve(application, applicationSubmitted, { submitted: "true", product: "event.coverage.product" });

  const assessRisk = board.command(risk, "assess-risk", "AssessRisk", payload({ applicationId: "string", applicant, coverage }), "Risk's own request: score this applicant and cover.");
  const riskAssessed = board.event(
    risk,
    "risk-assessed",
    "RiskAssessed",
    payload({ applicationId: "string", riskScore: described("number", "0 (no risk) to 100"), riskBand: oneOf("low", "medium", "high"), assessedAt: "date-time" }),
    { visibility: "public" },
  );
  const riskDeclined = board.event(risk, "risk-declined", "RiskDeclined", payload({ applicationId: "string", reason: "string", declinedAt: "date-time" }), {
    visibility: "public",
    lifecycle: "fail",
    description: "The cover asked for is beyond what Risk will assess; the process fails.",
  });
  const riskAssessment = board.aggregate(risk, "risk-assessment", "RiskAssessment", {
    description: "RiskAssessor: scores each application once.",
    idExpression: "command.applicationId",
    state: [
      { name: "assessed", type: "boolean", initial: false },
      { name: "riskScore", type: "number", initial: 0 },
    ],
  });
  board
    .decide(riskAssessment, assessRisk, [
      { when: "state.assessed", reject: "Risk has already been assessed for this application." },
      {
        when: "command.coverage.sumInsured > 5000000",
        emit: [
          {
            event: riskDeclined,
            mapping: { applicationId: "command.applicationId", reason: "'Sum insured above the 5,000,000 EUR underwriting limit'", declinedAt: "$now()" },
          },
        ],
      },
      {
        emit: [
          {
            event: riskAssessed,
            mapping: {
              applicationId: "command.applicationId",
              riskScore:
                "$min([100, $round(10 + command.coverage.sumInsured / 20000 + (command.coverage.product = 'motor' ? 25 : command.coverage.product = 'home' ? 10 : 15), 1)])",
              riskBand: "command.coverage.sumInsured > 1000000 ? 'high' : command.coverage.sumInsured > 250000 ? 'medium' : 'low'",
              assessedAt: "$now()",
            },
          },
        ],
      },
    ])
    .evolve(riskAssessment, riskAssessed, { assessed: "true", riskScore: "event.riskScore" })
    .evolve(riskAssessment, riskDeclined, { assessed: "true" });

  const calculateRate = board.command(
    rate,
    "calculate-rate",
    "CalculateRate",
    payload({ applicationId: "string", riskScore: "number", riskBand: oneOf("low", "medium", "high"), coverage }),
    "Rate's own request: price this cover for this risk.",
  );
  const rateCalculated = board.event(
    rate,
    "rate-calculated",
    "RateCalculated",
    payload({ applicationId: "string", currency: oneOf("EUR"), premiumRates: listOf(premiumRate), calculatedAt: "date-time" }),
    { visibility: "public" },
  );
  const rateCalculation = board.aggregate(rate, "rate-calculation", "RateCalculation", {
    description: "RateCalculator: premium rates per cover from the risk score.",
    idExpression: "command.applicationId",
    state: [{ name: "calculated", type: "boolean", initial: false }],
  });
  board
    .decide(rateCalculation, calculateRate, [
      { when: "state.calculated", reject: "Rates have already been calculated for this application." },
      {
        emit: [
          {
            event: rateCalculated,
            mapping: {
              applicationId: "command.applicationId",
              currency: "'EUR'",
              premiumRates:
                "[{ 'coverage': command.coverage.product, 'annualRate': $round(command.coverage.sumInsured * 0.0015 * (1 + command.riskScore / 100), 2) }, { 'coverage': 'liability', 'annualRate': $round(90 * (command.riskBand = 'high' ? 2 : command.riskBand = 'medium' ? 1.4 : 1), 2) }]",
              calculatedAt: "$now()",
            },
          },
        ],
      },
    ])
    .evolve(rateCalculation, rateCalculated, { calculated: "true" });

  const generateQuote = board.command(
    underwriting,
    "generate-quote",
    "GenerateQuote",
    payload({ quoteId: "string", applicationId: "string", currency: "string", premiumRates: listOf(premiumRate), deductible: "number" }),
    "Dispatched locally to QuoteGenerator, which records the quote lines on PremiumQuote.",
  );
  const quoteGenerated = board.event(
    underwriting,
    "quote-generated",
    "QuoteGenerated",
    payload({
      quoteId: "string",
      applicationId: "string",
      currency: "string",
      lines: listOf(quoteLine),
      totalAnnualPremium: "number",
      validUntil: "date-time",
    }),
    { visibility: "public", lifecycle: "complete", description: "The last quote line is recorded; the process ends." },
  );
  const premiumQuote = board.aggregate(underwriting, "premium-quote", "PremiumQuote", {
    description: "QuoteGenerator interprets the premium rates as quote lines and records them here.",
    idExpression: "command.quoteId",
    state: [
      { name: "generated", type: "boolean", initial: false },
      { name: "totalAnnualPremium", type: "number", initial: 0 },
    ],
  });
  board
    .decide(premiumQuote, generateQuote, [
      { when: "state.generated", reject: "This quote has already been generated." },
      { when: "$count(command.premiumRates) = 0", reject: "A quote needs at least one premium rate." },
      {
        emit: [
          {
            event: quoteGenerated,
            mapping: {
              quoteId: "command.quoteId",
              applicationId: "command.applicationId",
              currency: "command.currency",
              lines:
                "[command.premiumRates.{ 'coverage': coverage, 'annualPremium': annualRate, 'monthlyPremium': $round(annualRate / 12, 2) }]",
              totalAnnualPremium: "$round($sum(command.premiumRates.annualRate), 2)",
              validUntil: "$fromMillis($millis() + 30 * 86400000)",
            },
          },
        ],
      },
    ])
    .evolve(premiumQuote, quoteGenerated, { generated: "true", totalAnnualPremium: "event.totalAnnualPremium" });

  board.actor(null, "applicant", "Applicant", [submitApplication], "A person or broker asking for cover.");

  board.readModel(underwriting, "quotes-by-application", "QuotesByApplication", {
    description: "One row per application: where it stands and what it costs.",
    fields: [
      { name: "applicationId", type: "string" },
      { name: "applicantName", type: "string" },
      { name: "product", type: "string" },
      { name: "status", type: "string" },
      { name: "riskBand", type: "string" },
      { name: "quoteId", type: "string" },
      { name: "totalAnnualPremium", type: "number" },
      { name: "currency", type: "string" },
      { name: "updatedAt", type: "date-time" },
    ],
    updates: [
      {
        event: applicationSubmitted,
        key: "event.applicationId",
        set: {
          applicationId: "event.applicationId",
          applicantName: "event.applicant.firstName & ' ' & event.applicant.lastName",
          product: "event.coverage.product",
          status: "'submitted'",
          updatedAt: "event.submittedAt",
        },
      },
      { event: riskAssessed, key: "event.applicationId", set: { status: "'risk assessed'", riskBand: "event.riskBand", updatedAt: "event.assessedAt" } },
      { event: riskDeclined, key: "event.applicationId", set: { status: "'declined'", updatedAt: "event.declinedAt" } },
      { event: rateCalculated, key: "event.applicationId", set: { status: "'rated'", currency: "event.currency", updatedAt: "event.calculatedAt" } },
      {
        event: quoteGenerated,
        key: "event.applicationId",
        set: { status: "'quoted'", quoteId: "event.quoteId", totalAnnualPremium: "event.totalAnnualPremium", updatedAt: "meta.occurredAt" },
      },
    ],
  });

  return {
    underwriting,
    risk,
    rate,
    messages: { applicationSubmitted, assessRisk, riskAssessed, calculateRate, rateCalculated, generateQuote, quoteGenerated },
  };
}

export function insuranceQuote(board: BoardBuilder): void {
  const { underwriting, messages } = insuranceContexts(board);
  const retry = { maxAttempts: 8, initialDelayMs: 500, multiplier: 2, maxDelayMs: 60_000 };
  board.policy(underwriting, "request-risk-assessment", "Request risk assessment", {
    description: "Translates ApplicationSubmitted into Risk's AssessRisk.",
    on: [messages.applicationSubmitted],
    issue: messages.assessRisk,
    correlationKey: "event.applicationId",
    mapping: { applicationId: "event.applicationId", applicant: "event.applicant", coverage: "event.coverage" },
    retry,
  });
  board.policy(underwriting, "request-rate", "Request rate", {
    description: "Translates RiskAssessed into Rate's CalculateRate.",
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
  board.policy(underwriting, "request-quote", "Request quote", {
    description: "Translates RateCalculated into GenerateQuote, dispatched locally to QuoteGenerator.",
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
