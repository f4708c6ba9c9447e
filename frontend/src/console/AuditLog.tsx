// Admin: the audit log (`GET /api/v1/admin/audit`), searched by action, actor and subject, and
// paged back by id.

import { useEffect, useState } from "preact/hooks";

import { formatDateTime } from "./format";
import { HouseRulesApi, type AuditFilter, type AuditRow } from "./imApi";
import { message as errorText } from "./PastChats";

const PAGE = 50;

export function AuditLog() {
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [subject, setSubject] = useState("");
  const [filter, setFilter] = useState<AuditFilter>({});
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const load = async (f: AuditFilter, before?: number) => {
    setBusy(true);
    setError("");
    try {
      const page = await HouseRulesApi.audit({ ...f, before, limit: PAGE });
      setRows((old) => (before === undefined ? page : [...old, ...page]));
      setMore(page.length === PAGE);
    } catch (e) {
      setError(`Could not read the audit log: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load(filter);
  }, [filter]);

  return (
    <section class="admin-section" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ action: action.trim(), actor: actor.trim(), subject: subject.trim() });
        }}
      >
        <label>
          Action
          <input value={action} placeholder="blocked_word" onInput={(e) => setAction((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Actor
          <input value={actor} placeholder="staff:1" onInput={(e) => setActor((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Subject
          <input value={subject} placeholder="a conversation id" onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          Search audit log
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="data-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Subject</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-testid="audit-row">
              <td>
                <time dateTime={r.at}>{formatDateTime(r.at)}</time>
              </td>
              <td>{r.actor}</td>
              <td>{r.action}</td>
              <td>{r.subject}</td>
              <td>
                <code class="details">{JSON.stringify(r.details)}</code>
              </td>
            </tr>
          ))}
          {rows.length === 0 && !busy && (
            <tr>
              <td colSpan={5} class="muted" data-testid="audit-empty">
                Nothing found.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {more && (
        <button type="button" disabled={busy} onClick={() => void load(filter, rows[rows.length - 1]?.id)}>
          Older entries
        </button>
      )}
    </section>
  );
}
