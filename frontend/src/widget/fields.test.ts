import { describe, expect, it } from "vitest";

import { cleanFields, MAX_FIELDS } from "./fields";

describe("hidden fields", () => {
  it("sends good fields as text and warns about each one left out", () => {
    const warnings: string[] = [];
    const out = cleanFields(
      {
        plan: " pro ",
        seats: 12,
        trial: false,
        gone: null,
        Plan: "x",
        "order-number": "A-17",
        long: "x".repeat(257),
        multi: "a\nb",
        nested: { a: 1 },
      },
      (m) => warnings.push(m),
    );
    expect(out).toEqual({ plan: "pro", seats: "12", trial: "false" });
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toContain('"Plan"');
    expect(warnings.join("\n")).toContain("order_number");
    expect(warnings.join("\n")).toContain("at most 256");
    expect(warnings.every((w) => w.startsWith("Parley: hidden field "))).toBe(true);
  });

  it("keeps at most 20, warning about the rest", () => {
    const warnings: string[] = [];
    const many = Object.fromEntries(Array.from({ length: MAX_FIELDS + 2 }, (_, i) => [`f${i}`, "v"]));
    expect(Object.keys(cleanFields(many, (m) => warnings.push(m)))).toHaveLength(MAX_FIELDS);
    expect(warnings).toHaveLength(2);
    expect(cleanFields("nope", (m) => warnings.push(m))).toEqual({});
    expect(warnings).toHaveLength(3);
    expect(cleanFields(null, () => {
      throw new Error("no warning for none");
    })).toEqual({});
  });
});
