// The chat app inside the launcher's iframe: pre-chat form, queue, chat, end. The DOM names
// used here are a contract with the browser tests and assistive technology (frontend/README.md).

import { Fragment, type ComponentChildren, type JSX } from "preact";
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";

import { attachmentOf, filesOf } from "../shared/attachments";
import { ParleyClient, type KeyValueStore, type PendingMessage } from "../shared/client";
import type { Conversation, Entry } from "../shared/protocol";
import { AttachButton, AttachmentView, UploadProgress, useUploads } from "./Attachments";
import { HelpSearch } from "./HelpSearch";
import { type Branding, Logo, useBrandColor } from "./Branding";
import { Byline, usePhotos } from "./Byline";
import { CobrowseEntry, FollowBanner, followState, useFollow } from "./Cobrowse";
import { cleanFields } from "./fields";
import { type Key, t } from "./i18n";
import { LeaveMessage, type Prefill, type UnavailableReason } from "./LeaveMessage";
import { TranscriptEmail } from "./TranscriptEmail";
import { ShopperChecklist } from "./Shopper";
import { tellHost, usePanelVisible } from "./panel";
import { RatingStep } from "./Rating";
import { isAgentMessage, lastSeq, loadSeen, seenKey, unreadCount } from "./unread";
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
  nameOf,
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
  /** The workgroup's colour, logo, greeting and corner. */
  branding?: Branding;
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
  /** Hidden fields from the host page (data-field-*, Parley.setFields), not checked yet. */
  fields?: unknown;
  /** The page that brought the visitor to ``page``. */
  referrer?: string;
  /** A secret shopper's link token (the host page's `#shopper=`): sent with the chat request. */
  shopperLink?: string | null;
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

export function App({
  slug,
  page,
  storage,
  embedded,
  identity = null,
  fields,
  referrer = "",
  shopperLink = null,
}: AppProps) {
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
  const title = info?.name ?? t("chat");
  const logo = info?.branding?.logo_url ?? null;
  useBrandColor(info?.branding?.color);

  // No chat under way: the launcher forgets it (no reopening after a reload, no unread count).
  useEffect(() => {
    if (!stored && embedded) tellHost({ type: "parley:state", chat: false, unread: 0 });
  }, [stored, embedded]);

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
      storage.removeItem(seenKey(stored.conversationId));
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
        logo={logo}
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
    body = <p class="pw-note">{t("loading")}</p>;
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
        <p class="pw-lead">{t("sign_in_required")}</p>
        <p class="pw-note">{t("sign_in_required_note")}</p>
      </div>
    );
  } else if (status === "error" || !status.open) {
    body = (
      <div class="pw-card" data-testid="unavailable" role="status">
        <p class="pw-lead">{t("nobody_try_later")}</p>
        {status === "error" && <p class="pw-note">{t("unreachable")}</p>}
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
          hidden={fields}
          referrer={referrer}
          shopperLink={shopperLink}
          greeting={status.branding?.greeting ?? ""}
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
      logo={logo}
      subtitle={info?.open && info.accepting !== false && !leave ? t("reply_soon") : undefined}
      embedded={embedded}
    >
      {body}
    </Shell>
  );
}

function Shell(props: {
  title: string;
  titleTestId?: string;
  logo?: string | null;
  /** What the header says: waiting, chatting, the chat over (tests and styles read it). */
  phase?: string;
  subtitle?: string;
  embedded: boolean;
  actions?: JSX.Element | false | null;
  children: ComponentChildren;
}) {
  return (
    <div class={props.embedded ? "pw" : "pw pw-alone"}>
      <header class="pw-head" data-phase={props.phase}>
        <Logo url={props.logo} />
        <div class="pw-head-text">
          <h1 class="pw-title" data-testid={props.titleTestId}>
            {props.title}
          </h1>
          {props.subtitle && <p class="pw-sub">{props.subtitle}</p>}
        </div>
        {props.actions}
        {props.embedded && (
          <button type="button" class="pw-icon" aria-label={t("minimize")} title={t("minimize_short")} onClick={requestClose}>
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
const IDENTITY_ERRORS: Record<string, Key> = {
  identity_required: "identity_required",
  invalid_identity: "invalid_identity",
};

function PreChat({
  slug,
  page,
  identity,
  storage,
  fields,
  hidden,
  referrer,
  shopperLink,
  greeting,
  notice,
  onStarted,
  onUnavailable,
}: {
  slug: string;
  page: string;
  identity: string | null;
  storage: KeyValueStore;
  fields: FormField[];
  hidden?: unknown;
  referrer: string;
  shopperLink: string | null;
  greeting: string;
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
      setError(t("enter_name"));
      nameRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    // A secret shopper comes as a first-time customer: no earlier chats linked to theirs.
    const visitorId = shopperLink ? null : storage.getItem(VISITOR_ID_KEY);
    const passed = cleanFields(hidden);
    try {
      const response = await fetch(api(`/workgroups/${encodeURIComponent(slug)}/chats`), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          name,
          question,
          page: page.slice(0, 2048),
          extra,
          ...(Object.keys(passed).length ? { fields: passed } : {}),
          ...(referrer ? { referrer: referrer.slice(0, 2048) } : {}),
          ...(email ? { email } : {}),
          ...(identity ? { identity } : {}),
          ...(visitorId ? { visitor_id: visitorId } : {}),
          ...(shopperLink ? { shopper_link: shopperLink } : {}),
        }),
      });
      const data = (await response.json().catch(() => ({}))) as ApiError & {
        conversation?: Conversation;
        visitor_token?: string;
        position?: number | null;
        visitor_id?: string;
      };
      if (data.visitor_id && !shopperLink) storage.setItem(VISITOR_ID_KEY, data.visitor_id);
      const details = data.error?.details;
      if (response.status === 409 && data.error?.code === "unavailable") {
        // Closed, nobody there or the queue full since the status was read: leave a message.
        const reason = (details && !Array.isArray(details) && details.reason) || "no_agents";
        onUnavailable({ reason, name, email });
        return;
      }
      const code = data.error?.code ?? "";
      if (response.status === 401 && IDENTITY_ERRORS[code]) {
        setError(t(IDENTITY_ERRORS[code]));
        setBusy(false);
        return;
      }
      if (!response.ok || !data.conversation || !data.visitor_token) {
        const field = Array.isArray(details) ? details[0]?.loc?.slice(-1)[0] : undefined;
        setError(
          field === "email"
            ? t("check_email")
            : data.error?.message
              ? t("could_not_start_because", { message: data.error.message })
              : t("could_not_start"),
        );
        setBusy(false);
        return;
      }
      onStarted(
        {
          conversationId: data.conversation.id,
          visitorToken: data.visitor_token,
          ...(shopperLink ? { shopperLink } : {}),
        },
        data.position ?? null,
      );
    } catch {
      setError(t("no_connection"));
      setBusy(false);
    }
  };

  return (
    <form class="pw-form" onSubmit={submit}>
      <p class="pw-lead pw-greeting" data-testid="greeting">
        {greeting.trim() || t("greeting")}
      </p>
      {identity && (
        <p class="pw-note" data-testid="signed-in">
          {known.name ? t("signed_in_as", { name: known.name }) : t("signed_in")}
        </p>
      )}
      <label for="pw-name">{t("name")}</label>
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
        {t("email")} <span class="pw-optional">{t("optional")}</span>
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
            {!field.required && <span class="pw-optional"> {t("optional")}</span>}
          </label>
          <input
            id={`pw-extra-${field.name}`}
            name={`extra.${field.name}`}
            required={field.required}
            maxLength={1024}
          />
        </Fragment>
      ))}
      <label for="pw-question">{t("question")}</label>
      <textarea id="pw-question" name="question" rows={3} maxLength={4000} />
      {error && (
        <p class="pw-error" role="alert">
          {error}
        </p>
      )}
      <ArchiveNotice text={notice} />
      <button type="submit" class="pw-primary" disabled={busy}>
        {busy ? t("starting") : t("start_chat")}
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
  logo?: string | null;
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
  const follow = followState(state.entries);
  useFollow(chat.conversationId, state.entries, state.synced && props.embedded, props.page, storage);

  // The agent's messages the visitor has not seen (the panel minimised): the launcher's badge.
  const visible = usePanelVisible();
  const [seen, setSeen] = useState<number | null>(() => loadSeen(storage, chat.conversationId));
  const latest = lastSeq(state.entries);
  useEffect(() => {
    // Seen when shown; loaded hidden with nothing remembered: what the first sync brought.
    if ((visible || (seen === null && state.synced)) && latest > (seen ?? 0)) {
      setSeen(latest);
      storage.setItem(seenKey(chat.conversationId), String(latest));
    }
  }, [visible, latest, seen, state.synced, storage, chat.conversationId]);
  const unread = visible ? 0 : unreadCount(state.entries, seen ?? latest);
  const chatting = current !== "ended" && !state.stopped;
  useEffect(() => {
    if (props.embedded) tellHost({ type: "parley:state", chat: chatting, unread });
  }, [props.embedded, chatting, unread]);
  const files = useUploads(chat.conversationId, chat.visitorToken);
  const photos = usePhotos(
    chat.conversationId,
    chat.visitorToken,
    state.entries.filter(isAgentMessage).map((e) => e.author ?? ""),
  );

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
        (r) => (r.ok ? null : t("could_not_end")),
        () => t("offline_retry"),
      );
    }
    setBusy(false);
    if (failed) setNotice(failed);
  };

  const reconnecting = state.synced && (state.connection === "offline" || state.connection === "connecting");

  return (
    <Shell
      title={headerTitle(current, agent, props.title)}
      titleTestId={agent && current !== "ended" ? "agent-name" : undefined}
      logo={props.logo}
      phase={current}
      subtitle={current === "waiting" ? t("waiting") : current === "ended" ? endedSubtitle(state) : undefined}
      embedded={props.embedded}
      actions={
        current === "active" && (
          <button type="button" class="pw-ghost" onClick={end} disabled={busy}>
            {t("end_chat")}
          </button>
        )
      }
    >
      {reconnecting && (
        <p class="pw-banner" data-testid="connection-status" role="status">
          {t("reconnecting")}
        </p>
      )}
      {current === "waiting" && (
        <div class="pw-queue">
          {state.position !== null ? (
            <p data-testid="queue-position" role="status">
              {t("queue_position", { n: state.position })}
              {state.estimatedWait !== null && (
                <span data-testid="queue-wait">{t("queue_wait", { n: waitMinutes(state.estimatedWait) })}</span>
              )}
            </p>
          ) : (
            <p>{t("connecting")}</p>
          )}
          <button type="button" class="pw-secondary" onClick={end} disabled={busy}>
            {t("cancel")}
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
      {current === "active" && <FollowBanner state={follow} conversationId={chat.conversationId} visitorToken={chat.visitorToken} />}
      <Log state={state} notice={props.notice} photos={photos} visitorToken={chat.visitorToken} page={props.page} />
      {state.typing && current !== "ended" && (
        <p class="pw-typing" data-testid="typing" role="status">
          {t("typing", { name: state.typing.name })}
        </p>
      )}
      {(notice || state.error) && (
        <p class="pw-error" role="alert">
          {notice || state.error}
        </p>
      )}
      <UploadProgress uploads={files.uploads} />
      {files.error && current !== "ended" && (
        <p class="pw-error" role="alert" data-testid="upload-error">
          {files.error}
        </p>
      )}
      {state.stopped ? (
        <div class="pw-ended" tabIndex={-1} data-focus>
          <p>{t("no_longer_available")}</p>
          <button type="button" class="pw-primary" onClick={props.onReset}>
            {t("start_new_chat")}
          </button>
        </div>
      ) : current === "ended" ? (
        <Fragment>
          <Ended state={state} title={props.title} onReset={props.onReset} />
          {state.ended !== "expired" && state.ended !== "cancelled" && agent !== null && !chat.shopperLink && (
            // Answered and over: ask for a rating, if the workgroup wants one and none was given
            // (a secret shopper scores the chat on their checklist instead).
            <RatingStep conversationId={chat.conversationId} visitorToken={chat.visitorToken} />
          )}
          {state.ended !== "expired" && state.ended !== "cancelled" && (
            <TranscriptEmail
              conversationId={chat.conversationId}
              visitorToken={chat.visitorToken}
              email={state.conversation?.metadata.email ?? ""}
            />
          )}
          {chat.shopperLink && <ShopperChecklist link={chat.shopperLink} />}
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
          files={files}
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

/** The header's title: who the visitor chats with, and once it is over, that it was them. */
function headerTitle(current: string, agent: string | null, title: string): string {
  if (!agent) return title;
  return current === "ended" ? t("chat_with_ended", { name: agent }) : t("chatting_with", { name: agent });
}

/** "Ended at 10:32": the header says the chat is over (the log's system line says "Chat ended"). */
function endedSubtitle(state: ChatState): string | undefined {
  const at = state.conversation?.ended_at || state.entries.find((e) => e.kind === "ended")?.created_at;
  const time = at ? formatTime(at) : "";
  return time ? t("ended_at", { time }) : undefined;
}

export function Log({
  state,
  notice,
  photos = {},
  visitorToken,
  page,
}: {
  state: Pick<ChatState, "entries" | "pending" | "conversation">;
  notice?: string;
  /** The host page: a pushed page of its origin opens in it (``Cobrowse.tsx``). */
  page?: string;
  /** The visitor's token, to fetch the chat's files (none: attachments show their names). */
  visitorToken?: string;
  /** The agents' photos (data: URLs) by participant key, for the bylines. */
  photos?: Record<string, string | null>;
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
    // Focusable, so that a keyboard user can scroll it (axe: scrollable-region-focusable).
    <div class="pw-log" role="log" aria-live="polite" aria-label={t("conversation")} tabIndex={0} ref={ref}>
      <ArchiveNotice text={notice} />
      {(state.conversation?.history_starts_at_seq ?? 1) > 1 && (
        <p class="pw-system" data-testid="history-removed">
          {t("history_removed")}
        </p>
      )}
      {question && <p class="pw-asked">{t("you_asked", { question })}</p>}
      {withBylines(state.entries).map(({ entry, byline }) => (
        <Fragment key={entry.seq}>
          {byline && <Byline name={nameOf(entry.author, state.conversation, state.entries)} photo={photos[entry.author ?? ""]} />}
          <EntryView entry={entry} conversation={state.conversation} entries={state.entries} visitorToken={visitorToken} page={page} />
        </Fragment>
      ))}
      {pending.map((p) => (
        <PendingView key={p.clientId} message={p} />
      ))}
    </div>
  );
}

/** Each entry, and whether an agent's message starts a run of theirs (it gets their byline):
 * the first after someone else's message or a system line, so a transfer shows the new name. */
export function withBylines(entries: Entry[]): { entry: Entry; byline: boolean }[] {
  let previous: string | null = null;
  return entries.map((entry) => {
    const byline = isAgentMessage(entry) && entry.author !== previous;
    if (entry.kind === "message") previous = entry.author;
    else if (entry.kind !== "hidden" && entry.kind !== "note" && entry.kind !== "queued") previous = null;
    return { entry, byline };
  });
}

function EntryView({
  entry,
  conversation,
  entries,
  visitorToken,
  page,
}: {
  entry: Entry;
  conversation: Conversation | null;
  entries: Entry[];
  visitorToken?: string;
  /** The host page (``?page=``): a pushed page of its origin opens in it. */
  page?: string;
}) {
  const author = authorKind(entry);
  const file = attachmentOf(entry);
  if (entry.kind === "cobrowse") return <CobrowseEntry entry={entry} page={page ?? ""} />;
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
      {file && conversation && visitorToken ? (
        <AttachmentView attachment={file} conversationId={conversation.id} visitorToken={visitorToken} />
      ) : (
        String(entry.body.text ?? "")
      )}
    </div>
  );
}

function PendingView({ message }: { message: PendingMessage }) {
  return (
    <div class="pw-msg pw-visitor pw-sending" data-testid="message" data-author="visitor" data-status="sending" title={t("sending")}>
      {message.text}
    </div>
  );
}

function Ended({ state, title, onReset }: { state: ChatState; title: string; onReset: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const url = useMemo(() => {
    const text = transcriptText(state.conversation, state.entries, t("transcript_title_of", { title }));
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
        <a class="pw-link" href={url} download={`${t("transcript_file")}${date ? `-${date}` : ""}.txt`}>
          {t("download_transcript")}
        </a>
        <button type="button" class="pw-primary" onClick={onReset}>
          {t("start_new_chat")}
        </button>
      </div>
    </div>
  );
}

function Composer(props: {
  client: { current: ParleyClient | null };
  conversationId: string;
  /** The chat's uploads (``useUploads``): paste, drop and the attach button feed them. */
  files: { send: (files: File[]) => void };
  maxChars: number;
  onSent: () => void;
}) {
  const [text, setText] = useState("");
  const ref = useRef<HTMLTextAreaElement>(null);
  const files = props.files;
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
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        const dropped = filesOf(e.dataTransfer);
        if (!dropped.length) return;
        e.preventDefault();
        files.send(dropped);
      }}
    >
      <label for="pw-message" class="pw-sr">
        {t("message")}
      </label>
      <textarea
        id="pw-message"
        ref={ref}
        rows={2}
        maxLength={props.maxChars}
        placeholder={t("type_message")}
        value={text}
        onInput={(e) => onInput(e.currentTarget.value)}
        onPaste={(e) => {
          const pasted = filesOf(e.clipboardData);
          if (!pasted.length) return;
          e.preventDefault();
          files.send(pasted);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <AttachButton onFiles={files.send} />
      <button type="submit" class="pw-send">
        {t("send")}
      </button>
    </form>
  );
}
