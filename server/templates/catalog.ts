/** The templates Sagaboard ships, as builder functions; index.ts turns them into placed boards. */
import type { BoardBuilder } from "./builder.ts";
import { batchAllocation } from "./batch-allocation.ts";
import { insuranceQuoteChoreography } from "./insurance-quote-choreography.ts";
import { insuranceQuote } from "./insurance-quote.ts";
import { orderFulfilment } from "./order-fulfilment.ts";
import { productCatalogCqrs } from "./product-catalog-cqrs.ts";
import { SAMPLE_SKUS } from "./sample-data.ts";
import { userRegistration } from "./user-registration.ts";

export interface TemplateSource {
  id: string;
  name: string;
  description: string;
  build: (board: BoardBuilder) => void;
  /** Commands the seeded example runs once after it is deployed, so pressing Run works at once. */
  exampleSetup?: ExampleCommand[];
}

export interface ExampleCommand {
  command: string;
  payload: Record<string, unknown>;
}

export const templateSources: TemplateSource[] = [
  {
    id: "insurance-quote",
    name: "Application Premium Process",
    description:
      "Insurance quote, orchestrated: a process manager in Underwriting turns ApplicationSubmitted into AssessRisk (Risk), RiskAssessed into CalculateRate (Rate) and RateCalculated into GenerateQuote, until QuoteGenerated completes it.",
    build: insuranceQuote,
  },
  {
    id: "user-registration",
    name: "User registration",
    description:
      "Event-sourced users: RegisterUser and UpdatePassword on a User aggregate, with optimistic concurrency on UpdatePassword's originalVersion and a user directory on the read side.",
    build: userRegistration,
  },
  {
    id: "insurance-quote-choreography",
    name: "Application Premium Process (choreographed)",
    description:
      "The insurance quote without a process manager: Risk reacts to ApplicationSubmitted, Rate to RiskAssessed and Underwriting to RateCalculated, each translating the event into its own command.",
    build: insuranceQuoteChoreography,
  },
  {
    id: "order-fulfilment",
    name: "Order fulfilment",
    description:
      "Orders, Inventory, Payments and Shipping react to each other's events. Orders keeps its own view of stock from Inventory's restocks and rejects an order it cannot fill before anything is reserved or paid; only Orders validates, confirms or rejects an order, and a declined payment releases the reserved stock. Book stock with RestockItem (Run → Send a command); the example process starts with stock of the sample SKUs.",
    build: orderFulfilment,
    exampleSetup: SAMPLE_SKUS.map((sku) => ({ command: "RestockItem", payload: { sku, quantity: 1_000 } })),
  },
  {
    id: "product-catalog-cqrs",
    name: "Product catalog (CQRS over NATS)",
    description:
      "A Catalog write model publishes product.inserted on NATS; the Storefront projects its own product list; supplier products arrive on a subject read by a queue group.",
    build: productCatalogCqrs,
  },
  {
    id: "batch-allocation",
    name: "Batch allocation (Redis)",
    description:
      "change_batch_quantity messages from Redis become ChangeBatchQuantity; lines that no longer fit are reallocated, and every Allocated is published on the line_allocated channel.",
    build: batchAllocation,
  },
];
