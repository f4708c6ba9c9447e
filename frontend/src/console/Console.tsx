import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";

import { ParleyClient } from "../shared/client";
import type { Presence } from "../shared/protocol";
import {
  beep,
  notificationPermission,
  notify,
  requestNotifications,
  setSilenced,
  unlockAudio,
} from "./alerts";
import { AccountPolicyAdmin } from "./AccountPolicy";
import { Admin } from "./Admin";
import { Api, type StaffMember, type StaffUser, type Workgroup } from "./api";
import { ArchiveSearch, useArchiveRights } from "./Archive";
import { ArchiveBanner } from "./ArchiveNotice";
import { MyReviews, QaScreen } from "./Qa";
import { ArchivePolicyScreen } from "./ArchivePolicy";
import { CustomerData } from "./CustomerData";
import { DirectoryApi } from "./directoryApi";
import { AuditLog } from "./AuditLog";
import { BlockedWords } from "./BlockedWords";
import { DirectorySidebar } from "./Directory";
import { useDirectory } from "./useDirectory";
import { useIdleAway } from "./idle";
import { Profile } from "./Profile";
import { FollowUps } from "./FollowUps";
import { Ratings } from "./Ratings";
import { TagsAdmin } from "./TagsAdmin";
import { Security } from "./Security";
import { CannedResponses } from "./CannedResponses";
import { KnowledgeBase } from "./KnowledgeBase";
import { initialImState, readToSend, reduceIm } from "./im";
import { ImApi } from "./imApi";
import { ImView, type ImActions } from "./ImView";
import { TeamDialogs, TeamSidebar, type TeamDialog } from "./Team";
import { Chats, type ChatActions } from "./Chats";
import { Inbox } from "./Inbox";
import { InvitationCards } from "./Invitations";
import { Offers } from "./Offers";
import { cycle, shortcutOf } from "./shortcuts";
import { ShortcutsHelp } from "./ShortcutsHelp";
import { focusReplyBox } from "./Chats";
import { message, PastChats } from "./PastChats";
import { Routing } from "./Routing";
import { Reports } from "./Reports";
import { Supervisor, type SupervisorActions } from "./Supervisor";
import { initialSupervisorState, reduceSupervisor } from "./supervisor";
import { Templates } from "./Templates";
import { Tokens } from "./Tokens";
import { useWaiting, Waiting } from "./Waiting";
import { initialState, invitationsToMe, isReconnecting, offerList, reduce } from "./state";

type View =
  | "chats"
  | "past"
  | "admin"
  | "waiting"
  | "routing"
  | "inbox"
  | "tokens"
  | "team"
  | "blocked-words"
  | "audit"
  | "archive"
  | "customer-data"
  | "archiving"
  | "profile"
  | "security"
  | "account-policy"
  | "templates"
  | "supervisor"
  | "reports"
  | "canned"
  | "kb"
  | "follow-ups"
  | "ratings"
  | "tags"
  | "qa"
  | "my-reviews";

/** One page of staff IM history. */
const HISTORY_PAGE = 50;

/** A `blocked_word` notice for supervisors and admins. */
interface BlockedNotice {
  key: number;
  conversationId: string;
  actor: string;
  scope: string;
  words: string[];
}

const PRESENCE_OPTIONS: { value: Presence; label: string }[] = [
  { value: "available", label: "Available" },
  { value: "away", label: "Away" },
  { value: "busy", label: "Busy" },
];

const ROLE_RANK: Record<string, number> = { agent: 0, supervisor: 1, admin: 2 };

function socketUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}

export function Console({
  user,
  onLoggedOut,
}: {
  user: StaffUser;
  onLoggedOut: (notice?: string) => void;
}) {
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
  const [state, dispatch] = useReducer(reduce, undefined, () =>
    initialState(user.id, client.pending),
  );
  // Supervisors and admins: the Supervisor view talks over a socket of its own, so that a chat
  // it watches never becomes a chat tab here (with a composer); connected when first shown.
  const canSupervise = (ROLE_RANK[user.role] ?? 0) >= 1;
  const supClient = useMemo(
    () => (canSupervise ? new ParleyClient({ url: socketUrl(), auth: () => ({}) }) : null),
    [user.id, canSupervise],
  );
  const [sup, dispatchSup] = useReducer(reduceSupervisor, undefined, initialSupervisorState);
  const watchingRef = useRef<string | null>(null);
  watchingRef.current = sup.watching;
  const supStarted = useRef(false);
  const [view, setView] = useState<View>("chats");
  /** A chat a rating or a follow-up links to, opened in Past chats. */
  const [pastOpen, setPastOpen] = useState<string | null>(null);
  const openPast = (id: string) => {
    setPastOpen(id);
    setView("past");
  };
  const [im, dispatchIm] = useReducer(reduceIm, undefined, () => initialImState(user.id));
  const [imError, setImError] = useState("");
  const [teamDialog, setTeamDialog] = useState<TeamDialog>(null);
  const [staff, setStaff] = useState<StaffMember[]>([]);
  const [staffError, setStaffError] = useState("");
  const [blockedNotices, setBlockedNotices] = useState<BlockedNotice[]>([]);
  const [pageVisible, setPageVisible] = useState(document.visibilityState !== "hidden");
  const [workgroups, setWorkgroups] = useState<Workgroup[]>([]);
  const [announcement, setAnnouncement] = useState("");
  const [headerError, setHeaderError] = useState("");
  const [permission, setPermission] = useState(notificationPermission());
  // Bumped by `waiting_changed` (and each resync): the waiting list is fetched again.
  const [waitingVersion, setWaitingVersion] = useState(0);
  const waiting = useWaiting(waitingVersion);
  // The presence last asked for here: a different one from the server was set by it (auto-away).
  const askedPresence = useRef<string | null>(null);
  const [presenceNotice, setPresenceNotice] = useState("");
  const alerted = useRef(new Set<string>());
  const knownWorkgroups = useRef(new Set<number>());
  const onLoggedOutRef = useRef(onLoggedOut);
  onLoggedOutRef.current = onLoggedOut;
  // The directory (live from presence and staff_profile frames) and my buddy list; idle away.
  const directory = useDirectory(client, user.id);
  useIdleAway(client);

  const reloadWorkgroups = useCallback(async () => {
    try {
      const list = await Api.workgroups();
      list.forEach((w) => knownWorkgroups.current.add(w.id));
      setWorkgroups(list);
    } catch {
      // Names are a nicety on offers and chats; the rest works without them.
    }
  }, []);

  useEffect(() => {
    void reloadWorkgroups();
    const unlock = () => unlockAudio();
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
    const off = client.on((event) => {
      if (event.type === "stopped") {
        onLoggedOutRef.current("Your session has ended. Please log in again.");
        return;
      }
      if (event.type === "server") {
        const m = event.message;
        if (m.type === "offer" && !alerted.current.has(m.offer.offer_id)) {
          alerted.current.add(m.offer.offer_id);
          const name = m.offer.metadata?.name || "a visitor";
          setAnnouncement(`New chat offer from ${name}.`);
          beep();
          notify(
            `New chat: ${name}`,
            m.offer.metadata?.question || "A visitor is waiting.",
            m.offer.offer_id,
          );
          if (!knownWorkgroups.current.has(m.offer.workgroup_id)) void reloadWorkgroups();
        }
        if (m.type === "waiting_changed" || m.type === "synced") setWaitingVersion((v) => v + 1);
        if (m.type === "synced") syncIm();
        if (
          m.type === "mention" &&
          ownPresenceRef.current !== "busy" && // busy: no sound, no pop-up (the notice stays)
          (document.visibilityState === "hidden" || !imVisibleRef.current.includes(m.conversation_id))
        ) {
          beep();
          notify(`${m.name} mentioned you`, m.text, `mention:${m.conversation_id}:${m.seq}`);
        }
        if (m.type === "blocked_word") {
          const notice = {
            key: ++noticeKeys.current,
            conversationId: m.conversation_id,
            actor: m.actor,
            scope: m.scope,
            words: m.words,
          };
          setBlockedNotices((list) => [...list, notice].slice(-5));
        }
        if (m.type === "conversation" && m.conversation.workgroup_id !== null) {
          if (!knownWorkgroups.current.has(m.conversation.workgroup_id)) void reloadWorkgroups();
        }
      }
      dispatch(event);
      dispatchIm(event);
    });
    // Staff IM conversations are followed only with a cursor (docs/protocol.md, "What you
    // follow"): list them first, then connect with their cursors in `hello`. After every
    // `synced` list them again and `follow` the ones not yet followed: a DM opened with us
    // between the list and the hello, or while the connection was down, would be missed
    // otherwise. Without the list, chats still work.
    let live = true;
    const listIm = () =>
      ImApi.mine().then(
        (items) => {
          const fresh: Record<string, number> = {};
          for (const item of items) fresh[item.conversation.id] = item.conversation.last_seq;
          dispatchIm({ type: "im_loaded", items });
          return fresh;
        },
        (e) => {
          setImError(`Could not load your team conversations: ${message(e)}`);
          return {};
        },
      );
    const syncIm = () => {
      void listIm().then((fresh) => {
        if (live) void client.follow(fresh);
      });
    };
    void listIm().then((fresh) => {
      for (const [id, seq] of Object.entries(fresh)) {
        if (!client.cursors.has(id)) client.cursors.set(id, seq);
      }
      if (live) client.connect();
    });
    return () => {
      live = false;
      off();
      client.close();
      document.removeEventListener("pointerdown", unlock, true);
      document.removeEventListener("keydown", unlock, true);
    };
  }, [client]);

  useEffect(() => {
    Api.staff().then(setStaff, (e) => setStaffError(`The staff list is not available: ${message(e)}`));
  }, []);

  useEffect(() => {
    if (!supClient) return;
    const off = supClient.on((event) => {
      if (event.type === "stopped") {
        onLoggedOutRef.current("Your session has ended. Please log in again.");
        return;
      }
      dispatchSup(event);
      if (event.type === "server" && event.message.type === "synced") {
        // Every (re)connect: the boards again (a fresh snapshot), and the chat being watched.
        void supClient.request({ type: "supervise" });
        const id = watchingRef.current;
        if (id) {
          void supClient.request({
            type: "monitor",
            conversation_id: id,
            cursor: supClient.cursors.get(id) ?? 0,
          });
        }
      }
    });
    return () => {
      off();
      supClient.close();
    };
  }, [supClient]);
  useEffect(() => {
    if (view === "supervisor" && supClient && !supStarted.current) {
      supStarted.current = true;
      supClient.connect();
    }
  }, [view, supClient]);
  const [supError, setSupError] = useState("");
  const supActions: SupervisorActions = useMemo(
    () => ({
      request: (m) =>
        supClient
          ? supClient.request(m)
          : Promise.resolve({ type: "error", ref: null, code: "forbidden", message: "not allowed" }),
      watch: (id) => {
        if (!supClient) return;
        setSupError("");
        const previous = watchingRef.current;
        if (previous && previous !== id) {
          void supClient.request({ type: "unmonitor", conversation_id: previous });
          supClient.forget(previous);
        }
        dispatchSup({ type: "watch", conversationId: id });
        void supClient
          .request({ type: "monitor", conversation_id: id, cursor: supClient.cursors.get(id) ?? 0 })
          .then((reply) => {
            if (reply.type === "error" && watchingRef.current === id) {
              setSupError(`Could not watch that chat: ${reply.message}`);
              supClient.forget(id);
              dispatchSup({ type: "stop_watching" });
            }
          });
      },
      stopWatching: () => {
        const id = watchingRef.current;
        if (!supClient || !id) return;
        void supClient.request({ type: "unmonitor", conversation_id: id });
        supClient.forget(id); // not followed again after a reconnect
        dispatchSup({ type: "stop_watching" });
      },
      openChat: (id) => {
        setView("chats");
        dispatch({ type: "select", conversationId: id });
      },
    }),
    [supClient],
  );

  // Which staff conversations are on screen: the Team view's, and the back-channel beside the
  // selected chat. Those are read as they come (unread stays 0, the read marker follows).
  const imVisible = useMemo(() => {
    if (!pageVisible) return [];
    const ids: string[] = [];
    if (view === "team" && im.selected && im.convs[im.selected]) ids.push(im.selected);
    if (view === "chats" && state.selected) {
      const side = im.backchannels[state.selected];
      if (side && im.convs[side]) ids.push(side);
    }
    return ids;
  }, [pageVisible, view, im.selected, im.convs, im.backchannels, state.selected]);
  const imVisibleRef = useRef<string[]>([]);
  imVisibleRef.current = imVisible;
  const noticeKeys = useRef(0);
  const imVisibleKey = imVisible.join(",");
  useEffect(() => dispatchIm({ type: "im_visible", ids: imVisible }), [imVisibleKey]);
  useEffect(() => {
    const update = () => setPageVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, []);

  // History (the latest page, once) and read markers of what is on screen.
  const historyAsked = useRef(new Set<string>());
  const readSent = useRef(new Map<string, number>());
  useEffect(() => {
    for (const id of imVisible) {
      const conv = im.convs[id];
      if (!conv) continue;
      if (!conv.historyLoaded && !historyAsked.current.has(id)) {
        historyAsked.current.add(id);
        ImApi.history(id, null, HISTORY_PAGE).then(
          (entries) => dispatchIm({ type: "im_history", conversationId: id, entries, limit: HISTORY_PAGE }),
          (e) => {
            historyAsked.current.delete(id);
            setImError(`Could not load the history: ${message(e)}`);
          },
        );
      }
      const seq = readToSend(conv);
      if (seq !== null && (readSent.current.get(id) ?? 0) < seq) {
        readSent.current.set(id, seq);
        ImApi.read(id, seq).then(
          (r) => dispatchIm({ type: "im_read", conversationId: id, readSeq: r.read_seq, unread: r.unread }),
          () => readSent.current.delete(id),
        );
      }
    }
  }, [imVisibleKey, im.convs]);

  const openIm = (id: string) => {
    dispatchIm({ type: "im_select", conversationId: id });
    setView("team");
  };
  const imActions: ImActions = useMemo(
    () => ({
      send: (id, text, options) => {
        client.send(id, text, options);
      },
      typing: (id, active) => client.typing(id, active),
      dismissFailed: (id, clientId) => dispatchIm({ type: "im_dismiss_failed", conversationId: id, clientId }),
      loadEarlier: async (id) => {
        const before = imRef.current.convs[id]?.entries[0]?.seq ?? null;
        const entries = await ImApi.history(id, before, HISTORY_PAGE);
        dispatchIm({ type: "im_history", conversationId: id, entries, limit: HISTORY_PAGE });
      },
      setTopic: async (id, topic) => {
        dispatchIm({ type: "im_upsert", conversation: await ImApi.setTopic(id, topic) });
      },
      addMember: async (id, userId) => {
        dispatchIm({ type: "im_upsert", conversation: await ImApi.addMember(id, userId) });
      },
      leave: async (id) => {
        await ImApi.leave(id);
        client.forget(id);
        dispatchIm({ type: "im_left", conversationId: id });
      },
    }),
    [client],
  );
  const imRef = useRef(im);
  imRef.current = im;
  const imPending = (id: string) => state.pending.filter((p) => p.conversationId === id);
  const backchannelSlot = {
    open: async (chatId: string) => {
      const conversation = await ImApi.backchannel(chatId);
      dispatchIm({ type: "im_upsert", conversation });
      dispatchIm({ type: "im_backchannel", customerId: chatId, conversationId: conversation.id });
    },
    render: (chatId: string) => {
      const id = im.backchannels[chatId];
      const conv = id ? im.convs[id] : undefined;
      if (!conv) return null;
      return (
        <ImView
          conv={conv}
          me={im.me}
          username={user.username}
          pending={imPending(conv.conversation.id)}
          maxChars={state.maxMessageChars}
          actions={imActions}
          staff={staff}
          variant="backchannel"
          onClose={() => dispatchIm({ type: "im_backchannel", customerId: chatId, conversationId: null })}
        />
      );
    },
  };

  // Is the agent looking at the chats? Only then does a message in the selected chat count
  // as read; otherwise it is unread, and a hidden tab also gets a sound and a notification.
  useEffect(() => {
    const update = () =>
      dispatch({
        type: "watching",
        watching: view === "chats" && document.visibilityState === "visible",
      });
    update();
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, [view]);

  useEffect(
    () =>
      client.on((event) => {
        if (
          event.type === "entry" &&
          client.connectionStatus === "online" && // not history replayed on reconnect
          event.entry.kind === "message" &&
          event.entry.author === "visitor" &&
          document.visibilityState === "hidden"
        ) {
          beep();
          notify("New message", event.entry.body.text ?? "", event.conversationId);
        }
      }),
    [client],
  );

  const workgroupName = useCallback(
    (id: number | null) => (id === null ? undefined : workgroups.find((w) => w.id === id)?.name),
    [workgroups],
  );

  // Tab title: unread messages and waiting offers at a glance.
  const unreadTotal = Object.values(state.chats).reduce((n, c) => n + c.unread, 0);
  const imUnread = Object.values(im.convs).reduce((n, c) => n + c.unread, 0);
  const offers = offerList(state);
  useEffect(() => {
    const count = unreadTotal + imUnread + offers.length;
    document.title = count ? `(${count}) Parley console` : "Parley console";
  }, [unreadTotal, imUnread, offers.length]);

  // Keyboard shortcuts (shortcuts.ts), listed in the help dialog.
  const [helpOpen, setHelpOpen] = useState(false);
  const shortcutState = useRef({ order: state.order, selected: state.selected });
  shortcutState.current = { order: state.order, selected: state.selected };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const what = shortcutOf(e);
      if (what === null) return;
      e.preventDefault();
      if (what === "help") return setHelpOpen(true);
      if (what === "accept") {
        document.querySelector<HTMLButtonElement>('[data-testid="offer"] [data-testid="offer-accept"]')?.click();
        return;
      }
      setView("chats");
      if (what === "canned") {
        focusReplyBox("/");
        return;
      }
      const { order, selected } = shortcutState.current;
      const next = cycle(order, selected, what === "next_chat" ? 1 : -1);
      if (next) {
        dispatch({ type: "select", conversationId: next });
        requestAnimationFrame(() => document.getElementById(`tab-${next}`)?.focus());
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const actions: ChatActions = useMemo(
    () => ({
      select: (id) => dispatch({ type: "select", conversationId: id }),
      close: (id) => {
        client.forget(id); // stop following it after the next reconnect
        dispatch({ type: "close", conversationId: id });
      },
      send: (id, text, options) => {
        client.send(id, text, options);
      },
      typing: (id, active) => client.typing(id, active),
      request: (m) => client.request(m),
      dismissFailed: (id, clientId) => dispatch({ type: "dismiss_failed", conversationId: id, clientId }),
      transferUpdate: (action) => dispatch(action),
    }),
    [client],
  );

  const own = state.presence[user.id];
  const ownPresenceRef = useRef<string | undefined>(undefined);
  ownPresenceRef.current = own?.presence;
  // Away because this member's browsers are idle (not chosen): it turns back by itself.
  const ownIdle = own?.presence === "away" && (directory.mine?.idle ?? false);
  // Busy silences every sound and pop-up of the console (docs/protocol.md, "Directory").
  useEffect(() => setSilenced(own?.presence === "busy"), [own?.presence]);
  useEffect(() => () => setSilenced(false), []);
  useEffect(() => {
    if (!own) return;
    const asked = askedPresence.current;
    if (asked === own.presence) askedPresence.current = null;
    if (asked !== "away" && own.presence === "away" && state.everSynced) {
      setPresenceNotice(
        ownIdle
          ? "You are away: this browser had no input for a while, so no chats are offered to you. You are available again as soon as you are back."
          : own.status_text
            ? `You were set to Away: ${own.status_text}`
            : "You were set to Away.",
      );
    } else if (own.presence !== "away") {
      setPresenceNotice("");
    }
  }, [own?.presence, own?.status_text, ownIdle]);
  const setPresence = async (presence: Presence, statusText: string) => {
    setHeaderError("");
    askedPresence.current = presence;
    const reply = await client.request({
      type: "set_presence",
      presence,
      status_text: statusText,
    });
    if (reply.type === "error") setHeaderError(`Could not change presence: ${reply.message}`);
  };
  // The profile screen's presence and status (REST, for the house rules' details).
  const setPresenceRest = async (presence: Presence, statusText: string, confirm: boolean) => {
    askedPresence.current = presence;
    return DirectoryApi.setPresence(presence, statusText, confirm);
  };
  const openDirect = async (userId: number) => {
    const conversation = await ImApi.openDirect([userId]);
    dispatchIm({ type: "im_upsert", conversation });
    openIm(conversation.id);
  };

  const logout = async () => {
    setHeaderError("");
    try {
      await Api.logout();
    } catch (e) {
      setHeaderError(`Could not log out: ${message(e)}`);
      return;
    }
    client.close();
    onLoggedOut("You are logged out.");
  };

  const enableNotifications = async () => {
    unlockAudio();
    setPermission(await requestNotifications());
  };

  const isAdmin = user.role === "admin";
  const archive = useArchiveRights();
  const canSeeAll = (ROLE_RANK[user.role] ?? 0) >= 1;
  const reconnecting = isReconnecting(state);

  const nav = (id: View, label: string) => (
    <button
      type="button"
      class={`nav-button${view === id ? " current" : ""}`}
      aria-current={view === id ? "page" : undefined}
      onClick={() => {
        setView(id);
        setPastOpen(null);
      }}
    >
      {label}
      {id === "chats" && unreadTotal > 0 && (
        <span class="nav-count" aria-label={`${unreadTotal} unread`}>
          {unreadTotal}
        </span>
      )}
      {id === "waiting" && waiting.items.length > 0 && (
        <span class="nav-count" data-testid="waiting-count" aria-label={`${waiting.items.length} waiting`}>
          {waiting.items.length}
        </span>
      )}
    </button>
  );

  return (
    <div class="console">
      <header class="topbar">
        {/* The page's one top-level heading (axe: page-has-heading-one); screens have h2s. */}
        <h1 class="brand">Parley</h1>
        <nav class="nav" aria-label="Main">
          {nav("chats", "Chats")}
          {nav("past", "Past chats")}
          {nav("follow-ups", "Follow-ups")}
          {nav("ratings", "Ratings")}
          {nav("inbox", "Inbox")}
          {nav("waiting", "Waiting")}
          {canSupervise && nav("supervisor", "Supervisor")}
          {canSupervise && nav("qa", "QA")}
          {nav("my-reviews", "My reviews")}
          {canSupervise && nav("reports", "Reports")}
          {nav("canned", "Canned responses")}
          {nav("kb", "Knowledge base")}
          {isAdmin && nav("routing", "Routing")}
          {isAdmin && nav("admin", "Admin")}
          {isAdmin && nav("blocked-words", "Blocked words")}
          {isAdmin && nav("audit", "Audit log")}
          {archive.search && nav("archive", "Archive")}
          {archive.customer_export && nav("customer-data", "Customer data")}
          {archive.policy && nav("archiving", "Archiving")}
          {isAdmin && nav("account-policy", "Account policy")}
          {isAdmin && nav("templates", "Templates")}
          {isAdmin && nav("tags", "Tags")}
          {nav("tokens", "API tokens")}
          {nav("profile", "My profile")}
          {nav("security", "Security")}
        </nav>
        <div class="topbar-right">
          <span
            class={`connection${reconnecting ? " offline" : state.everSynced ? " online" : ""}`}
            data-testid="connection-status"
            role="status"
          >
            {/* Not "Online": beside the presence ("Offline") it read as "● Online ● Offline". */}
            {reconnecting ? "Connection lost, reconnecting…" : state.everSynced ? "Connected" : ""}
          </span>
          <PresenceControls
            presence={own?.presence ?? null}
            idle={ownIdle}
            statusText={own?.status_text ?? ""}
            disabled={!state.everSynced}
            onChange={setPresence}
          />
          {permission === "default" && (
            <button type="button" class="subtle" onClick={enableNotifications}>
              Enable notifications
            </button>
          )}
          <span class="me">
            <span class="me-name">{user.display_name || user.username}</span>
            <span class="me-role">{user.role}</span>
          </span>
          <button type="button" class="subtle" aria-keyshortcuts="Alt+H" onClick={() => setHelpOpen(true)}>
            Shortcuts
          </button>
          <button type="button" class="subtle" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      {headerError && (
        <p class="error banner" role="alert">
          {headerError}
        </p>
      )}
      {presenceNotice && (
        <p class="notice banner" role="status" data-testid="presence-notice">
          {presenceNotice}
          <button type="button" class="subtle" onClick={() => setPresenceNotice("")}>
            Dismiss
          </button>
        </p>
      )}
      <ArchiveBanner userId={user.id} />
      <div class="sr-only" role="status" aria-live="polite">
        {announcement}
      </div>
      {helpOpen && <ShortcutsHelp onClose={() => setHelpOpen(false)} />}
      <Offers
        offers={offers}
        workgroupName={workgroupName}
        request={(m) => client.request(m)}
        onAccepted={(conversationId) => {
          setView("chats");
          dispatch({ type: "select", conversationId });
        }}
      />
      <InvitationCards
        invitations={invitationsToMe(state)}
        request={(m) => client.request(m)}
        onAccepted={(conversationId) => {
          setView("chats");
          dispatch({ type: "select", conversationId });
        }}
      />
      {imError && (
        <p class="error banner" role="alert">
          {imError}
          <button type="button" class="subtle" onClick={() => setImError("")}>
            Dismiss
          </button>
        </p>
      )}
      {im.mentions.map((m) => (
        <p class="notice banner" role="status" data-testid="mention-notice" key={`${m.conversationId}:${m.seq}`}>
          {m.name} mentioned you: “{m.text}”{" "}
          <button
            type="button"
            onClick={() => {
              dispatchIm({ type: "im_dismiss_mention", conversationId: m.conversationId, seq: m.seq });
              openIm(m.conversationId);
            }}
          >
            Open
          </button>{" "}
          <button
            type="button"
            class="subtle"
            onClick={() => dispatchIm({ type: "im_dismiss_mention", conversationId: m.conversationId, seq: m.seq })}
          >
            Dismiss
          </button>
        </p>
      ))}
      {blockedNotices.map((n) => (
        <p class="notice banner" role="status" data-testid="blocked-word-notice" key={n.key}>
          Blocked words ({n.scope}) by {n.actor} in conversation {n.conversationId.slice(0, 8)}…:{" "}
          {n.words.join(", ")}{" "}
          <button
            type="button"
            class="subtle"
            onClick={() => setBlockedNotices((list) => list.filter((x) => x.key !== n.key))}
          >
            Dismiss
          </button>
        </p>
      ))}
      <TeamDialogs
        dialog={teamDialog}
        myUserId={user.id}
        staff={staff}
        staffError={staffError}
        onClose={() => setTeamDialog(null)}
        onOpened={(conversation) => {
          setTeamDialog(null);
          dispatchIm({ type: "im_upsert", conversation });
          openIm(conversation.id);
        }}
      />
      <div class="workspace">
      <TeamSidebar
        state={im}
        active={view === "team"}
        error=""
        onOpen={openIm}
        onDialog={setTeamDialog}
      >
        <DirectorySidebar
          dir={directory.dir}
          myUserId={user.id}
          buddies={directory.buddies}
          error={directory.error}
          onOpenDirect={openDirect}
          onOpenProfile={() => setView("profile")}
          onSaveBuddies={directory.saveBuddies}
        />
      </TeamSidebar>
      <main class="content">
        {view === "chats" && (
          <Chats
            state={state}
            actions={actions}
            workgroupName={workgroupName}
            backchannel={backchannelSlot}
            offerShowing={offers.length > 0}
            presence={own?.presence ?? null}
          />
        )}
        {view === "team" &&
          (im.selected && im.convs[im.selected] ? (
            <ImView
              key={im.selected}
              conv={im.convs[im.selected]}
              me={im.me}
              username={user.username}
              pending={imPending(im.selected)}
              maxChars={state.maxMessageChars}
              actions={imActions}
              staff={staff}
            />
          ) : (
            <div class="empty-state">
              <p>Pick a conversation in the Team list, or start one with “New message”.</p>
            </div>
          ))}
        {view === "blocked-words" && isAdmin && <BlockedWords />}
        {view === "audit" && isAdmin && <AuditLog />}
        {view === "archive" && archive.search && <ArchiveSearch staff={staff} rights={archive} />}
        {view === "customer-data" && archive.customer_export && (
          <CustomerData canExport={archive.customer_export} canDelete={archive.customer_delete} />
        )}
        {view === "archiving" && archive.policy && <ArchivePolicyScreen />}
        {view === "past" && (
          <PastChats canSeeAll={canSeeAll} me={state.me} workgroupName={workgroupName} openId={pastOpen} />
        )}
        {view === "follow-ups" && <FollowUps canSeeAll={canSeeAll} onOpen={openPast} />}
        {view === "ratings" && <Ratings canSeeOthers={canSupervise} onOpen={openPast} />}
        {view === "tags" && isAdmin && <TagsAdmin />}
        {view === "waiting" && (
          <Waiting
            list={waiting}
            workgroupName={workgroupName}
            onClaimed={(conversationId) => {
              setView("chats");
              dispatch({ type: "select", conversationId });
            }}
          />
        )}
        {view === "routing" && isAdmin && <Routing workgroups={workgroups} />}
        {view === "reports" && canSupervise && <Reports />}
        {view === "supervisor" && canSupervise && (
          <>
            {supError && (
              <p class="error banner" role="alert">
                {supError}
              </p>
            )}
            <Supervisor state={sup} actions={supActions} me={state.me} />
          </>
        )}
        {view === "inbox" && (
          <Inbox
            client={client}
            me={user.id}
            canOverride={canSeeAll}
            workgroupName={(slug) => workgroups.find((w) => w.slug === slug)?.name ?? slug}
          />
        )}
        {view === "tokens" && <Tokens />}
        {view === "profile" && (
          <Profile me={user} entry={directory.mine} onEntry={directory.update} setPresence={setPresenceRest} />
        )}
        {view === "security" && <Security username={user.username} />}
        {view === "account-policy" && isAdmin && <AccountPolicyAdmin myRole={user.role} />}
        {view === "templates" && isAdmin && <Templates />}
        {view === "canned" && <CannedResponses user={user} workgroups={workgroups} />}
        {view === "kb" && <KnowledgeBase user={user} workgroups={workgroups} />}
        {view === "qa" && canSupervise && <QaScreen staff={staff} isAdmin={isAdmin} />}
        {view === "my-reviews" && <MyReviews />}
        {view === "admin" && isAdmin && (
          <Admin workgroups={workgroups} reloadWorkgroups={reloadWorkgroups} me={state.me} />
        )}
      </main>
      </div>
    </div>
  );
}

function PresenceControls({
  presence,
  idle,
  statusText,
  disabled,
  onChange,
}: {
  presence: Presence | null;
  /** Away because the browsers were idle: a new status text keeps the member available. */
  idle: boolean;
  statusText: string;
  disabled: boolean;
  onChange: (presence: Presence, statusText: string) => Promise<void>;
}) {
  const [draft, setDraft] = useState(statusText);
  const editing = useRef(false);
  const sent = useRef<string | null>(null);
  // The presence last asked for: a status message applied before the server's answer must not
  // send the old presence back.
  const wanted = useRef<Presence | null>(null);
  useEffect(() => {
    sent.current = null;
    if (!editing.current) setDraft(statusText);
  }, [statusText]);
  useEffect(() => {
    wanted.current = null;
  }, [presence]);
  const current = presence ?? "offline";

  const apply = () => {
    editing.current = false;
    const text = draft.trim().slice(0, 140);
    if (text === statusText || text === sent.current) return;
    sent.current = text;
    // An idle away is not a choice: typing here ends it (`idle: false`); asking for "away"
    // with the text would make it a chosen one that never turns back.
    void onChange(wanted.current ?? (idle ? "available" : current), text);
  };

  return (
    <div class="presence">
      <span class={`dot dot-${current}`} aria-hidden="true" />
      <label for="presence-select" class="presence-label">
        Presence
      </label>
      <select
        id="presence-select"
        value={current}
        disabled={disabled}
        onChange={(e) => {
          const value = (e.target as HTMLSelectElement).value as Presence;
          wanted.current = value;
          void onChange(value, draft.trim());
        }}
      >
        {current === "offline" && (
          <option value="offline" disabled>
            Offline
          </option>
        )}
        {PRESENCE_OPTIONS.map((o) => (
          <option value={o.value} key={o.value}>
            {o.value === "away" && idle ? "Away (idle)" : o.label}
          </option>
        ))}
      </select>
      <label for="status-text" class="sr-only">
        Status message
      </label>
      <input
        id="status-text"
        class="status-text"
        maxLength={140}
        placeholder="Status message"
        value={draft}
        disabled={disabled}
        onFocus={() => (editing.current = true)}
        onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            apply();
          } else if (e.key === "Escape") {
            setDraft(statusText);
          }
        }}
        onBlur={apply}
      />
    </div>
  );
}
