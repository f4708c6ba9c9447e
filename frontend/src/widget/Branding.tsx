// A workgroup's branding in the chat app (docs/protocol.md, "Branding the widget"): its colour
// on the header, buttons and the visitor's messages (white text: the server refuses a colour
// below 4.5:1 against white), its logo in the header, its greeting atop the pre-chat form.

import { useEffect } from "preact/hooks";

export interface Branding {
  color?: string | null;
  logo_url?: string | null;
  greeting?: string;
  position?: "right" | "left" | string;
}

const HEX = /^#[0-9a-f]{6}$/i;

/** ``hex`` darker by ``amount`` (0-1), for hover states. */
export function darken(hex: string, amount = 0.18): string {
  const n = Number.parseInt(hex.slice(1), 16);
  const part = (shift: number) =>
    Math.round(((n >> shift) & 255) * (1 - amount))
      .toString(16)
      .padStart(2, "0");
  return `#${part(16)}${part(8)}${part(0)}`;
}

/** Put the brand colour into the app's CSS variables (Parley's own blue without one). */
export function useBrandColor(color: string | null | undefined): void {
  useEffect(() => {
    const root = document.documentElement.style;
    if (color && HEX.test(color)) {
      root.setProperty("--pw-brand", color);
      root.setProperty("--pw-brand-dark", darken(color));
    } else {
      root.removeProperty("--pw-brand");
      root.removeProperty("--pw-brand-dark");
    }
  }, [color]);
}

/** The workgroup's logo in the header (decorative: the title names the workgroup). */
export function Logo({ url }: { url?: string | null }) {
  // Only Parley's own logo route: the status is the server's, but never take a URL elsewhere.
  if (!url || !url.startsWith("/api/v1/workgroups/")) return null;
  return <img class="pw-logo" src={url} alt="" data-testid="brand-logo" />;
}
