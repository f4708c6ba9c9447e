// REST calls of the archive (docs/protocol.md, "The archive" and its routes): the policy, legal
// holds and the compliance right (admins), what the caller may do, search, read-only reads and
// exports (supervisors and compliance readers), a customer's data on request, the notice.

import { api, type Transcript } from "./api";

const enc = encodeURIComponent;

export type ArchiveKind = "customer_chat" | "direct" | "room" | "backchannel";

/** The kinds of conversation the policy names, in the order the screens show them. */
export const ARCHIVE_KINDS: { kind: ArchiveKind; label: string; one: string }[] = [
  { kind: "customer_chat", label: "Customer chats", one: "customer chat" },
  { kind: "direct", label: "Direct messages", one: "DM" },
  { kind: "room", label: "Rooms", one: "room" },
  { kind: "backchannel", label: "Back-channels", one: "back-channel" },
];

export function kindLabel(kind: string): string {
  return ARCHIVE_KINDS.find((k) => k.kind === kind)?.one ?? kind;
}

/** Days kept, the most the server takes (`retention.MAX_KEEP_DAYS`). */
export const MAX_KEEP_DAYS = 36500;
/** The notice: one line of at most this many characters. */
export const MAX_NOTICE_CHARS = 500;
/** A hold's reason. */
export const MAX_HOLD_REASON_CHARS = 500;

/** A legal hold: on exactly one of a conversation, a customer's verified id, or an email. */
export interface Hold {
  id: number;
  conversation_id: string | null;
  customer_sub: string | null;
  customer_email: string | null;
  reason: string;
  created_by: number | null;
  created_at: string;
}

export type HoldScope = "conversation_id" | "customer_sub" | "customer_email";

export interface ArchivePolicy {
  /** Per kind: days kept after the last activity, or null for forever. */
  keep_days: Record<ArchiveKind, number | null>;
  notice: string;
  holds: Hold[];
  /** Who holds the compliance right (user ids). */
  compliance_users: number[];
}

/** What the caller may do with the archive (`GET /archive/me`). */
export interface ArchiveRights {
  compliance: boolean;
  search: boolean;
  customer_export: boolean;
  customer_delete: boolean;
  policy: boolean;
}

export const NO_RIGHTS: ArchiveRights = {
  compliance: false,
  search: false,
  customer_export: false,
  customer_delete: false,
  policy: false,
};

/** The search body (also an export's): every field narrows it. */
export interface ArchiveQuery {
  words?: string;
  kind?: ArchiveKind;
  user_id?: number;
  customer_sub?: string;
  customer_email?: string;
  /** ISO timestamps with a time zone; `until` is exclusive. */
  since?: string;
  until?: string;
}

/** One entry found (`POST /archive/search`), newest first. */
export interface ArchiveHit {
  conversation_id: string;
  kind: ArchiveKind;
  seq: number;
  entry_kind: string;
  /** A participant key: `visitor`, `user:<id>`. */
  author: string | null;
  text: string;
  created_at: string;
}

export interface ArchiveExport {
  id: string;
  state: "running" | "done" | "failed";
  total: number;
  done: number;
  /** 0 to 100. */
  percent: number;
  created_at: string;
  finished_at: string | null;
  error: string | null;
}

/** A customer, by verified id, or by an email the admin checked is theirs. */
export type CustomerRef = { sub: string } | { email: string; confirm_email: true };

export interface CustomerData {
  conversations: ({ id: string; entries: unknown[] } & Record<string, unknown>)[];
  left_messages: Record<string, unknown>[];
}

export interface CustomerDeleted {
  conversations: string[];
  left_messages: number;
  /** What a legal hold keeps: a conversation id or `left_messages`, the hold and its reason. */
  kept: { what: string; hold_id: number; reason: string }[];
  /** Chats not ended yet: not deleted. */
  open_chats: string[];
}

export const SEARCH_PAGE = 50;

export const ArchiveApi = {
  me: () => api<ArchiveRights>("GET", "/archive/me"),
  notice: () => api<{ notice: string }>("GET", "/archive/notice"),
  policy: () => api<ArchivePolicy>("GET", "/admin/archive"),
  setPolicy: (body: {
    keep_days?: Partial<Record<ArchiveKind, number | null>>;
    notice?: string | null;
  }) => api<ArchivePolicy>("PUT", "/admin/archive", body),
  addHold: (scope: HoldScope, value: string, reason: string) =>
    api<Hold>("POST", "/admin/archive/holds", { [scope]: value, reason }),
  releaseHold: (id: number) => api<void>("DELETE", `/admin/archive/holds/${id}`),
  setCompliance: (userId: number, compliance: boolean) =>
    api<void>("PUT", `/admin/users/${userId}/compliance`, { compliance }),
  search: (query: ArchiveQuery, offset = 0, limit = SEARCH_PAGE) =>
    api<ArchiveHit[]>("POST", `/archive/search?offset=${offset}&limit=${limit}`, query),
  read: (id: string) => api<Transcript>("GET", `/archive/conversations/${enc(id)}`),
  startExport: (query: ArchiveQuery) => api<ArchiveExport>("POST", "/archive/exports", query),
  exportState: (id: string) => api<ArchiveExport>("GET", `/archive/exports/${enc(id)}`),
  downloadUrl: (id: string, format: "jsonl" | "html") =>
    `/api/v1/archive/exports/${enc(id)}/download?format=${format}`,
  customerExport: (who: CustomerRef) => api<CustomerData>("POST", "/archive/customers/export", who),
  customerDelete: (who: CustomerRef) =>
    api<CustomerDeleted>("POST", "/archive/customers/delete", who),
};
