import { useEffect, useRef } from "preact/hooks";

import type { SendFailure } from "./state";

export const BLOCKED_CODES = new Set(["blocked_word", "blocked_word_warning"]);

interface Props {
  failures: SendFailure[];
  onDismiss: (clientId: string) => void;
  /** Put a refused text back in the composer (a blocked word: rephrase it). */
  onRestore: (text: string) => void;
  /** A warned text, sent again as written (`confirm: true`). */
  onConfirm: (failure: SendFailure) => void;
}

/** Sends the server refused for good, under a composer. A blocked word says why and puts the
 * text back to rephrase; a warning asks "Send anyway?". */
export function SendFailures({ failures, onDismiss, onRestore, onConfirm }: Props) {
  const restored = useRef(new Set<string>());
  useEffect(() => {
    for (const f of failures) {
      if (f.code === "blocked_word" && !restored.current.has(f.clientId)) {
        restored.current.add(f.clientId);
        onRestore(f.text);
      }
    }
  }, [failures]);
  return (
    <>
      {failures.map((f) => {
        if (f.code === "blocked_word") {
          return (
            <div class="error blocked" role="alert" data-testid="blocked-word" key={f.clientId}>
              Not sent: {f.error}. Your text is back in the box to rephrase.{" "}
              <button type="button" class="link" onClick={() => onDismiss(f.clientId)}>
                Dismiss
              </button>
            </div>
          );
        }
        if (f.code === "blocked_word_warning") {
          return (
            <div class="notice blocked" role="alert" data-testid="blocked-word-warning" key={f.clientId}>
              <span>
                Not sent yet: {f.error}. “{f.text}” — Send anyway?
              </span>{" "}
              <button
                type="button"
                onClick={() => {
                  onDismiss(f.clientId);
                  onConfirm(f);
                }}
              >
                Send anyway
              </button>{" "}
              <button
                type="button"
                class="link"
                onClick={() => {
                  onDismiss(f.clientId);
                  onRestore(f.text);
                }}
              >
                Rephrase
              </button>
            </div>
          );
        }
        return (
          <div class="error" role="alert" key={f.clientId}>
            Not sent: “{f.text}” ({f.error}){" "}
            <button type="button" class="link" onClick={() => onDismiss(f.clientId)}>
              Dismiss
            </button>
          </div>
        );
      })}
    </>
  );
}
