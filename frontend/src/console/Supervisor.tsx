// The Supervisor view (supervisors and admins): the wallboard of each workgroup they supervise
// (pushed over the socket, never polled; red tiles, and a sound if the workgroup wants one), the
// live chats with filters, and a monitor pane that follows one chat read-only, with a whisper box
// to its agents and confirmed buttons to barge in or take it over. See docs/protocol.md,
// "Supervisors", and docs/metrics.md for what each number means.

import { useEffect, useRef, useState } from "preact/hooks";

import { randomId } from "../shared/client";
import type { LiveChat, QueueTile, ServerMessage, Wallboard } from "../shared/protocol";
import { beep } from "./alerts";
import { EntryLog } from "./EntryLog";
import { customerName } from "./format";
import { useNow } from "./hooks";
import {
  boardList,
  duration,
  liveChats,
  newlyRed,
  percent,
  type ChatFilter,
  type SupervisorState,
} from "./supervisor";

export interface SupervisorActions {
  request(message: Record<string, unknown>): Promise<ServerMessage>;
  /** Start watching a chat (one at a time). */
  watch(conversationId: string): void;
  stopWatching(): void;
  /** Show a chat one has joined in the Chats view. */
  openChat(conversationId: string): void;
}

interface Props {
  state: SupervisorState;
  actions: SupervisorActions;
  /** This user's participant key. */
  me: string;
}

const TYPING_STALE_MS = 8000;

export function Supervisor({ state, actions, me }: Props) {
  const boards = boardList(state);
  const previous = useRef<Record<number, Wallboard>>({});
  useEffect(() => {
    let sound = false;
    for (const board of boards) {
      const before = previous.current[board.workgroup_id];
      // The first board of a workgroup is a snapshot: only a change turns a tile red.
      if (before && board.settings.sound && newlyRed(before, board).length) sound = true;
    }
    previous.current = { ...state.boards };
    if (sound) beep();
  }, [state.boards]);

  return (
    <section class="supervisor" aria-labelledby="supervisor-heading">
      <h2 id="supervisor-heading">Supervisor</h2>
      {!state.everSynced && <p class="muted">Connecting…</p>}
      {state.everSynced && boards.length === 0 && (
        <p class="muted" data-testid="wallboard-empty">
          You supervise no workgroup yet: an admin can make you supervise one.
        </p>
      )}
      <div class="wallboards">
        {boards.map((board) => (
          <WallboardView key={board.workgroup_id} board={board} />
        ))}
      </div>
      <LiveChats state={state} boards={boards} onWatch={actions.watch} />
      {state.watching && (
        <MonitorPane key={state.watching} state={state} actions={actions} me={me} />
      )}
    </section>
  );
}

function Tile({
  metric,
  label,
  value,
  red = false,
  hint,
}: {
  metric: string;
  label: string;
  value: string;
  red?: boolean;
  hint?: string;
}) {
  return (
    <div
      class={`tile${red ? " red" : ""}`}
      data-testid="tile"
      data-metric={metric}
      data-alert={red ? "true" : "false"}
      title={hint}
    >
      <span class="tile-label">{label}</span>
      <span class="tile-value" data-testid="tile-value">
        {value}
      </span>
      {red && <span class="sr-only"> (over its threshold)</span>}
    </div>
  );
}

function WallboardView({ board }: { board: Wallboard }) {
  const t = board.total;
  const red = (name: string) => t.alerts.includes(name);
  const s = board.settings;
  const states = Object.entries(board.by_presence)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${n} ${p}`)
    .join(" · ");
  return (
    <section
      class="wallboard card"
      data-testid="wallboard"
      data-workgroup={board.slug}
      aria-label={`Wallboard of ${board.name}`}
    >
      <h3>{board.name}</h3>
      <div class="tiles">
        <Tile metric="waiting" label="Waiting now" value={String(t.waiting)} red={red("waiting")} />
        <Tile
          metric="longest_wait"
          label="Longest wait"
          value={duration(t.longest_wait_secs)}
          red={red("longest_wait")}
        />
        <Tile metric="answered" label="Answered today" value={String(t.answered)} />
        <Tile
          metric="abandoned"
          label="Abandoned today"
          value={String(t.abandoned)}
          red={red("abandoned")}
        />
        <Tile
          metric="service_level"
          label={`Service level (goal ${s.sl_goal_percent} % in ${s.sl_target_secs} s)`}
          value={percent(t.service_level)}
          red={red("service_level")}
        />
        <Tile
          metric="asa"
          label="Average speed of answer"
          value={duration(t.asa_secs)}
          red={red("asa")}
        />
        <Tile
          metric="occupancy"
          label="Occupancy"
          value={percent(board.occupancy)}
          hint="Chats held against capacity, of the agents working now"
        />
      </div>
      {board.queues.length > 1 && <QueueTable queues={board.queues} />}
      <div class="board-agents">
        <h4>
          Agents <span class="muted">{states || "none"}</span>
        </h4>
        <table class="data" aria-label={`Agents of ${board.name}`}>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">State</th>
              <th scope="col">For</th>
              <th scope="col">Chats</th>
            </tr>
          </thead>
          <tbody>
            {board.agents.map((a) => (
              <tr key={a.user_id} data-testid="board-agent">
                <td>{a.name}</td>
                <td>
                  <span class={`dot dot-${a.presence}`} aria-hidden="true" /> {a.presence}
                </td>
                <td>{duration(a.secs_in_state)}</td>
                <td class={a.chats >= a.capacity && a.capacity > 0 ? "full" : ""}>
                  {a.chats} / {a.capacity}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function QueueTable({ queues }: { queues: QueueTile[] }) {
  const cell = (q: QueueTile, name: string) => (q.alerts.includes(name) ? "red" : "");
  return (
    <table class="data queues" aria-label="Queues">
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Waiting</th>
          <th scope="col">Longest wait</th>
          <th scope="col">Answered</th>
          <th scope="col">Abandoned</th>
          <th scope="col">Service level</th>
          <th scope="col">ASA</th>
        </tr>
      </thead>
      <tbody>
        {queues.map((q) => (
          <tr key={String(q.queue_id)} data-testid="board-queue">
            <td>{q.name}</td>
            <td class={cell(q, "waiting")}>{q.waiting}</td>
            <td class={cell(q, "longest_wait")}>{duration(q.longest_wait_secs)}</td>
            <td>{q.answered}</td>
            <td class={cell(q, "abandoned")}>{q.abandoned}</td>
            <td class={cell(q, "service_level")}>{percent(q.service_level)}</td>
            <td class={cell(q, "asa")}>{duration(q.asa_secs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LiveChats({
  state,
  boards,
  onWatch,
}: {
  state: SupervisorState;
  boards: Wallboard[];
  onWatch: (id: string) => void;
}) {
  const [filter, setFilter] = useState<ChatFilter>({ workgroup: null, agent: null, queue: null });
  const chats = liveChats(state, filter);
  const agents = new Map<number, string>();
  const queues = new Map<number, string>();
  for (const b of boards) {
    if (filter.workgroup !== null && b.workgroup_id !== filter.workgroup) continue;
    for (const a of b.agents) agents.set(a.user_id, a.name);
    for (const q of b.queues) if (q.queue_id !== null) queues.set(q.queue_id, `${q.name} (${b.name})`);
  }
  const pick = (value: string) => (value === "" ? null : Number(value));
  return (
    <section class="live-chats card" aria-labelledby="live-chats-heading">
      <h3 id="live-chats-heading">Live chats</h3>
      <div class="filters">
        <label>
          Workgroup
          <select
            value={filter.workgroup === null ? "" : String(filter.workgroup)}
            onChange={(e) =>
              setFilter({ workgroup: pick(e.currentTarget.value), agent: null, queue: null })
            }
          >
            <option value="">All</option>
            {boards.map((b) => (
              <option key={b.workgroup_id} value={String(b.workgroup_id)}>
                {b.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <select
            value={filter.agent === null ? "" : String(filter.agent)}
            onChange={(e) => setFilter({ ...filter, agent: pick(e.currentTarget.value) })}
          >
            <option value="">All</option>
            {[...agents].map(([id, name]) => (
              <option key={id} value={String(id)}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Queue
          <select
            value={filter.queue === null ? "" : String(filter.queue)}
            onChange={(e) => setFilter({ ...filter, queue: pick(e.currentTarget.value) })}
          >
            <option value="">All</option>
            {[...queues].map(([id, name]) => (
              <option key={id} value={String(id)}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {chats.length === 0 ? (
        <p class="muted" data-testid="live-chats-empty">
          No live chats.
        </p>
      ) : (
        <table class="data" aria-label="Live chats">
          <thead>
            <tr>
              <th scope="col">Customer</th>
              <th scope="col">Workgroup</th>
              <th scope="col">Queue</th>
              <th scope="col">Agent</th>
              <th scope="col">Waited</th>
              <th scope="col">Duration</th>
              <th scope="col">Quiet for</th>
              <th scope="col">
                <span class="sr-only">Watch</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {chats.map((c) => (
              <LiveChatRow
                key={c.conversation_id}
                chat={c}
                workgroup={boards.find((b) => b.workgroup_id === c.workgroup_id)?.name ?? ""}
                watching={state.watching === c.conversation_id}
                onWatch={onWatch}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function LiveChatRow({
  chat,
  workgroup,
  watching,
  onWatch,
}: {
  chat: LiveChat;
  workgroup: string;
  watching: boolean;
  onWatch: (id: string) => void;
}) {
  const customer = chat.customer || "Visitor";
  return (
    <tr
      data-testid="live-chat"
      data-conversation={chat.conversation_id}
      data-stalled={chat.stalled ? "true" : "false"}
      class={chat.stalled ? "stalled" : ""}
    >
      <td>{customer}</td>
      <td>{workgroup}</td>
      <td>{chat.queue_name}</td>
      <td>{chat.agents.map((a) => a.name).join(", ") || "–"}</td>
      <td>{duration(chat.wait_secs)}</td>
      <td>{duration(chat.duration_secs)}</td>
      <td>
        {duration(chat.idle_secs)}
        {chat.stalled && <span class="tag stalled-tag">stalled</span>}
      </td>
      <td>
        <button
          type="button"
          disabled={watching}
          aria-label={`Watch the chat with ${customer}`}
          onClick={() => onWatch(chat.conversation_id)}
        >
          {watching ? "Watching" : "Watch"}
        </button>
      </td>
    </tr>
  );
}

type Confirming = null | "barge" | "take_over";

function MonitorPane({ state, actions, me }: Props) {
  const id = state.watching as string;
  const watched = state.watched;
  const conversation = watched?.conversation ?? null;
  const name = conversation ? customerName(conversation) : "…";
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [joined, setJoined] = useState<"barge" | "take_over" | null>(null);
  const now = useNow(1000, watched?.typing !== null && watched?.typing !== undefined);
  const typing =
    watched?.typing && now - watched.typing.at < TYPING_STALE_MS ? watched.typing : null;
  const ended = conversation?.status === "ended";

  const whisper = async (event: Event) => {
    event.preventDefault();
    const value = text.trim();
    if (!value) return;
    setBusy(true);
    setError("");
    const reply = await actions.request({
      type: "whisper",
      conversation_id: id,
      client_id: randomId(),
      text: value,
    });
    setBusy(false);
    if (reply.type === "error") setError(`The whisper was not sent: ${reply.message}`);
    else setText("");
  };

  const act = async (what: "barge" | "take_over") => {
    setBusy(true);
    setError("");
    const reply = await actions.request({ type: what, conversation_id: id });
    setBusy(false);
    setConfirming(null);
    if (reply.type === "error") {
      setError(`${what === "barge" ? "Could not barge in" : "Could not take it over"}: ${reply.message}`);
      return;
    }
    setJoined(what);
  };

  return (
    <section
      class="monitor-pane card"
      data-testid="monitor-pane"
      aria-label={`Watching the chat with ${name}`}
    >
      <div class="monitor-head">
        <h3>
          Watching {name} <span class="tag readonly-tag">read-only</span>
        </h3>
        <button type="button" onClick={actions.stopWatching}>
          Stop watching
        </button>
      </div>
      <p class="muted">
        The customer is not told that you are watching, and nothing here reaches them unless you
        barge in or take the chat over.
      </p>
      {conversation ? (
        <EntryLog
          conversation={conversation}
          entries={watched?.entries ?? []}
          me={me}
          label={`Chat with ${name} (watching, read-only)`}
        />
      ) : (
        <p class="muted">Loading the chat…</p>
      )}
      <div class="typing" data-testid="monitor-typing" aria-live="polite">
        {typing ? `${typing.name} is typing…` : ""}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!ended && (
        <form class="whisper" onSubmit={whisper}>
          <label for="whisper-text">Whisper to the agents (the customer never sees this)</label>
          <textarea
            id="whisper-text"
            rows={2}
            value={text}
            maxLength={4000}
            placeholder="Coaching for the chat's agents"
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <button type="submit" disabled={busy || !text.trim()}>
            Send whisper
          </button>
        </form>
      )}
      {!ended && joined === null && (
        <div class="monitor-actions">
          <button type="button" disabled={busy} onClick={() => setConfirming("barge")}>
            Barge in
          </button>
          <button type="button" disabled={busy} onClick={() => setConfirming("take_over")}>
            Take over
          </button>
        </div>
      )}
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label={confirming === "barge" ? "Barge in?" : "Take over?"}>
          <p>
            {confirming === "barge"
              ? `Join the chat with ${name}? ${name} will see you join.`
              : `Take the chat with ${name} over? Its agent leaves it and it becomes yours; ${name} will see the change.`}
          </p>
          <button type="button" class="primary" disabled={busy} onClick={() => void act(confirming)}>
            {confirming === "barge" ? "Yes, barge in" : "Yes, take over"}
          </button>{" "}
          <button type="button" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {joined && (
        <p class="notice" role="status" data-testid="monitor-joined">
          {joined === "barge" ? "You joined this chat." : "The chat is yours now."}{" "}
          <button type="button" onClick={() => actions.openChat(id)}>
            Open in Chats
          </button>
        </p>
      )}
    </section>
  );
}
