// The chat app inside the launcher's iframe: pre-chat form, queue, chat, end. The DOM names
// used here are a contract with the browser tests and assistive technology (frontend/README.md).

import { Fragment, type ComponentChildren, type JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";

import { ParleyClient, type KeyValueStore, type PendingMessage } from "../shared/client";
import type { Conversation, Entry } from "../shared/protocol";
import { HelpSearch } from "./HelpSearch";
import { LeaveMessage, type Prefill, type UnavailableReason } from "./LeaveMessage";
import {
  type ChatState,
  type StoredChat,
  agentName,
  authorKind,
  chatKey,
  formatTime,
  identityClaims,
  initialState,
  loadChat,
  outboxKey,
  phase,
  reasonText,
  reduce,
  systemText,
  transcriptText,
  visiblePending,
  VISITOR_ID_KEY,
} from "./state";

export interface FormField {
  name: string;
  label: string;
  required: boolean;
}

export interface WorkgroupStatus {
  slug: string;
  name: string;
  button_text: string;
  open: boolean;
  /** The workgroup's extra pre-chat fields; answers go in the chat's `extra`. */
  form_fields?: FormField[];
  /** A chat can start now; else the visitor may leave a message (`reason` says why). */
  accepting?: boolean;
  reason?: "closed" | "no_agents" | null;
  next_open?: string | null;
  /** `required`: only customers the company's site signed in may chat. */
  identity?: "optional" | "required";
  /** The archiving policy's one-line notice, shown before the first message ("": none). */
  archive_notice?: string;
}

/** Leave a message instead of chatting, because of ``reason``; with what the visitor typed. */
interface LeaveState extends Prefill {
  reason: UnavailableReason;
}

export interface AppProps {
  slug: string;
  page: string;
  storage: KeyValueStore;
  /** Inside the launcher's iframe (offers a minimise button), not opened on its own. */
  embedded: boolean;
  /** The signed-in customer's identity token from the host page, if any. */
  identity?: string | null;
}

const api = (path: string) => `/api/v1${path}`;

/** Ask the launcher on the host page to close the panel. */
export function requestClose(): void {
  if (window.parent !== window) window.parent.postMessage({ type: "parley:close" }, "*");
}

/** Put the keyboard where the visitor will want it: the message box, else the first field. */
export function focusMain(): void {
  const target = document.querySelector<HTMLElement>("#pw-message, #pw-name, [data-focus]");
  target?.focus();
}

export function App({ slug, page, storage, embedded, identity = null }: AppProps) {
  const [stored, setStored] = useState<StoredChat | null>(() => loadChat(storage, slug));
  const [status, setStatus] = useState<WorkgroupStatus | null | "error">(null);
  const [fresh, setFresh] = useState(false); // a chat this page just opened (position known)
  const [position, setPosition] = useState<number | null>(null);
  const [leave, setLeave] = useState<LeaveState | null>(null); // open_chat answered 409
  const waiting = !stored;

  useEffect(() => {
    if (!slug) {
      setStatus("error");
      return;
    }
    let live = true;
    const load = () =>
      fetch(api(`/workgroups/${encodeURIComponent(slug)}/status`))
        .then((r) => (r.ok ? (r.json() as Promise<WorkgroupStatus>) : Promise.reject(new Error(String(r.status)))))
        .then(
          (s) => live && setStatus(s),
          () => live && setStatus((old) => (old && old !== "error" ? old : "error")),
        );
    void load();
    // Keep the form's availability current; a chat under way needs only the name.
    const timer = waiting ? setInterval(load, 30_000) : undefined;
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [slug, waiting]);

  // Another tab started or forgot a chat for this workgroup: follow it.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === chatKey(slug)) setStored(loadChat(storage, slug));
    };
    addEventListener("storage", onStorage);
    return () => removeEventListener("storage", onStorage);
  }, [slug, storage]);

  const info = status && status !== "error" ? status : null;
  const title = info?.name ?? "Chat";

  const started = (chat: StoredChat, pos: number | null) => {
    storage.setItem(chatKey(slug), JSON.stringify(chat));
    setFresh(true);
    setPosition(pos);
    setStored(chat);
  };

  const reset = () => {
    if (stored) {
      storage.removeItem(chatKey(slug));
      storage.removeItem(outboxKey(stored.conversationId));
    }
    setFresh(false);
    setStored(null);
  };

  if (stored) {
    return (
      <Chat
        key={stored.conversationId}
        chat={stored}
        title={title}
        storage={storage}
        embedded={embedded}
        position={fresh ? position : null}
        onReset={reset}
        slug={slug}
        page={page}
        notice={info?.archive_notice ?? ""}
      />
    );
  }

  let body: JSX.Element;
  if (status === null) {
    body = <p class="pw-note">Loading…</p>;
  } else if (leave || (status !== "error" && (status.accepting ?? status.open) === false)) {
    body = (
      <LeaveMessage
        slug={slug}
        page={page}
        reason={leave?.reason ?? (status !== "error" ? status.reason : null) ?? "no_agents"}
        nextOpen={status !== "error" ? status.next_open : null}
        prefill={leave ?? undefined}
      />
    );
  } else if (status !== "error" && status.identity === "required" && !identity) {
    body = (
      <div class="pw-card" data-testid="identity-required" role="status">
        <p class="pw-lead">Please sign in to chat with us.</p>
        <p class="pw-note">This chat is for signed-in customers: sign in on this site, then open it again.</p>
      </div>
    );
  } else if (status === "error" || !status.open) {
    body = (
      <div class="pw-card" data-testid="unavailable" role="status">
        <p class="pw-lead">Nobody is available right now. Please try again later.</p>
        {status === "error" && <p class="pw-note">This chat could not be reached.</p>}
      </div>
    );
  } else {
    body = (
      <>
        <HelpSearch slug={slug} />
        <PreChat
          key={identity ?? ""}
          slug={slug}
          page={page}
          identity={identity}
          storage={storage}
          fields={status.form_fields ?? []}
          notice={status.archive_notice ?? ""}
          onStarted={started}
          onUnavailable={setLeave}
        />
      </>
    );
  }
  return (
    <Shell
      title={title}
      subtitle={info?.open && info.accepting !== false && !leave ? "We usually reply in a few minutes." : undefined}
      embedded={embedded}
    >
      {body}
    </Shell>
  );
}

function Shell(props: {
  title: string;
  titleTestId?: string;
  subtitle?: string;
  embedded: boolean;
  actions?: JSX.Element | false | null;
  children: ComponentChildren;
}) {
  return (
    <div class={props.embedded ? "pw" : "pw pw-alone"}>
      <header class="pw-head">
        <div class="pw-head-text">
          <h1 class="pw-title" data-testid={props.titleTestId}>
            {props.title}
          </h1>
          {props.subtitle && <p class="pw-sub">{props.subtitle}</p>}
        </div>
        {props.actions}
        {props.embedded && (
          <button type="button" class="pw-icon" aria-label="Minimize chat window" title="Minimize" onClick={requestClose}>
            <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
              <path d="M5 12h14" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
            </svg>
          </button>
        )}
      </header>
      <main class="pw-main">{props.children}</main>
    </div>
  );
}

interface ApiError {
  error?: {
    code?: string;
    message?: string;
    details?: { loc?: unknown[]; msg?: string }[] | { reason?: string };
  };
}

/** Why opening a chat was refused over the customer's identity, in words for the visitor. */
const IDENTITY_ERRORS: Record<string, string> = {
  identity_required: "Please sign in on this site to chat with us.",
  invalid_identity: "We could not confirm that you are signed in (it may have expired). Please reload the page and try again.",
};

function PreChat({
  slug,
  page,
  identity,
  storage,
  fields,
  notice,
  onStarted,
  onUnavailable,
}: {
  slug: string;
  page: string;
  identity: string | null;
  storage: KeyValueStore;
  fields: FormField[];
  notice: string;
  onStarted: (chat: StoredChat, position: number | null) => void;
  onUnavailable: (leave: LeaveState) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const known = useMemo(() => identityClaims(identity), [identity]);

  useEffect(() => nameRef.current?.focus(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const name = String(form.get("name") ?? "").trim();
    const email = String(form.get("email") ?? "").trim();
    const question = String(form.get("question") ?? "").trim();
    const extra: Record<string, string> = {};
    for (const field of fields) {
      const value = String(form.get(`extra.${field.name}`) ?? "").trim();
      if (value) extra[field.name] = value;
    }
    if (!name) {
      setError("Please enter your name.");
      nameRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    const visitorId = storage.getItem(VISITOR_ID_KEY);
    try {
      const response = await fetch(api(`/workgroups/${encodeURIComponent(slug)}/chats`), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          name,
          question,
          page: page.slice(0, 2048),
          extra,
          ...(email ? { email } : {}),
          ...(identity ? { identity } : {}),
          ...(visitorId ? { visitor_id: visitorId } : {}),
        }),
      });
      const data = (await response.json().catch(() => ({}))) as ApiError & {
        conversation?: Conversation;
        visitor_token?: string;
        position?: number | null;
        visitor_id?: string;
      };
      if (data.visitor_id) storage.setItem(VISITOR_ID_KEY, data.visitor_id);
      const details = data.error?.details;
      if (response.status === 409 && data.error?.code === "unavailable") {
        // Closed, nobody there or the queue full since the status was read: leave a message.
        const reason = (details && !Array.isArray(details) && details.reason) || "no_agents";
        onUnavailable({ reason, name, email });
        return;
      }
      const code = data.error?.code ?? "";
      if (response.status === 401 && IDENTITY_ERRORS[code]) {
        setError(IDENTITY_ERRORS[code]);
        setBusy(false);
        return;
      }
      if (!response.ok || !data.conversation || !data.visitor_token) {
        const field = Array.isArray(details) ? details[0]?.loc?.slice(-1)[0] : undefined;
        setError(
          field === "email"
            ? "Please check your email address."
            : data.error?.message
              ? `Could not start the chat: ${data.error.message}.`
              : "Could not start the chat. Please try again.",
        );
        setBusy(false);
        return;
      }
      onStarted({ conversationId: data.conversation.id, visitorToken: data.visitor_token }, data.position ?? null);
    } catch {
      setError("Could not reach the chat. Check your connection and try again.");
      setBusy(false);
    }
  };

  return (
    <form class="pw-form" onSubmit={submit}>
      <p class="pw-lead">Hi! Tell us a little about yourself and we'll connect you.</p>
      {identity && (
        <p class="pw-note" data-testid="signed-in">
          You are signed in{known.name ? ` as ${known.name}` : ""}.
        </p>
      )}
      <label for="pw-name">Name</label>
      <input
        id="pw-name"
        name="name"
        ref={nameRef}
        required
        maxLength={128}
        autocomplete="name"
        defaultValue={known.name?.slice(0, 128)}
      />
      <label for="pw-email">
        Email <span class="pw-optional">(optional)</span>
      </label>
      <input
        id="pw-email"
        name="email"
        type="email"
        maxLength={254}
        autocomplete="email"
        defaultValue={known.email?.slice(0, 254)}
      />
      {fields.map((field) => (
        <Fragment key={field.name}>
          <label for={`pw-extra-${field.name}`}>
            {field.label}
            {!field.required && <span class="pw-optional"> (optional)</span>}
          </label>
          <input
            id={`pw-extra-${field.name}`}
            name={`extra.${field.name}`}
            required={field.required}
            maxLength={1024}
          />
        </Fragment>
      ))}
      <label for="pw-question">Question</label>
      <textarea id="pw-question" name="question" rows={3} maxLength={4000} />
      {error && (
        <p class="pw-error" role="alert">
          {error}
        </p>
      )}
      <ArchiveNotice text={notice} />
      <button type="submit" class="pw-primary" disabled={busy}>
        {busy ? "Starting…" : "Start chat"}
      </button>
    </form>
  );
}

/** Whole minutes for "about N min", at least 1. */
export function waitMinutes(secs: number): number {
  return Math.max(1, Math.round(secs / 60));
}

function wsUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

function Chat(props: {
  chat: StoredChat;
  title: string;
  storage: KeyValueStore;
  embedded: boolean;
  position: number | null;
  onReset: () => void;
  slug: string;
  page: string;
  /** The archive notice, at the top of the log (before the first message). */
  notice?: string;
}) {
  const { chat, storage } = props;
  const [state, dispatch] = useReducer(reduce, undefined, () => initialState(chat.conversationId, props.position));
  const clientRef = useRef<ParleyClient | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const client = new ParleyClient({
      url: wsUrl(),
      auth: () => ({ visitor_token: chat.visitorToken }),
      storage,
      storageKey: outboxKey(chat.conversationId),
    });
    clientRef.current = client;
    const off = client.on(dispatch);
    dispatch({ type: "outbox", pending: client.pending });
    client.connect();
    return () => {
      off();
      client.close();
      clientRef.current = null;
    };
  }, [chat.conversationId, chat.visitorToken, storage]);

  // The server never expires typing: drop an indicator nobody refreshed.
  useEffect(() => {
    if (!state.typing) return;
    const timer = setTimeout(() => dispatch({ type: "clear_typing" }), 15_000);
    return () => clearTimeout(timer);
  }, [state.typing]);

  const current = phase(state);
  const agent = agentName(state.conversation, state.entries);

  const end = async () => {
    const client = clientRef.current;
    if (!client) return;
    setBusy(true);
    setNotice(null);
    let failed: string | null = null;
    if (client.connectionStatus === "online") {
      const reply = await client.request({ type: "end", conversation_id: chat.conversationId });
      if (reply.type === "error") failed = reply.code === "offline" ? "" : reply.message;
    } else {
      failed = ""; // not connected (yet): the same command over REST
    }
    if (failed === "") {
      failed = await fetch(api(`/conversations/${chat.conversationId}/end`), {
        method: "POST",
        headers: { "X-Visitor-Token": chat.visitorToken },
      }).then(
        (r) => (r.ok ? null : "Could not end the chat. Please try again."),
        () => "You are offline. Please try again when reconnected.",
      );
    }
    setBusy(false);
    if (failed) setNotice(failed);
  };

  const reconnecting = state.synced && (state.connection === "offline" || state.connection === "connecting");

  return (
    <Shell
      title={agent ? `Chatting with ${agent}` : props.title}
      titleTestId={agent ? "agent-name" : undefined}
      subtitle={current === "waiting" ? "Waiting for an agent…" : current === "ended" ? "Chat ended" : undefined}
      embedded={props.embedded}
      actions={
        current === "active" && (
          <button type="button" class="pw-ghost" onClick={end} disabled={busy}>
            End chat
          </button>
        )
      }
    >
      {reconnecting && (
        <p class="pw-banner" data-testid="connection-status" role="status">
          Reconnecting…
        </p>
      )}
      {current === "waiting" && (
        <div class="pw-queue">
          {state.position !== null ? (
            <p data-testid="queue-position" role="status">
              You are number {state.position} in the queue
              {state.estimatedWait !== null && (
                <span data-testid="queue-wait"> (about {waitMinutes(state.estimatedWait)} min)</span>
              )}
            </p>
          ) : (
            <p>Connecting you to an agent…</p>
          )}
          <button type="button" class="pw-secondary" onClick={end} disabled={busy}>
            Cancel
          </button>
        </div>
      )}
      {current === "waiting" && (
        <HelpSearch
          slug={props.slug}
          visitorToken={chat.visitorToken}
          initialQuery={state.conversation?.metadata.question ?? ""}
        />
      )}
      <Log state={state} notice={props.notice} />
      {state.typing && current !== "ended" && (
        <p class="pw-typing" data-testid="typing" role="status">
          {state.typing.name} is typing…
        </p>
      )}
      {(notice || state.error) && (
        <p class="pw-error" role="alert">
          {notice || state.error}
        </p>
      )}
      {state.stopped ? (
        <div class="pw-ended" tabIndex={-1} data-focus>
          <p>This chat is no longer available.</p>
          <button type="button" class="pw-primary" onClick={props.onReset}>
            Start a new chat
          </button>
        </div>
      ) : current === "ended" ? (
        <Fragment>
          <Ended state={state} title={props.title} onReset={props.onReset} />
          {state.ended === "expired" && (
            // The wait timed out: offer to leave a message, with what the visitor already gave.
            <LeaveMessage
              slug={props.slug}
              page={props.page}
              reason={null}
              prefill={{ name: state.conversation?.metadata.name, email: state.conversation?.metadata.email }}
              visitorToken={chat.visitorToken}
            />
          )}
        </Fragment>
      ) : (
        <Composer
          client={clientRef}
          conversationId={chat.conversationId}
          maxChars={state.maxChars}
          onSent={() => dispatch({ type: "clear_error" })}
        />
      )}
    </Shell>
  );
}

/** The archiving policy's notice (plain text; Preact escapes it), or nothing when none is set. */
export function ArchiveNotice({ text }: { text?: string }) {
  return text?.trim() ? (
    <p class="pw-archive" data-testid="archive-notice">
      {text}
    </p>
  ) : null;
}

export function Log({
  state,
  notice,
}: {
  state: Pick<ChatState, "entries" | "pending" | "conversation">;
  notice?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const pending = visiblePending(state as ChatState);
  const count = state.entries.length + pending.length;
  useLayoutEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count]);
  const question = state.conversation?.metadata.question;
  return (
    <div class="pw-log" role="log" aria-live="polite" aria-label="Conversation" ref={ref}>
      <ArchiveNotice text={notice} />
      {(state.conversation?.history_starts_at_seq ?? 1) > 1 && (
        <p class="pw-system" data-testid="history-removed">
          Earlier messages were removed under the archiving policy.
        </p>
      )}
      {question && <p class="pw-asked">You asked: {question}</p>}
      {state.entries.map((entry) => (
        <EntryView key={entry.seq} entry={entry} conversation={state.conversation} entries={state.entries} />
      ))}
      {pending.map((p) => (
        <PendingView key={p.clientId} message={p} />
      ))}
    </div>
  );
}

function EntryView({ entry, conversation, entries }: { entry: Entry; conversation: Conversation | null; entries: Entry[] }) {
  const author = authorKind(entry);
  if (author === "system") {
    const text = systemText(entry, conversation, entries);
    if (!text) return null;
    return (
      <div class="pw-msg pw-system" data-testid="message" data-seq={entry.seq} data-author="system" data-status="sent">
        {text}
      </div>
    );
  }
  return (
    <div
      class={`pw-msg pw-${author}`}
      data-testid="message"
      data-seq={entry.seq}
      data-author={author}
      data-status="sent"
      title={formatTime(entry.created_at)}
    >
      {String(entry.body.text ?? "")}
    </div>
  );
}

function PendingView({ message }: { message: PendingMessage }) {
  return (
    <div class="pw-msg pw-visitor pw-sending" data-testid="message" data-author="visitor" data-status="sending" title="Sending…">
      {message.text}
    </div>
  );
}

function Ended({ state, title, onReset }: { state: ChatState; title: string; onReset: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const url = useMemo(() => {
    const text = transcriptText(state.conversation, state.entries, `${title}: chat transcript`);
    return URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  }, [state.conversation, state.entries, title]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  useEffect(() => {
    // The composer that had the focus is gone: bring the keyboard here, unless it is elsewhere.
    if (document.activeElement === document.body || document.activeElement === null) ref.current?.focus();
  }, []);
  const date = (state.conversation?.created_at || "").slice(0, 10);
  return (
    <div class="pw-ended" data-testid="ended" tabIndex={-1} ref={ref} data-focus>
      <p class="pw-lead">{reasonText(state.ended)}</p>
      <div class="pw-row">
        <a class="pw-link" href={url} download={`chat-transcript${date ? `-${date}` : ""}.txt`}>
          Download transcript
        </a>
        <button type="button" class="pw-primary" onClick={onReset}>
          Start a new chat
        </button>
      </div>
    </div>
  );
}

function Composer(props: {
  client: { current: ParleyClient | null };
  conversationId: string;
  maxChars: number;
  onSent: () => void;
}) {
  const [text, setText] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);
  const typing = useRef({ active: false, last: 0, timer: 0 as unknown as ReturnType<typeof setTimeout> });

  useEffect(() => {
    ref.current?.focus();
    const t = typing.current;
    return () => clearTimeout(t.timer);
  }, []);

  const stopTyping = () => {
    const t = typing.current;
    clearTimeout(t.timer);
    if (t.active) {
      t.active = false;
      props.client.current?.typing(props.conversationId, false);
    }
  };

  const onInput = (value: string) => {
    setText(value);
    const t = typing.current;
    if (!value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (!t.active || now - t.last >= 2000) {
      t.active = true;
      t.last = now;
      props.client.current?.typing(props.conversationId, true);
    }
    clearTimeout(t.timer);
    t.timer = setTimeout(stopTyping, 3000);
  };

  const send = () => {
    const value = text.trim();
    const client = props.client.current;
    if (!value || !client) return;
    stopTyping();
    client.send(props.conversationId, value);
    setText("");
    props.onSent();
    ref.current?.focus();
  };

  return (
    <form
      class="pw-composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="pw-message" class="pw-sr">
        Message
      </label>
      <textarea
        id="pw-message"
        ref={ref}
        rows={2}
        maxLength={props.maxChars}
        placeholder="Type your message…"
        value={text}
        onInput={(e) => onInput(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" class="pw-send">
        Send
      </button>
    </form>
  );
}
