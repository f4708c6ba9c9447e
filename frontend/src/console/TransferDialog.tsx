// Transferring a chat: the dialog (to an agent, a queue or another workgroup, with a note), the
// sender's status line while it waits ("Call off") and its notices, and the receiver's copy of
// the sender's note. Everything user-written (names, notes) is rendered as text.

import { useEffect, useState } from "preact/hooks";

import type { Conversation, Presence, TransferInfo, TransferKind } from "../shared/protocol";
import { Api, type StaffMember, type Workgroup } from "./api";
import { customerName } from "./format";
import { message } from "./PastChats";
import { RoutingApi } from "./routingApi";
import type { OutgoingTransfer, PresenceState } from "./state";

const KINDS: { kind: TransferKind; label: string; select: string }[] = [
  { kind: "agent", label: "To an agent", select: "Agent" },
  { kind: "queue", label: "To a queue", select: "Queue" },
  { kind: "workgroup", label: "To another workgroup", select: "Workgroup" },
];

const ALL_KINDS: TransferKind[] = ["agent", "queue", "workgroup"];

const PRESENCE_ORDER: Record<Presence, number> = { available: 0, busy: 1, away: 2, offline: 3 };

/** One choice in the target select: what the server is sent, and what the agent reads. */
export interface TransferOption {
  name: string;
  label: string;
  /** Whom the status line names while it waits: "Bob", "queue billing", "Support". */
  toName: string;
}

/** The agents of the chat's workgroup one could hand it to, available ones first. `presence`
 * (live, from the socket) wins over the directory's snapshot. */
export function agentOptions(
  staff: StaffMember[],
  workgroupId: number | null,
  myUserId: number,
  presence: Record<number, PresenceState>,
): TransferOption[] {
  return staff
    .filter((s) => s.user_id !== myUserId && workgroupId !== null && s.workgroup_ids.includes(workgroupId))
    .map((s) => ({ s, live: presence[s.user_id]?.presence ?? s.presence }))
    .sort(
      (a, b) =>
        (PRESENCE_ORDER[a.live] ?? 9) - (PRESENCE_ORDER[b.live] ?? 9) ||
        (a.s.display_name || a.s.username).localeCompare(b.s.display_name || b.s.username),
    )
    .map(({ s, live }) => {
      const name = s.display_name || s.username;
      return { name: s.username, label: `${name} (${live})`, toName: name };
    });
}

interface DialogProps {
  conversation: Conversation;
  myUserId: number;
  myUsername?: string;
  presence: Record<number, PresenceState>;
  /** Called just before the request: the status line shows "Transfer to … pending". */
  onRequested: (toName: string) => void;
  /** The server refused it (the dialog shows why). */
  onRefused: () => void;
  onClose: () => void;
}

export function TransferDialog({
  conversation,
  myUserId,
  myUsername,
  presence,
  onRequested,
  onRefused,
  onClose,
}: DialogProps) {
  const id = conversation.id;
  const [home, setHome] = useState<Workgroup | null>(null);
  const [options, setOptions] = useState<Record<TransferKind, TransferOption[] | null>>({
    agent: null,
    queue: null,
    workgroup: null,
  });
  const [kind, setKind] = useState<TransferKind>("agent");
  const [target, setTarget] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const [loadError, setLoadError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    const load = async () => {
      const workgroups = await Api.workgroups();
      const own = workgroups.find((w) => w.id === conversation.workgroup_id) ?? null;
      if (!live) return;
      setHome(own);
      const allowed = own?.transfer_targets ?? ALL_KINDS;
      if (!allowed.includes("agent")) setKind(allowed[0] ?? "agent");
      const others = workgroups
        .filter((w) => w.id !== conversation.workgroup_id)
        .map((w) => ({ name: w.slug, label: w.name, toName: w.name }));
      let agents: TransferOption[];
      try {
        agents = agentOptions(await Api.staff(), conversation.workgroup_id, myUserId, presence);
      } catch {
        // No staff directory: the workgroup's member list, without names or presence.
        agents = (own?.members ?? [])
          .filter((u) => u !== myUsername)
          .map((u) => ({ name: u, label: u, toName: u }));
      }
      let queues: TransferOption[] = [];
      if (own) {
        queues = (await RoutingApi.queues(own.slug)).map((q) => ({
          name: q.name,
          label: q.name,
          toName: `queue ${q.name}`,
        }));
      }
      if (live) setOptions({ agent: agents, queue: queues, workgroup: others });
    };
    load().catch((e: unknown) => live && setLoadError(`Could not list where to transfer: ${message(e)}`));
    return () => {
      live = false;
    };
  }, [id]);

  const allowed = home?.transfer_targets ?? ALL_KINDS;
  const list = options[kind];
  // Keep the chosen target valid for the chosen kind.
  useEffect(() => {
    if (list && !list.some((o) => o.name === target)) setTarget(list[0]?.name ?? "");
  }, [kind, list]);

  const chosen = list?.find((o) => o.name === target) ?? null;

  const submit = async () => {
    if (!chosen || busy) return;
    setBusy(true);
    setError("");
    onRequested(chosen.toName);
    try {
      await Api.transfer(id, { kind, name: chosen.name, note: note.trim() });
    } catch (e) {
      onRefused();
      setError(message(e));
      setBusy(false);
      return;
    }
    setBusy(false);
    onClose();
  };

  const headingId = `transfer-heading-${id}`;
  const current = KINDS.find((k) => k.kind === kind) ?? KINDS[0];
  return (
    <div
      class="dialog transfer-dialog"
      role="dialog"
      aria-modal="true"
      aria-labelledby={headingId}
      data-testid="transfer-dialog"
      onKeyDown={(e) => {
        if (e.key === "Escape") onClose();
      }}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h3 id={headingId}>Transfer the chat with {customerName(conversation)}</h3>
        <p class="muted">
          The chat stays yours until someone accepts it; they see the whole transcript and your
          note.
        </p>
        <fieldset class="transfer-kinds">
          <legend>Transfer to</legend>
          {KINDS.map((k) => (
            <label class="check" key={k.kind}>
              <input
                type="radio"
                name={`transfer-kind-${id}`}
                value={k.kind}
                checked={kind === k.kind}
                disabled={!allowed.includes(k.kind)}
                onChange={() => setKind(k.kind)}
              />
              {k.label}
              {!allowed.includes(k.kind) && <span class="muted"> (not allowed here)</span>}
            </label>
          ))}
        </fieldset>
        {list === null && !loadError && <p class="muted">Loading…</p>}
        {list !== null && list.length === 0 && (
          <p class="muted" data-testid="transfer-nobody">
            {kind === "agent"
              ? "Nobody else is in this workgroup."
              : kind === "queue"
                ? "This workgroup has no queues."
                : "There is no other workgroup."}
          </p>
        )}
        {list !== null && list.length > 0 && (
          <label>
            <span id={`transfer-target-label-${id}`}>{current.select}</span>
            <select
              value={target}
              aria-labelledby={`transfer-target-label-${id}`}
              onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}
            >
              {list.map((o) => (
                <option key={o.name} value={o.name}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          <span id={`transfer-note-label-${id}`}>Note for the receiver</span>
          <textarea
            aria-labelledby={`transfer-note-label-${id}`}
            rows={3}
            maxLength={1000}
            value={note}
            placeholder="What they should know before they take it"
            onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        {(error || loadError) && (
          <p class="error" role="alert">
            {error || loadError}
          </p>
        )}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy || !chosen}>
            Transfer chat
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

/** The sender's line about their transfer: pending (with "Call off"), or why it came back. */
export function TransferStatusLine({
  conversationId,
  transfer,
  onDismiss,
}: {
  conversationId: string;
  transfer: OutgoingTransfer | undefined;
  onDismiss: () => void;
}) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  if (!transfer || transfer.status === "accepted") return null;
  const to = transfer.toName ? ` to ${transfer.toName}` : "";

  if (transfer.status === "requesting" || transfer.status === "pending") {
    const callOff = async () => {
      setBusy(true);
      setError("");
      try {
        await Api.cancelTransfer(conversationId);
      } catch (e) {
        setError(`Could not call the transfer off: ${message(e)}`);
      }
      setBusy(false);
    };
    return (
      <div class="transfer-status" data-testid="transfer-status" role="status">
        <span>Transfer{to} pending… The chat is yours until it is accepted.</span>{" "}
        <button type="button" class="subtle" onClick={callOff} disabled={busy}>
          Call off
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    );
  }

  return (
    <div class="transfer-status notice" data-testid="transfer-notice" role="status">
      <span>
        {transfer.status === "failed"
          ? "Nobody accepted the transfer; the chat is still yours."
          : `The transfer${to} was called off; the chat is still yours.`}
      </span>{" "}
      <button type="button" class="subtle" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

/** For the receiver: who handed the chat on, and their note (kept in the side panel). */
export function HandoffNote({ handoff }: { handoff: TransferInfo }) {
  return (
    <section class="handoff" data-testid="handoff-note" aria-label="Transfer note">
      <h4>Transfer from {handoff.from_name || "a colleague"}</h4>
      {handoff.note ? (
        <p class="prewrap">{handoff.note}</p>
      ) : (
        <p class="muted">No note.</p>
      )}
    </section>
  );
}
