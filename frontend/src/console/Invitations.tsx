// Inviting a colleague into a chat: the invitee's cards (like offers: note, countdown, accept or
// decline) and the inviter's dialog (whom, with a note).

import { useEffect, useState } from "preact/hooks";

import type { Conversation, Invitation, Presence, ServerMessage } from "../shared/protocol";
import { Api, type StaffMember } from "./api";
import { customerName } from "./format";
import { useNow } from "./hooks";
import { invitationSecondsLeft, type InvitationState, type PresenceState } from "./state";

type Request = (message: Record<string, unknown>) => Promise<ServerMessage>;

export function InvitationCards({
  invitations,
  request,
  onAccepted,
}: {
  invitations: InvitationState[];
  request: Request;
  onAccepted: (conversationId: string) => void;
}) {
  const now = useNow(250, invitations.length > 0);
  if (!invitations.length) return null;
  return (
    <section class="offers" aria-label="Invitations">
      {invitations.map((i) => (
        <InvitationCard
          key={i.invitation.invitation_id}
          item={i}
          left={invitationSecondsLeft(i, now)}
          request={request}
          onAccepted={onAccepted}
        />
      ))}
    </section>
  );
}

function InvitationCard({
  item,
  left,
  request,
  onAccepted,
}: {
  item: InvitationState;
  left: number;
  request: Request;
  onAccepted: (conversationId: string) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const inv = item.invitation;
  const m = inv.metadata ?? {};
  const headingId = `invitation-${inv.invitation_id}`;

  const answer = async (type: "accept_invitation" | "decline_invitation") => {
    setBusy(true);
    setError("");
    const reply = await request({ type, invitation_id: inv.invitation_id });
    setBusy(false);
    if (reply.type === "error") setError(`${reply.message} (${reply.code})`);
    else if (type === "accept_invitation") onAccepted(inv.conversation_id);
  };

  return (
    <article class="offer invitation" data-testid="invitation" aria-labelledby={headingId}>
      <header class="offer-head">
        <h2 id={headingId}>
          <span class="offer-kicker">{inv.from_name || "A colleague"} invites you to help</span>
          <span class="offer-name">{m.name?.trim() || "Visitor"}</span>
        </h2>
        <div class={`countdown${left <= 5 ? " urgent" : ""}`} aria-live="off">
          <span data-testid="invitation-countdown">{left}</span>
          <span class="countdown-unit">s left</span>
        </div>
      </header>
      {inv.note && (
        <p class="invitation-note prewrap" data-testid="invitation-note">
          {inv.note}
        </p>
      )}
      {m.question && (
        <dl class="offer-fields">
          <dt>Question</dt>
          <dd class="prewrap">{m.question}</dd>
        </dl>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="offer-actions">
        <button
          type="button"
          class="primary"
          disabled={busy}
          onClick={() => answer("accept_invitation")}
        >
          Accept invitation
        </button>
        <button type="button" disabled={busy} onClick={() => answer("decline_invitation")}>
          Decline invitation
        </button>
      </div>
    </article>
  );
}

const PRESENCE_LABEL: Record<Presence, string> = {
  available: "available",
  away: "away",
  busy: "busy",
  offline: "offline",
};

/** Staff who could be invited into this chat: not me, not in it already, and either an agent
 * of its workgroup or a supervisor or admin. */
export function candidates(
  staff: StaffMember[],
  conversation: Conversation,
  myUserId: number,
): StaffMember[] {
  const present = new Set(conversation.participants.filter((p) => p.present).map((p) => p.key));
  return staff.filter(
    (s) =>
      s.user_id !== myUserId &&
      !present.has(`user:${s.user_id}`) &&
      (s.role !== "agent" ||
        (conversation.workgroup_id !== null && s.workgroup_ids.includes(conversation.workgroup_id))),
  );
}

export function InviteDialog({
  conversation,
  myUserId,
  presence,
  request,
  onClose,
}: {
  conversation: Conversation;
  myUserId: number;
  presence: Record<number, PresenceState>;
  request: Request;
  onClose: () => void;
}) {
  const [staff, setStaff] = useState<StaffMember[] | null>(null);
  const [whom, setWhom] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const id = conversation.id;

  useEffect(() => {
    let live = true;
    Api.staff()
      .then((list) => {
        if (!live) return;
        const found = candidates(list, conversation, myUserId);
        // Nobody preselected: an Enter in the note must not invite whoever came first.
        setStaff(found);
      })
      .catch((e: unknown) => live && setError(`Could not list your colleagues: ${String(e)}`));
    return () => {
      live = false;
    };
  }, [id]);

  const submit = async () => {
    if (!whom) return;
    setBusy(true);
    setError("");
    const reply = await request({
      type: "invite",
      conversation_id: id,
      user_id: Number(whom),
      note: note.trim(),
    });
    setBusy(false);
    if (reply.type === "error") setError(reply.message);
    else onClose();
  };

  const headingId = `invite-heading-${id}`;
  return (
    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={headingId}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h3 id={headingId}>Invite a colleague</h3>
        <p class="muted">
          They see the whole chat with {customerName(conversation)}, can write to the customer or
          add private notes, and leave when done.
        </p>
        {staff === null && !error && <p class="muted">Loading…</p>}
        {staff !== null && staff.length === 0 && (
          <p class="muted" data-testid="invite-nobody">
            Nobody else can be invited into this chat.
          </p>
        )}
        {staff !== null && staff.length > 0 && (
          <label>
            Colleague
            <select
              value={whom}
              onChange={(e) => setWhom((e.target as HTMLSelectElement).value)}
            >
              <option value="" disabled>
                Choose a colleague…
              </option>
              {staff.map((s) => {
                const live = presence[s.user_id]?.presence ?? s.presence;
                return (
                  <option key={s.user_id} value={String(s.user_id)}>
                    {s.display_name} ({s.username}, {s.role}, {PRESENCE_LABEL[live] ?? live})
                  </option>
                );
              })}
            </select>
          </label>
        )}
        <label>
          Note for them
          <textarea
            rows={3}
            maxLength={1000}
            value={note}
            onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy || !whom}>
            Send invitation
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

/** The invitations this agent sent into a chat and that are still open, with a way back. */
export function SentInvitations({
  invitations,
  request,
}: {
  invitations: Invitation[];
  request: Request;
}) {
  if (!invitations.length) return null;
  return (
    <ul class="sent-invitations">
      {invitations.map((i) => (
        <li key={i.invitation_id} data-testid="invitation-sent">
          Invited {i.to_name}, waiting for an answer…{" "}
          <button
            type="button"
            class="link"
            onClick={() => void request({ type: "cancel_invitation", invitation_id: i.invitation_id })}
          >
            Cancel invitation
          </button>
        </li>
      ))}
    </ul>
  );
}
