import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";

import type { PendingMessage } from "../shared/client";
import type { ServerMessage } from "../shared/protocol";
import { ChatList } from "./ChatList";
import { CustomerDetails } from "./CustomerDetails";
import { CustomerProfile } from "./CustomerProfile";
import { SendFailures } from "./SendFailures";
import { filesOf } from "../shared/attachments";
import { ConsoleAttachButton, ConsoleUploads, useConsoleUploads } from "./Attachments";
import { CobrowsePane } from "./Cobrowse";
import { EntryLog } from "./EntryLog";
import { customerGone, customerName } from "./format";
import { useNow } from "./hooks";
import { EarlierConversations } from "./EarlierChats";
import { EndChatControls } from "./EndChat";
import { WrapUp } from "./WrapUp";
import { InviteDialog, SentInvitations } from "./Invitations";
import { HandoffNote, TransferDialog, TransferStatusLine } from "./TransferDialog";
import {
  invitationsFrom,
  isEnded,
  myRole,
  pendingFor,
  takenOverBy,
  transferredTo,
  watchingText,
  type Action,
  type ChatState,
  type ConsoleState,
} from "./state";
import { TypingNotifier } from "./typing";
import { ArticleSuggestions, MissingValues, spliceText, useCannedPicker } from "./Suggestions";

/** A typing indicator nobody refreshed for this long is stale (the server never expires it). */
const TYPING_STALE_MS = 8000;

export interface ChatActions {
  select(id: string): void;
  close(id: string): void;
  send(id: string, text: string, options?: { private?: boolean; confirm?: boolean }): void;
  typing(id: string, active: boolean): void;
  request(message: Record<string, unknown>): Promise<ServerMessage>;
  dismissFailed(id: string, clientId: string): void;
  /** Transfer bookkeeping in the console's state (see `OutgoingTransfer`). */
  transferUpdate?(
    action: Extract<Action, { type: "transfer_requested" | "transfer_refused" | "dismiss_transfer" }>,
  ): void;
}

/** The back-channel beside a customer chat (staff IM), rendered by the console. */
export interface BackchannelSlot {
  /** Open it (created on first open) and show it beside the chat. */
  open(chatId: string): Promise<void>;
  /** The pane, when it is open for this chat. */
  render(chatId: string): ComponentChildren | null;
}

interface Props {
  state: ConsoleState;
  actions: ChatActions;
  workgroupName: (id: number | null) => string | undefined;
  backchannel?: BackchannelSlot;
  /** An offer is on screen: the empty screen points at it instead of at the presence. */
  offerShowing?: boolean;
  /** The agent's own presence, for the empty screen's advice. */
  presence?: string | null;
}

/** What the screen without chats says: never "set your presence" while an offer is showing. */
export function emptyAdvice(offerShowing: boolean, presence: string | null | undefined): string {
  if (offerShowing) return "A chat is offered to you above: accept it to open it here.";
  if (presence === "available") return "You are available: new chats are offered above. Accepted chats open here as tabs.";
  return "Set your presence to Available to receive offers. Accepted chats open here as tabs.";
}

/** Put the keyboard in the selected chat's reply box (with `prefix` typed, "/" opens the
 * canned search), once it is rendered. */
export function focusReplyBox(prefix = ""): void {
  requestAnimationFrame(() => {
    const box = document.querySelector<HTMLTextAreaElement>('.chat-panel textarea[id^="message-"]');
    if (!box || box.disabled) return;
    box.focus();
    if (prefix && !box.value.startsWith(prefix)) {
      box.value = prefix + box.value;
      box.setSelectionRange(prefix.length, prefix.length);
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
}

export function Chats({ state, actions, workgroupName, backchannel, offerShowing = false, presence }: Props) {
  const drafts = useRef(new Map<string, string>());
  const tabs = useRef(new Map<string, HTMLButtonElement>());
  const { order, selected } = state;
  const chat = selected ? state.chats[selected] : null;

  const onTabKey = (e: KeyboardEvent, index: number) => {
    let next = -1;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") next = (index + 1) % order.length;
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp")
      next = (index - 1 + order.length) % order.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = order.length - 1;
    if (next < 0) return;
    e.preventDefault();
    actions.select(order[next]);
    tabs.current.get(order[next])?.focus();
  };

  return (
    <section class="chats" aria-labelledby="chats-heading">
      <h2 id="chats-heading" class="sr-only">
        Chats
      </h2>
      <div class="tabs" role="tablist" aria-label="Open chats">
        {order.map((id, index) => {
          const c = state.chats[id];
          const isSelected = id === selected;
          return (
            <button
              key={id}
              type="button"
              role="tab"
              id={`tab-${id}`}
              class={`tab${isEnded(c) ? " ended" : ""}`}
              aria-selected={isSelected}
              aria-controls={`panel-${id}`}
              tabIndex={isSelected ? 0 : -1}
              ref={(el) => {
                if (el) tabs.current.set(id, el);
                else tabs.current.delete(id);
              }}
              onClick={() => actions.select(id)}
              onKeyDown={(e) => onTabKey(e, index)}
            >
              <span class="tab-name">{customerName(c.conversation)}</span>
              {isEnded(c) && <span class="tag">ended</span>}
              {!isEnded(c) && transferredTo(state, id) !== null && <span class="tag">transferred</span>}
              {c.unread > 0 && (
                <>
                  <span class="badge" data-testid="unread">
                    {c.unread}
                  </span>
                  <span class="sr-only"> unread</span>
                </>
              )}
            </button>
          );
        })}
      </div>
      <div class="chats-body">
      <ChatList state={state} onSelect={(id) => actions.select(id)} />
      {chat && selected ? (
        <ChatPanel
          key={selected}
          chat={chat}
          me={state.me}
          state={state}
          pending={pendingFor(state, selected)}
          maxChars={state.maxMessageChars}
          actions={actions}
          workgroupName={workgroupName(chat.conversation.workgroup_id)}
          draft={drafts.current.get(selected) ?? ""}
          setDraft={(text) => drafts.current.set(selected, text)}
          backchannel={backchannel}
        />
      ) : (
        <div class="empty-state">
          <p>No open chats.</p>
          <p class="muted" data-testid="empty-advice">
            {emptyAdvice(offerShowing, presence)}
          </p>
        </div>
      )}
      </div>
    </section>
  );
}

interface PanelProps {
  chat: ChatState;
  me: string;
  state: ConsoleState;
  pending: PendingMessage[];
  maxChars: number;
  actions: ChatActions;
  workgroupName: string | undefined;
  draft: string;
  setDraft: (text: string) => void;
  backchannel?: BackchannelSlot;
}

function ChatPanel({
  chat,
  me,
  state,
  pending,
  maxChars,
  actions,
  workgroupName,
  draft,
  setDraft,
  backchannel,
}: PanelProps) {
  const conv = chat.conversation;
  const id = conv.id;
  const files = useConsoleUploads(id);
  const ended = isEnded(chat);
  const role = myRole(chat, me);
  const isParticipant = role !== null;
  const isHelper = role === "helper";
  /** Was in it and left (an invited helper, done helping). */
  const hasLeft = !isParticipant && conv.participants.some((p) => p.key === me);
  /** Handed on to someone else (a transfer went through): the chat is theirs now. */
  const gone = transferredTo(state, id) ?? takenOverBy(state, id);
  const takenOver = takenOverBy(state, id) !== null;
  const watchers = state.watchers[id] ?? [];
  const outgoing = state.transfers[id];
  const transferWaiting = outgoing?.status === "requesting" || outgoing?.status === "pending";
  const handoff = state.handoffs[id];
  const canWrite = !ended && isParticipant;
  const [transferring, setTransferring] = useState(false);
  const [text, setText] = useState(draft);
  const [error, setError] = useState("");
  const [ending, setEnding] = useState(false);
  const [inviting, setInviting] = useState(false);
  const [privateNote, setPrivateNote] = useState(false);
  const [openingBackchannel, setOpeningBackchannel] = useState(false);
  const [missing, setMissing] = useState<string[]>([]);
  const box = useRef<HTMLTextAreaElement>(null);
  const textRef = useRef(text);
  textRef.current = text;
  /** Put `inserted` in place of `[start, end)` of the reply box, for editing (never sent). */
  const insertText = (start: number, end: number, inserted: string) => {
    const next = spliceText(textRef.current, start, end, inserted);
    update(next.text);
    requestAnimationFrame(() => {
      box.current?.focus();
      box.current?.setSelectionRange(next.caret, next.caret);
    });
  };
  const picker = useCannedPicker(id, (start, end, inserted, gaps) => {
    insertText(start, end, inserted);
    setMissing(gaps);
  });
  /** An article's link or excerpt, at the caret (on a line of its own when there is text). */
  const insertAtCaret = (inserted: string) => {
    const current = textRef.current;
    const at = box.current?.selectionStart ?? current.length;
    const before = current.slice(0, at);
    const glue = before && !/\s$/.test(before) ? " " : "";
    insertText(at, at, glue + inserted);
  };
  useEffect(() => {
    // Just accepted (the offer's button is gone, the focus with it): straight to the reply box.
    const active = document.activeElement;
    if (canWrite && (active === null || active === document.body)) box.current?.focus();
  }, []);
  const side = backchannel?.render(id) ?? null;
  const now = useNow(1000, chat.typing !== null);
  const notifier = useMemo(() => new TypingNotifier((active) => actions.typing(id, active)), [id]);
  useEffect(() => () => notifier.stop(), [notifier]);
  useEffect(() => {
    if (ended) notifier.stop();
  }, [ended]);

  // A helper who becomes the chat's owner (the agent left, a take-over): a private note they
  // were writing must not go to the customer by mistake, so the note box is cleared.
  const previousRole = useRef(role);
  useEffect(() => {
    if (previousRole.current === "helper" && role === "agent" && privateNote) {
      setPrivateNote(false);
      update("");
    }
    previousRole.current = role;
  }, [role]);

  const update = (value: string) => {
    setText(value);
    setDraft(value);
    if (!canWrite || privateNote) return; // a note is not announced to the customer
    if (value.trim()) notifier.input();
    else notifier.stop();
  };

  const submit = () => {
    const value = text.trim();
    if (!value || !canWrite) return;
    if (value.length > maxChars) {
      setError(`A message is limited to ${maxChars} characters.`);
      return;
    }
    setError("");
    notifier.stop();
    actions.send(id, value, privateNote ? { private: true } : {});
    setText("");
    setDraft("");
    setMissing([]);
    picker.close();
  };

  const end = async (outcome?: string) => {
    setEnding(true);
    setError("");
    const reply = await actions.request({
      type: "end",
      conversation_id: id,
      ...(outcome ? { outcome } : {}),
    });
    setEnding(false);
    if (reply.type === "error") setError(`Could not end the chat: ${reply.message}`);
  };

  const leave = async () => {
    setEnding(true);
    setError("");
    const reply = await actions.request({ type: "leave", conversation_id: id });
    setEnding(false);
    if (reply.type === "error") setError(`Could not leave the chat: ${reply.message}`);
  };

  const typing =
    chat.typing && !ended && now - chat.typing.at < TYPING_STALE_MS ? chat.typing : null;
  const name = customerName(conv);

  return (
    <div
      class={`chat-panel${side ? " with-backchannel" : ""}`}
      role="tabpanel"
      id={`panel-${id}`}
      aria-labelledby={`tab-${id}`}
    >
      <div class="chat-main">
        <div class="chat-head">
          <h3>
            {name}
            {ended && <span class="tag ended-tag">Ended</span>}
            {!ended && customerGone(chat.entries) && (
              <span class="tag" data-testid="customer-gone" role="status">
                Customer left
              </span>
            )}
          </h3>
          {!ended && watchers.length > 0 && (
            <span class="watching" data-testid="watching" role="status">
              {watchingText(watchers)}
            </span>
          )}
          <div class="chat-head-actions">
            {backchannel && isParticipant && !side && (
              <button
                type="button"
                disabled={openingBackchannel}
                onClick={async () => {
                  setOpeningBackchannel(true);
                  setError("");
                  try {
                    await backchannel.open(id);
                  } catch (e) {
                    setError(`Could not open the back-channel: ${e instanceof Error ? e.message : String(e)}`);
                  } finally {
                    setOpeningBackchannel(false);
                  }
                }}
              >
                Back-channel
              </button>
            )}
            {!ended && role === "agent" && (
              <button type="button" onClick={() => setInviting(true)} disabled={inviting}>
                Invite
              </button>
            )}
            {!ended && role === "agent" && conv.status === "active" && (
              <button
                type="button"
                onClick={() => setTransferring(true)}
                disabled={transferring || transferWaiting}
              >
                Transfer
              </button>
            )}
            {!ended && isHelper && (
              <button type="button" onClick={leave} disabled={ending}>
                Leave chat
              </button>
            )}
            {!ended && !isHelper && !hasLeft && (
              <EndChatControls
                id={id}
                disabled={ending || !isParticipant}
                onEnd={(outcome) => void end(outcome)}
              />
            )}
            {(ended || hasLeft) && (
              <button type="button" onClick={() => actions.close(id)}>
                Close
              </button>
            )}
          </div>
        </div>
        {inviting && (
          <InviteDialog
            conversation={conv}
            myUserId={state.userId}
            presence={state.presence}
            request={actions.request}
            onClose={() => setInviting(false)}
          />
        )}
        {transferring && (
          <TransferDialog
            conversation={conv}
            myUserId={state.userId}
            presence={state.presence}
            onRequested={(toName) =>
              actions.transferUpdate?.({ type: "transfer_requested", conversationId: id, toName })
            }
            onRefused={() => actions.transferUpdate?.({ type: "transfer_refused", conversationId: id })}
            onClose={() => setTransferring(false)}
          />
        )}
        {!ended && gone === null && (
          <TransferStatusLine
            conversationId={id}
            transfer={outgoing}
            onDismiss={() => actions.transferUpdate?.({ type: "dismiss_transfer", conversationId: id })}
          />
        )}
        <SentInvitations invitations={invitationsFrom(state, id)} request={actions.request} />
        <EntryLog conversation={conv} entries={chat.entries} pending={pending} me={me} />
        <div class="typing" data-testid="typing" aria-live="polite">
          {typing ? `${typing.name || name} is typing…` : ""}
        </div>
        <SendFailures
          failures={chat.failed}
          onDismiss={(clientId) => actions.dismissFailed(id, clientId)}
          onRestore={(value) => {
            if (!text.trim()) update(value);
          }}
          onConfirm={(f) => actions.send(id, f.text, { confirm: true, ...(f.private ? { private: true } : {}) })}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {!ended && <ConsoleUploads uploads={files.uploads} error={files.error} />}
        {!ended && gone !== null && takenOver ? (
          <p class="transferred-note" data-testid="taken-over" role="status">
            {gone} took this chat over. It is theirs now; close the tab when you are done.
          </p>
        ) : !ended && gone !== null ? (
          <p class="transferred-note" data-testid="transferred" role="status">
            Transferred to {gone}. The chat is theirs now; close the tab when you are done.
          </p>
        ) : ended ? (
          <>
            <p class="ended-note" data-testid="ended">
              This chat has ended{conv.end_reason ? ` (${conv.end_reason})` : ""}. Close the tab when
              you are done.
            </p>
            {conv.kind === "customer_chat" && (isParticipant || hasLeft) && (
              // Wrap-up: the outcome (kept even when the customer ended it) and the tags.
              <WrapUp conversationId={id} ended />
            )}
          </>
        ) : (
          <form
            class={`composer${privateNote ? " private" : ""}`}
            onSubmit={(e) => {
              e.preventDefault();
              submit();
            }}
            onDragOver={(e) => e.preventDefault()}
            onDrop={(e) => {
              const dropped = filesOf(e.dataTransfer);
              if (!dropped.length || !canWrite) return;
              e.preventDefault();
              files.send(dropped, privateNote);
            }}
          >
            <label for={`message-${id}`} class="sr-only">
              Message
            </label>
            {picker.view}
            <textarea
              id={`message-${id}`}
              ref={box}
              {...picker.inputProps}
              rows={3}
              value={text}
              maxLength={maxChars}
              placeholder={
                !canWrite
                  ? ""
                  : privateNote
                    ? "Note — only staff see this"
                    : `Reply to ${name}…  (Enter sends, Shift+Enter for a new line)`
              }
              disabled={!canWrite}
              onInput={(e) => {
                const el = e.target as HTMLTextAreaElement;
                update(el.value);
                picker.update(el.value, el.selectionStart);
              }}
              onClick={(e) => {
                const el = e.target as HTMLTextAreaElement;
                picker.update(el.value, el.selectionStart);
              }}
              onKeyDown={(e) => {
                if (picker.onKeyDown(e)) return;
                if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                  e.preventDefault();
                  submit();
                }
              }}
              onBlur={() => {
                notifier.stop();
                picker.close();
              }}
              onPaste={(e) => {
                const pasted = filesOf(e.clipboardData);
                if (!pasted.length || !canWrite) return;
                e.preventDefault();
                files.send(pasted, privateNote);
              }}
            />
            <div class="composer-actions">
              <label class="private-toggle">
                <input
                  type="checkbox"
                  checked={privateNote}
                  disabled={!canWrite}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    setPrivateNote(on);
                    if (on) notifier.stop();
                  }}
                />
                Private note
              </label>
              {conv.kind === "customer_chat" && (
                <ConsoleAttachButton disabled={!canWrite} onFiles={(f) => files.send(f, privateNote)} />
              )}
              <button type="submit" class="primary" disabled={!canWrite || !text.trim()}>
                Send
              </button>
            </div>
            <MissingValues missing={missing} />
          </form>
        )}
      </div>
      {side && <div class="backchannel-pane">{side}</div>}
      <CustomerDetails conversation={conv} workgroupName={workgroupName}>
        {handoff && <HandoffNote handoff={handoff} />}
        {canWrite && conv.kind === "customer_chat" && (
          <CobrowsePane conversationId={id} entries={chat.entries} me={me} />
        )}
        {canWrite && conv.kind === "customer_chat" && (
          <ArticleSuggestions conversationId={id} entries={chat.entries} onInsert={insertAtCaret} />
        )}
        {conv.kind === "customer_chat" && <CustomerProfile conversation={conv} myUserId={state.userId} />}
        <EarlierConversations conversation={conv} me={me} />
      </CustomerDetails>
    </div>
  );
}
