// REST calls of after the fact (docs/protocol.md, "Ratings, outcomes and tags"): a chat's
// outcome and tags at wrap-up, past chats with both, the follow-up list, the ratings staff
// read, and the admin's list of tags.

import type { Conversation, Outcome } from "../shared/protocol";
import { api } from "./api";

const enc = encodeURIComponent;

export interface Tag {
  id: number;
  name: string;
  created_at: string;
}

export interface WrapUp {
  outcome: Outcome | null;
  outcome_by: number | null;
  outcome_at: string | null;
  tags: Tag[];
}

export interface PastChat {
  conversation: Conversation;
  wrap_up: WrapUp;
}

export interface Rating {
  conversation_id: string;
  score: number;
  comment: string;
  created_at: string;
  agent_id: number | null;
  agent_name: string | null;
  workgroup_id: number | null;
  workgroup: string | null;
  customer_name: string;
  /** A secret shopper's chat; null for agents, who are not told. */
  shopper: boolean | null;
}

export interface PastChatFilter {
  q?: string;
  all?: boolean;
  outcome?: Outcome | "";
  tag?: number | null;
}

function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const WrapUpApi = {
  wrapUp: (id: string) => api<WrapUp>("GET", `/conversations/${enc(id)}/wrap-up`),
  setOutcome: (id: string, outcome: Outcome) =>
    api<WrapUp>("PUT", `/conversations/${enc(id)}/outcome`, { outcome }),
  addTag: (id: string, tagId: number) => api<WrapUp>("PUT", `/conversations/${enc(id)}/tags/${tagId}`),
  removeTag: (id: string, tagId: number) => api<WrapUp>("DELETE", `/conversations/${enc(id)}/tags/${tagId}`),
  pastChats: (f: PastChatFilter) =>
    api<PastChat[]>(
      "GET",
      `/past-chats${query({ q: f.q?.trim(), all: f.all, outcome: f.outcome, tag: f.tag ?? undefined })}`,
    ),
  followUps: (all: boolean) => api<PastChat[]>("GET", `/follow-ups${query({ all })}`),
  ratings: (mine: boolean) => api<Rating[]>("GET", `/ratings${query({ mine })}`),
  tags: () => api<Tag[]>("GET", "/tags"),
  createTag: (name: string) => api<Tag>("POST", "/admin/tags", { name }),
  renameTag: (id: number, name: string) => api<Tag>("PUT", `/admin/tags/${id}`, { name }),
  deleteTag: (id: number) => api<void>("DELETE", `/admin/tags/${id}`),
};
