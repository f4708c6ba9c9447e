// The "Routing" admin screen: per workgroup, its queues (strategy, skills, overflow, length)
// and its rules with the rule tester.

import { useEffect, useState } from "preact/hooks";

import type { Workgroup } from "./api";
import { message } from "./PastChats";
import { RuleEditor } from "./RuleEditor";
import {
  RoutingApi,
  type OverflowAction,
  type Queue,
  type QueueIn,
  type Strategy,
} from "./routingApi";
import { SkillRows, skillsFromRows, skillsToRows, type SkillRow } from "./Skills";

export const STRATEGIES: { value: Strategy; label: string }[] = [
  { value: "best", label: "Best agent (fewest chats, idle longest)" },
  { value: "round_robin", label: "Round robin" },
  { value: "broadcast", label: "Broadcast to every agent" },
  { value: "manual", label: "Manual pick (agents take from a list)" },
];

const OVERFLOWS: { value: OverflowAction; label: string }[] = [
  { value: "stay", label: "Keep waiting here" },
  { value: "queue", label: "Move to a backup queue" },
  { value: "any", label: "Offer to any member of the workgroup" },
];

export function Routing({ workgroups }: { workgroups: Workgroup[] }) {
  const [slug, setSlug] = useState(workgroups[0]?.slug ?? "");
  useEffect(() => {
    if (!workgroups.some((w) => w.slug === slug) && workgroups.length) setSlug(workgroups[0].slug);
  }, [workgroups]);
  const wg = workgroups.find((w) => w.slug === slug);
  return (
    <div class="admin routing">
      <section class="admin-section" aria-labelledby="routing-heading">
        <h2 id="routing-heading">Routing</h2>
        <div class="field">
          <label for="routing-workgroup">Workgroup</label>
          <select
            id="routing-workgroup"
            value={slug}
            onChange={(e) => setSlug((e.target as HTMLSelectElement).value)}
          >
            {workgroups.map((w) => (
              <option value={w.slug} key={w.slug}>
                {w.name} ({w.slug})
              </option>
            ))}
          </select>
        </div>
        {!workgroups.length && <p class="muted">Loading workgroups…</p>}
      </section>
      {wg && <WorkgroupRouting key={wg.slug} wg={wg} />}
    </div>
  );
}

function WorkgroupRouting({ wg }: { wg: Workgroup }) {
  const [queues, setQueues] = useState<Queue[] | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  const reload = async () => {
    try {
      setQueues(await RoutingApi.queues(wg.slug));
    } catch (e) {
      setError(message(e));
    }
  };
  useEffect(() => {
    void reload();
  }, [wg.slug]);

  if (queues === null) {
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="muted">Loading queues…</p>
    );
  }

  const done = async (note: string) => {
    setError("");
    setNotice(note);
    await reload();
  };

  return (
    <>
      <section class="admin-section" aria-labelledby="queues-heading">
        <h2 id="queues-heading">Queues</h2>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <ul class="queue-list">
          {queues.map((q) => (
            <li key={q.id}>
              <QueueForm slug={wg.slug} queue={q} queues={queues} done={done} />
            </li>
          ))}
        </ul>
        <QueueForm key={queues.length} slug={wg.slug} queues={queues} done={done} />
      </section>
      <section class="admin-section" aria-label="Rules">
        <RuleEditor
          slug={wg.slug}
          queues={queues}
          fields={(wg.form_fields ?? []).map((f) => f.name)}
        />
      </section>
    </>
  );
}

interface QueueFields {
  name: string;
  strategy: Strategy;
  skills: SkillRow[];
  overflow_action: OverflowAction;
  overflow_secs: string;
  overflow_target: string;
  max_length: string;
}

function fieldsOf(q?: Queue): QueueFields {
  return {
    name: q?.name ?? "",
    strategy: q?.strategy ?? "best",
    skills: skillsToRows(q?.skills ?? {}),
    overflow_action: q?.overflow_action ?? "stay",
    overflow_secs: q?.overflow_secs == null ? "" : String(q.overflow_secs),
    overflow_target: q?.overflow_target ?? "",
    max_length: q?.max_length == null ? "" : String(q.max_length),
  };
}

const optionalInt = (s: string) => (s.trim() === "" ? null : Number(s));

export function queueBody(f: QueueFields): QueueIn {
  const overflow = f.overflow_action !== "stay";
  return {
    name: f.name.trim(),
    strategy: f.strategy,
    skills: skillsFromRows(f.skills),
    overflow_action: f.overflow_action,
    overflow_secs: overflow ? optionalInt(f.overflow_secs) : null,
    overflow_target: f.overflow_action === "queue" ? f.overflow_target || null : null,
    max_length: optionalInt(f.max_length),
  };
}

function QueueForm({
  slug,
  queue,
  queues,
  done,
}: {
  slug: string;
  /** Absent: the "New queue" form. */
  queue?: Queue;
  queues: Queue[];
  done: (notice: string) => Promise<void>;
}) {
  const [f, setF] = useState<QueueFields>(() => fieldsOf(queue));
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const id = queue ? `queue-${queue.id}` : "queue-new";
  const title = queue ? `Queue ${queue.name}` : "New queue";

  const act = async (what: () => Promise<unknown>, note: string) => {
    setBusy(true);
    setError("");
    try {
      await what();
      await done(note);
      if (!queue) setF(fieldsOf());
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const body = queueBody(f);
    void act(
      () => (queue ? RoutingApi.updateQueue(slug, queue.name, body) : RoutingApi.createQueue(slug, body)),
      queue ? `Queue “${body.name}” saved.` : `Queue “${body.name}” created.`,
    );
  };

  const set = <K extends keyof QueueFields>(key: K, value: QueueFields[K]) => setF({ ...f, [key]: value });

  return (
    <form class="card queue" aria-label={title} data-testid="queue" onSubmit={submit}>
      <h3>
        {queue ? (
          <>
            Queue <code>{queue.name}</code>
            {queue.is_default && <span class="tag">default</span>}
          </>
        ) : (
          "New queue"
        )}
      </h3>
      <div class="fields">
        <div class="field">
          <label for={`${id}-name`}>Queue name</label>
          <input
            id={`${id}-name`}
            required
            maxLength={64}
            value={f.name}
            onInput={(e) => set("name", (e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for={`${id}-strategy`}>Strategy</label>
          <select
            id={`${id}-strategy`}
            value={f.strategy}
            onChange={(e) => set("strategy", (e.target as HTMLSelectElement).value as Strategy)}
          >
            {STRATEGIES.map((s) => (
              <option value={s.value} key={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={`${id}-overflow`}>When nobody takes it</label>
          <select
            id={`${id}-overflow`}
            value={f.overflow_action}
            onChange={(e) =>
              set("overflow_action", (e.target as HTMLSelectElement).value as OverflowAction)
            }
          >
            {OVERFLOWS.map((o) => (
              <option value={o.value} key={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        {f.overflow_action !== "stay" && (
          <div class="field">
            <label for={`${id}-overflow-secs`}>Overflow after (seconds)</label>
            <input
              id={`${id}-overflow-secs`}
              type="number"
              min={5}
              max={86400}
              required
              value={f.overflow_secs}
              onInput={(e) => set("overflow_secs", (e.target as HTMLInputElement).value)}
            />
          </div>
        )}
        {f.overflow_action === "queue" && (
          <div class="field">
            <label for={`${id}-backup`}>Backup queue</label>
            <select
              id={`${id}-backup`}
              required
              value={f.overflow_target}
              onChange={(e) => set("overflow_target", (e.target as HTMLSelectElement).value)}
            >
              <option value="">Choose…</option>
              {queues
                .filter((q) => q.id !== queue?.id)
                .map((q) => (
                  <option value={q.name} key={q.id}>
                    {q.name}
                  </option>
                ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for={`${id}-max-length`}>Max queue length</label>
          <input
            id={`${id}-max-length`}
            type="number"
            min={1}
            max={100000}
            placeholder="No limit"
            value={f.max_length}
            onInput={(e) => set("max_length", (e.target as HTMLInputElement).value)}
          />
        </div>
      </div>
      <SkillRows
        legend={`Required skills of ${queue ? queue.name : "the new queue"}`}
        label="Minimum level"
        rows={f.skills}
        onChange={(skills) => set("skills", skills)}
      />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {queue ? "Save queue" : "Create queue"}
        </button>
        {queue && !queue.is_default && (
          <button
            type="button"
            disabled={busy}
            aria-label={`Delete queue ${queue.name}`}
            onClick={() =>
              void act(() => RoutingApi.deleteQueue(slug, queue.name), `Queue “${queue.name}” deleted.`)
            }
          >
            Delete
          </button>
        )}
      </div>
    </form>
  );
}
