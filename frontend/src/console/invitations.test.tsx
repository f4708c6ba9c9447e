import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Conversation, Entry, Invitation, ServerMessage } from "../shared/protocol";
import { setFetcher, type StaffMember } from "./api";
import { Chats, type ChatActions } from "./Chats";
import { candidates, InvitationCards } from "./Invitations";
import {
  initialState,
  invitationsFrom,
  invitationsToMe,
  myRole,
  reduce,
  type ConsoleState,
} from "./state";
import { aConversation } from "../shared/testing";

const CID = "c".repeat(32);

function conversation(over: Partial<Conversation> = {}): Conversation {
  return aConversation({ id: CID, metadata: { name: "Zoe", question: "Where is my refund?" }, ...over });
}

function invitation(over: Partial<Invitation> = {}): Invitation {
  return {
    invitation_id: "i1",
    conversation_id: CID,
    workgroup_id: 1,
    from_user_id: 1,
    from_name: "Alice",
    to_user_id: 2,
    to_name: "Bob",
    note: "Can you check the refund?",
    created_at: "2026-03-02T10:15:00Z",
    expires_at: "2026-03-02T10:15:30Z",
    metadata: { name: "Zoe", question: "Where is my refund?" },
    ...over,
  };
}

const server = (s: ConsoleState, message: ServerMessage) => reduce(s, { type: "server", message });

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

describe("invitations in the console state", () => {
  it("holds invitations to me and from me until they end, and drops stale ones on sync", () => {
    let bob = initialState(2);
    bob = server(bob, { type: "invitation", invitation: invitation() });
    expect(invitationsToMe(bob).map((i) => i.invitation.note)).toEqual(["Can you check the refund?"]);
    bob = server(bob, {
      type: "invitation_ended",
      invitation_id: "i1",
      conversation_id: CID,
      reason: "timed_out",
    });
    expect(invitationsToMe(bob)).toEqual([]);

    let alice = initialState(1);
    alice = server(alice, { type: "invitation", invitation: invitation() });
    expect(invitationsToMe(alice)).toEqual([]);
    expect(invitationsFrom(alice, CID).map((i) => i.to_name)).toEqual(["Bob"]);
    // A reconnect whose snapshot no longer lists it: gone.
    alice = server(alice, {
      type: "welcome",
      session: { kind: "staff", user_id: 1, username: "alice", name: "Alice", role: "agent", conversation_id: null },
      node_id: "n",
      heartbeat_secs: 20,
      max_message_chars: 4000,
      server_time: new Date().toISOString(),
    });
    alice = server(alice, { type: "synced" });
    expect(invitationsFrom(alice, CID)).toEqual([]);
  });

  it("knows a helper, and that a helper who left is no longer in the chat", () => {
    let bob = initialState(2);
    bob = server(bob, { type: "conversation", conversation: conversation() });
    bob = reduce(bob, {
      type: "entry",
      conversationId: CID,
      entry: entry(3, { kind: "joined", author: "user:2", body: { name: "Bob", role: "helper" } }),
    });
    expect(myRole(bob.chats[CID], bob.me)).toBe("helper");
    bob = reduce(bob, {
      type: "entry",
      conversationId: CID,
      entry: entry(4, { kind: "left", author: "user:2", body: { name: "Bob", role: "helper", reason: "left" } }),
    });
    expect(myRole(bob.chats[CID], bob.me)).toBeNull();
  });

  it("lists whom one may invite: the workgroup's agents, supervisors and admins, not me", () => {
    const staff: StaffMember[] = [
      { user_id: 1, username: "alice", display_name: "Alice", role: "agent", presence: "available", status_text: "", workgroup_ids: [1] },
      { user_id: 2, username: "bob", display_name: "Bob", role: "agent", presence: "away", status_text: "", workgroup_ids: [1] },
      { user_id: 3, username: "dave", display_name: "Dave", role: "agent", presence: "available", status_text: "", workgroup_ids: [2] },
      { user_id: 4, username: "sam", display_name: "Sam", role: "supervisor", presence: "offline", status_text: "", workgroup_ids: [] },
    ];
    expect(candidates(staff, conversation(), 1).map((s) => s.username)).toEqual(["bob", "sam"]);
  });
});

describe("invitation screens", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.appendChild(root);
  });
  afterEach(() => {
    act(() => render(null, root));
    root.remove();
    setFetcher((...args) => fetch(...args));
  });

  const button = (name: string) =>
    [...root.querySelectorAll("button")].find((b) => b.textContent?.trim() === name) as
      | HTMLButtonElement
      | undefined;

  it("shows the invitee a card with the note and a countdown; accepting opens the chat", async () => {
    let bob = initialState(2);
    bob = server(bob, { type: "invitation", invitation: invitation() });
    const sent: Record<string, unknown>[] = [];
    const accepted: string[] = [];
    act(() =>
      render(
        <InvitationCards
          invitations={invitationsToMe(bob)}
          request={async (m) => {
            sent.push(m);
            return { type: "ok", ref: null };
          }}
          onAccepted={(id) => accepted.push(id)}
        />,
        root,
      ),
    );
    const card = root.querySelector('[data-testid="invitation"]');
    expect(card?.textContent).toContain("Alice invites you to help");
    expect(root.querySelector('[data-testid="invitation-note"]')?.textContent).toBe(
      "Can you check the refund?",
    );
    expect(root.querySelector('[data-testid="invitation-countdown"]')).not.toBeNull();
    await act(async () => button("Accept invitation")!.click());
    expect(sent).toEqual([{ type: "accept_invitation", invitation_id: "i1" }]);
    expect(accepted).toEqual([CID]);
  });

  function panel(state: ConsoleState, actions: Partial<ChatActions> = {}) {
    const all: ChatActions = {
      select: () => undefined,
      close: () => undefined,
      send: () => undefined,
      typing: () => undefined,
      request: async () => ({ type: "ok", ref: null }),
      dismissFailed: () => undefined,
      ...actions,
    };
    act(() => render(<Chats state={state} actions={all} workgroupName={() => "Sales"} />, root));
  }

  it("lets the chat's agent invite a colleague with a note", async () => {
    setFetcher(async () =>
      new Response(
        JSON.stringify([
          { user_id: 1, username: "alice", display_name: "Alice", role: "agent", presence: "available", status_text: "", workgroup_ids: [1] },
          { user_id: 2, username: "bob", display_name: "Bob", role: "agent", presence: "available", status_text: "", workgroup_ids: [1] },
        ]),
        { status: 200, headers: { "content-type": "application/json" } },
      ),
    );
    let alice = initialState(1);
    alice = server(alice, { type: "conversation", conversation: conversation() });
    const sent: Record<string, unknown>[] = [];
    panel(alice, {
      request: async (m) => {
        sent.push(m);
        return { type: "ok", ref: null };
      },
    });
    expect(button("Leave chat")).toBeUndefined();
    await act(async () => button("Invite")!.click());
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog.textContent).toContain("Invite a colleague");
    const select = dialog.querySelector("select")!;
    expect([...select.options].map((o) => o.textContent)).toEqual([
      "Choose a colleague…",
      "Bob (bob, agent, available)",
    ]);
    // Nobody is preselected: nothing is sent until the agent chooses.
    expect(select.value).toBe("");
    expect(button("Send invitation")!.disabled).toBe(true);
    const note = dialog.querySelector("textarea")!;
    await act(async () => {
      note.value = "Refund question";
      note.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(sent).toEqual([]);
    await act(async () => {
      select.value = "2";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await act(async () => button("Send invitation")!.click());
    expect(sent).toEqual([{ type: "invite", conversation_id: CID, user_id: 2, note: "Refund question" }]);
    expect(root.querySelector('[role="dialog"]')).toBeNull();
  });

  it("gives a helper Leave instead of End, and writes private notes shown as notes", async () => {
    let bob = initialState(2);
    bob = server(bob, {
      type: "conversation",
      conversation: conversation({
        participants: [
          ...conversation().participants,
          { key: "user:2", role: "helper", name: "Bob", present: true },
        ],
      }),
    });
    bob = reduce(bob, {
      type: "entry",
      conversationId: CID,
      entry: entry(3, { kind: "note", author: "user:1", body: { text: "between us" } }),
    });
    const sends: unknown[][] = [];
    const typing: boolean[] = [];
    panel(bob, {
      send: (...args: unknown[]) => void sends.push(args),
      typing: (_id, active) => void typing.push(active),
    });
    expect(button("End chat")).toBeUndefined();
    expect(button("Invite")).toBeUndefined();
    expect(button("Leave chat")).toBeDefined();
    const note = root.querySelector('[data-private="true"]')!;
    expect(note.textContent).toContain("Note — only staff see this");
    expect(note.textContent).toContain("between us");

    const toggle = [...root.querySelectorAll("label")].find((l) => l.textContent?.includes("Private note"))!
      .querySelector("input")!;
    await act(async () => toggle.click());
    expect(root.querySelector("form.composer.private")).not.toBeNull();
    const box = root.querySelector("form.composer textarea") as HTMLTextAreaElement;
    expect(box.placeholder).toBe("Note — only staff see this");
    await act(async () => {
      box.value = "checked the refund";
      box.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => button("Send")!.click());
    expect(sends).toEqual([[CID, "checked the refund", { private: true }]]);
    expect(typing.filter((t) => t)).toEqual([]); // a note is never announced by typing
  });
});

vi.setConfig({ testTimeout: 10_000 });
