// Guests (docs/protocol.md, "Accounts"): someone outside the company, invited by email into one
// room by its owner (GuestInvite.tsx). Here: the page that accepts an invitation
// (`/console/#/guest?token=...`, the token in the fragment so that it never reaches a server
// log), and a guest's console: their room and nothing else.

import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";

import { ParleyClient } from "../shared/client";
import { Api, ApiError, type Session, type StaffUser } from "./api";
import { AccountsApi } from "./directoryApi";
import { imTitle, initialImState, readToSend, reduceIm } from "./im";
import { ImApi } from "./imApi";
import { ImView, type ImActions } from "./ImView";
import { isTwoFactorStep } from "./Login";
import { message as errorText } from "./PastChats";

const HISTORY_PAGE = 50;

/** The token of an acceptance page's fragment (`#/guest?token=...`), or null for other pages. */
export function guestToken(hash: string): string | null {
  const m = /^#\/guest(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  return new URLSearchParams(m[1] ?? "").get("token") ?? "";
}

/** The acceptance page: make the guest account, then sign in with it. */
export function GuestAccept({ token, onLoggedIn }: { token: string; onLoggedIn: (session: Session) => void }) {
  const [username, setUsername] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!token) return setError("This link has no invitation in it. Ask for a new one.");
    if (!username.trim()) return setError("Choose a username.");
    if (password.length < 8) return setError("A password needs at least 8 characters.");
    if (password !== again) return setError("The two passwords differ.");
    setBusy(true);
    setError("");
    try {
      await AccountsApi.acceptGuest({
        token,
        username: username.trim(),
        password,
        display_name: name.trim(),
      });
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === "internal_only") {
        setError("Guests are switched off on this network: the invitation cannot be used.");
      } else if (err instanceof ApiError && err.status === 401) {
        setError("This invitation is not valid: it was used already, it expired, or the link is incomplete.");
      } else if (err instanceof ApiError && err.code === "conflict") {
        setError("That username is taken: choose another.");
      } else {
        setError(errorText(err));
      }
      return;
    }
    try {
      const answer = await Api.login(username.trim(), password);
      if (isTwoFactorStep(answer)) throw new Error("this account signs in with two factors: log in from the console");
      onLoggedIn(answer);
    } catch (err) {
      setBusy(false);
      setError(`Your account is made, but signing in failed: ${errorText(err)}. Log in from the console.`);
    }
  };
  const field = (id: string, label: string, value: string, set: (v: string) => void, extra: Record<string, unknown>) => (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} {...extra} />
    </div>
  );
  return (
    <main class="center">
      <form class="login-card" onSubmit={submit} aria-labelledby="guest-heading">
        <div class="brand brand-large" aria-hidden="true">
          Parley
        </div>
        <h1 id="guest-heading">Accept your invitation</h1>
        <p class="muted">
          You were invited as a guest into a room. Choose a username and a password to sign in with.
        </p>
        {field("guest-username", "Username", username, setUsername, {
          autoComplete: "username",
          autoCapitalize: "off",
          spellcheck: false,
          maxLength: 64,
        })}
        {field("guest-name", "Your name", name, setName, { autoComplete: "name", maxLength: 128 })}
        {field("guest-password", "Password", password, setPassword, {
          type: "password",
          autoComplete: "new-password",
          minLength: 8,
        })}
        {field("guest-password-again", "Password again", again, setAgain, {
          type: "password",
          autoComplete: "new-password",
        })}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary wide" disabled={busy}>
          Accept and sign in
        </button>
        <a class="link" href="/console/">
          I have an account: log in
        </a>
      </form>
    </main>
  );
}

function socketUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

/** A guest's console: the room they are in (rarely more than one), nothing else. */
export function GuestConsole({ user, onLoggedOut }: { user: StaffUser; onLoggedOut: (notice?: string) => void }) {
  const client = useMemo(
    () =>
      new ParleyClient({
        url: socketUrl(),
        auth: () => ({}),
        storage: window.localStorage,
        storageKey: `parley:console-outbox:${user.id}`,
      }),
    [user.id],
  );
  const [im, dispatchIm] = useReducer(reduceIm, undefined, () => initialImState(user.id));
  const [pending, setPending] = useState(client.pending);
  const [maxChars, setMaxChars] = useState(4000);
  const [error, setError] = useState("");
  const [online, setOnline] = useState(false);
  const onLoggedOutRef = useRef(onLoggedOut);
  onLoggedOutRef.current = onLoggedOut;

  useEffect(() => {
    const off = client.on((event) => {
      if (event.type === "stopped") {
        onLoggedOutRef.current("Your session has ended. Please log in again.");
        return;
      }
      if (event.type === "outbox") setPending(event.pending);
      if (event.type === "status") setOnline(event.status === "online");
      if (event.type === "server" && event.message.type === "welcome") {
        setMaxChars(event.message.max_message_chars || 4000);
      }
      dispatchIm(event);
    });
    let live = true;
    ImApi.mine()
      .then(
        (items) => {
          for (const item of items) {
            if (!client.cursors.has(item.conversation.id)) client.cursors.set(item.conversation.id, item.conversation.last_seq);
          }
          dispatchIm({ type: "im_loaded", items });
          if (items.length) dispatchIm({ type: "im_select", conversationId: items[0].conversation.id });
        },
        (e) => setError(`Could not load your room: ${errorText(e)}`),
      )
      .finally(() => {
        if (live) client.connect();
      });
    return () => {
      live = false;
      off();
      client.close();
    };
  }, [client]);

  const selected = im.selected && im.convs[im.selected] ? im.selected : null;
  const visibleKey = selected ?? "";
  useEffect(() => dispatchIm({ type: "im_visible", ids: selected ? [selected] : [] }), [visibleKey]);

  // The latest page of history once, and the read marker, as the staff console does.
  const historyAsked = useRef(new Set<string>());
  const readSent = useRef(new Map<string, number>());
  useEffect(() => {
    if (!selected) return;
    const conv = im.convs[selected];
    if (!conv.historyLoaded && !historyAsked.current.has(selected)) {
      historyAsked.current.add(selected);
      ImApi.history(selected, null, HISTORY_PAGE).then(
        (entries) => dispatchIm({ type: "im_history", conversationId: selected, entries, limit: HISTORY_PAGE }),
        (e) => {
          historyAsked.current.delete(selected);
          setError(`Could not load the history: ${errorText(e)}`);
        },
      );
    }
    const seq = readToSend(conv);
    if (seq !== null && (readSent.current.get(selected) ?? 0) < seq) {
      readSent.current.set(selected, seq);
      ImApi.read(selected, seq).then(
        (r) => dispatchIm({ type: "im_read", conversationId: selected, readSeq: r.read_seq, unread: r.unread }),
        () => readSent.current.delete(selected),
      );
    }
  }, [selected, im.convs]);

  const imRef = useRef(im);
  imRef.current = im;
  const actions: ImActions = useMemo(
    () => ({
      send: (id, text, options) => void client.send(id, text, options),
      typing: (id, active) => client.typing(id, active),
      dismissFailed: (id, clientId) => dispatchIm({ type: "im_dismiss_failed", conversationId: id, clientId }),
      loadEarlier: async (id) => {
        const before = imRef.current.convs[id]?.entries[0]?.seq ?? null;
        const entries = await ImApi.history(id, before, HISTORY_PAGE);
        dispatchIm({ type: "im_history", conversationId: id, entries, limit: HISTORY_PAGE });
      },
      setTopic: async (id, topic) => dispatchIm({ type: "im_upsert", conversation: await ImApi.setTopic(id, topic) }),
      addMember: async () => undefined,
      leave: async (id) => {
        await ImApi.leave(id);
        client.forget(id);
        dispatchIm({ type: "im_left", conversationId: id });
      },
    }),
    [client],
  );

  const logout = async () => {
    try {
      await Api.logout();
    } catch (e) {
      setError(`Could not log out: ${errorText(e)}`);
      return;
    }
    client.close();
    onLoggedOut("You are logged out.");
  };

  const rooms = Object.values(im.convs);
  return (
    <div class="console guest-console" data-testid="guest-console">
      <header class="topbar">
        <div class="brand" aria-hidden="true">
          Parley
        </div>
        {rooms.length > 1 && (
          <nav class="nav" aria-label="Rooms">
            {rooms.map((c) => (
              <button
                type="button"
                key={c.conversation.id}
                class={`nav-button${selected === c.conversation.id ? " current" : ""}`}
                aria-current={selected === c.conversation.id ? "page" : undefined}
                onClick={() => dispatchIm({ type: "im_select", conversationId: c.conversation.id })}
              >
                {imTitle(c.conversation, im.me)}
                {c.unread > 0 && <span class="nav-count">{c.unread}</span>}
              </button>
            ))}
          </nav>
        )}
        <div class="topbar-right">
          <span class={`connection${online ? " online" : ""}`} data-testid="connection-status" role="status">
            {online ? "Online" : "Connecting…"}
          </span>
          <span class="me">
            <span class="me-name">{user.display_name || user.username}</span>
            <span class="me-role">guest</span>
          </span>
          <button type="button" class="subtle" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      {error && (
        <p class="error banner" role="alert">
          {error}
        </p>
      )}
      <main class="content">
        {selected ? (
          <ImView
            key={selected}
            conv={im.convs[selected]}
            me={im.me}
            username={user.username}
            pending={pending.filter((p) => p.conversationId === selected)}
            maxChars={maxChars}
            actions={actions}
            staff={[]}
            limited
          />
        ) : (
          <div class="empty-state" data-testid="guest-no-room">
            <p>You are not in a room any more. The room's owner can invite you again.</p>
          </div>
        )}
      </main>
    </div>
  );
}
