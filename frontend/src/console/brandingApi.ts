// REST calls of the widget's branding (docs/protocol.md, "Branding the widget"): a workgroup's
// colour, greeting, corner and logo (admins), and what the embed snippet needs. The contrast
// check mirrors the server's (domain/branding.py), to say so while the admin picks a colour;
// the server checks again and refuses below 4.5:1 (low_contrast).

import { api, ApiError, csrfHeaders } from "./api";

const enc = encodeURIComponent;

export interface Branding {
  color: string | null;
  logo_url: string | null;
  greeting: string;
  position: "right" | "left";
}

export interface Embed {
  public_url: string | null;
  allowed_origins: string[];
}

/** The text colour the widget puts on the brand colour, and the ratio it needs (WCAG AA). */
export const TEXT_ON_BRAND = "#ffffff";
export const MIN_CONTRAST = 4.5;
export const MAX_GREETING_CHARS = 300;
export const DEFAULT_COLOR = "#2251d1";

export const BrandingApi = {
  get: (slug: string) => api<Branding>("GET", `/admin/workgroups/${enc(slug)}/branding`),
  set: (slug: string, body: { color: string | null; greeting: string; position: string }) =>
    api<Branding>("PUT", `/admin/workgroups/${enc(slug)}/branding`, body),
  deleteLogo: (slug: string) => api<Branding>("DELETE", `/admin/workgroups/${enc(slug)}/logo`),
  embed: () => api<Embed>("GET", "/admin/embed"),
  /** The image file as the raw body; the server decodes and re-encodes it. */
  async uploadLogo(slug: string, file: Blob): Promise<Branding> {
    let response: Response;
    try {
      response = await fetch(`/api/v1/admin/workgroups/${enc(slug)}/logo`, {
        method: "PUT",
        headers: { Accept: "application/json", "Content-Type": "application/octet-stream", ...csrfHeaders() },
        credentials: "same-origin",
        body: file,
      });
    } catch {
      throw new ApiError(0, "network", "The server could not be reached. Check your connection.");
    }
    const data = (await response.json().catch(() => null)) as
      | (Branding & { error?: { code?: string; message?: string } })
      | null;
    if (!response.ok) {
      throw new ApiError(response.status, data?.error?.code ?? "http_error", data?.error?.message ?? `HTTP ${response.status}`);
    }
    return data as Branding;
  },
};

/** ``#rrggbb`` from ``#rgb`` or ``#rrggbb`` (any case), else null. */
export function normaliseColor(value: string): string | null {
  const text = value.trim();
  if (/^#[0-9a-f]{6}$/i.test(text)) return text.toLowerCase();
  if (/^#[0-9a-f]{3}$/i.test(text)) return `#${[...text.slice(1)].map((c) => c + c).join("")}`.toLowerCase();
  return null;
}

function luminance(hex: string): number {
  const channel = (i: number) => {
    const s = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG 2's contrast ratio of two ``#rrggbb`` colours, 1 to 21. */
export function contrastRatio(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** The embed snippet for a workgroup: the script tag, with data-lang when one is chosen. */
export function embedSnippet(server: string, slug: string, lang = ""): string {
  const base = server.replace(/\/+$/, "");
  const attr = (v: string) => v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return `<script src="${attr(base)}/widget.js" data-workgroup="${attr(slug)}"${lang ? ` data-lang="${attr(lang)}"` : ""} async></script>`;
}
