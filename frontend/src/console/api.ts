// REST calls to /api/v1 with the session cookie. The CSRF token from login (or /auth/me) is kept
// in memory only and sent as X-CSRF-Token on every write.

import type {
  ChatMetadata,
  Conversation,
  Entry,
  LeftMessage,
  Presence,
  SupervisionSettings,
  TransferKind,
} from "../shared/protocol";
import type { WorkgroupHours } from "./inbox";

export type Role = "agent" | "supervisor" | "admin";
/** A signed-in account: staff, or a guest (someone outside the company, in one room). */
export type AccountRole = Role | "guest";

export interface StaffUser {
  id: number;
  username: string;
  display_name: string;
  role: AccountRole;
}

/** One line of the staff directory (`GET /api/v1/staff`), readable by any staff. */
export interface StaffMember {
  user_id: number;
  username: string;
  display_name: string;
  role: Role;
  presence: Presence;
  status_text: string;
  workgroup_ids: number[];
}

export interface AdminUser extends StaffUser {
  active: boolean;
  email?: string | null;
  /** Signs in with a TOTP code (docs/protocol.md, "Accounts"). */
  two_factor?: boolean;
}

export interface Workgroup {
  id: number;
  slug: string;
  name: string;
  button_text: string;
  offer_timeout_secs: number;
  wait_timeout_secs: number;
  max_chats: number;
  form_fields: FormField[];
  members: string[];
  /** A declined or missed request is not offered to that agent again sooner. */
  decline_cooldown_secs?: number;
  /** How long a returning customer's last agent has the chat to themselves. */
  preferred_agent_secs?: number;
  /** Offers let time out in a row before the agent is set away; 0: never. */
  max_missed_offers?: number;
  /** Where agents may transfer this workgroup's chats. */
  transfer_targets?: TransferKind[];
  /** Transfers per chat at most (0-20). */
  max_transfers?: number;
  /** Agents may invite others into a chat. */
  invitations?: boolean;
  /** Verified customer identity: optional (anonymous chats welcome) or required. */
  identity?: IdentityMode;
}

export type IdentityMode = "optional" | "required";

/** A key the company signs identity tokens with; its secret is shown only when created. */
export interface IdentityKey {
  kid: string;
  created_at: string;
}

export interface NewIdentityKey extends IdentityKey {
  secret: string;
  algorithm: string;
}

/** An extra field of a workgroup's pre-chat form. */
export interface FormField {
  name: string;
  label: string;
  required: boolean;
}

export interface Session {
  user: StaffUser;
  csrf_token: string | null;
  /** The policy requires two-factor sign-in and this account has not enrolled: this session
   * may only enrol (`/me/2fa`). */
  must_enrol_2fa?: boolean;
}

/** Step one of a sign-in with two factors: send `pending_token` with a code. */
export interface TwoFactorStep {
  two_factor_required: true;
  pending_token: string;
  expires_at: string;
}

export interface Transcript {
  conversation: Conversation;
  entries: Entry[];
}

export type { ChatMetadata };

/** An API token as listed (`GET /api/v1/auth/tokens`): never the token itself. */
export interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** A token just created: the only time `token` is seen. */
export interface NewApiToken extends ApiToken {
  token: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The error's `details`, as the server sent them (e.g. `{rule, where, reason}`). */
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The CSRF header for a write this module does not send itself (a raw upload). */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { "X-CSRF-Token": csrfToken } : {};
}

export type Fetcher = typeof fetch;
let fetcher: Fetcher = (...args) => fetch(...args);

/** For tests. */
export function setFetcher(f: Fetcher): void {
  fetcher = f;
}

/** A REST call. `body` is sent as JSON, or as it is when it is a `Blob` (a file). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const raw = typeof Blob !== "undefined" && body instanceof Blob;
  if (body !== undefined) {
    headers["Content-Type"] = raw ? (body as Blob).type || "application/octet-stream" : "application/json";
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response: Response;
  try {
    response = await fetcher(`/api/v1${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : raw ? (body as Blob) : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check your connection.");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)
      ?.error;
    let message = error?.message ?? (text.trim() || `HTTP ${response.status}`);
    const details = error?.details;
    if (Array.isArray(details) && details.length) {
      message +=
        ": " +
        details
          .map((d: { loc?: unknown[]; msg?: string }) => {
            const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
            return where ? `${where}: ${d.msg ?? ""}` : String(d.msg ?? "");
          })
          .join("; ");
    }
    throw new ApiError(response.status, error?.code ?? "http_error", message, details ?? null);
  }
  return data as T;
}

export const Api = {
  me: () => api<Session>("GET", "/auth/me"),
  login: (username: string, password: string) =>
    api<Session | TwoFactorStep>("POST", "/auth/login", { username, password }),
  /** Step two: the authenticator's code, or one of the recovery codes. */
  loginSecondStep: (pendingToken: string, code: { code: string } | { recovery_code: string }) =>
    api<Session>("POST", "/auth/login/2fa", { pending_token: pendingToken, ...code }),
  logout: () => api<void>("POST", "/auth/logout"),
  workgroups: () => api<Workgroup[]>("GET", "/admin/workgroups"),
  createWorkgroup: (body: Omit<Workgroup, "id" | "members">) =>
    api<Workgroup>("POST", "/admin/workgroups", body),
  updateWorkgroup: (slug: string, body: Omit<Workgroup, "id" | "members" | "slug">) =>
    api<Workgroup>("PUT", `/admin/workgroups/${encodeURIComponent(slug)}`, body),
  setMembers: (slug: string, usernames: string[]) =>
    api<string[]>("PUT", `/admin/workgroups/${encodeURIComponent(slug)}/members`, { usernames }),
  users: () => api<AdminUser[]>("GET", "/admin/users"),
  staff: () => api<StaffMember[]>("GET", "/staff"),
  createUser: (body: {
    username: string;
    password: string;
    role: Role;
    display_name: string;
    workgroups: string[];
    email?: string;
  }) => api<AdminUser>("POST", "/admin/users", body),
  patchUser: (
    username: string,
    body: Partial<{ role: Role; active: boolean; password: string; display_name: string }>,
  ) => api<AdminUser>("PATCH", `/admin/users/${encodeURIComponent(username)}`, body),
  /** Lift a login lockout (too many failed logins); says whether there was one. */
  unlockUser: (username: string) =>
    api<{ was_locked: boolean }>("POST", `/admin/users/${encodeURIComponent(username)}/unlock`),
  conversations: (q: string, everyone: boolean) => {
    const params = new URLSearchParams();
    if (q.trim()) params.set("q", q.trim());
    if (everyone) params.set("all", "true");
    params.set("limit", "100");
    return api<Conversation[]>("GET", `/conversations?${params.toString()}`);
  },
  transcript: (id: string) => api<Transcript>("GET", `/conversations/${encodeURIComponent(id)}`),
  // One of the customer's earlier chats, readable by whoever may read this one.
  customerTranscript: (id: string, other: string) =>
    api<Transcript>(
      "GET",
      `/conversations/${encodeURIComponent(id)}/customer/${encodeURIComponent(other)}`,
    ),
  transfer: (id: string, body: { kind: TransferKind; name: string; note: string }) =>
    api<void>("POST", `/conversations/${encodeURIComponent(id)}/transfer`, body),
  cancelTransfer: (id: string) =>
    api<void>("POST", `/conversations/${encodeURIComponent(id)}/transfer/cancel`),
  /** The customer's earlier conversations (same verified identity, else the same browser). */
  customerHistory: (id: string) =>
    api<Conversation[]>("GET", `/conversations/${encodeURIComponent(id)}/customer`),
  identityKeys: (slug: string) =>
    api<IdentityKey[]>("GET", `/admin/workgroups/${encodeURIComponent(slug)}/identity-keys`),
  createIdentityKey: (slug: string) =>
    api<NewIdentityKey>("POST", `/admin/workgroups/${encodeURIComponent(slug)}/identity-keys`),
  deleteIdentityKey: (slug: string, kid: string) =>
    api<void>(
      "DELETE",
      `/admin/workgroups/${encodeURIComponent(slug)}/identity-keys/${encodeURIComponent(kid)}`,
    ),
  leftMessages: () => api<LeftMessage[]>("GET", "/messages"),
  takeMessage: (id: string) =>
    api<LeftMessage>("POST", `/messages/${encodeURIComponent(id)}/take`),
  messageDone: (id: string) =>
    api<LeftMessage>("POST", `/messages/${encodeURIComponent(id)}/done`),
  hours: (slug: string) => api<WorkgroupHours>("GET", `/workgroups/${encodeURIComponent(slug)}/hours`),
  setHours: (slug: string, body: WorkgroupHours) =>
    api<WorkgroupHours>("PUT", `/workgroups/${encodeURIComponent(slug)}/hours`, body),
  tokens: () => api<ApiToken[]>("GET", "/auth/tokens"),
  createToken: (name: string, expiresInDays: number) =>
    api<NewApiToken>("POST", "/auth/tokens", { name, expires_in_days: expiresInDays }),
  revokeToken: (id: string) => api<void>("DELETE", `/auth/tokens/${encodeURIComponent(id)}`),
  /** Supervisors, live: barge in or take over (over REST; whispers and watching go by socket). */
  barge: (id: string) => api<void>("POST", `/supervision/chats/${encodeURIComponent(id)}/barge`),
  takeOver: (id: string) =>
    api<void>("POST", `/supervision/chats/${encodeURIComponent(id)}/take-over`),
  supervisors: (slug: string) =>
    api<{ usernames: string[] }>("GET", `/admin/workgroups/${encodeURIComponent(slug)}/supervisors`),
  setSupervisors: (slug: string, usernames: string[]) =>
    api<{ usernames: string[] }>(
      "PUT",
      `/admin/workgroups/${encodeURIComponent(slug)}/supervisors`,
      { usernames },
    ),
  supervision: (slug: string) =>
    api<SupervisionSettings>("GET", `/admin/workgroups/${encodeURIComponent(slug)}/supervision`),
  setSupervision: (slug: string, body: SupervisionSettings) =>
    api<SupervisionSettings>(
      "PUT",
      `/admin/workgroups/${encodeURIComponent(slug)}/supervision`,
      body,
    ),
};
