// Transfers in the console: the reducer's bookkeeping for the sender and the receiver, the offer
// card, the chat panel (pending, notices, transferred), ending with an outcome, earlier chats.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { Conversation, Entry, Offer, ServerMessage } from "../shared/protocol";
import { Admin } from "./Admin";
import { setFetcher, type Workgroup } from "./api";
import { Chats, type ChatActions } from "./Chats";
import { Offers } from "./Offers";
import { initialState, reduce, transferredTo, type Action, type ConsoleState } from "./state";
import { agentOptions } from "./TransferDialog";
import { aConversation } from "../shared/testing";

const CID = "e".repeat(32);
const EVIL = "<img src=x onerror=alert(1)>";

function conversation(over: Partial<Conversation> = {}): Conversation {
  return aConversation({ id: CID, metadata: { name: "Zoe", email: "zoe@example.com", question: "Refund?" }, ...over });
}

function entry(seq: number, over: Partial<Entry> = {}): Entry {
  return {
    seq,
    kind: "message",
    author: "visitor",
    body: { text: `m${seq}` },
    client_id: null,
    created_at: "2026-03-02T10:15:00Z",
    ...over,
  };
}

function transferOffer(over: Partial<Offer> = {}): Offer {
  return {
    offer_id: `${CID}.2`,
    conversation_id: CID,
    workgroup_id: 1,
    offered_at: "2026-03-02T10:15:00Z",
    expires_at: "2026-03-02T10:15:30Z",
    metadata: { name: "Zoe", question: "Refund?" },
    transfer: { from_user_id: 1, from_name: "Alice", note: EVIL },
    ...over,
  };
}

const server = (message: ServerMessage): Action => ({ type: "server", message });
const run = (s: ConsoleState, ...actions: Action[]) => actions.reduce(reduce, s);
const status = (s: "pending" | "accepted" | "failed" | "cancelled", to_name: string | null = null) =>
  server({ type: "transfer", conversation_id: CID, status: s, to_name });

/** Alice (user 1) in a chat with Zoe. */
function alice(): ConsoleState {
  return run(
    initialState(1),
    server({ type: "conversation", conversation: conversation() }),
    { type: "entry", conversationId: CID, entry: entry(1) },
    { type: "entry", conversationId: CID, entry: entry(2, { kind: "joined", author: "user:1", body: { name: "Alice", role: "agent" } }) },
  );
}

describe("the sender's transfer state", () => {
  it("goes from requesting to pending to accepted, keeping whom it went to", () => {
    let s = run(alice(), { type: "transfer_requested", conversationId: CID, toName: "Bob" });
    expect(s.transfers[CID]).toEqual({ status: "requesting", toName: "Bob" });
    s = run(s, status("pending"));
    expect(s.transfers[CID]).toEqual({ status: "pending", toName: "Bob" });
    expect(transferredTo(s, CID)).toBeNull();
    s = run(
      s,
      { type: "entry", conversationId: CID, entry: entry(3, { kind: "joined", author: "user:2", body: { name: "Bob", role: "agent" } }) },
      { type: "entry", conversationId: CID, entry: entry(4, { kind: "left", author: "user:1", body: { name: "Alice", role: "agent", reason: "transferred" } }) },
      status("accepted", "Bob"),
    );
    expect(s.transfers[CID]).toEqual({ status: "accepted", toName: "Bob" });
    expect(transferredTo(s, CID)).toBe("Bob");
    expect(s.chats[CID].conversation.participants.find((p) => p.key === "user:1")?.present).toBe(false);
  });

  it("knows a chat was transferred from the log alone (after a reload)", () => {
    const s = run(
      alice(),
      { type: "entry", conversationId: CID, entry: entry(3, { kind: "joined", author: "user:2", body: { name: "Bob", role: "agent" } }) },
      { type: "entry", conversationId: CID, entry: entry(4, { kind: "left", author: "user:1", body: { name: "Alice", role: "agent", reason: "transferred" } }) },
    );
    expect(transferredTo(s, CID)).toBe("Bob");
    expect(transferredTo(alice(), CID)).toBeNull();
  });

  it("a refused request is forgotten; a failed or cancelled one stays until dismissed", () => {
    let s = run(alice(), { type: "transfer_requested", conversationId: CID, toName: "Bob" });
    s = run(s, { type: "transfer_refused", conversationId: CID });
    expect(s.transfers[CID]).toBeUndefined();
    s = run(s, { type: "transfer_requested", conversationId: CID, toName: "queue billing" }, status("pending"));
    // A late refusal of an earlier attempt does not undo a pending one.
    expect(run(s, { type: "transfer_refused", conversationId: CID }).transfers[CID]?.status).toBe("pending");
    expect(run(s, { type: "dismiss_transfer", conversationId: CID }).transfers[CID]?.status).toBe("pending");
    s = run(s, status("failed"));
    expect(s.transfers[CID]).toEqual({ status: "failed", toName: "queue billing" });
    expect(transferredTo(s, CID)).toBeNull();
    s = run(s, { type: "dismiss_transfer", conversationId: CID });
    expect(s.transfers[CID]).toBeUndefined();
  });
});

describe("the receiver's transfer note", () => {
  it("is kept from the offer once accepted, and dropped when declined", () => {
    const bob = initialState(2);
    let s = run(bob, server({ type: "offer", offer: transferOffer() }));
    expect(s.handoffs[CID]).toEqual({ from_user_id: 1, from_name: "Alice", note: EVIL });
    const accepted = run(
      s,
      server({ type: "offer_ended", offer_id: `${CID}.2`, reason: "accepted" }),
      server({ type: "conversation", conversation: conversation() }),
    );
    expect(accepted.handoffs[CID]?.note).toBe(EVIL);
    s = run(s, server({ type: "offer_ended", offer_id: `${CID}.2`, reason: "declined" }));
    expect(s.handoffs[CID]).toBeUndefined();
  });

  it("ordinary offers carry none", () => {
    const s = run(initialState(2), server({ type: "offer", offer: transferOffer({ transfer: null }) }));
    expect(s.handoffs).toEqual({});
  });
});

describe("choosing whom to transfer to", () => {
  it("lists the workgroup's other agents, available first, with live presence", () => {
    const staff = [
      { user_id: 1, username: "alice", display_name: "Alice", role: "agent" as const, presence: "available" as const, status_text: "", workgroup_ids: [1] },
      { user_id: 2, username: "bob", display_name: "Bob", role: "agent" as const, presence: "away" as const, status_text: "", workgroup_ids: [1] },
      { user_id: 3, username: "carl", display_name: "Carl", role: "agent" as const, presence: "away" as const, status_text: "", workgroup_ids: [2] },
      { user_id: 4, username: "dora", display_name: "Dora", role: "agent" as const, presence: "away" as const, status_text: "", workgroup_ids: [1] },
    ];
    const live = { 2: { presence: "available" as const, status_text: "" } };
    expect(agentOptions(staff, 1, 1, live)).toEqual([
      { name: "bob", label: "Bob (available)", toName: "Bob" },
      { name: "dora", label: "Dora (away)", toName: "Dora" },
    ]);
  });
});

describe("rendering", () => {
  let root: HTMLElement;
  let calls: { url: string; method: string; body: unknown }[];
  let sent: Record<string, unknown>[];
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
    calls = [];
    sent = [];
    setFetcher(async (input, init) => {
      const url = String(input);
      calls.push({ url, method: init?.method ?? "GET", body: init?.body ? JSON.parse(String(init.body)) : null });
      if (url.endsWith("/customer")) {
        return new Response(
          JSON.stringify([conversation({ id: "f".repeat(32), status: "ended", metadata: { name: "Zoe", question: EVIL } })]),
        );
      }
      if (url.endsWith(`/customer/${"f".repeat(32)}`)) {
        return new Response(
          JSON.stringify({ conversation: conversation({ id: "f".repeat(32), status: "ended" }), entries: [entry(1, { body: { text: "Last time" } })] }),
        );
      }
      return new Response(null, { status: 204 });
    });
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
    setFetcher((...args) => fetch(...args));
  });

  const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
  const $ = (sel: string) => root.querySelector<HTMLElement>(sel);
  const button = (text: string) =>
    [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent?.trim() === text) ?? null;

  const actions = (dispatched: Action[] = []): ChatActions => ({
    select: () => undefined,
    close: () => undefined,
    send: () => undefined,
    typing: () => undefined,
    request: async (m) => {
      sent.push(m);
      return { type: "ok", ref: null };
    },
    dismissFailed: () => undefined,
    transferUpdate: (a) => dispatched.push(a),
  });

  it("the offer card says who transferred it and shows the note as text", () => {
    act(() =>
      render(
        <Offers
          offers={[{ offer: transferOffer(), receivedAt: Date.now() }]}
          workgroupName={() => "Sales"}
          request={async () => ({ type: "ok", ref: null })}
          onAccepted={() => undefined}
        />,
        root,
      ),
    );
    expect($('[data-testid="offer-transfer"]')?.textContent).toContain("Transfer from Alice");
    expect($('[data-testid="offer-transfer-note"]')?.textContent).toBe(EVIL);
    expect(root.querySelector("img")).toBeNull();
  });

  it("shows a pending transfer with Call off, which calls the cancel endpoint", async () => {
    const s = run(alice(), { type: "transfer_requested", conversationId: CID, toName: "Bob" }, status("pending"));
    act(() => render(<Chats state={s} actions={actions()} workgroupName={() => "Sales"} />, root));
    expect($('[data-testid="transfer-status"]')?.textContent).toContain("Transfer to Bob pending");
    expect(button("Transfer")?.disabled).toBe(true);
    // Still the agent's chat meanwhile.
    expect(root.querySelector<HTMLTextAreaElement>("textarea")?.disabled).toBe(false);
    act(() => button("Call off")!.click());
    await flush();
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith(`/conversations/${CID}/transfer/cancel`))).toBe(true);
  });

  it("says when nobody accepted, and lets the agent go on", () => {
    const dispatched: Action[] = [];
    const s = run(alice(), { type: "transfer_requested", conversationId: CID, toName: "Bob" }, status("failed"));
    act(() => render(<Chats state={s} actions={actions(dispatched)} workgroupName={() => "Sales"} />, root));
    expect($('[data-testid="transfer-notice"]')?.textContent).toContain(
      "Nobody accepted the transfer; the chat is still yours",
    );
    expect(button("Transfer")?.disabled).toBe(false);
    act(() => button("Dismiss")!.click());
    expect(dispatched).toEqual([{ type: "dismiss_transfer", conversationId: CID }]);
  });

  it("marks a transferred chat and offers no composer", () => {
    const s = run(
      alice(),
      { type: "entry", conversationId: CID, entry: entry(3, { kind: "joined", author: "user:2", body: { name: "Bob", role: "agent" } }) },
      { type: "entry", conversationId: CID, entry: entry(4, { kind: "left", author: "user:1", body: { name: "Alice", role: "agent", reason: "transferred" } }) },
      status("accepted", "Bob"),
    );
    act(() => render(<Chats state={s} actions={actions()} workgroupName={() => "Sales"} />, root));
    expect($('[data-testid="transferred"]')?.textContent).toContain("Transferred to Bob");
    expect($('[role="tab"]')?.textContent).toContain("transferred");
    expect(root.querySelector("textarea")).toBeNull();
    expect(button("End chat")).toBeNull();
    expect(button("Transfer")).toBeNull();
    expect(button("Close")).not.toBeNull();
  });

  it("ends with the chosen outcome", async () => {
    act(() => render(<Chats state={alice()} actions={actions()} workgroupName={() => "Sales"} />, root));
    const select = root.querySelector<HTMLSelectElement>(`#outcome-${CID}`)!;
    expect(select.value).toBe("resolved");
    act(() => {
      select.value = "follow_up";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    act(() => button("End chat")!.click());
    await flush();
    expect(sent).toEqual([{ type: "end", conversation_id: CID, outcome: "follow_up" }]);
  });

  it("keeps the transfer note in the side panel and lists earlier conversations", async () => {
    const bob = run(
      initialState(2),
      server({ type: "offer", offer: transferOffer() }),
      server({ type: "offer_ended", offer_id: `${CID}.2`, reason: "accepted" }),
      server({
        type: "conversation",
        conversation: conversation({
          participants: [
            { key: "visitor", role: "visitor", name: "Zoe", present: true },
            { key: "user:2", role: "agent", name: "Bob", present: true },
          ],
        }),
      }),
    );
    act(() => render(<Chats state={bob} actions={actions()} workgroupName={() => "Sales"} />, root));
    await flush();
    const details = $('[data-testid="customer-details"]')!;
    const note = details.querySelector('[data-testid="handoff-note"]')!;
    expect(note.textContent).toContain("Transfer from Alice");
    expect(note.textContent).toContain(EVIL);
    const earlier = details.querySelectorAll('[data-testid="earlier-chat"]');
    expect(earlier).toHaveLength(1);
    expect(earlier[0].textContent).toContain(EVIL);
    expect(root.querySelector("img")).toBeNull();
    act(() => earlier[0].querySelector("button")!.click());
    await flush();
    const transcript = $('[data-testid="earlier-transcript"]')!;
    expect(transcript.querySelector('[role="log"]')?.textContent).toContain("Last time");
    act(() => button("Close transcript")!.click());
    expect($('[data-testid="earlier-transcript"]')).toBeNull();
  });
});

describe("the workgroup editor", () => {
  it("edits and always sends the transfer and invitation settings", async () => {
    const root = document.createElement("div");
    document.body.appendChild(root);
    const puts: unknown[] = [];
    setFetcher(async (input, init) => {
      const url = String(input);
      if (init?.method === "PUT" && url.endsWith("/admin/workgroups/sales")) {
        puts.push(JSON.parse(String(init.body)));
        return new Response(JSON.stringify({}));
      }
      if (url.endsWith("/hours")) {
        return new Response(JSON.stringify({ hours: null, email: "", queue_without_agents: false }));
      }
      return new Response(JSON.stringify([]));
    });
    const sales: Workgroup = {
      id: 1,
      slug: "sales",
      name: "Sales",
      button_text: "",
      offer_timeout_secs: 30,
      wait_timeout_secs: 300,
      max_chats: 3,
      form_fields: [],
      members: [],
      transfer_targets: ["agent", "queue"],
      max_transfers: 2,
      invitations: true,
    };
    const flush = () => act(async () => void (await new Promise((r) => setTimeout(r, 0))));
    act(() => render(<Admin workgroups={[sales]} reloadWorkgroups={async () => undefined} me="user:9" />, root));
    await flush();
    act(() => root.querySelector<HTMLButtonElement>('[aria-label="Edit workgroup sales"]')!.click());
    const form = root.querySelector<HTMLFormElement>('form[aria-label="Edit workgroup sales"]')!;
    const box = (text: string) =>
      [...form.querySelectorAll("label")].find((l) => l.textContent?.trim() === text)!.querySelector("input")!;
    expect(box("Transfers to an agent").checked).toBe(true);
    expect(box("Transfers to another workgroup").checked).toBe(false);
    act(() => box("Transfers to an agent").click());
    act(() => box("Transfers to another workgroup").click());
    act(() => box("Agents may invite others into a chat").click());
    await act(async () => {
      form.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ transfer_targets: ["queue", "workgroup"], max_transfers: 2, invitations: false });
    act(() => render(null, root));
    root.remove();
    setFetcher((...args) => fetch(...args));
  });
});
