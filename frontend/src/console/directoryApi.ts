// REST calls of the staff directory, profiles, photos and buddy lists (docs/protocol.md,
// "Directory and buddy list"), and of the two-factor sign-in, the account policy and guests
// ("Accounts: two-factor sign-in, guests, internal-only"), beside `api.ts`'s.

import type { Presence } from "../shared/protocol";
import { api, type Role } from "./api";

const enc = encodeURIComponent;

/** One line of `GET /directory`: every active staff account, readable by any staff. */
export interface DirectoryEntry {
  user_id: number;
  username: string;
  display_name: string;
  role: Role;
  title: string;
  presence: Presence;
  status_text: string;
  /** Away because every browser of the member is idle (it turns back by itself). */
  idle: boolean;
  /** `/api/v1/staff/{id}/photo?v=<hash>`; null without a photo. */
  photo_url: string | null;
}

export interface BuddyGroup {
  name: string;
  user_ids: number[];
}

export interface Buddies {
  favourites: number[];
  groups: BuddyGroup[];
}

export interface BuddiesOut extends Buddies {
  members: DirectoryEntry[];
}

export interface TwoFactorStatus {
  enabled: boolean;
  /** The account policy requires it for this account. */
  required: boolean;
  recovery_codes_left: number;
}

export interface Enrolment {
  /** Base32, to type into an app: shown this once. */
  secret: string;
  otpauth_uri: string;
  /** A QR code of `otpauth_uri` as an SVG document made by the server, when it sends one. */
  qr_svg?: string | null;
}

export type TwoFactorPolicy = "none" | "supervisors_and_admins" | "everyone";

export type NameFormat = "as_entered" | "first_last" | "first_l" | "f_last";

export interface AccountPolicy {
  require_2fa: TwoFactorPolicy;
  internal_only: boolean;
  staff_email_domains: string[];
  /** How staff names are shown to others (absent from an older server: left unchanged). */
  name_format?: NameFormat;
}

export interface GuestInvitation {
  id: string;
  conversation_id: string;
  email: string;
  expires_at: string;
  /** The invitation: shown this once (and emailed when `emailed`). */
  token: string;
  emailed: boolean;
}

/** One directory page is at most this long (the server's limit). */
export const DIRECTORY_PAGE = 200;

export const DirectoryApi = {
  page: (offset: number, limit = DIRECTORY_PAGE) =>
    api<DirectoryEntry[]>("GET", `/directory?limit=${limit}&offset=${offset}`),
  entry: (userId: number) => api<DirectoryEntry>("GET", `/directory/${userId}`),
  setTitle: (title: string) => api<DirectoryEntry>("PUT", "/me/profile", { title }),
  setPhoto: (file: Blob) => api<DirectoryEntry>("PUT", "/me/photo", file),
  deletePhoto: () => api<void>("DELETE", "/me/photo"),
  setPresence: (presence: Presence, statusText: string, confirm = false) =>
    api<{ presence: Presence; status_text: string }>("PUT", "/me/presence", {
      presence,
      status_text: statusText,
      confirm,
    }),
  buddies: () => api<BuddiesOut>("GET", "/me/buddies"),
  setBuddies: (b: Buddies) =>
    api<BuddiesOut>("PUT", "/me/buddies", { favourites: b.favourites, groups: b.groups }),
};

export const AccountsApi = {
  twoFactor: () => api<TwoFactorStatus>("GET", "/me/2fa"),
  enrol: () => api<Enrolment>("POST", "/me/2fa"),
  confirm: (code: string) => api<{ recovery_codes: string[] }>("POST", "/me/2fa/confirm", { code }),
  policy: () => api<AccountPolicy>("GET", "/admin/account-policy"),
  setPolicy: (p: AccountPolicy) => api<AccountPolicy>("PUT", "/admin/account-policy", p),
  resetTwoFactor: (username: string) => api<void>("DELETE", `/admin/users/${enc(username)}/2fa`),
  inviteGuest: (roomId: string, email: string) =>
    api<GuestInvitation>("POST", `/im/rooms/${enc(roomId)}/guests`, { email }),
  acceptGuest: (body: { token: string; username: string; password: string; display_name: string }) =>
    api<{ id: number; username: string; display_name: string; role: string }>("POST", "/guests/accept", body),
};
