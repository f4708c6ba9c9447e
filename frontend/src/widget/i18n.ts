// The widget's words, from a catalogue per language (catalogues/*.ts). The language is chosen
// once when the app starts: the launcher's data-lang (passed as ?lang=), else the first of the
// browser's languages that has a catalogue, else English. Everything the widget writes goes
// through t(), including the log's system lines, which the server sends as structured entries
// (joined, left, ended with a reason) and the widget words here.

import { de } from "./catalogues/de";
import { type Catalogue, type Key, en } from "./catalogues/en";

export type { Key } from "./catalogues/en";

export const CATALOGUES: Record<string, Catalogue> = { en, de };
export type Lang = keyof typeof CATALOGUES;

let lang = "en";
let words: Catalogue = en;

/** The language for `wanted` (data-lang), else for the browser's `languages`: "de-AT" → "de". */
export function pickLanguage(wanted: string | null | undefined, languages: readonly string[] = []): string {
  for (const tag of [wanted ?? "", ...languages]) {
    const base = tag.trim().toLowerCase().split(/[-_]/)[0];
    if (base && base in CATALOGUES) return base;
  }
  return "en";
}

export function setLanguage(code: string): void {
  lang = code in CATALOGUES ? code : "en";
  words = CATALOGUES[lang];
  if (typeof document !== "undefined") document.documentElement.lang = lang;
}

export function language(): string {
  return lang;
}

/** The words for `key`, with {placeholders} filled in (missing ones stay as they are). */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  const text = words[key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The {placeholders} a catalogue's text uses, for the catalogue test. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}
