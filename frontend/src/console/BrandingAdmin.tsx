// Admin: how a workgroup's chat widget looks on the company's site (its colour, checked for
// contrast against the widget's white text; its logo; the greeting; the corner), with a preview,
// and the copy-ready embed snippet (EmbedSnippet).

import { useEffect, useState } from "preact/hooks";

import type { Workgroup } from "./api";
import {
  type Branding,
  BrandingApi,
  contrastRatio,
  DEFAULT_COLOR,
  MAX_GREETING_CHARS,
  MIN_CONTRAST,
  normaliseColor,
  TEXT_ON_BRAND,
} from "./brandingApi";
import { EmbedSnippet } from "./EmbedSnippet";
import { message } from "./PastChats";

interface Draft {
  color: string; // "" for Parley's own
  greeting: string;
  position: "right" | "left";
}

const draftOf = (b: Partial<Branding>): Draft => ({
  color: b.color ?? "",
  greeting: b.greeting ?? "",
  position: b.position === "left" ? "left" : "right",
});

/** What the colour field says: Parley's own, not a colour, too light (with the ratio), fine. */
export function colorVerdict(value: string): { ok: boolean; text: string } {
  if (!value.trim()) return { ok: true, text: "Parley's own blue." };
  const color = normaliseColor(value);
  if (!color) return { ok: false, text: "Write the colour as #rrggbb, e.g. #1f6b45." };
  const ratio = contrastRatio(color, TEXT_ON_BRAND);
  const shown = (Math.floor(ratio * 100) / 100).toFixed(2);
  return ratio < MIN_CONTRAST
    ? { ok: false, text: `Too light: white text on it has a contrast of ${shown}:1, the widget needs ${MIN_CONTRAST}:1. Choose a darker colour.` }
    : { ok: true, text: `White text on it: ${shown}:1 (at least ${MIN_CONTRAST}:1 needed).` };
}

export function BrandingAdmin({ workgroups }: { workgroups: Workgroup[] }) {
  const [slug, setSlug] = useState("");
  const [saved, setSaved] = useState<Branding | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const current = slug || workgroups[0]?.slug || "";

  useEffect(() => {
    if (!current) return;
    let live = true;
    setDraft(null);
    setError("");
    setNotice("");
    BrandingApi.get(current).then(
      (b) => {
        if (!live) return;
        setSaved(b);
        setDraft(draftOf(b));
      },
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [current]);

  const set = (patch: Partial<Draft>) => setDraft((d) => (d ? { ...d, ...patch } : d));
  const run = async (work: () => Promise<Branding>, done: string) => {
    setBusy(true);
    setNotice("");
    try {
      const b = await work();
      setSaved(b);
      setDraft(draftOf(b));
      setError("");
      setNotice(done);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const save = (event: Event) => {
    event.preventDefault();
    if (!draft) return;
    void run(
      () => BrandingApi.set(current, { color: draft.color.trim() || null, greeting: draft.greeting, position: draft.position }),
      `Saved the branding of ${current}.`,
    );
  };
  const upload = (file: File | undefined) => {
    if (file) void run(() => BrandingApi.uploadLogo(current, file), "Logo uploaded.");
  };

  const verdict = colorVerdict(draft?.color ?? "");
  const preview = (draft && normaliseColor(draft.color)) || DEFAULT_COLOR;

  return (
    <section class="admin-section" aria-labelledby="branding-heading">
      <h2 id="branding-heading">Widget branding and embedding</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form class="card branding-form" onSubmit={save} aria-label="Widget branding">
        <div class="field">
          <label for="branding-wg">Workgroup to brand</label>
          <select id="branding-wg" value={current} onChange={(e) => setSlug(e.currentTarget.value)}>
            {workgroups.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        {draft && saved && (
          <>
            <div class="field">
              <label for="branding-color">Brand colour</label>
              <div class="inline-form">
                <input
                  id="branding-color"
                  maxLength={7}
                  placeholder={DEFAULT_COLOR}
                  value={draft.color}
                  aria-describedby="branding-color-verdict"
                  aria-invalid={!verdict.ok}
                  onInput={(e) => set({ color: e.currentTarget.value })}
                />
                <input
                  type="color"
                  aria-label="Pick the brand colour"
                  value={normaliseColor(draft.color) ?? DEFAULT_COLOR}
                  onInput={(e) => set({ color: e.currentTarget.value })}
                />
              </div>
              <small id="branding-color-verdict" class={verdict.ok ? "muted" : "error"} data-testid="contrast-verdict">
                {verdict.text}
              </small>
            </div>
            <div class="field">
              <label for="branding-greeting">Greeting</label>
              <textarea
                id="branding-greeting"
                rows={2}
                maxLength={MAX_GREETING_CHARS}
                placeholder="Hi! Tell us a little about yourself and we'll connect you."
                value={draft.greeting}
                onInput={(e) => set({ greeting: e.currentTarget.value })}
              />
              <small class="muted">The first line of the chat form; empty: the widget's own, in the visitor's language.</small>
            </div>
            <fieldset class="field">
              <legend>Corner of the page</legend>
              <label class="check">
                <input type="radio" name="branding-position" checked={draft.position === "right"} onChange={() => set({ position: "right" })} />
                Bottom right
              </label>
              <label class="check">
                <input type="radio" name="branding-position" checked={draft.position === "left"} onChange={() => set({ position: "left" })} />
                Bottom left
              </label>
            </fieldset>
            <div class="branding-preview" aria-hidden="true" style={{ background: preview }}>
              {saved.logo_url && <img src={saved.logo_url} alt="" />}
              <span>Chat with {workgroups.find((w) => w.slug === current)?.name ?? current}</span>
            </div>
            <button type="submit" class="primary" disabled={busy || !verdict.ok}>
              Save branding
            </button>
          </>
        )}
      </form>
      {draft && saved && (
        <div class="card">
          <div class="field">
            <label for="branding-logo">Logo (PNG, JPEG, WebP or GIF, up to 2 MB)</label>
            <input
              id="branding-logo"
              type="file"
              accept="image/png,image/jpeg,image/webp,image/gif"
              disabled={busy}
              onChange={(e) => upload(e.currentTarget.files?.[0])}
            />
            <small class="muted">Shown in the widget's header, at most 480 × 160; the server redraws it from its pixels.</small>
          </div>
          {saved.logo_url ? (
            <div class="row-actions">
              <img class="branding-logo" src={saved.logo_url} alt={`Logo of ${current}`} data-testid="branding-logo" />
              <button type="button" class="danger" disabled={busy} onClick={() => void run(() => BrandingApi.deleteLogo(current), "Logo removed.")}>
                Remove logo
              </button>
            </div>
          ) : (
            <p class="muted">No logo.</p>
          )}
        </div>
      )}
      {current && <EmbedSnippet key={current} slug={current} />}
    </section>
  );
}
