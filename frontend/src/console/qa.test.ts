import { describe, expect, it } from "vitest";

import { previewScore, type Scorecard } from "./qaApi";
import { toTranscriptQuery } from "./Qa";
import { shopperLinkOf } from "../widget/Shopper";

const card: Scorecard = {
  id: 1,
  name: "Chat QA",
  purpose: "review",
  active: true,
  categories: [
    { key: "greeting", name: "Greeting", weight: 1, scale: 5, critical: false },
    { key: "accuracy", name: "Accuracy", weight: 3, scale: 5, critical: false },
    { key: "privacy", name: "Privacy", weight: 1, scale: 4, critical: true },
  ],
};

describe("the review's score preview (as domain/qa.py computes it)", () => {
  it("weighs each category's share of its scale", () => {
    expect(previewScore(card, { greeting: 5, accuracy: 2, privacy: 4 })).toBe(64);
  });
  it("is 0 when a critical category is below half its scale, not at half", () => {
    expect(previewScore(card, { greeting: 5, accuracy: 5, privacy: 1 })).toBe(0);
    expect(previewScore(card, { greeting: 5, accuracy: 5, privacy: 2 })).toBe(90);
  });
  it("waits for every category, scored in range", () => {
    expect(previewScore(card, { greeting: 5, accuracy: 2 })).toBeNull();
    expect(previewScore(card, { greeting: 6, accuracy: 2, privacy: 4 })).toBeNull();
  });
});

describe("the transcript search form", () => {
  const empty = { words: "", workgroup: "", agent: "", outcome: "", tag: "", ratingMin: "", ratingMax: "", shopper: "", from: "", to: "" };
  it("sends only what is set", () => {
    expect(toTranscriptQuery(empty)).toEqual({ query: {} });
    expect(toTranscriptQuery({ ...empty, workgroup: "sales", ratingMin: "4", shopper: "no", tag: " vip " })).toEqual({
      query: { workgroups: ["sales"], rating_min: 4, shopper: false, tag: "vip" },
    });
  });
  it("refuses a range that ends before it starts", () => {
    expect(toTranscriptQuery({ ...empty, from: "2026-12-04", to: "2026-12-01" })).toEqual({
      error: "The last day is before the first.",
    });
  });
});

describe("a shopper link in a fragment", () => {
  it("is found among the fragment's parameters", () => {
    expect(shopperLinkOf("#identity=x&shopper=abc.def")).toBe("abc.def");
    expect(shopperLinkOf("#identity=x")).toBeNull();
    expect(shopperLinkOf("")).toBeNull();
  });
});
