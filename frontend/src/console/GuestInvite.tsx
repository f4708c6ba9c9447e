// A room owner's "Invite a guest" (docs/protocol.md, "Accounts"): `POST /im/rooms/{id}/guests`
// by email; the one-time link to pass on is shown when no email was sent. Refused clearly under
// the internal-only policy.

import { useState } from "preact/hooks";

import { ApiError } from "./api";
import { AccountsApi, type GuestInvitation } from "./directoryApi";
import { formatDateTime } from "./format";
import { message as errorText } from "./PastChats";
import { Dialog } from "./Team";

/** The console's address of the acceptance page for an invitation token. */
export function guestLink(token: string, origin = location.origin): string {
  return `${origin}/console/#/guest?token=${encodeURIComponent(token)}`;
}

/** A room owner's button and dialog: invite a guest by email. */
export function GuestInvite({ roomId, roomName }: { roomId: string; roomName: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Invite a guest
      </button>
      {open && <GuestInviteDialog roomId={roomId} roomName={roomName} onClose={() => setOpen(false)} />}
    </>
  );
}

function GuestInviteDialog({ roomId, roomName, onClose }: { roomId: string; roomName: string; onClose: () => void }) {
  const [email, setEmail] = useState("");
  const [error, setError] = useState("");
  const [refused, setRefused] = useState(false);
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<GuestInvitation | null>(null);
  const [copied, setCopied] = useState("");
  const invite = async (e: Event) => {
    e.preventDefault();
    if (!email.trim()) {
      setError("Enter the guest's email address.");
      return;
    }
    setBusy(true);
    setError("");
    setRefused(false);
    try {
      setMade(await AccountsApi.inviteGuest(roomId, email.trim()));
    } catch (err) {
      if (err instanceof ApiError && err.code === "internal_only") {
        setRefused(true);
        setError("Guests are switched off: this network is internal-only (an admin's account policy).");
      } else if (err instanceof ApiError && err.status === 403) {
        setError("Only the room's owners can invite a guest.");
      } else {
        setError(`Could not invite: ${errorText(err)}`);
      }
    } finally {
      setBusy(false);
    }
  };
  const link = made ? guestLink(made.token) : "";
  return (
    <Dialog title="Invite a guest" onClose={onClose}>
      {made ? (
        <div data-testid="guest-invited">
          {made.emailed ? (
            <p class="notice" role="status">
              The invitation is emailed to {made.email}. It works once, until {formatDateTime(made.expires_at)}.
            </p>
          ) : (
            <>
              <p class="notice" role="status">
                No email was sent (mail is not set up). Pass this link on to {made.email} yourself: it works once, until{" "}
                {formatDateTime(made.expires_at)}, and is shown only now.
              </p>
              <label>
                Invitation link
                <input readOnly value={link} data-testid="guest-link" onFocus={(e) => (e.target as HTMLInputElement).select()} />
              </label>
              <div class="dialog-actions">
                <button
                  type="button"
                  onClick={() =>
                    navigator.clipboard
                      ?.writeText(link)
                      .then(() => setCopied("Copied."), () => setCopied("Select the link and copy it."))
                  }
                >
                  Copy link
                </button>
              </div>
              {copied && <p role="status">{copied}</p>}
            </>
          )}
          <div class="dialog-actions">
            <button type="button" class="primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={invite}>
          <p class="muted">
            Someone outside the company gets an account for the room “{roomName}” only: they read and write here, and
            nothing else.
          </p>
          <label>
            Guest's email
            <input
              type="email"
              autoComplete="off"
              maxLength={254}
              value={email}
              onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
            />
          </label>
          {error && (
            <p class="error" role="alert" data-testid={refused ? "guest-refused" : undefined}>
              {error}
            </p>
          )}
          <div class="dialog-actions">
            <button type="submit" class="primary" disabled={busy}>
              Send invitation
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

