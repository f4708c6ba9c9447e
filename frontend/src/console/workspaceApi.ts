// REST calls of the agent's workspace: canned responses (and the `/` search with the company's
// message templates), each workgroup's automatic greeting, the knowledge base and the
// suggestions beside a chat (docs/protocol.md, "Canned responses", "The knowledge base").

import { api } from "./api";

export type CannedScope = "workgroup" | "personal";

export interface Canned {
  id: number;
  scope: CannedScope;
  /** A shared response's workgroup slug; null for a personal one. */
  workgroup: string | null;
  shortcut: string;
  title: string;
  text: string;
  category: string;
  uses: number;
  editable: boolean;
}

export interface CannedFields {
  shortcut: string;
  title: string;
  text: string;
  category: string;
}

/** One result of the `/` search: a canned response or a company message template. */
export interface CannedSuggestion {
  kind: "canned" | "template";
  id: number;
  scope: CannedScope | "company";
  shortcut: string;
  title: string;
  text: string;
  category: string;
  uses: number;
}

/** A response's text for one chat, placeholders filled in: for the reply box, not sent. */
export interface Rendered {
  text: string;
  missing: string[];
}

export type Visibility = "internal" | "public";

export interface ArticleSummary {
  id: number;
  workgroup: string;
  title: string;
  category: string;
  visibility: Visibility;
  excerpt: string;
  updated_at: string;
}

export interface Article extends ArticleSummary {
  body: string;
  html: string;
  answered: number;
  created_at: string;
  editable: boolean;
}

export interface ArticleFields {
  title: string;
  body: string;
  category: string;
  visibility: Visibility;
}

const q = (params: Record<string, string | number | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};
const enc = encodeURIComponent;

export const WorkspaceApi = {
  canned: (params: { workgroup?: string; scope?: CannedScope } = {}) =>
    api<Canned[]>("GET", `/canned${q(params)}`),
  searchCanned: (query: string, conversationId?: string, limit = 8) =>
    api<CannedSuggestion[]>("GET", `/canned/search${q({ q: query, conversation_id: conversationId, limit })}`),
  createCanned: (body: CannedFields & { scope: CannedScope; workgroup: string | null }) =>
    api<Canned>("POST", "/canned", body),
  updateCanned: (id: number, body: CannedFields) => api<Canned>("PUT", `/canned/${id}`, body),
  deleteCanned: (id: number) => api<void>("DELETE", `/canned/${id}`),
  /** Insert a suggestion into a chat's reply box: its text for that chat (a use is counted). */
  use: (conversationId: string, s: Pick<CannedSuggestion, "kind" | "id">) =>
    api<Rendered>(
      "POST",
      `/conversations/${enc(conversationId)}/${s.kind === "template" ? "templates" : "canned"}/${s.id}`,
    ),
  greeting: (slug: string) => api<{ greeting: Canned | null }>("GET", `/workgroups/${enc(slug)}/greeting`),
  setGreeting: (slug: string, cannedId: number | null) =>
    api<{ greeting: Canned | null }>("PUT", `/workgroups/${enc(slug)}/greeting`, { canned_id: cannedId }),
  articles: (params: { workgroup?: string; q?: string; category?: string; visibility?: Visibility } = {}) =>
    api<ArticleSummary[]>("GET", `/kb/articles${q(params)}`),
  article: (id: number) => api<Article>("GET", `/kb/articles/${id}`),
  createArticle: (body: ArticleFields & { workgroup: string }) => api<Article>("POST", "/kb/articles", body),
  updateArticle: (id: number, body: ArticleFields) => api<Article>("PUT", `/kb/articles/${id}`, body),
  deleteArticle: (id: number) => api<void>("DELETE", `/kb/articles/${id}`),
  suggestions: (conversationId: string) =>
    api<ArticleSummary[]>("GET", `/conversations/${enc(conversationId)}/kb/suggestions`),
};

/** The placeholders a canned response may hold (besides `{field.<name>}`), for the editors. */
export const PLACEHOLDERS = [
  "customer.name",
  "customer.first_name",
  "customer.email",
  "customer.id",
  "customer.question",
  "customer.page",
  "agent.name",
  "agent.first_name",
  "workgroup.name",
];
