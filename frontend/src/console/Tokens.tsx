// API tokens of the logged-in user, for scripts and bots: create one (with a name and a lifetime;
// the token is shown once, right then), see when each was last used, revoke them.

import { useEffect, useState } from "preact/hooks";

import { Api, type ApiToken, type NewApiToken } from "./api";
import { formatDateTime } from "./format";
import { message as errorText } from "./PastChats";

export const DEFAULT_TOKEN_DAYS = 90;

export function Tokens() {
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [error, setError] = useState("");
  const [name, setName] = useState("");
  const [days, setDays] = useState(String(DEFAULT_TOKEN_DAYS));
  const [created, setCreated] = useState<NewApiToken | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    Api.tokens().then(
      (list) => live && setTokens(list),
      (e) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, []);

  const create = async (event: Event) => {
    event.preventDefault();
    const lifetime = Number.parseInt(days, 10);
    if (!name.trim() || !Number.isFinite(lifetime) || lifetime < 1) {
      setError("Give the token a name and a lifetime of at least one day.");
      return;
    }
    setBusy(true);
    try {
      const made = await Api.createToken(name.trim(), lifetime);
      const { token: _shownOnce, ...listed } = made;
      setCreated(made);
      setTokens((list) => [...(list ?? []), listed]);
      setName("");
      setError("");
    } catch (e) {
      setError(errorText(e));
    }
    setBusy(false);
  };

  const revoke = async (token: ApiToken) => {
    try {
      await Api.revokeToken(token.id);
      setTokens((list) => (list ?? []).filter((t) => t.id !== token.id));
      if (created?.id === token.id) setCreated(null);
      setError("");
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <section class="inbox tokens" aria-labelledby="tokens-heading">
      <div class="inbox-head">
        <h2 id="tokens-heading">API tokens</h2>
      </div>
      <p class="muted">
        A token lets a script act as you (send it as <code>Authorization: Bearer …</code>). It expires; revoke it
        when the script no longer needs it.
      </p>
      <form class="card" aria-label="New API token" onSubmit={create}>
        <div class="fields">
          <label>
            Token name
            <input value={name} maxLength={128} required onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Expires in (days)
            <input type="number" min={1} value={days} required onInput={(e) => setDays(e.currentTarget.value)} />
          </label>
        </div>
        <button type="submit" disabled={busy}>
          Create token
        </button>
      </form>
      {created && (
        <div class="card inline-edit" data-testid="new-token" role="status">
          <label>
            New token “{created.name}”
            <input readOnly value={created.token} onFocus={(e) => e.currentTarget.select()} size={48} />
          </label>
          <p class="muted">Copy it now: it is shown only this once.</p>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {tokens === null ? (
        !error && <p class="muted">Loading…</p>
      ) : tokens.length === 0 ? (
        <p class="muted" data-testid="tokens-empty">
          No API tokens.
        </p>
      ) : (
        <ul class="inbox-list" aria-label="Your API tokens">
          {tokens.map((t) => (
            <li key={t.id} class="card inbox-item" data-testid="api-token">
              <strong>{t.name}</strong>
              <span class="muted">
                Created {formatDateTime(t.created_at)} · expires{" "}
                {t.expires_at ? formatDateTime(t.expires_at) : "never"} · last used{" "}
                <span data-testid="token-last-used">{t.last_used_at ? formatDateTime(t.last_used_at) : "never"}</span>
              </span>
              <div class="row-actions">
                <button type="button" aria-label={`Revoke ${t.name}`} onClick={() => revoke(t)}>
                  Revoke
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
