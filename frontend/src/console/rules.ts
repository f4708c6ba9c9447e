// The rule editor's model: routing rules as the console edits them, and their conversion to and
// from the JSON form the server stores (src/parley/domain/rules.py). Pure, so it is tested alone.

import { ApiError } from "./api";
import type { ConditionJson, RuleJson, SavedRule } from "./routingApi";

export type Op = "equals" | "contains" | "one_of" | "matches";

export const OPS: { value: Op; label: string }[] = [
  { value: "equals", label: "equals" },
  { value: "contains", label: "contains" },
  { value: "one_of", label: "is one of" },
  { value: "matches", label: "matches pattern" },
];

/** The standard fields a condition can test; a workgroup's extra form fields come on top. */
export const STANDARD_FIELDS = ["name", "email", "question", "page"];

/** A test; for one_of, ``value`` holds the values comma-separated. */
export interface TestNode {
  kind: "test";
  field: string;
  op: Op;
  value: string;
}

export interface GroupNode {
  kind: "all" | "any";
  items: CondNode[];
}

export type CondNode = TestNode | GroupNode;

export interface RuleDraft {
  name: string;
  queue: string;
  /** As typed. */
  priority: string;
  /** Edit the condition as raw JSON instead of with the structured editor. */
  raw: boolean;
  /** The structured condition; the root is always a group. */
  condition: GroupNode;
  /** The condition's JSON text while ``raw``. */
  json: string;
  /** Why the saved rule never matches (the server says so), if it does not. */
  problem?: string;
}

export function newTest(field = "question"): TestNode {
  return { kind: "test", field, op: "contains", value: "" };
}

export function newRule(queue: string): RuleDraft {
  const condition: GroupNode = { kind: "all", items: [newTest()] };
  return { name: "", queue, priority: "0", raw: false, condition, json: "" };
}

const isOp = (op: unknown): op is Op => OPS.some((o) => o.value === op);

/** A condition in the editor's form, or null when the structured editor cannot show it. */
export function fromJson(data: unknown): CondNode | null {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const obj = data as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (const kind of ["all", "any"] as const) {
    if (kind in obj) {
      const list = obj[kind];
      if (keys.length !== 1 || !Array.isArray(list) || !list.length) return null;
      const items = list.map(fromJson);
      if (items.some((i) => i === null)) return null;
      return { kind, items: items as CondNode[] };
    }
  }
  if (keys.length !== 3 || typeof obj.field !== "string" || !isOp(obj.op)) return null;
  const value = obj.value;
  if (obj.op === "one_of") {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && !v.includes(",")))
      return null;
    return { kind: "test", field: obj.field, op: "one_of", value: value.join(", ") };
  }
  if (typeof value !== "string") return null;
  return { kind: "test", field: obj.field, op: obj.op, value };
}

/** The JSON form of a condition. Throws an Error saying what is missing. */
export function toJson(node: CondNode, where = "condition"): ConditionJson {
  if (node.kind === "test") {
    const field = node.field.trim();
    if (!field) throw new Error(`${where}: choose a field`);
    if (node.op === "one_of") {
      const values = node.value
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean);
      if (!values.length) throw new Error(`${where}: list one or more values, comma-separated`);
      return { field, op: node.op, value: values };
    }
    return { field, op: node.op, value: node.value };
  }
  if (!node.items.length) throw new Error(`${where}: a group needs at least one condition`);
  const items = node.items.map((i, n) => toJson(i, `${where}.${node.kind}[${n}]`));
  return node.kind === "all" ? { all: items } : { any: items };
}

/** The root of the structured editor is a group: a single test becomes a one-item "all". */
export function rootFromJson(data: unknown): GroupNode | null {
  const node = fromJson(data);
  if (node === null) return null;
  return node.kind === "test" ? { kind: "all", items: [node] } : node;
}

/** The root's JSON: a group of one test is saved as that test alone. */
export function rootToJson(root: GroupNode): ConditionJson {
  if (root.items.length === 1 && root.items[0].kind === "test") return toJson(root.items[0]);
  return toJson(root);
}

export function draftFromRule(rule: SavedRule): RuleDraft {
  const root = rootFromJson(rule.condition);
  const json = JSON.stringify(rule.condition, null, 2);
  return {
    name: rule.name,
    queue: rule.queue,
    priority: String(rule.priority),
    raw: root === null,
    condition: root ?? { kind: "all", items: [newTest()] },
    json,
    ...(rule.problem ? { problem: rule.problem } : {}),
  };
}

/** Rule ``index`` (0-based) in the JSON form; throws an Error naming the rule (1-based). */
export function ruleToJson(draft: RuleDraft, index: number): RuleJson {
  const label = `Rule #${index + 1}`;
  let condition: ConditionJson;
  if (draft.raw) {
    try {
      condition = JSON.parse(draft.json) as ConditionJson;
    } catch (e) {
      throw new Error(`${label}: the condition is not valid JSON (${(e as Error).message})`);
    }
  } else {
    try {
      condition = rootToJson(draft.condition);
    } catch (e) {
      throw new Error(`${label}: ${(e as Error).message}`);
    }
  }
  const priority = Number(draft.priority.trim() || "0");
  if (!Number.isInteger(priority) || priority < -100 || priority > 100) {
    throw new Error(`${label}: the priority is a whole number from -100 to 100`);
  }
  if (!draft.queue) throw new Error(`${label}: choose a target queue`);
  return { name: draft.name.trim(), condition, queue: draft.queue, priority };
}

export function rulesToJson(drafts: RuleDraft[]): RuleJson[] {
  return drafts.map(ruleToJson);
}

/** Switch a rule between the structured editor and raw JSON; null when the JSON cannot be
 * shown structurally (or does not parse) and so stays raw. */
export function toggleRaw(draft: RuleDraft): RuleDraft | { error: string } {
  if (!draft.raw) {
    let json: string;
    try {
      json = JSON.stringify(rootToJson(draft.condition), null, 2);
    } catch {
      json = JSON.stringify(draft.condition, null, 2);
    }
    return { ...draft, raw: true, json };
  }
  let data: unknown;
  try {
    data = JSON.parse(draft.json);
  } catch {
    return { error: "The JSON does not parse; fix it first." };
  }
  const root = rootFromJson(data);
  if (root === null) {
    return { error: "This condition cannot be shown in the form editor; keep editing the JSON." };
  }
  return { ...draft, raw: false, condition: root };
}

export function move<T>(list: T[], index: number, by: -1 | 1): T[] {
  const to = index + by;
  if (to < 0 || to >= list.length) return list;
  const next = [...list];
  [next[index], next[to]] = [next[to], next[index]];
  return next;
}

/** The server names rules from 0 ("rule 2: ..."); the console numbers them from 1. */
export function humanRuleError(message: string): string {
  return message.replace(/\brule (\d+)\b/g, (_, n: string) => `rule #${Number(n) + 1}`);
}

/** Which rule (0-based) a refusal from the server is about, if any: the error's
 * `details.rule` (a pattern RE2 cannot run), else the "rule N: ..." its message starts with. */
export function ruleOfError(err: unknown): number | null {
  if (!(err instanceof ApiError)) return null;
  const details = err.details as { rule?: unknown } | null;
  if (details && typeof details === "object" && typeof details.rule === "number") return details.rule;
  const m = /^rule (\d+)\b/.exec(err.message);
  return m ? Number(m[1]) : null;
}

/** Parse "key=value" lines (the tester's extra fields). */
export function parsePairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at <= 0) continue;
    const key = line.slice(0, at).trim();
    if (key) out[key] = line.slice(at + 1).trim();
  }
  return out;
}
