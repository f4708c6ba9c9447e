// Ending a chat, with its outcome (resolved by default): recorded with the `end` message.

import { useState } from "preact/hooks";

import type { Outcome } from "../shared/protocol";

export const OUTCOMES: { value: Outcome; label: string }[] = [
  { value: "resolved", label: "Resolved" },
  { value: "escalated", label: "Escalated" },
  { value: "follow_up", label: "Needs follow-up" },
];

export function EndChatControls({
  id,
  disabled,
  onEnd,
}: {
  id: string;
  disabled: boolean;
  onEnd: (outcome: Outcome) => void;
}) {
  const [outcome, setOutcome] = useState<Outcome>("resolved");
  return (
    <span class="end-chat">
      <label for={`outcome-${id}`} class="sr-only">
        Outcome
      </label>
      <select
        id={`outcome-${id}`}
        value={outcome}
        disabled={disabled}
        title="Outcome, recorded when the chat ends"
        onChange={(e) => setOutcome((e.target as HTMLSelectElement).value as Outcome)}
      >
        {OUTCOMES.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <button type="button" class="danger" onClick={() => onEnd(outcome)} disabled={disabled}>
        End chat
      </button>
    </span>
  );
}
