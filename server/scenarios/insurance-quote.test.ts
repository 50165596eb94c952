/** SEEDS 000, orchestrated: Underwriting's process manager issues every command. */
import { insuranceScenario } from "./insurance.ts";

insuranceScenario("insurance-quote", { AssessRisk: "Underwriting", CalculateRate: "Underwriting", GenerateQuote: "Underwriting" });
