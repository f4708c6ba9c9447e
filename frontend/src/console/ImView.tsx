// A staff conversation (a DM, a room, a back-channel): its log with history paged back, the
// composer (the same outbox as customer chats), typing, topic, members, leave.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";

import type { PendingMessage } from "../shared/client";
import type { Entry } from "../shared/protocol";
import type { StaffMember } from "./api";
import { ArchiveNoticeLine, HistoryRemovedLine } from "./ArchiveNotice";
import { formatTime, participantName } from "./format";
import { GuestInvite } from "./GuestInvite";
import { useNow } from "./hooks";
import { imTitle, isMember, mentionParts, showsHistoryRemoved, type ImConv } from "./im";
import { ImApi } from "./imApi";
import { message as errorText } from "./PastChats";
import { SendFailures } from "./SendFailures";
import type { SendFailure } from "./state";
import { TypingNotifier } from "./typing";

const TYPING_STALE_MS = 8000;

export interface ImActions {
  send(id: string, text: string, options?: { confirm?: boolean }): void;
  typing(id: string, active: boolean): void;
  dismissFailed(id: string, clientId: string): void;
  loadEarlier(id: string): Promise<void>;
  setTopic(id: string, topic: string): Promise<void>;
  addMember(id: string, userId: number): Promise<void>;
  leave(id: string): Promise<void>;
}

interface Props {
  conv: ImConv;
  me: string;
  username: string;
  pending: PendingMessage[];
  maxChars: number;
  actions: ImActions;
  staff: StaffMember[];
  /** The back-channel beside a customer chat: a narrower pane, its own labels. */
  variant?: "room" | "backchannel";
  onClose?: () => void;
  /** A guest's view: no colleagues to add, no guests to invite. */
  limited?: boolean;
}

export function ImView({
  conv,
  me,
  username,
  pending,
  maxChars,
  actions,
  staff,
  variant = "room",
  onClose,
  limited = false,
}: Props) {
  const c = conv.conversation;
  const id = c.id;
  const side = variant === "backchannel";
  const title = side ? "Back-channel" : imTitle(c, me);
  const member = isMember(c, me);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [editingTopic, setEditingTopic] = useState(false);
  const [topic, setTopic] = useState(c.room?.topic ?? "");
  const [adding, setAdding] = useState(false);
  const [colleague, setColleague] = useState("");
  const [busy, setBusy] = useState(false);
  const now = useNow(1000, conv.typing !== null);
  const notifier = useMemo(() => new TypingNotifier((active) => actions.typing(id, active)), [id]);
  useEffect(() => () => notifier.stop(), [notifier]);

  const update = (value: string) => {
    setText(value);
    if (value.trim()) notifier.input();
    else notifier.stop();
  };
  const submit = () => {
    const value = text.trim();
    if (!value || !member) return;
    if (value.length > maxChars) {
      setError(`A message is limited to ${maxChars} characters.`);
      return;
    }
    setError("");
    notifier.stop();
    actions.send(id, value);
    setText("");
  };
  const run = async (what: string, task: () => Promise<void>) => {
    setBusy(true);
    setError("");
    try {
      await task();
    } catch (e) {
      setError(`Could not ${what}: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const present = c.participants.filter((p) => p.present);
  const memberKeys = new Set(present.map((p) => p.key));
  const candidates = staff.filter((s) => !memberKeys.has(`user:${s.user_id}`));
  const typing = conv.typing && now - conv.typing.at < TYPING_STALE_MS ? conv.typing : null;
  const canEditTopic = c.kind !== "direct" && member;
  const owner = c.participants.some((p) => p.key === me && p.present && p.role === "owner");
  const labelId = `im-title-${id}`;

  return (
    <section
      class={`im-view${side ? " backchannel" : ""}`}
      aria-labelledby={labelId}
      data-testid={side ? "backchannel" : "im-view"}
      data-conversation={id}
    >
      <div class="im-head">
        <h3 id={labelId}>
          {title}
          {c.kind === "room" && c.room && <span class="tag">{c.room.visibility}</span>}
        </h3>
        <div class="chat-head-actions">
          {c.kind !== "direct" && member && !limited && (
            <button type="button" onClick={() => setAdding((v) => !v)} disabled={busy}>
              Add colleague
            </button>
          )}
          {c.kind === "room" && owner && !limited && <GuestInvite roomId={id} roomName={c.room?.name ?? title} />}
          {c.kind === "room" && member && (
            <button type="button" onClick={() => void run("leave", () => actions.leave(id))} disabled={busy}>
              Leave room
            </button>
          )}
          {onClose && (
            <button type="button" class="subtle" onClick={onClose}>
              Close back-channel
            </button>
          )}
        </div>
      </div>
      {side && (
        <p class="muted backchannel-note" data-testid="backchannel-note">
          Only staff see this; the customer never does.
        </p>
      )}
      <ArchiveNoticeLine />
      {c.kind !== "direct" && (
        <div class="im-topic" data-testid="im-topic">
          {editingTopic ? (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void run("set the topic", async () => {
                  await actions.setTopic(id, topic.trim());
                  setEditingTopic(false);
                });
              }}
            >
              <label>
                Topic
                <input
                  value={topic}
                  maxLength={250}
                  onInput={(e) => setTopic((e.target as HTMLInputElement).value)}
                />
              </label>
              <button type="submit" disabled={busy}>
                Save topic
              </button>
              <button type="button" class="link" onClick={() => setEditingTopic(false)}>
                Cancel
              </button>
            </form>
          ) : (
            <>
              <span class="topic-text">{c.room?.topic ? c.room.topic : <em class="muted">No topic</em>}</span>
              {canEditTopic && (
                <button
                  type="button"
                  class="link"
                  onClick={() => {
                    setTopic(c.room?.topic ?? "");
                    setEditingTopic(true);
                  }}
                >
                  Edit topic
                </button>
              )}
            </>
          )}
        </div>
      )}
      <ul class="im-members" aria-label="Members" data-testid="im-members">
        {present.map((p) => (
          <li key={p.key}>
            {p.key === me ? `${p.name} (you)` : p.name}
            {p.role === "owner" && <span class="muted"> · owner</span>}
          </li>
        ))}
      </ul>
      {adding && (
        <form
          class="im-add"
          onSubmit={(e) => {
            e.preventDefault();
            const userId = Number(colleague);
            if (!userId) return;
            void run("add them", async () => {
              await actions.addMember(id, userId);
              setAdding(false);
              setColleague("");
            });
          }}
        >
          <label>
            Colleague to add
            <select value={colleague} onChange={(e) => setColleague((e.target as HTMLSelectElement).value)}>
              <option value="">Choose…</option>
              {candidates.map((s) => (
                <option key={s.user_id} value={String(s.user_id)}>
                  {s.display_name || s.username} ({s.username})
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy || !colleague}>
            Add
          </button>
        </form>
      )}
      {!side && <ImSearch id={id} conv={conv} />}
      <ImLog
        conv={conv}
        me={me}
        username={username}
        pending={pending}
        label={side ? "Back-channel" : `Conversation: ${title}`}
        onEarlier={() => void run("load earlier messages", () => actions.loadEarlier(id))}
        busy={busy}
      />
      <div class="typing" data-testid="im-typing" aria-live="polite">
        {typing ? `${typing.name || "Someone"} is typing…` : ""}
      </div>
      <SendFailures
        failures={conv.failed}
        onDismiss={(clientId) => actions.dismissFailed(id, clientId)}
        onRestore={(value) => {
          if (!text.trim()) setText(value);
        }}
        onConfirm={(f: SendFailure) => actions.send(id, f.text, { confirm: true })}
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {member ? (
        <form
          class="composer"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <label for={`im-message-${id}`} class="sr-only">
            {side ? "Back-channel message" : "Message"}
          </label>
          <textarea
            id={`im-message-${id}`}
            rows={side ? 2 : 3}
            value={text}
            maxLength={maxChars}
            placeholder={side ? "To your colleagues only…" : `Message ${title}…  (Enter sends)`}
            onInput={(e) => update((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                submit();
              }
            }}
            onBlur={() => notifier.stop()}
          />
          <div class="composer-actions">
            <button type="submit" class="primary" disabled={!text.trim()}>
              {side ? "Send to colleagues" : "Send"}
            </button>
          </div>
        </form>
      ) : (
        <p class="muted">You are not a member of this conversation.</p>
      )}
    </section>
  );
}

function systemLine(conv: ImConv, entry: Entry): string {
  const c = conv.conversation;
  const who = String(entry.body.name || participantName(c, entry.author));
  switch (entry.kind) {
    case "joined":
      return `${who} joined`;
    case "left":
      return `${who} left`;
    case "topic":
      return entry.body.topic ? `${who} set the topic: ${String(entry.body.topic)}` : `${who} cleared the topic`;
    default:
      return String(entry.body.text ?? entry.kind);
  }
}

function ImLog({
  conv,
  me,
  username,
  pending,
  label,
  onEarlier,
  busy,
}: {
  conv: ImConv;
  me: string;
  username: string;
  pending: PendingMessage[];
  label: string;
  onEarlier: () => void;
  busy: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const last = conv.entries[conv.entries.length - 1]?.seq ?? 0;
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [last, pending.length]);
  return (
    <div
      class="log im-log"
      role="log"
      aria-live="polite"
      aria-label={label}
      tabIndex={0}
      ref={ref}
      onScroll={() => {
        const el = ref.current;
        if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {conv.hasMore && conv.historyLoaded && (
        <button type="button" class="link earlier" onClick={onEarlier} disabled={busy}>
          Load earlier messages
        </button>
      )}
      {showsHistoryRemoved(conv) ? (
        <HistoryRemovedLine />
      ) : (
        conv.entries.length === 0 && pending.length === 0 && <p class="log-empty">No messages yet.</p>
      )}
      {conv.entries.map((entry) => {
        if (entry.kind !== "message") {
          return (
            <div key={entry.seq} class="entry system" data-testid="message" data-seq={entry.seq} data-author="system">
              <span>{systemLine(conv, entry)}</span>
              <time dateTime={entry.created_at}>{formatTime(entry.created_at)}</time>
            </div>
          );
        }
        const mine = entry.author === me;
        const parts = mentionParts(String(entry.body.text ?? ""), username);
        const mentionsMe = parts.some((p) => p.mine);
        return (
          <div
            key={entry.seq}
            class={`entry message from-agent${mine ? " mine" : ""}${mentionsMe ? " mentions-me" : ""}`}
            data-testid="message"
            data-seq={entry.seq}
            data-author={mine ? "me" : "colleague"}
            data-status="sent"
          >
            <div class="meta">
              <span class="who">{mine ? "You" : participantName(conv.conversation, entry.author)}</span>
              <time dateTime={entry.created_at}>{formatTime(entry.created_at)}</time>
            </div>
            <div class="text">
              {parts.map((p, i) =>
                p.mention ? (
                  <span key={i} class={`mention${p.mine ? " me" : ""}`} data-testid="mention">
                    {p.text}
                  </span>
                ) : (
                  p.text
                ),
              )}
            </div>
          </div>
        );
      })}
      {pending.map((p) => (
        <div
          key={p.clientId}
          class="entry message from-agent mine sending"
          data-testid="message"
          data-author="me"
          data-status="sending"
        >
          <div class="meta">
            <span class="who">You</span>
            <span class="sending-label">Sending…</span>
          </div>
          <div class="text">{p.text}</div>
        </div>
      ))}
    </div>
  );
}

/** Search one conversation's messages (`GET /im/conversations/{id}/search`), newest first. */
function ImSearch({ id, conv }: { id: string; conv: ImConv }) {
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Entry[] | null>(null);
  const [error, setError] = useState("");
  const run = async () => {
    setError("");
    try {
      setFound(await ImApi.search(id, q.trim()));
    } catch (e) {
      setFound(null);
      setError(errorText(e));
    }
  };
  return (
    <form
      class="im-search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim()) void run();
      }}
    >
      <label>
        <span class="sr-only">Search this conversation</span>
        <input
          type="search"
          aria-label="Search this conversation"
          placeholder="Search this conversation"
          value={q}
          maxLength={200}
          onInput={(e) => {
            const value = (e.target as HTMLInputElement).value;
            setQ(value);
            if (!value.trim()) setFound(null);
          }}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {found && (
        <ul class="im-search-results" data-testid="im-search-results">
          {found.length === 0 && <li class="muted">Nothing found.</li>}
          {found.map((e) => (
            <li key={e.seq} data-testid="im-search-result" data-seq={e.seq}>
              <span class="who">{participantName(conv.conversation, e.author)}</span>{" "}
              <time dateTime={e.created_at}>{formatTime(e.created_at)}</time>: {String(e.body.text ?? "")}
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
