// REST calls of the staff IM and the house rules (docs/protocol.md, "Staff IM", "Blocked
// words", the audit log), beside `api.ts`'s.

import type { Conversation, Entry } from "../shared/protocol";
import { api } from "./api";
import type { ImListItem } from "./im";

const enc = encodeURIComponent;

export type BlockedWordAction = "refuse" | "mask" | "warn" | "notify";
export type BlockedWordScope = "staff_to_customer" | "staff_im" | "status_text" | "customer";

export interface BlockedWordRule {
  id: number;
  kind: "term" | "pattern";
  value: string;
  action: BlockedWordAction;
  scopes: BlockedWordScope[];
  reason: string;
}

export type BlockedWordRuleIn = Omit<BlockedWordRule, "id">;

export interface BlockedWordTest {
  outcome: "allowed" | "masked" | "refused" | "warn";
  text: string | null;
  rule: number | null;
  hits: { rule: number; action: BlockedWordAction; start: number; end: number; matched: string }[];
  notify: number[];
}

export interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  subject?: string;
  before?: number;
  limit?: number;
}

export const ImApi = {
  mine: () => api<ImListItem[]>("GET", "/im/conversations?limit=200"),
  openDirect: (userIds: number[]) => api<Conversation>("POST", "/im/direct", { user_ids: userIds }),
  createRoom: (name: string, topic: string, visibility: "open" | "private") =>
    api<Conversation>("POST", "/im/rooms", { name, topic, visibility }),
  openRooms: (q: string) => {
    const params = new URLSearchParams({ limit: "100" });
    if (q.trim()) params.set("q", q.trim());
    return api<Conversation[]>("GET", `/im/rooms?${params.toString()}`);
  },
  join: (id: string) => api<Conversation>("POST", `/im/conversations/${enc(id)}/join`),
  leave: (id: string) => api<void>("POST", `/im/conversations/${enc(id)}/leave`),
  addMember: (id: string, userId: number) =>
    api<Conversation>("POST", `/im/conversations/${enc(id)}/members`, { user_id: userId }),
  setTopic: (id: string, topic: string) =>
    api<Conversation>("PUT", `/im/conversations/${enc(id)}/topic`, { topic }),
  history: (id: string, before: number | null, limit: number) => {
    const params = new URLSearchParams({ limit: String(limit) });
    if (before !== null) params.set("before", String(before));
    return api<Entry[]>("GET", `/im/conversations/${enc(id)}/history?${params.toString()}`);
  },
  search: (id: string, q: string) =>
    api<Entry[]>("GET", `/im/conversations/${enc(id)}/search?${new URLSearchParams({ q, limit: "50" }).toString()}`),
  read: (id: string, seq: number) =>
    api<{ read_seq: number; unread: number }>("POST", `/im/conversations/${enc(id)}/read`, { seq }),
  backchannel: (customerId: string) =>
    api<Conversation>("POST", `/conversations/${enc(customerId)}/backchannel`),
};

export const HouseRulesApi = {
  rules: () => api<BlockedWordRule[]>("GET", "/admin/blocked-words"),
  create: (rule: BlockedWordRuleIn) => api<BlockedWordRule>("POST", "/admin/blocked-words", rule),
  update: (id: number, rule: BlockedWordRuleIn) =>
    api<BlockedWordRule>("PUT", `/admin/blocked-words/${id}`, rule),
  remove: (id: number) => api<void>("DELETE", `/admin/blocked-words/${id}`),
  test: (text: string, scope: BlockedWordScope) =>
    api<BlockedWordTest>("POST", "/admin/blocked-words/test", { text, scope }),
  audit: (filter: AuditFilter) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value !== undefined && value !== "") params.set(key, String(value));
    }
    return api<AuditRow[]>("GET", `/admin/audit?${params.toString()}`);
  },
};
