// What the company's page passed with a chat request, for the agent: its hidden fields
// (data-field-*, Parley.setFields), labelled from their keys, and the page that brought the
// visitor there. Not verified (anyone can change them in the browser), and apart from what the
// visitor typed into the form. Rendered inside a <dl>.

import { Fragment } from "preact";

import type { ChatMetadata } from "../shared/protocol";
import { PageLink } from "./CustomerDetails";

/** "order_number" → "Order number". */
export function fieldLabel(key: string): string {
  const words = key.replace(/_+/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : key;
}

export function HiddenFields({ metadata }: { metadata: ChatMetadata }) {
  const fields = Object.entries(metadata.fields ?? {});
  return (
    <>
      {metadata.referrer && (
        <>
          <dt>Came from</dt>
          <dd class="break" data-testid="referrer">
            <PageLink page={metadata.referrer} />
          </dd>
        </>
      )}
      {fields.length > 0 && (
        <>
          <dt>
            From the website <span class="muted">(not verified)</span>
          </dt>
          <dd data-testid="hidden-fields">
            <dl class="hidden-fields">
              {fields.map(([key, value]) => (
                <Fragment key={key}>
                  <dt data-testid="hidden-field" data-key={key}>
                    {fieldLabel(key)}
                  </dt>
                  <dd class="break">{value}</dd>
                </Fragment>
              ))}
            </dl>
          </dd>
        </>
      )}
    </>
  );
}
