// The rating step after "Chat ended": 1 to 5 stars and an optional comment, once per chat,
// if the workgroup wants ratings. The server says whether to ask (GET .../rating: `wanted`,
// and the rating already given), so a reload after rating shows the thanks, never the form
// again. The stars are a native radio group in a fieldset: arrow keys move, each star has a
// spoken label ("4 stars: good"), and the legend names the question.

import { useEffect, useState } from "preact/hooks";

import { type Key, t } from "./i18n";

const api = (path: string) => `/api/v1${path}`;

/** A rating's comment, at most (the server's limit). */
export const MAX_COMMENT_CHARS = 1000;
const SCORES = [1, 2, 3, 4, 5] as const;
const STAR_LABEL: Record<(typeof SCORES)[number], Key> = {
  1: "rate_star_1",
  2: "rate_star_2",
  3: "rate_star_3",
  4: "rate_star_4",
  5: "rate_star_5",
};

type Step = "loading" | "hidden" | "ask" | "sending" | "thanks";

export function RatingStep({ conversationId, visitorToken }: { conversationId: string; visitorToken: string }) {
  const [step, setStep] = useState<Step>("loading");
  const [score, setScore] = useState<number | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [error, setError] = useState("");
  const url = api(`/conversations/${encodeURIComponent(conversationId)}/rating`);
  const headers = { "X-Visitor-Token": visitorToken };

  useEffect(() => {
    let current = true;
    fetch(url, { headers })
      .then(async (r) => {
        const body: unknown = r.ok ? await r.json() : null;
        if (!current) return;
        const status = body as { wanted?: unknown; rating?: unknown } | null;
        if (status?.rating) setStep("thanks");
        else setStep(status?.wanted === true ? "ask" : "hidden");
      })
      .catch(() => current && setStep("hidden"));
    return () => {
      current = false;
    };
  }, [url, visitorToken]);

  if (step === "loading" || step === "hidden") return null;
  if (step === "thanks") {
    return (
      <p class="pw-rating-thanks" data-testid="rating-thanks" role="status">
        {t("rate_thanks")}
      </p>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    if (score === null) {
      setError(t("rate_pick"));
      return;
    }
    setStep("sending");
    setError("");
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ score, comment: comment.slice(0, MAX_COMMENT_CHARS) }),
      });
      // Rated already (another tab): the first stands, and the thanks is just as true.
      if (r.ok || r.status === 409) {
        setStep("thanks");
        return;
      }
      setError(t("rate_failed"));
    } catch {
      setError(t("rate_failed"));
    }
    setStep("ask");
  };

  const lit = hover ?? score ?? 0;
  return (
    <form class="pw-rating" data-testid="rating" onSubmit={submit} noValidate>
      <fieldset class="pw-stars-set">
        <legend class="pw-lead">{t("rate_title")}</legend>
        <div class="pw-stars" onMouseLeave={() => setHover(null)}>
          {SCORES.map((n) => (
            <span class="pw-star-wrap" key={n}>
              <input
                class="pw-star-input"
                type="radio"
                name={`pw-score-${conversationId}`}
                id={`pw-score-${n}`}
                value={String(n)}
                checked={score === n}
                onChange={() => {
                  setScore(n);
                  setError("");
                }}
              />
              <label
                for={`pw-score-${n}`}
                class={`pw-star${n <= lit ? " pw-star-on" : ""}`}
                title={t(STAR_LABEL[n])}
                onMouseEnter={() => setHover(n)}
              >
                <span aria-hidden="true">★</span>
                <span class="pw-sr">{t(STAR_LABEL[n])}</span>
              </label>
            </span>
          ))}
        </div>
      </fieldset>
      <label for="pw-rating-comment">{t("rate_comment")}</label>
      <textarea
        id="pw-rating-comment"
        rows={2}
        maxLength={MAX_COMMENT_CHARS}
        value={comment}
        onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
      />
      {error && (
        <p class="pw-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="pw-primary" disabled={step === "sending"}>
        {t("rate_send")}
      </button>
    </form>
  );
}
