import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";

import type { Conversation, Entry, LiveChat, QueueTile, Wallboard } from "../shared/protocol";
import { EntryLog } from "./EntryLog";
import { settingsOf } from "./SupervisionAdmin";
import { initialState, reduce, takenOverBy, watchingText } from "./state";
import { Supervisor, type SupervisorActions } from "./Supervisor";
import {
  duration,
  initialSupervisorState,
  liveChats,
  newlyRed,
  percent,
  reduceSupervisor,
  type SupervisorState,
} from "./supervisor";

const CID = "c".repeat(32);

function tile(over: Partial<QueueTile> = {}): QueueTile {
  return {
    queue_id: null,
    name: "All queues",
    waiting: 0,
    longest_wait_secs: 0,
    answered: 0,
    abandoned: 0,
    expired: 0,
    answered_in_target: 0,
    service_level: null,
    asa_secs: null,
    alerts: [],
    ...over,
  };
}

function chat(over: Partial<LiveChat> = {}): LiveChat {
  return {
    conversation_id: CID,
    workgroup_id: 1,
    customer: "Zoe <script>",
    queue_id: 1,
    queue_name: "default",
    agents: [{ user_id: 1, name: "Alice" }],
    created_at: "2026-03-02T10:15:00Z",
    wait_secs: 20,
    duration_secs: 100,
    idle_secs: 30,
    stalled: false,
    ...over,
  };
}

function board(over: Partial<Wallboard> = {}): Wallboard {
  return {
    workgroup_id: 1,
    slug: "sales",
    name: "Sales",
    at: "2026-03-02T10:15:00Z",
    day_start: "2026-03-02T00:00:00Z",
    settings: {
      sl_target_secs: 45,
      sl_goal_percent: 80,
      alert_waiting: 1,
      alert_longest_wait_secs: 120,
      alert_asa_secs: null,
      alert_abandoned: null,
      stalled_secs: 120,
      sound: false,
      show_monitoring: false,
    },
    total: tile(),
    queues: [tile({ queue_id: 1, name: "default" })],
    agents: [{ user_id: 1, name: "Alice", presence: "available", secs_in_state: 60, chats: 1, capacity: 2 }],
    by_presence: { available: 1, away: 0, busy: 0, offline: 0 },
    occupancy: 0.5,
    chats: [chat()],
    alerts: [],
    ...over,
  };
}

function conv(): Conversation {
  return {
    id: CID,
    kind: "customer_chat",
    status: "active",
    workgroup_id: 1,
    last_seq: 2,
    created_at: "2026-03-02T10:15:00Z",
    ended_at: null,
    end_reason: null,
    metadata: { name: "Zoe" },
    participants: [
      { key: "visitor", role: "visitor", name: "Zoe", present: true },
      { key: "user:1", role: "agent", name: "Alice", present: true },
    ],
  };
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

function pushed(state: SupervisorState, b: Wallboard | null, id = 1): SupervisorState {
  return reduceSupervisor(state, {
    type: "server",
    message: { type: "wallboard", workgroup_id: id, board: b },
  });
}

describe("the supervisor reducer", () => {
  it("keeps the last board of each workgroup, and drops one that is no longer ours", () => {
    let s = pushed(initialSupervisorState(), board());
    s = pushed(s, board({ workgroup_id: 2, slug: "support", name: "Support", chats: [] }), 2);
    expect(Object.keys(s.boards)).toEqual(["1", "2"]);
    s = pushed(s, board({ total: tile({ waiting: 3 }) }));
    expect(s.boards[1].total.waiting).toBe(3);
    s = pushed(s, null, 2);
    expect(Object.keys(s.boards)).toEqual(["1"]);
  });

  it("filters live chats by workgroup, agent and queue, the quietest first", () => {
    const s = pushed(
      initialSupervisorState(),
      board({
        chats: [
          chat(),
          chat({ conversation_id: "d".repeat(32), idle_secs: 300, stalled: true, agents: [] }),
        ],
      }),
    );
    const all = liveChats(s, { workgroup: null, agent: null, queue: null });
    expect(all.map((c) => c.idle_secs)).toEqual([300, 30]);
    expect(liveChats(s, { workgroup: null, agent: 1, queue: null })).toHaveLength(1);
    expect(liveChats(s, { workgroup: 2, agent: null, queue: null })).toHaveLength(0);
    expect(liveChats(s, { workgroup: null, agent: null, queue: 9 })).toHaveLength(0);
  });

  it("follows the watched chat only", () => {
    let s = reduceSupervisor(initialSupervisorState(), { type: "watch", conversationId: CID });
    s = reduceSupervisor(s, { type: "server", message: { type: "conversation", conversation: conv() } });
    s = reduceSupervisor(s, { type: "entry", conversationId: CID, entry: entry(1) });
    s = reduceSupervisor(s, { type: "entry", conversationId: CID, entry: entry(1) });
    s = reduceSupervisor(s, { type: "entry", conversationId: "other", entry: entry(2) });
    expect(s.watched?.entries.map((e) => e.seq)).toEqual([1]);
    s = reduceSupervisor(s, { type: "stop_watching" });
    expect(s.watched).toBeNull();
  });

  it("says which tiles turned red", () => {
    expect(newlyRed(board(), board({ alerts: ["waiting", "asa:1"] }))).toEqual(["waiting", "asa:1"]);
    expect(newlyRed(board({ alerts: ["waiting"] }), board({ alerts: ["waiting"] }))).toEqual([]);
    expect(duration(65)).toBe("1:05");
    expect(duration(null)).toBe("–");
    expect(percent(0.846)).toBe("85 %");
  });
});

describe("the Supervisor view", () => {
  let root: HTMLElement | null = null;
  afterEach(() => {
    if (root) render(null, root);
    root?.remove();
    root = null;
  });

  const actions: SupervisorActions = {
    request: async () => ({ type: "ok", ref: null }),
    watch: () => undefined,
    stopWatching: () => undefined,
    openChat: () => undefined,
  };

  it("shows red tiles, escapes the customer's name, and has no composer when watching", () => {
    let s = reduceSupervisor(initialSupervisorState(), {
      type: "server",
      message: { type: "synced" },
    });
    s = pushed(s, board({ total: tile({ waiting: 2, alerts: ["waiting"] }), alerts: ["waiting"] }));
    s = reduceSupervisor(s, { type: "watch", conversationId: CID });
    s = reduceSupervisor(s, { type: "server", message: { type: "conversation", conversation: conv() } });
    root = document.createElement("div");
    document.body.appendChild(root);
    render(<Supervisor state={s} actions={actions} me="user:3" />, root);
    const waiting = root.querySelector('[data-testid="tile"][data-metric="waiting"]');
    expect(waiting?.getAttribute("data-alert")).toBe("true");
    expect(root.querySelector('[data-testid="live-chat"]')?.textContent).toContain("Zoe <script>");
    expect(root.querySelector("script")).toBeNull();
    const pane = root.querySelector('[data-testid="monitor-pane"]');
    expect(pane).not.toBeNull();
    expect(pane?.querySelector("textarea#whisper-text")).not.toBeNull();
    // The whisper box is the pane's only text box: nothing to write to the customer with.
    expect(pane?.querySelectorAll("textarea")).toHaveLength(1);
    expect(pane?.textContent).toContain("Whisper to the agents (the customer never sees this)");
  });
});

describe("the agent's side", () => {
  it("marks a whisper as coaching, by the supervisor's name", () => {
    const root = document.createElement("div");
    render(
      <EntryLog
        conversation={conv()}
        entries={[entry(3, { kind: "note", author: "user:3", body: { text: "try the voucher", coaching: true, name: "Sam" } })]}
        me="user:1"
      />,
      root,
    );
    const note = root.querySelector('[data-coaching="true"]');
    expect(note?.textContent).toContain("Coaching from Sam");
    expect(note?.textContent).toContain("try the voucher");
    render(null, root);
  });

  it("says who watches and who took the chat over", () => {
    let s = initialState(1);
    s = reduce(s, { type: "server", message: { type: "conversation", conversation: conv() } });
    s = reduce(s, {
      type: "server",
      message: { type: "watching", conversation_id: CID, watchers: [{ user_id: 3, name: "Sam" }] },
    });
    expect(watchingText(s.watchers[CID])).toBe("Sam is watching");
    expect(watchingText(["Sam", "Tess"])).toBe("Sam and Tess are watching");
    s = reduce(s, {
      type: "entry",
      conversationId: CID,
      entry: entry(3, { kind: "left", author: "user:1", body: { name: "Alice", role: "agent", reason: "taken_over" } }),
    });
    s = reduce(s, {
      type: "entry",
      conversationId: CID,
      entry: entry(4, { kind: "joined", author: "user:3", body: { name: "Sam", role: "agent" } }),
    });
    expect(takenOverBy(s, CID)).toBe("Sam");
    s = reduce(s, { type: "server", message: { type: "watching", conversation_id: CID, watchers: [] } });
    expect(s.watchers[CID]).toBeUndefined();
  });
});

describe("the supervision settings form", () => {
  it("reads an empty threshold as none", () => {
    const s = settingsOf({
      supervisors: ["sam"],
      sl_target_secs: "30",
      sl_goal_percent: "90",
      alert_waiting: "",
      alert_longest_wait_secs: "60",
      alert_asa_secs: " ",
      alert_abandoned: "5",
      stalled_secs: "120",
      sound: true,
      show_monitoring: false,
      ratings: false,
    });
    expect(s).toEqual({
      sl_target_secs: 30,
      sl_goal_percent: 90,
      alert_waiting: null,
      alert_longest_wait_secs: 60,
      alert_asa_secs: null,
      alert_abandoned: 5,
      stalled_secs: 120,
      sound: true,
      show_monitoring: false,
      ratings: false,
    });
  });
});
