/**
 * The SKUs the Run panel's sample data orders (components/editor-panels/schema-form.ts); the
 * order-fulfilment example is seeded with stock of each, so its first Run can succeed.
 */
export const SAMPLE_SKUS = ["LAMP", "DESK", "CHAIR", "SOFA", "RUG"] as const;
