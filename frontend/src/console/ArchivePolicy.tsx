// Admin: the archiving policy (docs/protocol.md, "The archive"): per kind of conversation keep N
// days or forever, and the one-line notice everybody is shown (`PUT /admin/archive`); legal
// holds, listed, created with a scope and a reason, released (`/admin/archive/holds`); who
// holds the compliance right (`PUT /admin/users/{id}/compliance`).

import { useEffect, useState } from "preact/hooks";

import { Api, type AdminUser } from "./api";
import {
  ARCHIVE_KINDS,
  ArchiveApi,
  MAX_HOLD_REASON_CHARS,
  MAX_KEEP_DAYS,
  MAX_NOTICE_CHARS,
  type ArchiveKind,
  type ArchivePolicy,
  type Hold,
  type HoldScope,
} from "./archiveApi";
import { setArchiveNotice } from "./ArchiveNotice";
import "./archive.css";
import { formatDateTime } from "./format";
import { message as errorText } from "./PastChats";

/** A kind's retention as edited: forever, or a number of days (as typed). */
interface KeepDraft {
  forever: boolean;
  days: string;
}

type Drafts = Record<ArchiveKind, KeepDraft>;

function drafts(policy: ArchivePolicy): Drafts {
  const out = {} as Drafts;
  for (const { kind } of ARCHIVE_KINDS) {
    const days = policy.keep_days[kind];
    out[kind] = { forever: days === null || days === undefined, days: days ? String(days) : "" };
  }
  return out;
}

/** The days to send for each kind, or why not. */
export function keepDays(d: Drafts): { ok: Record<ArchiveKind, number | null> } | { error: string } {
  const out = {} as Record<ArchiveKind, number | null>;
  for (const { kind, label } of ARCHIVE_KINDS) {
    if (d[kind].forever) {
      out[kind] = null;
      continue;
    }
    const text = d[kind].days.trim();
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > MAX_KEEP_DAYS) {
      return { error: `${label}: keep for 1 to ${MAX_KEEP_DAYS} days, or forever.` };
    }
    out[kind] = n;
  }
  return { ok: out };
}

const SCOPES: { scope: HoldScope; label: string; field: string }[] = [
  { scope: "conversation_id", label: "A conversation", field: "Conversation id" },
  { scope: "customer_sub", label: "A customer, by verified id", field: "Customer id" },
  { scope: "customer_email", label: "A customer, by email", field: "Customer email" },
];

export function holdTarget(h: Hold): string {
  if (h.conversation_id) return `Conversation ${h.conversation_id}`;
  if (h.customer_sub) return `Customer id ${h.customer_sub}`;
  return `Customer email ${h.customer_email ?? ""}`;
}

export function ArchivePolicyScreen() {
  const [policy, setPolicy] = useState<ArchivePolicy | null>(null);
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [keep, setKeep] = useState<Drafts | null>(null);
  const [notice, setNotice] = useState("");
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setError("");
    try {
      const [p, u] = await Promise.all([ArchiveApi.policy(), Api.users()]);
      setPolicy(p);
      setKeep(drafts(p));
      setNotice(p.notice);
      setUsers(u);
    } catch (e) {
      setError(`Could not read the archiving policy: ${errorText(e)}`);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const save = async () => {
    if (!keep) return;
    const days = keepDays(keep);
    if ("error" in days) {
      setError(days.error);
      return;
    }
    const text = notice.trim();
    if (text.length > MAX_NOTICE_CHARS) {
      setError(`The notice is at most ${MAX_NOTICE_CHARS} characters.`);
      return;
    }
    setBusy(true);
    setError("");
    setSaved("");
    try {
      const p = await ArchiveApi.setPolicy({ keep_days: days.ok, notice: text });
      setPolicy(p);
      setKeep(drafts(p));
      setNotice(p.notice);
      setArchiveNotice(p.notice);
      setSaved("Saved the archiving policy.");
    } catch (e) {
      setError(`Could not save the policy: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const setKind = (kind: ArchiveKind, change: Partial<KeepDraft>) =>
    setKeep((d) => (d ? { ...d, [kind]: { ...d[kind], ...change } } : d));

  return (
    <section class="admin-section" aria-labelledby="archiving-heading">
      <h2 id="archiving-heading">Archiving policy</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {saved && (
        <p class="notice" role="status">
          {saved}
        </p>
      )}
      {!policy || !keep ? (
        !error && <p class="muted">Loading…</p>
      ) : (
        <>
          <form
            aria-label="Retention and notice"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <h3>How long conversations are kept</h3>
            <p class="muted">
              Counted from a conversation's last activity. A customer chat goes whole once ended and
              expired; DMs, rooms and back-channels lose their oldest messages. Legal holds keep what
              they cover whatever the policy.
            </p>
            <div class="archive-kinds">
              {ARCHIVE_KINDS.map(({ kind, label }) => (
                <fieldset key={kind} class="archive-kind" data-testid="archive-kind" data-kind={kind} style="display: contents">
                  <legend class="sr-only">{label}</legend>
                  <strong aria-hidden="true">{label}</strong>
                  <label>
                    <input
                      type="radio"
                      name={`keep-${kind}`}
                      checked={keep[kind].forever}
                      onChange={() => setKind(kind, { forever: true })}
                    />{" "}
                    Forever
                  </label>
                  <span>
                    <label>
                      <input
                        type="radio"
                        name={`keep-${kind}`}
                        checked={!keep[kind].forever}
                        onChange={() => setKind(kind, { forever: false, days: keep[kind].days || "365" })}
                      />{" "}
                      Keep for
                    </label>{" "}
                    <input
                      type="number"
                      min={1}
                      max={MAX_KEEP_DAYS}
                      aria-label={`Days to keep ${label.toLowerCase()}`}
                      value={keep[kind].days}
                      disabled={keep[kind].forever}
                      onInput={(e) => setKind(kind, { days: (e.target as HTMLInputElement).value })}
                    />{" "}
                    days
                  </span>
                </fieldset>
              ))}
            </div>
            <h3>The notice</h3>
            <label>
              Archive notice
              <input
                type="text"
                value={notice}
                maxLength={MAX_NOTICE_CHARS}
                placeholder="Conversations are archived and may be reviewed for compliance."
                onInput={(e) => setNotice((e.target as HTMLInputElement).value)}
              />
            </label>
            <p class="muted">
              One line, shown in the chat widget before a customer's first message, to staff at their
              first login and at the top of every DM, room and back-channel. Empty: no notice.
            </p>
            <button type="submit" class="primary" disabled={busy}>
              Save policy
            </button>
          </form>
          <Holds holds={policy.holds} users={users} onChanged={load} />
          <Compliance
            users={users}
            holders={policy.compliance_users}
            onChanged={(holders) => setPolicy((p) => (p ? { ...p, compliance_users: holders } : p))}
          />
        </>
      )}
    </section>
  );
}

function Holds({ holds, users, onChanged }: { holds: Hold[]; users: AdminUser[]; onChanged: () => Promise<void> }) {
  const [scope, setScope] = useState<HoldScope>("conversation_id");
  const [value, setValue] = useState("");
  const [reason, setReason] = useState("");
  const [releasing, setReleasing] = useState<number | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const field = SCOPES.find((s) => s.scope === scope)!;
  const who = (id: number | null) => {
    const u = users.find((x) => x.id === id);
    return u ? u.display_name || u.username : id === null ? "" : `user ${id}`;
  };

  const run = async (what: string, task: () => Promise<void>) => {
    setBusy(true);
    setError("");
    try {
      await task();
      await onChanged();
    } catch (e) {
      setError(`Could not ${what}: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="archive-holds">
      <h3>Legal holds</h3>
      <p class="muted">
        What a hold covers is never removed, by the retention job or by a customer's deletion, until
        the hold is released. A back-channel is held with its chat.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {holds.length === 0 ? (
        <p class="muted" data-testid="no-holds">
          No legal holds.
        </p>
      ) : (
        <table class="archive-table">
          <thead>
            <tr>
              <th>On</th>
              <th>Reason</th>
              <th>Since</th>
              <th>By</th>
              <th>
                <span class="sr-only">Release</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {holds.map((h) => (
              <tr key={h.id} data-testid="legal-hold">
                <td>{holdTarget(h)}</td>
                <td>{h.reason || <em class="muted">no reason given</em>}</td>
                <td>{formatDateTime(h.created_at)}</td>
                <td>{who(h.created_by)}</td>
                <td>
                  {releasing === h.id ? (
                    <span role="group" aria-label={`Release hold ${h.id}?`}>
                      Release? What it kept may then be removed.{" "}
                      <button type="button" class="danger" disabled={busy} onClick={() => void run("release the hold", async () => {
                        await ArchiveApi.releaseHold(h.id);
                        setReleasing(null);
                      })}>
                        Release hold
                      </button>{" "}
                      <button type="button" class="link" onClick={() => setReleasing(null)}>
                        Keep it
                      </button>
                    </span>
                  ) : (
                    <button type="button" aria-label={`Release hold ${h.id}`} onClick={() => setReleasing(h.id)}>
                      Release
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        aria-label="New legal hold"
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const v = value.trim();
          const r = reason.trim();
          if (!v) {
            setError(`Say which ${field.field.toLowerCase()} to hold.`);
            return;
          }
          if (!r) {
            setError("Give the hold a reason (a case number, who asked).");
            return;
          }
          void run("create the hold", async () => {
            await ArchiveApi.addHold(scope, v, r);
            setValue("");
            setReason("");
          });
        }}
      >
        <label>
          Hold on
          <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value as HoldScope)}>
            {SCOPES.map((s) => (
              <option key={s.scope} value={s.scope}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          {field.field}
          <input
            value={value}
            type={scope === "customer_email" ? "email" : "text"}
            maxLength={scope === "conversation_id" ? 32 : scope === "customer_sub" ? 255 : 254}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Reason
          <input
            value={reason}
            maxLength={MAX_HOLD_REASON_CHARS}
            onInput={(e) => setReason((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Place hold
        </button>
      </form>
    </div>
  );
}

function Compliance({
  users,
  holders,
  onChanged,
}: {
  users: AdminUser[];
  holders: number[];
  onChanged: (holders: number[]) => void;
}) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState<number | null>(null);
  const set = async (user: AdminUser, value: boolean) => {
    setBusy(user.id);
    setError("");
    try {
      await ArchiveApi.setCompliance(user.id, value);
      onChanged(value ? [...holders, user.id].sort((a, b) => a - b) : holders.filter((id) => id !== user.id));
    } catch (e) {
      setError(`Could not change ${user.username}'s compliance right: ${errorText(e)}`);
    } finally {
      setBusy(null);
    }
  };
  const sorted = [...users].sort((a, b) => Number(b.active) - Number(a.active) || a.username.localeCompare(b.username));
  return (
    <div class="archive-compliance">
      <h3>Compliance right</h3>
      <p class="muted">
        Its holders search the archive and read every conversation, DMs and private rooms included,
        through the archive only; each such read is in the audit log. Give it to few people.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="archive-table">
        <thead>
          <tr>
            <th>Staff member</th>
            <th>Role</th>
            <th>Compliance right</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((u) => (
            <tr key={u.id} data-testid="compliance-user" data-username={u.username}>
              <td>
                {u.display_name || u.username} <span class="muted">({u.username})</span>
                {!u.active && <span class="tag">deactivated</span>}
              </td>
              <td>{u.role}</td>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Compliance right for ${u.username}`}
                  checked={holders.includes(u.id)}
                  disabled={busy === u.id}
                  onChange={(e) => void set(u, (e.target as HTMLInputElement).checked)}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
