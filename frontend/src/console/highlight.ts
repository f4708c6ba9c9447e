// Highlights for archive search results, built from offsets into the text (never HTML): the
// words of the query as the server matches them (whole words, case and accents folded; see
// `words_of` in src/parley/storage/archive.py), found in the hit's text, and a snippet around
// the first one. The caller renders `mark` parts in <mark> and the rest as text.

/** The most words a search uses (the server's `MAX_WORDS`). */
const MAX_WORDS = 16;
const WORD = /[\p{L}\p{N}_]+/gu;
const MARKS = /\p{M}/gu;

export interface Part {
  text: string;
  mark: boolean;
}

/** One character as the server's index folds it: lower case, accents off. */
function foldChar(ch: string): string {
  return ch.toLowerCase().replace(/ß/g, "ss").normalize("NFKD").replace(MARKS, "");
}

/** `text` folded, with where each folded code unit came from in `text`. */
function folded(text: string): { text: string; from: number[]; to: number[] } {
  let out = "";
  const from: number[] = [];
  const to: number[] = [];
  let i = 0;
  for (const ch of text) {
    const f = foldChar(ch);
    for (let k = 0; k < f.length; k++) {
      from.push(i);
      to.push(i + ch.length);
    }
    out += f;
    i += ch.length;
  }
  return { text: out, from, to };
}

/** The words of a query, folded, at most 16, each once. */
export function queryWords(query: string): string[] {
  const words = folded(query).text.match(WORD) ?? [];
  return [...new Set(words.slice(0, MAX_WORDS))];
}

/** Where the words occur in `text`, as [start, end) offsets into `text`, in order. */
export function matches(text: string, words: string[]): [number, number][] {
  if (!words.length) return [];
  const wanted = new Set(words);
  const f = folded(text);
  const found: [number, number][] = [];
  for (const m of f.text.matchAll(WORD)) {
    if (!wanted.has(m[0])) continue;
    const start = f.from[m.index];
    let end = f.to[m.index + m[0].length - 1];
    while (end < text.length && /\p{M}/u.test(text[end])) end++; // a decomposed accent
    const last = found[found.length - 1];
    if (last && start < last[1]) continue;
    found.push([start, end]);
  }
  return found;
}

/** `text` cut into plain and marked parts. */
export function highlightParts(text: string, words: string[]): Part[] {
  return split(text, matches(text, words), 0, text.length);
}

function split(text: string, spans: [number, number][], from: number, to: number): Part[] {
  const parts: Part[] = [];
  let at = from;
  for (const [start, end] of spans) {
    if (end <= from || start >= to) continue;
    const s = Math.max(start, from);
    const e = Math.min(end, to);
    if (s > at) parts.push({ text: text.slice(at, s), mark: false });
    parts.push({ text: text.slice(s, e), mark: true });
    at = e;
  }
  if (at < to) parts.push({ text: text.slice(at, to), mark: false });
  return parts;
}

/**
 * A snippet of `text` around its first match (the whole text when short), with marks; `…`
 * where it was cut. `radius`: characters kept on each side of the first match.
 */
export function snippetParts(text: string, words: string[], radius = 80): Part[] {
  const spans = matches(text, words);
  if (text.length <= radius * 2 + 40) return split(text, spans, 0, text.length);
  const first = spans[0] ?? [0, 0];
  let from = Math.max(0, first[0] - radius);
  let to = Math.min(text.length, first[1] + radius);
  if (!spans.length) to = Math.min(text.length, radius * 2);
  // Do not cut a word, nor a surrogate pair, in two.
  while (from > 0 && from > first[0] - radius - 15 && /\S/.test(text[from - 1])) from--;
  while (to < text.length && to < first[1] + radius + 15 && /\S/.test(text[to])) to++;
  if (from > 0 && /[\uDC00-\uDFFF]/.test(text[from])) from--;
  if (to < text.length && /[\uDC00-\uDFFF]/.test(text[to])) to++;
  const parts = split(text, spans, from, to);
  if (from > 0) parts.unshift({ text: "…", mark: false });
  if (to < text.length) parts.push({ text: "…", mark: false });
  return parts;
}
