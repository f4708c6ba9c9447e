// The catalogues: every key in every language, with the same placeholders; the language picked
// from data-lang or the browser; the system lines worded from structured entries.

import { afterEach, describe, expect, it } from "vitest";

import type { Entry } from "../shared/protocol";
import { en } from "./catalogues/en";
import { CATALOGUES, language, pickLanguage, placeholders, setLanguage, t } from "./i18n";
import { unavailableText } from "./LeaveMessage";
import { reasonText, systemText, transcriptText } from "./state";

const entry = (seq: number, kind: Entry["kind"], author: string | null, body: Record<string, unknown>): Entry => ({
  seq,
  kind,
  author,
  body,
  client_id: null,
  created_at: `2026-03-02T10:15:0${seq}Z`,
});

describe("catalogues", () => {
  const keys = Object.keys(en).sort();

  it("has English and German at least", () => {
    expect(Object.keys(CATALOGUES)).toEqual(expect.arrayContaining(["en", "de"]));
  });

  for (const [code, catalogue] of Object.entries(CATALOGUES)) {
    it(`${code}: every key of the English catalogue, and no other`, () => {
      expect(Object.keys(catalogue).sort()).toEqual(keys);
      for (const key of keys) {
        const text = (catalogue as Record<string, string>)[key];
        expect(typeof text, `${code}.${key}`).toBe("string");
        expect(text.trim().length, `${code}.${key} is empty`).toBeGreaterThan(0);
      }
    });

    it(`${code}: the same placeholders as English`, () => {
      for (const key of keys) {
        const text = (catalogue as Record<string, string>)[key];
        expect(placeholders(text), `${code}.${key}`).toEqual(placeholders((en as Record<string, string>)[key]));
      }
    });
  }
});

describe("choosing the language", () => {
  afterEach(() => setLanguage("en"));

  it("takes data-lang first, then the browser's languages, else English", () => {
    expect(pickLanguage("de", ["en-US"])).toBe("de");
    expect(pickLanguage("DE-at", [])).toBe("de");
    expect(pickLanguage(null, ["fr-FR", "de-CH", "en"])).toBe("de");
    expect(pickLanguage("", ["en-GB", "de"])).toBe("en");
    expect(pickLanguage("xx", ["yy"])).toBe("en");
    expect(pickLanguage(undefined)).toBe("en");
  });

  it("words the widget, its system lines and the transcript in German", () => {
    setLanguage("de");
    expect(language()).toBe("de");
    expect(document.documentElement.lang).toBe("de");
    expect(t("start_chat")).toBe("Chat starten");
    expect(t("queue_position", { n: 3 })).toBe("Sie sind Nummer 3 in der Warteschlange");
    const log = [
      entry(1, "queued", null, { workgroup_id: 1 }),
      entry(2, "joined", "user:1", { name: "Alice", role: "agent" }),
      entry(3, "joined", "user:2", { name: "Bob", role: "agent" }),
      entry(4, "left", "user:1", { name: "Alice", role: "agent" }),
      entry(5, "ended", "visitor", { reason: "expired" }),
    ];
    expect(log.map((e) => systemText(e, null, log))).toEqual([
      null,
      "Alice ist dem Chat beigetreten",
      "Sie chatten jetzt mit Bob",
      "Alice hat den Chat verlassen",
      "Chat beendet",
    ]);
    expect(reasonText("cancelled")).toBe("Sie haben die Warteschlange verlassen.");
    expect(unavailableText("no_agents")).toBe("Gerade ist niemand erreichbar.");
    const text = transcriptText(null, log, t("transcript_title"), (iso) => iso.slice(11, 19));
    expect(text).toContain("Chatverlauf\n");
    expect(text).toContain("[10:15:05] Chat beendet (Leider konnte niemand rechtzeitig antworten.");
  });

  it("fills placeholders and leaves unknown ones", () => {
    expect(t("typing", { name: "<b>Bob</b>" })).toBe("<b>Bob</b> is typing…"); // Preact escapes it
    expect(t("typing")).toBe("{name} is typing…");
  });
});
