import { describe, expect, it } from "vitest";

import type { ConditionJson } from "./routingApi";
import {
  draftFromRule,
  fromJson,
  humanRuleError,
  move,
  newRule,
  parsePairs,
  rootFromJson,
  rootToJson,
  ruleToJson,
  toggleRaw,
  type RuleDraft,
} from "./rules";

const PAGE_DE = { field: "page", op: "matches", value: "/de/" };
const NESTED = {
  all: [
    { field: "product", op: "equals", value: "billing" },
    {
      any: [
        { field: "language", op: "one_of", value: ["de", "at"] },
        PAGE_DE,
      ],
    },
  ],
};

describe("the rule editor's model", () => {
  it("round-trips conditions through the editor's form unchanged", () => {
    const single: ConditionJson = { field: "question", op: "contains", value: "refund" };
    const anyOf: ConditionJson = { any: [single, { field: "email", op: "equals", value: "x@y" }] };
    for (const json of [NESTED, single, anyOf]) {
      const root = rootFromJson(json);
      expect(root).not.toBeNull();
      expect(root!.kind === "all" || root!.kind === "any").toBe(true);
      expect(rootToJson(root!)).toEqual(json);
    }
  });

  it("edits one_of as comma-separated values", () => {
    const root = rootFromJson(NESTED)!;
    const group = root.items[1];
    expect(group.kind).toBe("any");
    if (group.kind !== "any") return;
    expect(group.items[0]).toEqual({ kind: "test", field: "language", op: "one_of", value: "de, at" });
    group.items[0] = { kind: "test", field: "language", op: "one_of", value: " de ,ch,, " };
    expect(rootToJson(root)).toEqual({
      all: [NESTED.all[0], { any: [{ field: "language", op: "one_of", value: ["de", "ch"] }, PAGE_DE] }],
    });
  });

  it("leaves what the form cannot show to the raw JSON editor", () => {
    expect(fromJson({ field: "x", op: "near", value: "y" })).toBeNull();
    expect(fromJson({ all: [] })).toBeNull();
    expect(fromJson({ field: "lang", op: "one_of", value: ["a,b"] })).toBeNull();
    const draft = draftFromRule({ name: "odd", condition: { all: [] } as ConditionJson, queue: "q", priority: 1 });
    expect(draft.raw).toBe(true);
    expect(JSON.parse(draft.json)).toEqual({ all: [] });
    // The server judges it: sent as written.
    expect(ruleToJson(draft, 0).condition).toEqual({ all: [] });
  });

  it("turns drafts into the JSON form, naming the rule when something is missing", () => {
    const draft: RuleDraft = { ...newRule("billing-de"), name: " German ", priority: "5" };
    draft.condition.items[0] = { kind: "test", field: "product", op: "equals", value: "billing" };
    expect(ruleToJson(draft, 0)).toEqual({
      name: "German",
      queue: "billing-de",
      priority: 5,
      condition: { field: "product", op: "equals", value: "billing" },
    });
    expect(() => ruleToJson({ ...draft, priority: "500" }, 2)).toThrow(/^Rule #3: the priority/);
    const empty = { ...draft, condition: { kind: "all" as const, items: [] } };
    expect(() => ruleToJson(empty, 0)).toThrow(/Rule #1: .*at least one condition/);
    expect(() => ruleToJson({ ...draft, raw: true, json: "{" }, 1)).toThrow(/Rule #2: .*not valid JSON/);
  });

  it("switches between the form and raw JSON", () => {
    const draft = draftFromRule({ name: "", condition: NESTED, queue: "q", priority: 0 });
    const raw = toggleRaw(draft);
    expect("error" in raw).toBe(false);
    if ("error" in raw) return;
    expect(raw.raw).toBe(true);
    expect(JSON.parse(raw.json)).toEqual(NESTED);
    const back = toggleRaw({ ...raw, json: '{"field": "name", "op": "equals", "value": "Vic"}' });
    if ("error" in back) throw new Error(back.error);
    expect(back.raw).toBe(false);
    expect(rootToJson(back.condition)).toEqual({ field: "name", op: "equals", value: "Vic" });
    expect(toggleRaw({ ...raw, json: "nope" })).toEqual({ error: expect.stringMatching(/parse/) });
  });

  it("moves rules, numbers server errors from 1, and reads key=value lines", () => {
    expect(move([1, 2, 3], 0, 1)).toEqual([2, 1, 3]);
    expect(move([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
    expect(humanRuleError("rule 0: condition.value: not a valid pattern")).toBe(
      "rule #1: condition.value: not a valid pattern",
    );
    expect(parsePairs("product = billing\nlanguage=de\n\nbad\n=x\nnote=a=b, c")).toEqual({
      product: "billing",
      language: "de",
      note: "a=b, c",
    });
  });
});
