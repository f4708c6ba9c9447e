// The copy-ready embed snippet of a workgroup: the launcher's script tag with Parley's public
// address, the workgroup's slug and, if chosen, the widget's language; a copy button; and the
// reminder that the company's site must be allowed to embed it (--allowed-origin).

import { useEffect, useRef, useState } from "preact/hooks";

import { BrandingApi, type Embed, embedSnippet } from "./brandingApi";

const LANGUAGES: [string, string][] = [
  ["", "The visitor's browser decides"],
  ["en", "English"],
  ["de", "German"],
];

export function EmbedSnippet({ slug }: { slug: string }) {
  const [embed, setEmbed] = useState<Embed | null>(null);
  const [lang, setLang] = useState("");
  const [copied, setCopied] = useState("");
  const box = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    let live = true;
    BrandingApi.embed().then(
      (e) => live && setEmbed({ public_url: e?.public_url ?? null, allowed_origins: Array.isArray(e?.allowed_origins) ? e.allowed_origins : [] }),
      () => live && setEmbed({ public_url: null, allowed_origins: [] }),
    );
    return () => {
      live = false;
    };
  }, []);

  const server = embed?.public_url || location.origin;
  const snippet = embedSnippet(server, slug, lang);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(snippet);
      setCopied("Copied to the clipboard.");
    } catch {
      // No clipboard access (an http page, a refusal): select it for Ctrl+C.
      box.current?.select();
      setCopied("Selected: press Ctrl+C (⌘C) to copy.");
    }
  };

  return (
    <div class="card embed" data-testid="embed-snippet">
      <h3 id={`embed-${slug}`}>Embed the chat on your site</h3>
      <p class="muted">
        Put this tag on every page of your site that should show the chat button, just before{" "}
        <code>&lt;/body&gt;</code>. Hidden fields go in <code>data-field-…</code> attributes (see the operations guide).
      </p>
      <div class="field">
        <label for={`embed-lang-${slug}`}>Widget language</label>
        <select id={`embed-lang-${slug}`} value={lang} onChange={(e) => setLang(e.currentTarget.value)}>
          {LANGUAGES.map(([code, name]) => (
            <option key={code} value={code}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <textarea
        ref={box}
        class="snippet"
        readOnly
        rows={3}
        aria-labelledby={`embed-${slug}`}
        data-testid="embed-code"
        value={snippet}
        onFocus={(e) => e.currentTarget.select()}
      />
      <div class="row-actions">
        <button type="button" class="primary" onClick={copy}>
          Copy snippet
        </button>
        {copied && (
          <span class="notice" role="status">
            {copied}
          </span>
        )}
      </div>
      <p class="muted" data-testid="embed-origins">
        {embed && embed.allowed_origins.length > 0 ? (
          <>Sites allowed to embed it now: {embed.allowed_origins.join(", ")}. </>
        ) : (
          <strong>No company site is allowed to embed the chat yet. </strong>
        )}
        Start Parley with <code>--allowed-origin https://www.example.com</code> (or{" "}
        <code>PARLEY_ALLOWED_ORIGINS</code>) for each site that embeds it, else browsers refuse to show the chat
        there.
        {!embed?.public_url && (
          <> The address above is the one you reach this console at; set <code>--public-url</code> if visitors reach Parley elsewhere.</>
        )}
      </p>
    </div>
  );
}
