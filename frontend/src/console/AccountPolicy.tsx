// Admins: the account policy (docs/protocol.md, "Accounts"): who must sign in with two factors,
// the internal-only network (no guests), the staff email domains. What a change does at once
// (sessions that end, guests removed) is said before it is saved, in a dialog of the page's
// own (never `window.confirm`).

import { useEffect, useState } from "preact/hooks";

import { AccountsApi, type AccountPolicy as Policy, type NameFormat, type TwoFactorPolicy } from "./directoryApi";
import { message as errorText } from "./PastChats";
import { Dialog } from "./Team";

/** The standard display names (docs/protocol.md, "Accounts"): each account's name as entered is kept. */
const NAME_FORMATS: { value: NameFormat; label: string }[] = [
  { value: "as_entered", label: "As each person entered it" },
  { value: "first_last", label: "First Last (Mary Smith)" },
  { value: "first_l", label: "First L. (Mary S.)" },
  { value: "f_last", label: "F. Last (M. Smith)" },
];

const TWO_FACTOR: { value: TwoFactorPolicy; label: string }[] = [
  { value: "none", label: "Nobody (each person may turn it on)" },
  { value: "supervisors_and_admins", label: "Supervisors and admins" },
  { value: "everyone", label: "Everyone" },
];
const STRICTNESS: Record<TwoFactorPolicy, number> = { none: 0, supervisors_and_admins: 1, everyone: 2 };

/** The domains typed (one per line, or separated by commas or spaces), as the server keeps them. */
export function parseDomains(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(/[\s,;]+/)) {
    const d = part.trim().toLowerCase().replace(/^@/, "");
    if (d) seen.add(d);
  }
  return [...seen].sort();
}

/** What saving `next` over `before` will do at once, in words (empty: nothing to warn about). */
export function consequences(before: Policy, next: Policy, myRole: string, iHave2fa: boolean): string[] {
  const out: string[] = [];
  if (next.internal_only && !before.internal_only) {
    out.push(
      "Internal-only: every guest is removed from the rooms they are in and signed out, pending guest " +
        "invitations are deleted, and nobody can invite a guest or sign in as one until it is switched off again.",
    );
  }
  if (STRICTNESS[next.require_2fa] > STRICTNESS[before.require_2fa]) {
    const who = next.require_2fa === "everyone" ? "everyone" : "supervisors and admins";
    out.push(
      `Two-factor sign-in becomes required for ${who}: those of them who have not set it up are signed out ` +
        "now, and must set it up at their next login. API tokens keep working.",
    );
    const mine = next.require_2fa === "everyone" || myRole === "admin" || myRole === "supervisor";
    if (mine && !iHave2fa) {
      out.push("You have not set it up yourself: you will be signed out too (set it up under Security first).");
    }
  }
  return out;
}

export function AccountPolicyAdmin({ myRole }: { myRole: string }) {
  const [saved, setSaved] = useState<Policy | null>(null);
  const [require2fa, setRequire2fa] = useState<TwoFactorPolicy>("none");
  const [internal, setInternal] = useState(false);
  const [domains, setDomains] = useState("");
  const [nameFormat, setNameFormat] = useState<NameFormat | undefined>(undefined);
  const [mine, setMine] = useState(false);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<string[] | null>(null);

  const show = (p: Policy) => {
    setSaved(p);
    setRequire2fa(p.require_2fa);
    setInternal(p.internal_only);
    setDomains(p.staff_email_domains.join("\n"));
    setNameFormat(p.name_format);
  };
  useEffect(() => {
    AccountsApi.policy().then(show, (e) => setError(`Could not read the account policy: ${errorText(e)}`));
    AccountsApi.twoFactor().then(
      (s) => setMine(s.enabled),
      () => undefined,
    );
  }, []);

  const next = (): Policy => ({
    require_2fa: require2fa,
    internal_only: internal,
    staff_email_domains: parseDomains(domains),
    ...(nameFormat === undefined ? {} : { name_format: nameFormat }),
  });
  const save = async () => {
    setConfirming(null);
    setBusy(true);
    setError("");
    setNotice("");
    try {
      show(await AccountsApi.setPolicy(next()));
      setNotice("The account policy is saved.");
    } catch (e) {
      setError(`Could not save the account policy: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="admin-section account-policy" aria-labelledby="account-policy-heading">
      <h2 id="account-policy-heading">Account policy</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {!saved && !error && <p class="muted">Loading…</p>}
      {saved && (
        <form
          class="fields"
          aria-label="Account policy"
          onSubmit={(e) => {
            e.preventDefault();
            const warn = consequences(saved, next(), myRole, mine);
            if (warn.length) setConfirming(warn);
            else void save();
          }}
        >
          <label>
            Two-factor sign-in required for
            <select
              value={require2fa}
              onChange={(e) => setRequire2fa((e.target as HTMLSelectElement).value as TwoFactorPolicy)}
            >
              {TWO_FACTOR.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={internal} onChange={() => setInternal((v) => !v)} />
            Internal-only network (no guests)
          </label>
          <p class="muted">
            Guests are people outside the company whom a room's owner invites by email into that room.
          </p>
          <label>
            Staff email domains
            <textarea
              rows={3}
              value={domains}
              aria-describedby="domains-help"
              placeholder="example.com"
              onInput={(e) => setDomains((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <p class="muted" id="domains-help">
            One per line (at most 50). When set, new staff accounts (and changes of a role or email) need an email at one
            of them, exactly: sub.example.com is not example.com. Existing accounts are left as they are. Empty: any.
          </p>
          {nameFormat !== undefined && (
            <label>
              Staff names are shown as
              <select
                value={nameFormat}
                onChange={(e) => setNameFormat((e.target as HTMLSelectElement).value as NameFormat)}
              >
                {NAME_FORMATS.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </label>
          )}
          <div class="dialog-actions">
            <button type="submit" class="primary" disabled={busy}>
              Save account policy
            </button>
          </div>
        </form>
      )}
      {confirming && (
        <Dialog title="Change the account policy?" onClose={() => setConfirming(null)}>
          <ul class="consequences" data-testid="policy-consequences">
            {confirming.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <div class="dialog-actions">
            <button type="button" class="primary danger" onClick={() => void save()}>
              Save and apply now
            </button>
            <button type="button" onClick={() => setConfirming(null)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
