// Admin: the house rules' blocked words (docs/protocol.md, "Blocked words"): list, create,
// edit, delete, and a tester that shows what a text would become.

import { useEffect, useState } from "preact/hooks";

import {
  HouseRulesApi,
  type BlockedWordAction,
  type BlockedWordRule,
  type BlockedWordRuleIn,
  type BlockedWordScope,
  type BlockedWordTest,
} from "./imApi";
import { message as errorText } from "./PastChats";

const ACTIONS: { value: BlockedWordAction; label: string }[] = [
  { value: "refuse", label: "Refuse the message" },
  { value: "mask", label: "Mask the words (***)" },
  { value: "warn", label: "Warn the sender" },
  { value: "notify", label: "Notify supervisors" },
];

const SCOPES: { value: BlockedWordScope; label: string }[] = [
  { value: "staff_to_customer", label: "Staff to customers" },
  { value: "staff_im", label: "Staff IM" },
  { value: "status_text", label: "Status texts" },
  { value: "customer", label: "What customers write" },
];

const EMPTY: BlockedWordRuleIn = { kind: "term", value: "", action: "refuse", scopes: ["staff_to_customer"], reason: "" };

export function BlockedWords() {
  const [rules, setRules] = useState<BlockedWordRule[] | null>(null);
  const [error, setError] = useState("");
  const [editing, setEditing] = useState<number | "new" | null>(null);
  const reload = async () => {
    try {
      setRules(await HouseRulesApi.rules());
    } catch (e) {
      setError(`Could not load the rules: ${errorText(e)}`);
    }
  };
  useEffect(() => {
    void reload();
  }, []);
  const remove = async (rule: BlockedWordRule) => {
    setError("");
    try {
      await HouseRulesApi.remove(rule.id);
      await reload();
    } catch (e) {
      setError(`Could not delete the rule: ${errorText(e)}`);
    }
  };
  return (
    <section class="admin-section" aria-labelledby="blocked-heading">
      <h2 id="blocked-heading">Blocked words</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="data-table">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Term or pattern</th>
            <th>Action</th>
            <th>Where</th>
            <th>Reason</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rules?.map((r) =>
            editing === r.id ? (
              <tr key={r.id}>
                <td colSpan={6}>
                  <RuleForm
                    initial={r}
                    label={`Edit rule ${r.id}`}
                    onSaved={async () => {
                      setEditing(null);
                      await reload();
                    }}
                    onCancel={() => setEditing(null)}
                    save={(body) => HouseRulesApi.update(r.id, body)}
                  />
                </td>
              </tr>
            ) : (
              <tr key={r.id} data-testid="blocked-word-rule">
                <td>{r.kind}</td>
                <td>
                  <code>{r.value}</code>
                </td>
                <td>{r.action}</td>
                <td>{r.scopes.join(", ")}</td>
                <td>{r.reason}</td>
                <td>
                  <button type="button" aria-label={`Edit ${r.value}`} onClick={() => setEditing(r.id)}>
                    Edit
                  </button>{" "}
                  <button type="button" aria-label={`Delete ${r.value}`} onClick={() => void remove(r)}>
                    Delete
                  </button>
                </td>
              </tr>
            ),
          )}
          {rules && rules.length === 0 && (
            <tr>
              <td colSpan={6} class="muted" data-testid="blocked-words-empty">
                No blocked words.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {editing === "new" ? (
        <RuleForm
          initial={EMPTY}
          label="New blocked word"
          onSaved={async () => {
            setEditing(null);
            await reload();
          }}
          onCancel={() => setEditing(null)}
          save={(body) => HouseRulesApi.create(body)}
        />
      ) : (
        <button type="button" onClick={() => setEditing("new")}>
          Add blocked word
        </button>
      )}
      <Tester />
    </section>
  );
}

function RuleForm({
  initial,
  label,
  save,
  onSaved,
  onCancel,
}: {
  initial: BlockedWordRuleIn;
  label: string;
  save: (body: BlockedWordRuleIn) => Promise<unknown>;
  onSaved: () => Promise<void>;
  onCancel: () => void;
}) {
  const [rule, setRule] = useState<BlockedWordRuleIn>({ ...initial, scopes: [...initial.scopes] });
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError("");
    try {
      // Only the rule's fields (an edited rule carries its id, which the server refuses).
      await save({
        kind: rule.kind,
        value: rule.value.trim(),
        action: rule.action,
        scopes: rule.scopes,
        reason: rule.reason.trim(),
      });
      await onSaved();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="form-grid"
      aria-label={label}
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label>
        Kind
        <select
          value={rule.kind}
          onChange={(e) => setRule({ ...rule, kind: (e.target as HTMLSelectElement).value as "term" | "pattern" })}
        >
          <option value="term">Term</option>
          <option value="pattern">Pattern (RE2)</option>
        </select>
      </label>
      <label>
        Term or pattern
        <input
          value={rule.value}
          maxLength={200}
          onInput={(e) => setRule({ ...rule, value: (e.target as HTMLInputElement).value })}
        />
      </label>
      <label>
        Action
        <select
          value={rule.action}
          onChange={(e) => setRule({ ...rule, action: (e.target as HTMLSelectElement).value as BlockedWordAction })}
        >
          {ACTIONS.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Applies to</legend>
        {SCOPES.map((s) => (
          <label key={s.value} class="checkbox">
            <input
              type="checkbox"
              checked={rule.scopes.includes(s.value)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                setRule({
                  ...rule,
                  scopes: on ? [...rule.scopes, s.value] : rule.scopes.filter((x) => x !== s.value),
                });
              }}
            />
            {s.label}
          </label>
        ))}
      </fieldset>
      <label>
        Reason (shown to the sender)
        <input
          value={rule.reason}
          maxLength={200}
          onInput={(e) => setRule({ ...rule, reason: (e.target as HTMLInputElement).value })}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="submit" class="primary" disabled={busy || !rule.value.trim() || rule.scopes.length === 0}>
          Save blocked word
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Tester() {
  const [text, setText] = useState("");
  const [scope, setScope] = useState<BlockedWordScope>("staff_to_customer");
  const [result, setResult] = useState<BlockedWordTest | null>(null);
  const [error, setError] = useState("");
  const run = async () => {
    setError("");
    try {
      setResult(await HouseRulesApi.test(text, scope));
    } catch (e) {
      setResult(null);
      setError(errorText(e));
    }
  };
  return (
    <form
      class="form-grid tester"
      aria-labelledby="blocked-tester-heading"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <h3 id="blocked-tester-heading">Try a message</h3>
      <label>
        Sample message
        <textarea rows={2} value={text} maxLength={10_000} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label>
        Written in
        <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value as BlockedWordScope)}>
          {SCOPES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={!text.trim()}>
        Test message
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="blocked-word-test-result" role="status">
          <p>
            Outcome: <strong>{result.outcome}</strong>
            {result.rule !== null && ` (rule ${result.rule})`}
          </p>
          {result.text !== null && (
            <p>
              Stored as: <q>{result.text}</q>
            </p>
          )}
          {result.hits.length > 0 && (
            <p>Matched: {result.hits.map((h) => `“${h.matched}” (rule ${h.rule}, ${h.action})`).join(", ")}</p>
          )}
        </div>
      )}
    </form>
  );
}
