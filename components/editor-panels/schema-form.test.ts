import { describe, expect, it } from "vitest";
import type { PayloadSchemaV1 } from "@/server/definition/v1.ts";
import { emptyForm, formFields, readForm, sampleForm, setDraftAt, violationsByField } from "./schema-form.ts";

const schema: PayloadSchemaV1 = {
  type: "object",
  properties: {
    applicationId: { type: "string" },
    amount: { type: "number" },
    drivers: { type: "integer", description: "How many people drive" },
    urgent: { type: "boolean" },
    submittedAt: { type: "string", format: "date-time" },
    cover: { type: "string", enum: ["basic", "full"] },
    address: { type: "object", properties: { city: { type: "string" }, zip: { type: "string" } }, required: ["city"] },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["applicationId", "amount", "cover", "address"],
};

describe("payload forms", () => {
  it("turns every schema type into a field, with required markers and paths", () => {
    const fields = formFields(schema);
    expect(fields.map((field) => [field.name, field.kind, field.required])).toEqual([
      ["applicationId", "text", true],
      ["amount", "number", true],
      ["drivers", "integer", false],
      ["urgent", "boolean", false],
      ["submittedAt", "dateTime", false],
      ["cover", "enum", true],
      ["address", "object", true],
      ["tags", "array", false],
    ]);
    const address = fields[6]!;
    expect(address.kind === "object" && address.fields.map((field) => [field.path, field.required])).toEqual([
      ["address.city", true],
      ["address.zip", false],
    ]);
    expect(fields[2]!.description).toBe("How many people drive");
  });

  it("reports missing required fields and values of the wrong type, by path", () => {
    const fields = formFields(schema);
    const empty = readForm(schema, fields, emptyForm(fields));
    expect(empty.errors).toMatchObject({ applicationId: "is required", amount: "is required", cover: "is required", "address.city": "is required" });

    let draft = setDraftAt(emptyForm(fields), "amount", "12x");
    draft = setDraftAt(draft, "drivers", "1.5");
    draft = setDraftAt(draft, "submittedAt", "not a date");
    const { errors } = readForm(schema, fields, draft);
    expect(errors.amount).toBe("expected a number");
    expect(errors.drivers).toBe("expected a whole number");
    expect(errors.submittedAt).toBe("expected a date and time");
  });

  it("fills with sample data that the runtime's own check accepts, different per seed", () => {
    const fields = formFields(schema);
    const now = new Date("2026-11-23T09:00:00Z");
    const first = readForm(schema, fields, sampleForm(fields, 1, now));
    const second = readForm(schema, fields, sampleForm(fields, 2, now));
    expect(first.errors).toEqual({});
    expect(first.payload.applicationId).not.toEqual(second.payload.applicationId);
    expect(typeof first.payload.amount).toBe("number");
    expect(Number.isInteger(first.payload.drivers)).toBe(true);
    expect(first.payload.submittedAt).toBe(new Date(2026, 10, 23, new Date(now).getHours(), new Date(now).getMinutes()).toISOString());
    expect(["basic", "full"]).toContain(first.payload.cover);
    expect(first.payload.address).toMatchObject({ city: expect.any(String) });
    expect(first.payload.tags).toHaveLength(1);
  });

  it("fills names, dates, postcodes and amounts with values a person would type", () => {
    const applicant = {
      type: "object" as const,
      required: ["firstName", "lastName", "dateOfBirth", "postcode", "email", "deductible", "sumInsured", "phoneNumber"],
      properties: {
        firstName: { type: "string" as const },
        lastName: { type: "string" as const },
        dateOfBirth: { type: "string" as const, description: "YYYY-MM-DD" },
        postcode: { type: "string" as const },
        email: { type: "string" as const },
        phoneNumber: { type: "string" as const },
        deductible: { type: "number" as const },
        sumInsured: { type: "number" as const },
      },
    };
    const fields = formFields(applicant);
    for (const seed of [1, 7, 4242]) {
      const { payload, errors } = readForm(applicant, fields, sampleForm(fields, seed, new Date("2026-11-23T09:00:00Z")));
      expect(errors).toEqual({});
      expect(payload.firstName).toMatch(/^\p{Lu}\p{Ll}+$/u);
      expect(payload.lastName).toMatch(/^\p{Lu}\p{Ll}+$/u);
      expect(payload.dateOfBirth).toMatch(/^(19|20)\d\d-\d\d-\d\d$/);
      expect(Number.isNaN(Date.parse(String(payload.dateOfBirth)))).toBe(false);
      expect(payload.postcode).toMatch(/^\d{5}$/);
      expect(payload.email).toMatch(/^[a-z.]+\d+@example\.com$/);
      expect(payload.phoneNumber).toMatch(/^\+49 30 \d{7}$/);
      expect(payload.deductible as number).toBeLessThan(payload.sumInsured as number);
    }
  });

  it("edits nested and list values by path", () => {
    const fields = formFields(schema);
    let draft = setDraftAt(emptyForm(fields), "address.city", "Oslo");
    draft = setDraftAt(draft, "tags", ["a", "b"]);
    draft = setDraftAt(draft, "tags[1]", "c");
    const { payload } = readForm(schema, fields, draft);
    expect(payload.address).toEqual({ city: "Oslo" });
    expect(payload.tags).toEqual(["a", "c"]);
  });

  it("splits server violations by field", () => {
    expect(violationsByField(["amount: expected a number, got string", "address.city: is required", "amount: too big", "payload: expected an object"])).toEqual({
      amount: "expected a number, got string; too big",
      "address.city": "is required",
      payload: "expected an object",
    });
  });
});
