import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { setFetcher } from "./api";
import { bars, defaultRange, rangeProblem, show } from "./reports";
import { Reports } from "./Reports";
import type { Numbers, Report } from "./reportsApi";

const EVIL = "<img src=x onerror=alert(1)>";
let root: HTMLElement;
const calls: string[] = [];
let answer: (url: string) => Response;

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls.length = 0;
  setFetcher(async (input) => {
    const url = String(input).replace("/api/v1", "");
    calls.push(url);
    return answer(url);
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
});

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
const flush = async () => {
  for (let i = 0; i < 6; i++) await act(async () => await Promise.resolve());
};

function numbers(over: Partial<Numbers> = {}): Numbers {
  const zero = {
    requests: 0, answered: 0, abandoned: 0, expired: 0, left: 0, left_messages: 0,
    abandoned_after_target: 0, abandoned_wait_avg_secs: null, answered_in_target: 0,
    service_level: null, wait_avg_secs: null, wait_p90_secs: null, missed_offers: 0, chats: 0,
    handle_avg_secs: null, slot_handle_avg_secs: null, first_response_avg_secs: null,
    transfers: 0, barge_ins: 0, take_overs: 0, outcome_chats: 0, escalated: 0, escalation_rate: null, resolved: 0, fcr: 0,
    fcr_rate: null, fcr_pending: 0, fcr_matched_sub: 0, fcr_matched_email: 0, fcr_unmatched: 0,
    ratings: 0, rating_avg: null, rating_high_share: null,
  };
  return { ...zero, ...over };
}

const REPORT: Report = {
  workgroup: { slug: "sales", name: "Sales" },
  timezone: "Europe/Paris",
  timezone_source: "business_hours",
  from: "2026-03-01",
  to: "2026-03-02",
  granularity: "day",
  start: "2026-02-28T23:00:00+00:00",
  end: "2026-03-02T23:00:00+00:00",
  at: "2026-03-03T08:00:00+00:00",
  queue: null,
  agent: null,
  settings: { sl_target_secs: 45, fcr_window_hours: 72 },
  columns: [],
  rows: [
    { period: "2026-03-01", start: "2026-02-28T23:00:00+00:00", ...numbers({ requests: 10, answered: 8, service_level: 0.75 }) },
    { period: "2026-03-02", start: "2026-03-01T23:00:00+00:00", ...numbers({ requests: 5, answered: 5, service_level: 1 }) },
  ],
  total: numbers({ requests: 15, answered: 13, service_level: 0.8666, wait_avg_secs: 75 }),
  agents: [{ user_id: 7, name: EVIL, ...numbers({ answered: 13 }) }],
  presence: [{ user_id: 7, name: EVIL, available_secs: 3600, away_secs: 90, busy_secs: 0, offline_secs: 0 }],
  queues: [{ id: 1, name: "default" }],
  members: [{ user_id: 7, name: EVIL }],
};

describe("the reports screen", () => {
  it("asks for the report, shows tiles, charts and tables, and links each CSV", async () => {
    answer = (url) => {
      if (url === "/supervision/workgroups") return json(200, [{ id: 1, slug: "sales", name: "Sales", settings: {} }]);
      if (url.startsWith("/reports/workgroups/sales?")) return json(200, REPORT);
      return json(404, { error: { code: "not_found", message: "no" } });
    };
    act(() => render(<Reports />, root));
    await flush();
    await act(async () => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    const asked = calls.find((c) => c.startsWith("/reports/"))!;
    expect(asked).toContain("granularity=day");
    expect(root.querySelector('[data-testid="total-requests"]')!.textContent).toBe("15");
    expect(root.querySelector('[data-testid="total-service_level"]')!.textContent).toBe("86.7 %");
    expect(root.querySelector('[data-testid="total-wait_avg_secs"]')!.textContent).toBe("1 min 15 s");
    expect(root.textContent).toContain("Europe/Paris");
    // Charts: one bar per period, described in text.
    const svgs = root.querySelectorAll("svg[role=img]");
    expect(svgs.length).toBe(2);
    expect(svgs[0].querySelectorAll("rect").length).toBe(2);
    expect(svgs[0].getAttribute("aria-label")).toContain("highest 10");
    // A name is text, never markup.
    expect(root.querySelector("img")).toBeNull();
    expect(root.textContent).toContain(EVIL);
    const csv = root.querySelector('[data-testid="csv-agents"]') as HTMLAnchorElement;
    expect(csv.getAttribute("href")).toMatch(/^\/api\/v1\/reports\/workgroups\/sales\.csv\?.*table=agents$/);
  });

  it("shows the server's refusal", async () => {
    answer = (url) =>
      url === "/supervision/workgroups"
        ? json(200, [{ id: 1, slug: "sales", name: "Sales", settings: {} }])
        : json(422, { error: { code: "invalid_input", message: "a report covers at most 366 days" } });
    act(() => render(<Reports />, root));
    await flush();
    await act(async () => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await flush();
    expect(root.querySelector("[role=alert]")!.textContent).toContain("366 days");
  });
});

describe("report helpers", () => {
  it("bounds the range as the server does", () => {
    expect(rangeProblem("2026-01-01", "2026-01-31", "hour")).toBeNull();
    expect(rangeProblem("2026-01-01", "2026-02-01", "hour")).toContain("31");
    expect(rangeProblem("2025-01-01", "2026-01-02", "day")).toContain("366");
    expect(rangeProblem("2026-01-02", "2026-01-01", "day")).toContain("before");
    const r = defaultRange(new Date(2026, 2, 10));
    expect(r).toEqual({ from: "2026-03-04", to: "2026-03-10" });
  });
  it("scales bars from zero and shows numbers", () => {
    expect(bars([2, 4, null, 0])).toEqual([0.5, 1, null, 0]);
    expect(bars([0.5], 1)).toEqual([0.5]);
    expect(show("rate", null)).toBe("–");
    expect(show("score", 4.256)).toBe("4.26");
  });
});
