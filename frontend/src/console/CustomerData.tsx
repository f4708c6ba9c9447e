// A customer's data on request (docs/protocol.md, "The archive"): export everything held about
// one customer (`POST /archive/customers/export`: admins and compliance readers) or delete it
// (`/archive/customers/delete`: admins), by verified id or by an email the admin checked is
// theirs, with a confirm step; what a legal hold keeps, and chats still open, explained.

import { useEffect, useState } from "preact/hooks";

import {
  ArchiveApi,
  type CustomerData as Data,
  type CustomerDeleted,
  type CustomerRef,
} from "./archiveApi";
import "./archive.css";
import { message as errorText } from "./PastChats";

type By = "sub" | "email";

/** The request body, or why it cannot be sent. */
export function customerRef(by: By, value: string, confirmed: boolean): { ref: CustomerRef } | { error: string } {
  const v = value.trim();
  if (by === "sub") {
    if (!v) return { error: "Enter the customer's verified id." };
    if (v.length > 255) return { error: "A customer id is at most 255 characters." };
    return { ref: { sub: v } };
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(v) || v.length > 254) return { error: "Enter the customer's email address." };
  if (!confirmed) {
    return {
      error:
        "An email is only what a visitor typed: confirm that you checked, outside Parley, that it is the address of the person asking.",
    };
  }
  return { ref: { email: v, confirm_email: true } };
}

function describe(ref: CustomerRef): string {
  return "sub" in ref ? `customer id ${ref.sub}` : ref.email;
}

export function CustomerData({ canExport, canDelete }: { canExport: boolean; canDelete: boolean }) {
  const [by, setBy] = useState<By>("sub");
  const [value, setValue] = useState("");
  const [confirmed, setConfirmed] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [exported, setExported] = useState<{ who: string; data: Data; url: string } | null>(null);
  const [confirming, setConfirming] = useState<CustomerRef | null>(null);
  const [deleted, setDeleted] = useState<{ who: string; result: CustomerDeleted } | null>(null);

  useEffect(() => () => {
    if (exported) URL.revokeObjectURL(exported.url);
  }, [exported]);

  const ref = () => {
    const built = customerRef(by, value, confirmed);
    if ("error" in built) {
      setError(built.error);
      return null;
    }
    setError("");
    return built.ref;
  };
  const doExport = async () => {
    const r = ref();
    if (!r) return;
    setBusy(true);
    setDeleted(null);
    setConfirming(null);
    try {
      const data = await ArchiveApi.customerExport(r);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      setExported({ who: describe(r), data, url: URL.createObjectURL(blob) });
    } catch (e) {
      setError(`Could not export the customer's data: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const doDelete = async (r: CustomerRef) => {
    setBusy(true);
    setError("");
    try {
      const result = await ArchiveApi.customerDelete(r);
      setDeleted({ who: describe(r), result });
      setConfirming(null);
      setExported(null);
    } catch (e) {
      setError(`Could not delete the customer's data: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="admin-section" aria-labelledby="customer-data-heading">
      <h2 id="customer-data-heading">Customer data</h2>
      <p class="muted">
        A customer asked for everything held about them, or for it to be deleted. Their chats (with
        every message), and by email the messages they left. Every export and deletion is recorded
        in the audit log.
      </p>
      <form
        aria-label="Which customer"
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (canExport) void doExport();
        }}
      >
        <fieldset>
          <legend>Find the customer by</legend>
          <label>
            <input type="radio" name="customer-by" checked={by === "sub"} onChange={() => setBy("sub")} /> Verified customer id
          </label>
          <label>
            <input type="radio" name="customer-by" checked={by === "email"} onChange={() => setBy("email")} /> Email
          </label>
        </fieldset>
        {by === "sub" ? (
          <label>
            Customer id
            <input value={value} maxLength={255} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          </label>
        ) : (
          <>
            <label>
              Customer email
              <input type="email" value={value} maxLength={254} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              <input
                type="checkbox"
                checked={confirmed}
                onChange={(e) => setConfirmed((e.target as HTMLInputElement).checked)}
              />{" "}
              I checked, outside Parley, that this address belongs to the person asking
            </label>
          </>
        )}
        {canExport && (
          <button type="submit" class="primary" disabled={busy}>
            Export their data
          </button>
        )}
        {canDelete && (
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() => {
              const r = ref();
              if (r) {
                setDeleted(null);
                setConfirming(r);
              }
            }}
          >
            Delete their data…
          </button>
        )}
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {confirming && (
        <div class="archive-confirm" role="alertdialog" aria-labelledby="customer-delete-q" data-testid="customer-delete-confirm">
          <p id="customer-delete-q">
            <strong>Delete everything held about {describe(confirming)}?</strong> Their ended chats go, each with its
            back-channel and every message{"email" in confirming ? ", and the messages they left" : ""}. This cannot
            be undone. What a legal hold covers is kept, and chats still open are left alone: you will be told which.
          </p>
          <button type="button" class="danger" disabled={busy} onClick={() => void doDelete(confirming)}>
            Delete for good
          </button>{" "}
          <button type="button" class="link" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {exported && (
        <div data-testid="customer-export">
          <h3>Data held about {exported.who}</h3>
          <p>
            {exported.data.conversations.length} conversation{exported.data.conversations.length === 1 ? "" : "s"},{" "}
            {exported.data.left_messages.length} left message{exported.data.left_messages.length === 1 ? "" : "s"}.{" "}
            <a href={exported.url} download={`customer-data-${exported.who.replace(/[^\w.@-]+/g, "_")}.json`}>
              Download as JSON
            </a>
          </p>
          {exported.data.conversations.length > 0 && (
            <ul>
              {exported.data.conversations.map((c) => (
                <li key={c.id}>
                  {c.id} · {String(c.status ?? "")} · started {String(c.created_at ?? "")} · {c.entries.length} entries
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {deleted && <DeleteResult who={deleted.who} result={deleted.result} />}
    </section>
  );
}

function DeleteResult({ who, result }: { who: string; result: CustomerDeleted }) {
  const n = result.conversations.length;
  return (
    <div data-testid="customer-deleted" role="status">
      <h3>Deleted for {who}</h3>
      <p>
        {n} conversation{n === 1 ? "" : "s"} and {result.left_messages} left message
        {result.left_messages === 1 ? "" : "s"} deleted.
      </p>
      {result.kept.length > 0 && (
        <div data-testid="customer-kept">
          <p>
            <strong>Kept under a legal hold</strong> (never deleted while the hold stands; an admin releases it in
            Archiving):
          </p>
          <ul>
            {result.kept.map((k) => (
              <li key={`${k.what}:${k.hold_id}`}>
                {k.what === "left_messages" ? "The messages they left" : `Conversation ${k.what}`}: hold #{k.hold_id}
                {k.reason ? ` (${k.reason})` : ""}
              </li>
            ))}
          </ul>
        </div>
      )}
      {result.open_chats.length > 0 && (
        <div data-testid="customer-open-chats">
          <p>
            <strong>Not deleted, still open:</strong> end these chats, then delete again.
          </p>
          <ul>
            {result.open_chats.map((id) => (
              <li key={id}>Conversation {id}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
