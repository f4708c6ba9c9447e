// REST calls about a chat's customer: their profile (staff only), its notes and tags
// (docs/protocol.md, "Customer profiles").

import type { Conversation } from "../shared/protocol";
import { api } from "./api";

export interface CustomerNote {
  id: number;
  text: string;
  author_id: number | null;
  author_name: string;
  created_at: string;
}

export interface CustomerProfile {
  /** A verified customer (the identity token's `sub`) or the same browser; never a typed email. */
  key: "verified" | "browser";
  stored: boolean;
  name: string;
  email: string;
  company: string;
  tags: string[];
  verified: { sub: string; name: string; email: string } | null;
  fields: Record<string, string>;
  typed_name: string;
  typed_email: string;
  notes: CustomerNote[];
  conversations: Conversation[];
  updated_at: string | null;
  updated_by: number | null;
}

export interface ProfileChanges {
  name?: string;
  email?: string;
  company?: string;
  tags?: string[];
}

export const MAX_TAGS = 20;
export const MAX_TAG_CHARS = 32;
export const MAX_NOTE_CHARS = 2000;

const base = (id: string) => `/conversations/${encodeURIComponent(id)}/profile`;

export const CustomersApi = {
  profile: (id: string) => api<CustomerProfile>("GET", base(id)),
  update: (id: string, changes: ProfileChanges) => api<CustomerProfile>("PATCH", base(id), changes),
  addNote: (id: string, text: string) => api<CustomerNote>("POST", `${base(id)}/notes`, { text }),
  deleteNote: (id: string, noteId: number) => api<void>("DELETE", `${base(id)}/notes/${noteId}`),
};

/** Tags as typed in one box: separated by commas, trimmed, duplicates (without case) dropped. */
export function parseTags(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(",")) {
    const tag = raw.trim();
    if (!tag || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}
