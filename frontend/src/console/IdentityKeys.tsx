// Admin: the keys a workgroup's company signs customer identity tokens with (HS256, by kid).
// Several at once, for rotation; a new key's secret is shown once, then never again.

import { useEffect, useState } from "preact/hooks";

import { Api, type IdentityKey, type NewIdentityKey, type Workgroup } from "./api";
import { formatDateTime } from "./format";
import { message } from "./PastChats";

export function IdentityKeys({ workgroups }: { workgroups: Workgroup[] }) {
  const [slug, setSlug] = useState("");
  const [keys, setKeys] = useState<IdentityKey[] | null>(null);
  const [created, setCreated] = useState<NewIdentityKey | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const current = slug || workgroups[0]?.slug || "";

  const load = async (which: string) => {
    try {
      setKeys(await Api.identityKeys(which));
      setError("");
    } catch (e) {
      setError(message(e));
    }
  };

  useEffect(() => {
    if (!current) return;
    setKeys(null);
    setCreated(null);
    setConfirming(null);
    setNotice("");
    void load(current);
  }, [current]);

  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    setError("");
    setNotice("");
    try {
      await what();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const create = () =>
    run(async () => {
      const key = await Api.createIdentityKey(current);
      setCreated(key);
      await load(current);
    });

  const remove = (kid: string) =>
    run(async () => {
      await Api.deleteIdentityKey(current, kid);
      setConfirming(null);
      if (created?.kid === kid) setCreated(null);
      setNotice(`Key ${kid} deleted: tokens signed with it no longer verify.`);
      await load(current);
    });

  return (
    <section class="admin-section" aria-labelledby="identity-heading">
      <h2 id="identity-heading">Customer identity keys</h2>
      <p class="muted">
        Your backend signs who the signed-in customer is (a JWT, HS256, with the key's id in its
        <code> kid</code> header) and your page passes it to the widget. See the security guide.
      </p>
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
      <div class="card">
        <div class="field">
          <label for="identity-wg">Workgroup of the keys</label>
          <select id="identity-wg" value={current} onChange={(e) => setSlug(e.currentTarget.value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        {created && (
          <div class="notice new-key" data-testid="new-identity-key" role="status">
            <p>
              New key <code data-testid="new-identity-kid">{created.kid}</code>. Its secret is shown
              only now: copy it to your backend.
            </p>
            <label for="identity-secret">Secret</label>
            <input
              id="identity-secret"
              readOnly
              value={created.secret}
              data-testid="new-identity-secret"
              onFocus={(e) => e.currentTarget.select()}
            />
            <button type="button" onClick={() => setCreated(null)}>
              I have copied it
            </button>
          </div>
        )}
        {keys === null && !error && <p class="muted">Loading…</p>}
        {keys !== null && keys.length === 0 && (
          <p class="muted" data-testid="identity-keys-empty">
            No keys: nobody can be verified in this workgroup yet.
          </p>
        )}
        {keys !== null && keys.length > 0 && (
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Key id (kid)</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.kid} data-testid="identity-key">
                  <td>
                    <code>{k.kid}</code>
                  </td>
                  <td>
                    <time dateTime={k.created_at}>{formatDateTime(k.created_at)}</time>
                  </td>
                  <td>
                    {confirming === k.kid ? (
                      <span role="group" aria-label={`Confirm deleting key ${k.kid}`}>
                        Tokens signed with it stop working.{" "}
                        <button type="button" class="danger" disabled={busy} onClick={() => remove(k.kid)}>
                          Delete it
                        </button>{" "}
                        <button type="button" onClick={() => setConfirming(null)}>
                          Keep it
                        </button>
                      </span>
                    ) : (
                      <button
                        type="button"
                        aria-label={`Delete key ${k.kid}`}
                        disabled={busy}
                        onClick={() => setConfirming(k.kid)}
                      >
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <button type="button" class="primary" disabled={busy || !current} onClick={create}>
          Create key
        </button>
      </div>
    </section>
  );
}
