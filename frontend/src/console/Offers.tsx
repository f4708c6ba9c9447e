import { useEffect, useRef, useState } from "preact/hooks";

import type { ServerMessage } from "../shared/protocol";
import { fieldLabel, PageLink } from "./CustomerDetails";
import { HiddenFields } from "./HiddenFields";
import { useNow } from "./hooks";
import { secondsLeft, type OfferState } from "./state";

interface Props {
  offers: OfferState[];
  workgroupName: (id: number | null) => string | undefined;
  request: (message: Record<string, unknown>) => Promise<ServerMessage>;
  onAccepted: (conversationId: string) => void;
}

/** Whether the focus is in a text field holding text (a reply being written). */
function typingSomething(): boolean {
  const el = document.activeElement as HTMLInputElement | HTMLTextAreaElement | null;
  if (!el || !("value" in el)) return false;
  const tag = el.tagName.toLowerCase();
  return (tag === "textarea" || tag === "input") && el.value.trim() !== "";
}

export function Offers({ offers, workgroupName, request, onAccepted }: Props) {
  const now = useNow(250, offers.length > 0);
  if (!offers.length) return null;
  return (
    <section class="offers" aria-label="Chat offers">
      {offers.map((o) => (
        <OfferCard
          key={o.offer.offer_id}
          offer={o}
          left={secondsLeft(o, now)}
          workgroup={workgroupName(o.offer.workgroup_id)}
          request={request}
          onAccepted={onAccepted}
        />
      ))}
    </section>
  );
}

function OfferCard({
  offer,
  left,
  workgroup,
  request,
  onAccepted,
}: {
  offer: OfferState;
  left: number;
  workgroup: string | undefined;
  request: Props["request"];
  onAccepted: Props["onAccepted"];
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const accept = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    // A new offer takes the keyboard, unless the agent is in the middle of typing something.
    if (!typingSomething()) accept.current?.focus();
  }, []);
  const m = offer.offer.metadata ?? {};
  const transfer = offer.offer.transfer ?? null;
  const name = m.name?.trim() || "Visitor";
  const headingId = `offer-${offer.offer.offer_id.replace(/[^a-zA-Z0-9_-]/g, "-")}`;

  const answer = async (type: "accept_offer" | "decline_offer") => {
    setBusy(true);
    setError("");
    const reply = await request({ type, offer_id: offer.offer.offer_id });
    setBusy(false);
    if (reply.type === "error") {
      setError(`${reply.message} (${reply.code})`);
    } else if (type === "accept_offer") {
      onAccepted(offer.offer.conversation_id);
    }
  };

  return (
    <article class="offer" data-testid="offer" aria-labelledby={headingId}>
      <header class="offer-head">
        <h2 id={headingId}>
          <span class="offer-kicker">
            {transfer ? "Transferred chat" : "New chat"}
            {workgroup ? ` · ${workgroup}` : ""}
          </span>
          <span class="offer-name">{name}</span>
          <span class={`tag${offer.offer.verified ? " tag-verified" : ""}`} data-testid="offer-identity">
            {offer.offer.verified ? "verified" : "not verified"}
          </span>
        </h2>
        <div class={`countdown${left <= 5 ? " urgent" : ""}`} aria-live="off">
          <span data-testid="offer-countdown">{left}</span>
          <span class="countdown-unit">s left</span>
        </div>
      </header>
      {transfer && (
        <div class="offer-transfer" data-testid="offer-transfer">
          <p class="offer-transfer-from">Transfer from {transfer.from_name || "a colleague"}</p>
          {transfer.note && (
            <p class="offer-transfer-note prewrap" data-testid="offer-transfer-note">
              {transfer.note}
            </p>
          )}
        </div>
      )}
      {(offer.offer.queue_name || offer.offer.broadcast) && (
        <p class="offer-route">
          {offer.offer.queue_name && (
            <span data-testid="offer-queue">Queue: {offer.offer.queue_name}</span>
          )}
          {offer.offer.broadcast && (
            <span class="offer-broadcast" data-testid="offer-broadcast">
              offered to several agents
            </span>
          )}
        </p>
      )}
      <dl class="offer-fields">
        {m.email && (
          <>
            <dt>Email</dt>
            <dd>{m.email}</dd>
          </>
        )}
        {m.question && (
          <>
            <dt>Question</dt>
            <dd class="prewrap">{m.question}</dd>
          </>
        )}
        {m.page && (
          <>
            <dt>Page</dt>
            <dd class="break">
              <PageLink page={m.page} />
            </dd>
          </>
        )}
        {Object.entries(m.extra ?? {}).map(([k, v]) => (
          <div class="offer-extra" key={k}>
            <dt>{fieldLabel(m, k)}</dt>
            <dd class="break">{v}</dd>
          </div>
        ))}
        <HiddenFields metadata={m} />
        {workgroup && (
          <>
            <dt>Workgroup</dt>
            <dd>{workgroup}</dd>
          </>
        )}
      </dl>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="offer-actions">
        <button
          type="button"
          class="primary"
          data-testid="offer-accept"
          ref={accept}
          disabled={busy}
          onClick={() => answer("accept_offer")}
          aria-keyshortcuts="Alt+A"
        >
          Accept
        </button>
        <button type="button" disabled={busy} onClick={() => answer("decline_offer")}>
          Decline
        </button>
      </div>
    </article>
  );
}
