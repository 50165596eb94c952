/** SEEDS 000, choreographed: the same outcome, each context reacting with its own command. */
import { insuranceScenario } from "./insurance.ts";

insuranceScenario("insurance-quote-choreography", { AssessRisk: "Risk", CalculateRate: "Rate", GenerateQuote: "Underwriting" });
