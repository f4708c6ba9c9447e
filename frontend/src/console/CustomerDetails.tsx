import { Fragment, type ComponentChildren } from "preact";

import type { Conversation } from "../shared/protocol";
import { customerName, formatDateTime, STATUS_LABEL } from "./format";
import { HiddenFields } from "./HiddenFields";

/** Only http(s) pages become links: a visitor-supplied "javascript:" URL stays text. */
export function safeHref(url: string | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** The page a visitor came from: a link when it is http(s), else plain text. */
export function PageLink({ page }: { page: string }) {
  const href = safeHref(page);
  return href ? (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {page}
    </a>
  ) : (
    <>{page}</>
  );
}

/** An extra pre-chat field's label as the form showed it (chats from before labels were kept:
 * the key). */
export function fieldLabel(metadata: Conversation["metadata"], key: string): string {
  const label = metadata?.extra_labels?.[key];
  return typeof label === "string" && label.trim() ? label : key;
}

interface Props {
  conversation: Conversation;
  workgroupName?: string;
  title?: string;
  /** More about the chat below the details: a transfer's note, earlier conversations. */
  children?: ComponentChildren;
}

export function CustomerDetails({ conversation, workgroupName, title = "Customer", children }: Props) {
  const m = conversation.metadata ?? {};
  const extra = Object.entries(m.extra ?? {});
  const agents = conversation.participants.filter((p) => p.key.startsWith("user:"));
  return (
    <aside class="details" data-testid="customer-details" aria-label="Customer details">
      <h3>{title}</h3>
      <Identity conversation={conversation} />
      <dl>
        <dt>Name</dt>
        <dd>{customerName(conversation)}</dd>
        <dt>Email</dt>
        <dd>
          {m.email ? m.email : <span class="muted">Not given</span>}
          {m.email && <span class="muted"> (as typed)</span>}
        </dd>
        <dt>Question</dt>
        <dd class="prewrap">{m.question ? m.question : <span class="muted">None</span>}</dd>
        <dt>Page</dt>
        <dd class="break">
          {m.page ? <PageLink page={m.page} /> : <span class="muted">Unknown</span>}
        </dd>
        {extra.map(([key, value]) => (
          <Fragment key={key}>
            <dt>{fieldLabel(m, key)}</dt>
            <dd class="break">{value}</dd>
          </Fragment>
        ))}
        <HiddenFields metadata={m} />
        {workgroupName && (
          <>
            <dt>Workgroup</dt>
            <dd>{workgroupName}</dd>
          </>
        )}
        {agents.length > 0 && (
          <>
            <dt>Agents</dt>
            <dd>{agents.map((a) => a.name).join(", ")}</dd>
          </>
        )}
        <dt>Status</dt>
        <dd>
          {STATUS_LABEL[conversation.status] ?? conversation.status}
          {conversation.status === "ended" && conversation.end_reason
            ? ` (${conversation.end_reason})`
            : ""}
        </dd>
        <dt>Started</dt>
        <dd>
          <time dateTime={conversation.created_at}>{formatDateTime(conversation.created_at)}</time>
        </dd>
        {conversation.ended_at && (
          <>
            <dt>Ended</dt>
            <dd>
              <time dateTime={conversation.ended_at}>{formatDateTime(conversation.ended_at)}</time>
            </dd>
          </>
        )}
      </dl>
      {children}
    </aside>
  );
}

/** Whether the customer is who the company's site says (a signed identity), or just a visitor:
 * what they typed into the form is never an identity. */
export function Identity({ conversation }: { conversation: Conversation }) {
  const c = conversation.customer;
  if (!conversation.verified || !c) {
    return (
      <p class="identity" data-testid="identity" data-verified="false">
        <span class="identity-badge identity-anonymous">Not verified</span>{" "}
        <span class="muted">Anonymous visitor: name and email are as they typed them.</span>
      </p>
    );
  }
  return (
    <div class="identity" data-testid="identity" data-verified="true">
      <span class="identity-badge identity-verified">Verified</span>
      <dl>
        <dt>Customer ID</dt>
        <dd class="break" data-testid="identity-sub">
          {c.sub}
        </dd>
        {c.name && (
          <>
            <dt>Verified name</dt>
            <dd>{c.name}</dd>
          </>
        )}
        {c.email && (
          <>
            <dt>Verified email</dt>
            <dd class="break">{c.email}</dd>
          </>
        )}
      </dl>
    </div>
  );
}
