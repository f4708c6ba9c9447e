import { describe, expect, it } from "vitest";

import { highlightParts, matches, queryWords, snippetParts } from "./highlight";

const marked = (parts: { text: string; mark: boolean }[]) => parts.filter((p) => p.mark).map((p) => p.text);

describe("archive search highlights", () => {
  it("folds the query as the server does: words, lower case, accents off, at most 16", () => {
    expect(queryWords("Garantie, GUARANTÉE  refund!")).toEqual(["garantie", "guarantee", "refund"]);
    expect(queryWords("\"'*")).toEqual([]);
    expect(queryWords(Array.from({ length: 20 }, (_, i) => `w${i}`).join(" "))).toHaveLength(16);
  });

  it("marks whole words whatever their case and accents, at their place in the original", () => {
    const text = "Can you give a Guarantée? guarantees are not a guarantee.";
    const parts = highlightParts(text, queryWords("guarantee"));
    expect(marked(parts)).toEqual(["Guarantée", "guarantee"]); // not "guarantees"
    expect(parts.map((p) => p.text).join("")).toBe(text);
    // A decomposed accent stays inside its mark; an emoji before it does not shift offsets.
    const decomposed = "😀 cafe\u0301 now";
    expect(marked(highlightParts(decomposed, queryWords("CAFÉ")))).toEqual(["cafe\u0301"]);
    expect(marked(highlightParts("Straße", queryWords("strasse")))).toEqual(["Straße"]);
  });

  it("keeps markup as plain text parts (rendered as text, never HTML)", () => {
    const text = "<b>refund</b> <img src=x onerror=alert(1)>";
    const parts = highlightParts(text, queryWords("refund"));
    expect(parts).toEqual([
      { text: "<b>", mark: false },
      { text: "refund", mark: true },
      { text: "</b> <img src=x onerror=alert(1)>", mark: false },
    ]);
    expect(matches(text, [])).toEqual([]);
  });

  it("cuts a long text to a snippet around the first match, without cutting words", () => {
    const text = `${"lorem ipsum ".repeat(30)}the refund arrived ${"dolor sit ".repeat(30)}`;
    const parts = snippetParts(text, queryWords("refund"), 30);
    const shown = parts.map((p) => p.text).join("");
    expect(parts[0]).toEqual({ text: "…", mark: false });
    expect(parts[parts.length - 1]).toEqual({ text: "…", mark: false });
    expect(marked(parts)).toEqual(["refund"]);
    expect(shown.length).toBeLessThan(120);
    expect(shown).toMatch(/^…(lorem|ipsum) /);
    // Short: the whole text; no match: the start.
    expect(snippetParts("a refund", ["refund"]).map((p) => p.text).join("")).toBe("a refund");
    expect(snippetParts(text, ["nothing"], 30)[0].text.startsWith("lorem")).toBe(true);
  });
});
