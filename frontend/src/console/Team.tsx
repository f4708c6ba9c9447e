// The "Team" sidebar: my DMs, rooms and back-channels with unread counts, and the dialogs to
// start a DM ("New message"), create a room and browse open rooms.

import { useEffect, useState } from "preact/hooks";

import type { Conversation } from "../shared/protocol";
import type { StaffMember } from "./api";
import { useDebounced } from "./hooks";
import { imList, imTitle, type ImState } from "./im";
import { ImApi } from "./imApi";
import { message as errorText } from "./PastChats";

interface SidebarProps {
  state: ImState;
  /** The Team view is shown (the selected conversation is highlighted only then). */
  active: boolean;
  error: string;
  onOpen: (id: string) => void;
  onDialog: (dialog: TeamDialog) => void;
  /** Below the conversations: the directory (Directory.tsx). */
  children?: preact.ComponentChildren;
}

export type TeamDialog = "message" | "room" | "browse" | null;

export function TeamSidebar({ state, active, error, onOpen, onDialog, children }: SidebarProps) {
  const list = imList(state);
  return (
    <aside class="team" aria-labelledby="team-heading">
      <h2 id="team-heading">Team</h2>
      <div class="team-actions">
        <button type="button" onClick={() => onDialog("message")}>
          New message
        </button>
        <button type="button" onClick={() => onDialog("room")}>
          New room
        </button>
        <button type="button" onClick={() => onDialog("browse")}>
          Browse rooms
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {list.length === 0 ? (
        <p class="muted" data-testid="team-empty">
          No conversations with colleagues yet.
        </p>
      ) : (
        <ul class="team-list">
          {list.map((c) => {
            const conv = c.conversation;
            const name = imTitle(conv, state.me);
            const current = active && state.selected === conv.id;
            return (
              <li key={conv.id}>
                <button
                  type="button"
                  class={`team-item kind-${conv.kind}${current ? " current" : ""}`}
                  data-testid="team-conversation"
                  data-kind={conv.kind}
                  aria-current={current ? "true" : undefined}
                  onClick={() => onOpen(conv.id)}
                >
                  <span class="team-kind" aria-hidden="true">
                    {conv.kind === "direct" ? "@" : "#"}
                  </span>
                  <span class="team-name">{name}</span>
                  {c.mentioned && (
                    <span class="tag mention-tag" data-testid="team-mentioned">
                      mentioned
                    </span>
                  )}
                  {c.unread > 0 && (
                    <>
                      <span class="badge" data-testid="team-unread">
                        {c.unread}
                      </span>
                      <span class="sr-only"> unread</span>
                    </>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {children}
    </aside>
  );
}

interface DialogProps {
  dialog: TeamDialog;
  myUserId: number;
  staff: StaffMember[];
  staffError: string;
  onClose: () => void;
  /** A conversation the server returned (opened, created, joined): show it. */
  onOpened: (conversation: Conversation) => void;
}

export function TeamDialogs(props: DialogProps) {
  if (props.dialog === "message") return <NewMessage {...props} />;
  if (props.dialog === "room") return <NewRoom {...props} />;
  if (props.dialog === "browse") return <BrowseRooms {...props} />;
  return null;
}

export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: unknown }) {
  const id = `dialog-${title.replace(/\W+/g, "-").toLowerCase()}`;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div class="dialog-backdrop">
      <div class="dialog team-dialog" role="dialog" aria-modal="true" aria-labelledby={id}>
        <h3 id={id}>{title}</h3>
        {children as preact.ComponentChildren}
      </div>
    </div>
  );
}

function NewMessage({ myUserId, staff, staffError, onClose, onOpened }: DialogProps) {
  const [q, setQ] = useState("");
  const [picked, setPicked] = useState<number[]>([]);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const needle = q.trim().toLowerCase();
  const others = staff.filter((s) => s.user_id !== myUserId);
  const shown = others.filter(
    (s) =>
      !needle ||
      s.username.toLowerCase().includes(needle) ||
      (s.display_name || "").toLowerCase().includes(needle),
  );
  const toggle = (id: number) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : p.length >= 8 ? p : [...p, id]));
  const open = async () => {
    setBusy(true);
    setError("");
    try {
      onOpened(await ImApi.openDirect(picked));
    } catch (e) {
      setError(`Could not open the conversation: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="New message" onClose={onClose}>
      <label>
        Find colleagues
        <input value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      </label>
      {staffError && <p class="error">{staffError}</p>}
      <ul class="pick-list" aria-label="Colleagues">
        {shown.map((s) => (
          <li key={s.user_id}>
            <label>
              <input type="checkbox" checked={picked.includes(s.user_id)} onChange={() => toggle(s.user_id)} />
              {s.display_name || s.username} ({s.username}, {s.presence})
            </label>
          </li>
        ))}
        {shown.length === 0 && <li class="muted">Nobody found.</li>}
      </ul>
      <p class="muted">Up to 8 colleagues.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" class="primary" disabled={busy || picked.length === 0} onClick={() => void open()}>
          Open conversation
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

function NewRoom({ onClose, onOpened }: DialogProps) {
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [visibility, setVisibility] = useState<"open" | "private">("open");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const create = async () => {
    setBusy(true);
    setError("");
    try {
      onOpened(await ImApi.createRoom(name.trim(), topic.trim(), visibility));
    } catch (e) {
      setError(`Could not create the room: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="New room" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label>
          Room name
          <input value={name} maxLength={80} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Room topic
          <input value={topic} maxLength={250} onInput={(e) => setTopic((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Who may join
          <select
            value={visibility}
            onChange={(e) => setVisibility((e.target as HTMLSelectElement).value as "open" | "private")}
          >
            <option value="open">Open to all staff</option>
            <option value="private">Private (by invitation)</option>
          </select>
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy || !name.trim()}>
            Create room
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function BrowseRooms({ onClose, onOpened }: DialogProps) {
  const [q, setQ] = useState("");
  const query = useDebounced(q, 250);
  const [rooms, setRooms] = useState<Conversation[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let live = true;
    ImApi.openRooms(query).then(
      (r) => live && setRooms(r),
      (e) => live && setError(`Could not list the rooms: ${errorText(e)}`),
    );
    return () => {
      live = false;
    };
  }, [query]);
  const join = async (id: string) => {
    setError("");
    try {
      onOpened(await ImApi.join(id));
    } catch (e) {
      setError(`Could not join: ${errorText(e)}`);
    }
  };
  return (
    <Dialog title="Browse rooms" onClose={onClose}>
      <label>
        Search rooms
        <input value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ul class="pick-list">
        {rooms?.map((r) => (
          <li key={r.id} data-testid="open-room">
            <strong>{r.room?.name}</strong> <span class="muted">{r.room?.topic}</span>{" "}
            <button type="button" onClick={() => void join(r.id)}>
              Join {r.room?.name}
            </button>
          </li>
        ))}
        {rooms && rooms.length === 0 && <li class="muted">No open rooms.</li>}
      </ul>
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
