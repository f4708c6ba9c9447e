import { describe, expect, it } from "vitest";

import { formatFormFields, parseFormFields } from "./formFields";

describe("form fields as text", () => {
  it("round-trips", () => {
    const fields = [
      { name: "order_number", label: "Order number", required: true },
      { name: "product", label: "Product", required: false },
    ];
    expect(parseFormFields(formatFormFields(fields))).toEqual(fields);
  });

  it("is lenient with blank lines, spaces and a missing label", () => {
    expect(parseFormFields("\n  lang \n\n vip | VIP customer | Required \n")).toEqual([
      { name: "lang", label: "lang", required: false },
      { name: "vip", label: "VIP customer", required: true },
    ]);
  });
});
