// "Email me the transcript", on the ended screen: the customer types where to send it (only
// where: the address identifies nobody) and the server mails their opening question and every
// public message, never a private note (docs/protocol.md, "Transcript by email").

import { useState } from "preact/hooks";

import { t } from "./i18n";

const api = (path: string) => `/api/v1${path}`;

type Sent = { state: "idle" } | { state: "sending" } | { state: "sent"; to: string } | { state: "failed"; message: string };

export function TranscriptEmail({
  conversationId,
  visitorToken,
  email = "",
}: {
  conversationId: string;
  visitorToken: string;
  /** What the visitor typed into the form, as a starting value. */
  email?: string;
}) {
  const [address, setAddress] = useState(email);
  const [sent, setSent] = useState<Sent>({ state: "idle" });
  const id = `pw-transcript-email-${conversationId}`;

  const send = async (e: Event) => {
    e.preventDefault();
    const to = address.trim();
    if (!to) return;
    setSent({ state: "sending" });
    let next: Sent;
    try {
      const r = await fetch(api(`/conversations/${encodeURIComponent(conversationId)}/transcript-email`), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Visitor-Token": visitorToken },
        body: JSON.stringify({ email: to }),
      });
      if (r.ok) next = { state: "sent", to };
      else {
        const data = (await r.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
        const code = data?.error?.code;
        next = {
          state: "failed",
          message:
            code === "rate_limited"
              ? t("transcript_email_limited")
              : code === "invalid_input" || code === "too_long"
                ? t("check_email")
                : t("transcript_email_failed"),
        };
      }
    } catch {
      next = { state: "failed", message: t("offline_retry") };
    }
    setSent(next);
  };

  return (
    <form class="pw-transcript-email" data-testid="transcript-email" onSubmit={send}>
      <label for={id}>{t("transcript_email_label")}</label>
      <div class="pw-row">
        <input
          id={id}
          type="email"
          autoComplete="email"
          maxLength={254}
          value={address}
          onInput={(e) => setAddress((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="pw-secondary" disabled={sent.state === "sending" || !address.trim()}>
          {sent.state === "sending" ? t("transcript_email_sending") : t("transcript_email_send")}
        </button>
      </div>
      {sent.state === "sent" && (
        <p class="pw-note" role="status" data-testid="transcript-email-sent">
          {t("transcript_email_sent", { email: sent.to })}
        </p>
      )}
      {sent.state === "failed" && (
        <p class="pw-error" role="alert">
          {sent.message}
        </p>
      )}
    </form>
  );
}
