// A workgroup's routing rules: the ordered list with a structured condition editor (or raw
// JSON), and a tester that tries the unsaved rules against sample metadata.

import { useEffect, useState } from "preact/hooks";

import { message } from "./PastChats";
import { RoutingApi, type Queue, type RuleTestResult } from "./routingApi";
import {
  draftFromRule,
  humanRuleError,
  move,
  newRule,
  newTest,
  OPS,
  parsePairs,
  ruleOfError,
  rulesToJson,
  STANDARD_FIELDS,
  toggleRaw,
  type CondNode,
  type GroupNode,
  type Op,
  type RuleDraft,
  type TestNode,
} from "./rules";

/** Nesting the form editor offers (the server allows 5); deeper conditions use raw JSON. */
const MAX_GROUP_DEPTH = 3;

interface Props {
  slug: string;
  queues: Queue[];
  /** The workgroup's extra form fields, offered as condition fields. */
  fields: string[];
}

/** The server's refusal of one rule, shown next to that rule. */
interface RuleError {
  index: number;
  message: string;
}

/** A refusal as the rule editor shows it: the message, and the rule it is about. */
function refusal(err: unknown): { message: string; rule: RuleError | null } {
  const text = humanRuleError(message(err));
  const index = ruleOfError(err);
  return { message: text, rule: index === null ? null : { index, message: text } };
}

export function RuleEditor({ slug, queues, fields }: Props) {
  const [drafts, setDrafts] = useState<RuleDraft[] | null>(null);
  const [error, setError] = useState("");
  const [ruleError, setRuleError] = useState<RuleError | null>(null);
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const defaultQueue = queues.find((q) => q.is_default)?.name ?? queues[0]?.name ?? "default";

  useEffect(() => {
    let live = true;
    setDrafts(null);
    setError("");
    setRuleError(null);
    setNotice("");
    RoutingApi.rules(slug).then(
      (rules) => live && setDrafts(rules.map(draftFromRule)),
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [slug]);

  if (drafts === null) {
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="muted">Loading rules…</p>
    );
  }

  const setAt = (i: number, d: RuleDraft) => setDrafts(drafts.map((x, n) => (n === i ? d : x)));

  const save = async (e: Event) => {
    e.preventDefault();
    setError("");
    setRuleError(null);
    setNotice("");
    let rules;
    try {
      rules = rulesToJson(drafts);
    } catch (err) {
      setError(message(err));
      return;
    }
    setBusy(true);
    try {
      const saved = await RoutingApi.setRules(slug, rules);
      setDrafts(saved.map(draftFromRule));
      setNotice(`Rules saved (${saved.length}).`);
    } catch (err) {
      const refused = refusal(err);
      setError(refused.message);
      setRuleError(refused.rule);
    } finally {
      setBusy(false);
    }
  };

  const fieldNames = [...new Set([...STANDARD_FIELDS, ...fields])];
  const datalist = `rule-fields-${slug}`;

  return (
    <>
      <form class="card rules" aria-labelledby="rules-heading" onSubmit={save}>
        <h3 id="rules-heading">Rules</h3>
        <p class="muted">
          Tried in order; the first whose condition holds picks the queue. Anything else goes to
          the default queue <code>{defaultQueue}</code>.
        </p>
        <datalist id={datalist}>
          {fieldNames.map((f) => (
            <option value={f} key={f} />
          ))}
        </datalist>
        <ol class="rule-list">
          {drafts.map((d, i) => (
            <RuleCard
              key={i}
              index={i}
              count={drafts.length}
              draft={d}
              queues={queues}
              datalist={datalist}
              serverError={ruleError?.index === i ? ruleError.message : ""}
              onChange={(next) => setAt(i, next)}
              onMove={(by) => setDrafts(move(drafts, i, by))}
              onRemove={() => setDrafts(drafts.filter((_, n) => n !== i))}
            />
          ))}
        </ol>
        {!drafts.length && <p class="muted">No rules: every chat goes to the default queue.</p>}
        {error && (
          <p class="error" role="alert" data-testid="rules-error">
            {error}
          </p>
        )}
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={() => setDrafts([...drafts, newRule(defaultQueue)])}>
            Add rule
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Save rules
          </button>
        </div>
      </form>
      <RuleTester slug={slug} drafts={drafts} fields={fields} onRuleError={setRuleError} />
    </>
  );
}

function RuleCard({
  index,
  count,
  draft,
  queues,
  datalist,
  serverError,
  onChange,
  onMove,
  onRemove,
}: {
  index: number;
  count: number;
  draft: RuleDraft;
  queues: Queue[];
  datalist: string;
  /** The server's refusal of this rule (when saving or testing), if any. */
  serverError: string;
  onChange: (d: RuleDraft) => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}) {
  const [toggleError, setToggleError] = useState("");
  const n = index + 1;
  const id = `rule-${index}`;
  const known = queues.some((q) => q.name === draft.queue);
  return (
    <li class="rule" data-testid="rule" aria-label={`Rule #${n}`}>
      <div class="rule-head">
        <span class="rule-number">#{n}</span>
        <div class="field">
          <label for={`${id}-name`}>Rule name</label>
          <input
            id={`${id}-name`}
            maxLength={128}
            value={draft.name}
            onInput={(e) => onChange({ ...draft, name: (e.target as HTMLInputElement).value })}
          />
        </div>
        <div class="field">
          <label for={`${id}-queue`}>Target queue</label>
          <select
            id={`${id}-queue`}
            value={draft.queue}
            onChange={(e) => onChange({ ...draft, queue: (e.target as HTMLSelectElement).value })}
          >
            {!known && <option value={draft.queue}>{draft.queue || "—"}</option>}
            {queues.map((q) => (
              <option value={q.name} key={q.id}>
                {q.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-narrow">
          <label for={`${id}-priority`}>Priority</label>
          <input
            id={`${id}-priority`}
            type="number"
            min={-100}
            max={100}
            value={draft.priority}
            onInput={(e) => onChange({ ...draft, priority: (e.target as HTMLInputElement).value })}
          />
        </div>
        <div class="row-actions">
          <button
            type="button"
            aria-label={`Move rule #${n} up`}
            disabled={index === 0}
            onClick={() => onMove(-1)}
          >
            ↑
          </button>
          <button
            type="button"
            aria-label={`Move rule #${n} down`}
            disabled={index === count - 1}
            onClick={() => onMove(1)}
          >
            ↓
          </button>
          <button type="button" aria-label={`Delete rule #${n}`} onClick={onRemove}>
            Delete
          </button>
        </div>
      </div>
      {draft.problem && (
        <p class="error" data-testid="rule-problem">
          This saved rule never matches: {draft.problem}. Fix its pattern and save.
        </p>
      )}
      {serverError && (
        <p class="error" role="alert" data-testid="rule-error">
          {serverError}
        </p>
      )}
      {draft.raw ? (
        <div class="field field-wide">
          <label for={`${id}-json`}>Condition (JSON) of rule #{n}</label>
          <textarea
            id={`${id}-json`}
            class="mono"
            rows={6}
            spellcheck={false}
            value={draft.json}
            onInput={(e) => onChange({ ...draft, json: (e.target as HTMLTextAreaElement).value })}
          />
        </div>
      ) : (
        <GroupEditor
          group={draft.condition}
          depth={1}
          label={`rule #${n}`}
          datalist={datalist}
          onChange={(condition) => onChange({ ...draft, condition })}
        />
      )}
      <div class="rule-foot">
        <button
          type="button"
          class="subtle"
          onClick={() => {
            const next = toggleRaw(draft);
            if ("error" in next) {
              setToggleError(next.error);
            } else {
              setToggleError("");
              onChange(next);
            }
          }}
        >
          {draft.raw ? "Use the form editor" : "Edit as JSON"}
        </button>
        {toggleError && (
          <span class="error" role="alert">
            {toggleError}
          </span>
        )}
      </div>
    </li>
  );
}

function GroupEditor({
  group,
  depth,
  label,
  datalist,
  onChange,
  onRemove,
}: {
  group: GroupNode;
  depth: number;
  /** Names the group in accessible names: "rule #1", "rule #1 group 2". */
  label: string;
  datalist: string;
  onChange: (g: GroupNode) => void;
  onRemove?: () => void;
}) {
  const setItem = (i: number, node: CondNode) =>
    onChange({ ...group, items: group.items.map((x, n) => (n === i ? node : x)) });
  const removeItem = (i: number) =>
    onChange({ ...group, items: group.items.filter((_, n) => n !== i) });
  return (
    <fieldset class={`cond-group depth-${depth}`} data-testid="condition-group">
      <legend>
        <label>
          <span class="sr-only">Match of {label}</span>
          <select
            value={group.kind}
            onChange={(e) =>
              onChange({ ...group, kind: (e.target as HTMLSelectElement).value as "all" | "any" })
            }
          >
            <option value="all">All of these hold</option>
            <option value="any">Any of these holds</option>
          </select>
        </label>
        {onRemove && (
          <button type="button" class="subtle" aria-label={`Remove ${label}`} onClick={onRemove}>
            Remove group
          </button>
        )}
      </legend>
      {group.items.map((item, i) =>
        item.kind === "test" ? (
          <TestEditor
            key={i}
            test={item}
            label={`${label} condition ${i + 1}`}
            datalist={datalist}
            onChange={(t) => setItem(i, t)}
            onRemove={() => removeItem(i)}
          />
        ) : (
          <GroupEditor
            key={i}
            group={item}
            depth={depth + 1}
            label={`${label} group ${i + 1}`}
            datalist={datalist}
            onChange={(g) => setItem(i, g)}
            onRemove={() => removeItem(i)}
          />
        ),
      )}
      <div class="actions">
        <button
          type="button"
          onClick={() => onChange({ ...group, items: [...group.items, newTest()] })}
        >
          Add condition
        </button>
        {depth < MAX_GROUP_DEPTH && (
          <button
            type="button"
            onClick={() =>
              onChange({
                ...group,
                items: [
                  ...group.items,
                  { kind: group.kind === "all" ? "any" : "all", items: [newTest()] },
                ],
              })
            }
          >
            Add group
          </button>
        )}
      </div>
    </fieldset>
  );
}

function TestEditor({
  test,
  label,
  datalist,
  onChange,
  onRemove,
}: {
  test: TestNode;
  label: string;
  datalist: string;
  onChange: (t: TestNode) => void;
  onRemove: () => void;
}) {
  return (
    <div class="cond-test" data-testid="condition">
      <input
        aria-label={`Field of ${label}`}
        list={datalist}
        maxLength={64}
        placeholder="field"
        value={test.field}
        onInput={(e) => onChange({ ...test, field: (e.target as HTMLInputElement).value })}
      />
      <select
        aria-label={`Operator of ${label}`}
        value={test.op}
        onChange={(e) => onChange({ ...test, op: (e.target as HTMLSelectElement).value as Op })}
      >
        {OPS.map((o) => (
          <option value={o.value} key={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <input
        aria-label={`Value of ${label}`}
        maxLength={test.op === "one_of" ? 4000 : 256}
        placeholder={test.op === "one_of" ? "de, at, ch" : test.op === "matches" ? "regular expression" : "value"}
        value={test.value}
        onInput={(e) => onChange({ ...test, value: (e.target as HTMLInputElement).value })}
      />
      <button type="button" class="subtle" aria-label={`Remove ${label}`} onClick={onRemove}>
        ✕
      </button>
    </div>
  );
}

// The tester ------------------------------------------------------------------------------

export function describeResult(r: RuleTestResult): string {
  const rule = r.rule === null ? "default" : `rule #${r.rule + 1}`;
  return `→ queue ${r.queue}, priority ${r.priority}, ${rule}`;
}

/** A rule looks at no more than this many characters of a field (MAX_FIELD_CHARS). */
const MAX_SAMPLE_CHARS = 1024;

function RuleTester({
  slug,
  drafts,
  fields,
  onRuleError,
}: {
  slug: string;
  drafts: RuleDraft[];
  fields: string[];
  onRuleError: (e: RuleError | null) => void;
}) {
  const [sample, setSample] = useState({ name: "", email: "", question: "", page: "" });
  const [extra, setExtra] = useState(() => fields.map((f) => `${f}=`).join("\n"));
  const [result, setResult] = useState<RuleTestResult | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const run = async (e: Event) => {
    e.preventDefault();
    setError("");
    onRuleError(null);
    setResult(null);
    let rules;
    try {
      rules = rulesToJson(drafts);
    } catch (err) {
      setError(message(err));
      return;
    }
    setBusy(true);
    try {
      const metadata = { ...sample, extra: parsePairs(extra) };
      setResult(await RoutingApi.testRules(slug, metadata, rules));
    } catch (err) {
      const refused = refusal(err);
      setError(refused.message);
      onRuleError(refused.rule);
    } finally {
      setBusy(false);
    }
  };

  const input = (key: keyof typeof sample, label: string) => (
    <div class="field">
      <label for={`tester-${key}`}>{label}</label>
      <input
        id={`tester-${key}`}
        maxLength={MAX_SAMPLE_CHARS}
        value={sample[key]}
        onInput={(e) => setSample({ ...sample, [key]: (e.target as HTMLInputElement).value })}
      />
    </div>
  );

  return (
    <form class="card tester" aria-labelledby="tester-heading" onSubmit={run}>
      <h3 id="tester-heading">Rule tester</h3>
      <p class="muted">Tries the rules above as they are now, saved or not.</p>
      <div class="fields">
        {input("name", "Sample name")}
        {input("email", "Sample email")}
        {input("question", "Sample question")}
        {input("page", "Sample page")}
        <div class="field field-wide">
          <label for="tester-extra">Sample extra fields</label>
          <textarea
            id="tester-extra"
            rows={3}
            placeholder={"product=billing\nlanguage=de"}
            value={extra}
            aria-describedby="tester-extra-help"
            onInput={(e) => setExtra((e.target as HTMLTextAreaElement).value)}
          />
          <small id="tester-extra-help" class="muted">
            One per line: field=value.
          </small>
        </div>
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Test rules
        </button>
        <output data-testid="rule-test-result" aria-live="polite">
          {result && describeResult(result)}
        </output>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
