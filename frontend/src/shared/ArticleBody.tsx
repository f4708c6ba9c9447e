// The one place a Parley front end puts HTML into the page: a knowledge-base article's body.
// The server renders the Markdown and sanitizes it with nh3 when the article is saved
// (parley/markup.py); this component parses it again with the browser's own parser (inert: a
// <template>, nothing runs or loads) and keeps only the same allowlist, so that HTML stored by
// an older, laxer version could not do more either. docs/security.md, "Knowledge-base HTML".

import { useMemo } from "preact/hooks";

export const ALLOWED_TAGS = new Set([
  "P", "BR", "HR", "H1", "H2", "H3", "H4", "H5", "H6", "STRONG", "EM", "DEL", "S", "CODE", "PRE",
  "BLOCKQUOTE", "UL", "OL", "LI", "A", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD",
]);
const ALLOWED_ATTRIBUTES: Record<string, Set<string>> = {
  A: new Set(["href", "title"]),
  OL: new Set(["start"]),
  TH: new Set(["align"]),
  TD: new Set(["align"]),
};
/** Dropped with everything inside them; any other unknown element keeps its text. */
const DROPPED = new Set(["SCRIPT", "STYLE", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH", "TEMPLATE", "NOSCRIPT"]);

function safeLink(href: string): boolean {
  try {
    const url = new URL(href);
    return url.protocol === "https:" || url.protocol === "http:" || url.protocol === "mailto:";
  } catch {
    return false; // relative links are not kept either
  }
}

function clean(node: Node): void {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === Node.TEXT_NODE) continue;
    if (child.nodeType !== Node.ELEMENT_NODE) {
      child.remove(); // comments, processing instructions
      continue;
    }
    const el = child as Element;
    const tag = el.tagName.toUpperCase();
    if (DROPPED.has(tag)) {
      el.remove();
      continue;
    }
    clean(el);
    if (!ALLOWED_TAGS.has(tag)) {
      el.replaceWith(...Array.from(el.childNodes));
      continue;
    }
    const allowed = ALLOWED_ATTRIBUTES[tag] ?? new Set<string>();
    for (const attr of Array.from(el.attributes)) {
      if (!allowed.has(attr.name.toLowerCase())) el.removeAttribute(attr.name);
    }
    if (tag === "A") {
      const href = el.getAttribute("href");
      if (href !== null && !safeLink(href)) el.removeAttribute("href");
      el.setAttribute("target", "_blank");
      el.setAttribute("rel", "noopener noreferrer nofollow");
    }
  }
}

/** ``html`` with only the allowlist left (tags, attributes, http(s)/mailto links). */
export function sanitizeArticleHtml(html: string): string {
  const template = document.createElement("template");
  template.innerHTML = html;
  clean(template.content);
  const holder = document.createElement("div");
  holder.append(template.content);
  return holder.innerHTML;
}

export function ArticleBody({ html, class: className = "article-body" }: { html: string; class?: string }) {
  const safe = useMemo(() => sanitizeArticleHtml(html), [html]);
  // The one use of dangerouslySetInnerHTML in the front ends: sanitized twice, above.
  return <div class={className} data-testid="article-body" dangerouslySetInnerHTML={{ __html: safe }} />;
}
