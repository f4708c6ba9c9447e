// Hidden fields from the host page (data-field-* on the launcher's script tag, and
// Parley.setFields): checked here against the server's limits before they go with the chat
// request (docs/protocol.md, "Hidden fields"). A field that breaks one is left out with a
// warning in the browser's console, never silently; the server refuses it anyway
// (422 invalid_hidden_field).

export const MAX_FIELDS = 20;
export const MAX_VALUE_CHARS = 256;
export const KEY_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
// Control characters, line and paragraph separators; and an RFC 2047 encoded word, which the
// server refuses when it hides one of them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export type Warn = (message: string) => void;

/** The fields to send: strings (numbers and booleans as text), trimmed, within every limit. */
export function cleanFields(raw: unknown, warn: Warn = (m) => console.warn(m)): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || raw === undefined) return out;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    warn("Parley: setFields() takes an object of field names and values; ignored.");
    return out;
  }
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    const why = problem(key, value);
    if (why) {
      warn(`Parley: hidden field ${JSON.stringify(key)} left out: ${why}.`);
      continue;
    }
    if (Object.keys(out).length >= MAX_FIELDS) {
      warn(`Parley: hidden field ${JSON.stringify(key)} left out: at most ${MAX_FIELDS} fields are sent.`);
      continue;
    }
    out[key] = String(value).trim();
  }
  return out;
}

function problem(key: string, value: unknown): string | null {
  if (!KEY_PATTERN.test(key)) {
    return "a name is 1 to 32 lowercase letters, digits or _, starting with a letter (data-field-order-number is order_number)";
  }
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
    return "its value must be text or a number";
  }
  const text = String(value);
  if (text.length > MAX_VALUE_CHARS) return `a value is at most ${MAX_VALUE_CHARS} characters`;
  if (CONTROL.test(text)) return "a value is one line, without control characters";
  return null;
}
