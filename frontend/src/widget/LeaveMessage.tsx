// The leave-a-message form: shown instead of the pre-chat form when the workgroup takes no chat
// (closed, nobody available, queue full), and after a wait that timed out. What the visitor
// wrote is sent as JSON and rendered as text only (Preact escapes it).

import { useEffect, useRef, useState } from "preact/hooks";

import { language, t } from "./i18n";
import { formatTime } from "./state";

export type UnavailableReason = "closed" | "no_agents" | "queue_full" | "expired" | string;

export interface Prefill {
  name?: string;
  email?: string;
}

const DAY_MS = 24 * 3600 * 1000;

/** When the workgroup opens again, in the visitor's words: "at 09:00", "on Monday at 09:00". */
export function backAt(nextOpen: string | null | undefined, now: Date = new Date()): string | null {
  if (!nextOpen) return null;
  const when = new Date(nextOpen);
  if (Number.isNaN(when.getTime())) return null;
  const time = formatTime(nextOpen);
  if (when.toDateString() === now.toDateString()) return t("back_today", { time });
  if (when.getTime() - now.getTime() < 6 * DAY_MS) {
    return t("back_day", { day: when.toLocaleDateString(language(), { weekday: "long" }), time });
  }
  return t("back_date", { date: when.toLocaleDateString(language()), time });
}

/** Why the visitor is asked to leave a message. */
export function unavailableText(reason: UnavailableReason | null, nextOpen?: string | null, now?: Date): string {
  switch (reason) {
    case "closed": {
      const back = backAt(nextOpen, now);
      return back ? t("closed_back", { when: back }) : t("closed_now");
    }
    case "no_agents":
      return t("no_agents");
    case "queue_full":
      return t("queue_full");
    case "expired":
      return t("timed_out");
    default:
      return t("nobody_can_chat");
  }
}

interface ApiError {
  error?: { message?: string; details?: { loc?: unknown[] }[] };
}

export function LeaveMessage(props: {
  slug: string;
  page: string;
  reason: UnavailableReason | null;
  nextOpen?: string | null;
  prefill?: Prefill;
  /** The token of the chat this message follows (it links the message to that chat). */
  visitorToken?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const first = useRef<HTMLInputElement | HTMLTextAreaElement>(null);
  const sentRef = useRef<HTMLDivElement>(null);

  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    if (sent) sentRef.current?.focus();
  }, [sent]);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const name = String(form.get("name") ?? "").trim();
    const email = String(form.get("email") ?? "").trim();
    const message = String(form.get("message") ?? "").trim();
    if (!name || !email || !message) {
      setError(t("fill_in_all"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (props.visitorToken) headers["X-Visitor-Token"] = props.visitorToken;
      const response = await fetch(`/api/v1/workgroups/${encodeURIComponent(props.slug)}/messages`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name, email, message, page: props.page.slice(0, 2048) }),
      });
      if (!response.ok) {
        const data = (await response.json().catch(() => ({}))) as ApiError;
        const field = data.error?.details?.[0]?.loc?.slice(-1)[0];
        setError(
          field === "email"
            ? t("check_email")
            : data.error?.message
              ? t("message_not_sent_because", { message: data.error.message })
              : t("message_not_sent"),
        );
        setBusy(false);
        return;
      }
      setSent(true);
    } catch {
      setError(t("no_connection_us"));
      setBusy(false);
    }
  };

  const reason = (
    <p class="pw-lead" data-testid="unavailable" role="status">
      {unavailableText(props.reason, props.nextOpen)}
    </p>
  );
  if (sent) {
    return (
      <div class="pw-card" data-testid="message-sent" role="status" tabIndex={-1} ref={sentRef}>
        <p class="pw-lead">{t("message_sent")}</p>
        <p class="pw-note">{t("answer_by_email")}</p>
      </div>
    );
  }
  const prefilled = Boolean(props.prefill?.name && props.prefill?.email);
  return (
    <form class="pw-form" data-testid="leave-message" onSubmit={submit}>
      {reason}
      <p class="pw-note">{t("leave_message_lead")}</p>
      <label for="pw-lm-name">{t("name")}</label>
      <input
        id="pw-lm-name"
        name="name"
        required
        maxLength={128}
        autocomplete="name"
        defaultValue={props.prefill?.name ?? ""}
        ref={prefilled ? undefined : (first as { current: HTMLInputElement | null })}
      />
      <label for="pw-lm-email">{t("email")}</label>
      <input
        id="pw-lm-email"
        name="email"
        type="email"
        required
        maxLength={254}
        autocomplete="email"
        defaultValue={props.prefill?.email ?? ""}
      />
      <label for="pw-lm-message">{t("your_message")}</label>
      <textarea
        id="pw-lm-message"
        name="message"
        rows={3}
        required
        maxLength={4000}
        ref={prefilled ? (first as { current: HTMLTextAreaElement | null }) : undefined}
      />
      {error && (
        <p class="pw-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="pw-primary" disabled={busy}>
        {busy ? t("sending") : t("send_message")}
      </button>
    </form>
  );
}
