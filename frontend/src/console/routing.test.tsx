import { render } from "preact";
import { act } from "preact/test-utils";
import { useState } from "preact/hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Waiting as WaitingRequest } from "../shared/protocol";
import { setFetcher } from "./api";
import { Offers } from "./Offers";
import { RuleEditor } from "./RuleEditor";
import type { Queue } from "./routingApi";
import { initialState, reduce } from "./state";
import { useWaiting, Waiting } from "./Waiting";

const EVIL = "<img src=x onerror=alert(1)>";

let root: HTMLElement;
let calls: { method: string; url: string; body: unknown }[];
let respond: (method: string, url: string, body: unknown) => [number, unknown];

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls = [];
  setFetcher(async (input, init) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const body = init?.body ? (JSON.parse(String(init.body)) as unknown) : undefined;
    calls.push({ method, url, body });
    const [status, data] = respond(method, url, body);
    return new Response(data === null ? null : JSON.stringify(data), { status });
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

const flush = async () => {
  for (let i = 0; i < 20; i++) await act(async () => await Promise.resolve());
};
const byLabel = (label: string) => root.querySelector(`[aria-label="${label}"]`) as HTMLInputElement;
const labelled = (text: string) => {
  const label = [...root.querySelectorAll("label")].find((l) => l.textContent?.trim() === text)!;
  return root.querySelector(`#${label.htmlFor}`) as HTMLInputElement;
};
const set = (el: Element, value: string, event = "input") =>
  act(() => {
    (el as HTMLInputElement).value = value;
    el.dispatchEvent(new Event(event, { bubbles: true }));
  });
const click = (name: string) =>
  act(() => {
    const b = [...root.querySelectorAll("button")].find((x) => x.textContent?.trim() === name);
    if (!b) throw new Error(`no button ${name}`);
    b.click();
  });

const QUEUES: Queue[] = [
  { id: 1, name: "default", is_default: true, strategy: "best", skills: {}, overflow_action: "stay", overflow_secs: null, overflow_target: null, max_length: null },
  { id: 2, name: "billing-de", is_default: false, strategy: "best", skills: { billing: 2 }, overflow_action: "stay", overflow_secs: null, overflow_target: null, max_length: null },
];

describe("the rule editor", () => {
  it("tests unsaved rules, then shows the server's refusal naming the rule", async () => {
    respond = (method, url) => {
      if (method === "GET" && url.endsWith("/rules")) return [200, []];
      if (url.endsWith("/rules/test")) return [200, { queue: "billing-de", priority: 5, rule: 0 }];
      if (method === "PUT") {
        return [422, { error: { code: "invalid_input", message: "rule 0: condition.all[1].value: not a valid pattern" } }];
      }
      return [404, null];
    };
    act(() => render(<RuleEditor slug="sales" queues={QUEUES} fields={["product", "language"]} />, root));
    await flush();
    click("Add rule");
    set(labelled("Target queue"), "billing-de", "change");
    set(labelled("Priority"), "5");
    set(byLabel("Field of rule #1 condition 1"), "product");
    set(byLabel("Operator of rule #1 condition 1"), "equals", "change");
    set(byLabel("Value of rule #1 condition 1"), "billing");
    click("Add condition");
    set(byLabel("Field of rule #1 condition 2"), "language");
    set(byLabel("Operator of rule #1 condition 2"), "one_of", "change");
    set(byLabel("Value of rule #1 condition 2"), "de, at");
    set(labelled("Sample name"), EVIL);
    set(labelled("Sample extra fields"), "product=billing\nlanguage=de");
    click("Test rules");
    await flush();

    const test = calls.find((c) => c.url.endsWith("/admin/workgroups/sales/rules/test"))!;
    expect(test.method).toBe("POST");
    expect(test.body).toEqual({
      metadata: { name: EVIL, email: "", question: "", page: "", extra: { product: "billing", language: "de" } },
      rules: [
        {
          name: "",
          queue: "billing-de",
          priority: 5,
          condition: {
            all: [
              { field: "product", op: "equals", value: "billing" },
              { field: "language", op: "one_of", value: ["de", "at"] },
            ],
          },
        },
      ],
    });
    expect(root.querySelector('[data-testid="rule-test-result"]')!.textContent).toBe(
      "→ queue billing-de, priority 5, rule #1",
    );
    expect(calls.some((c) => c.method === "PUT")).toBe(false); // trying saves nothing

    click("Save rules");
    await flush();
    expect(root.querySelector('[data-testid="rules-error"]')!.textContent).toBe(
      "rule #1: condition.all[1].value: not a valid pattern",
    );
    expect(root.querySelector("img")).toBeNull();
  });
});

describe("the rule editor and patterns RE2 cannot run", () => {
  const lookahead = "RE2 cannot run this pattern: lookahead (?=...) is not supported";
  const saved = [
    { name: "fine", condition: { field: "page", op: "contains", value: "/de/" }, queue: "default", priority: 0, problem: null },
    {
      name: "old",
      condition: { field: "page", op: "matches", value: "(?<=/)vip" },
      queue: "default",
      priority: 0,
      problem: "condition.value: RE2 cannot run this pattern: lookbehind (?<=...) is not supported",
    },
  ];
  const refusal = {
    error: {
      code: "bad_pattern",
      message: `rule 1 ('old'): condition.value: ${lookahead}`,
      details: { rule: 1, where: "condition.value", reason: lookahead },
    },
  };

  it("flags a saved rule that never matches, and shows a refusal next to its rule", async () => {
    respond = (method, url) => {
      if (method === "GET" && url.endsWith("/rules")) return [200, saved];
      return [422, refusal];
    };
    act(() => render(<RuleEditor slug="sales" queues={QUEUES} fields={[]} />, root));
    await flush();
    const cards = [...root.querySelectorAll('[data-testid="rule"]')];
    expect(cards).toHaveLength(2);
    expect(cards[0].querySelector('[data-testid="rule-problem"]')).toBeNull();
    expect(cards[1].querySelector('[data-testid="rule-problem"]')!.textContent).toContain(
      "lookbehind (?<=...) is not supported",
    );

    for (const button of ["Save rules", "Test rules"]) {
      click(button);
      await flush();
      const again = [...root.querySelectorAll('[data-testid="rule"]')];
      expect(again[0].querySelector('[data-testid="rule-error"]')).toBeNull();
      expect(again[1].querySelector('[data-testid="rule-error"]')!.textContent).toBe(
        `rule #2 ('old'): condition.value: ${lookahead}`,
      );
    }
    // The saved rules are sent back without the server's remark.
    const put = calls.find((c) => c.method === "PUT")!;
    expect((put.body as { rules: Record<string, unknown>[] }).rules[1]).not.toHaveProperty("problem");
  });
});

function Harness({ onClaimed }: { onClaimed: (id: string) => void }) {
  const [version, setVersion] = useState(0);
  const list = useWaiting(version);
  return (
    <>
      <button type="button" onClick={() => setVersion((v) => v + 1)}>
        changed
      </button>
      <Waiting list={list} workgroupName={() => "Sales"} onClaimed={onClaimed} />
    </>
  );
}

const waiting = (id: string, name: string): WaitingRequest => ({
  conversation_id: id,
  workgroup_id: 1,
  queue_id: 1,
  queue_name: "default",
  position: 1,
  priority: 3,
  waiting_secs: 75,
  metadata: { name, question: EVIL },
});

describe("the waiting list", () => {
  it("refetches on a change, takes a chat, and says when someone else was faster", async () => {
    let list: WaitingRequest[] = [];
    let claimStatus = 200;
    respond = (method, url) => {
      if (method === "GET" && url.endsWith("/waiting")) return [200, list];
      if (method === "POST" && url.includes("/claim")) {
        return claimStatus === 200
          ? [200, { conversation_id: url.split("/").at(-2) }]
          : [409, { error: { code: "offer_gone", message: "gone" } }];
      }
      return [404, null];
    };
    const claimed: string[] = [];
    act(() => render(<Harness onClaimed={(id) => claimed.push(id)} />, root));
    await flush();
    expect(root.querySelector('[data-testid="waiting-empty"]')).not.toBeNull();

    list = [waiting("a1", "Zoe"), waiting("b2", "Yan")];
    click("changed"); // as on `waiting_changed`
    await flush();
    const rows = root.querySelectorAll('[data-testid="waiting-request"]');
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain("Zoe");
    expect(rows[0].textContent).toContain(EVIL);
    expect(rows[0].textContent).toContain("default");
    expect(rows[0].querySelector('[data-testid="waiting-time"]')!.textContent).toBe("1 min 15 s");
    expect(root.querySelector("img")).toBeNull();

    act(() => byLabel("Take chat with Zoe").click());
    await flush();
    expect(calls.at(-1)).toMatchObject({ method: "POST", url: "/api/v1/waiting/a1/claim" });
    expect(claimed).toEqual(["a1"]);

    claimStatus = 409;
    list = [waiting("b2", "Yan")];
    const gets = calls.filter((c) => c.method === "GET").length;
    act(() => byLabel("Take chat with Yan").click());
    list = [];
    await flush();
    expect(claimed).toEqual(["a1"]);
    expect(root.querySelector('[role="alert"]')!.textContent).toBe("Someone else took that chat.");
    expect(calls.filter((c) => c.method === "GET").length).toBe(gets + 1);
    expect(root.querySelector('[data-testid="waiting-empty"]')).not.toBeNull();
  });
});

describe("offers and chats from routing", () => {
  it("shows an offer's queue, and whether others were offered it too", () => {
    const offer = (broadcast: boolean) => ({
      offer: {
        offer_id: `c${broadcast}.1`,
        conversation_id: `c${broadcast}`,
        workgroup_id: 1,
        offered_at: "2026-03-02T10:15:00Z",
        expires_at: "2026-03-02T10:15:30Z",
        metadata: { name: "Zoe" },
        queue_name: broadcast ? "default" : "billing-de",
        broadcast,
      },
      receivedAt: Date.now(),
    });
    act(() =>
      render(
        <Offers
          offers={[offer(false), offer(true)]}
          workgroupName={() => "Sales"}
          request={async () => ({ type: "ok", ref: null })}
          onAccepted={() => undefined}
        />,
        root,
      ),
    );
    const [one, two] = root.querySelectorAll('[data-testid="offer"]');
    expect(one.querySelector('[data-testid="offer-queue"]')!.textContent).toBe("Queue: billing-de");
    expect(one.querySelector('[data-testid="offer-broadcast"]')).toBeNull();
    expect(two.querySelector('[data-testid="offer-broadcast"]')!.textContent).toContain("several agents");
  });

  it("selects a taken chat when its conversation arrives after the claim", () => {
    const conversation = (id: string) => ({
      id,
      kind: "customer_chat",
      status: "active" as const,
      workgroup_id: 1,
      last_seq: 1,
      created_at: "2026-03-02T10:15:00Z",
      ended_at: null,
      end_reason: null,
      metadata: {},
      participants: [],
    });
    let s = initialState(1);
    s = reduce(s, { type: "server", message: { type: "conversation", conversation: conversation("old") } });
    expect(s.selected).toBe("old");
    s = reduce(s, { type: "select", conversationId: "new" }); // not here yet
    expect(s.selected).toBe("old");
    s = reduce(s, { type: "server", message: { type: "conversation", conversation: conversation("other") } });
    expect(s.selected).toBe("old");
    s = reduce(s, { type: "server", message: { type: "conversation", conversation: conversation("new") } });
    expect(s.selected).toBe("new");
    expect(s.awaiting).toBeUndefined();
  });
});
