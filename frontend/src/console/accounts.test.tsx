import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { FakeSocket } from "../shared/testing";
import { AccountPolicyAdmin, consequences, parseDomains } from "./AccountPolicy";
import { setFetcher, type Session } from "./api";
import { App } from "./App";
import { GuestInvite, guestLink } from "./GuestInvite";
import { guestToken } from "./Guests";
import { Login } from "./Login";
import { groupSecret, Security, svgDataUrl } from "./Security";
import { TwoFactorCell } from "./TwoFactorReset";

const EVIL = "<img src=x onerror=alert(1)>";

let root: HTMLElement;
type Call = { method: string; url: string; body: unknown };
const calls: Call[] = [];
let answer: (call: Call) => Response;

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls.length = 0;
  localStorage.clear();
  setFetcher(async (input, init) => {
    const call = { method: init?.method ?? "GET", url: String(input).replace("/api/v1", ""), body: init?.body ? JSON.parse(String(init.body)) : undefined };
    calls.push(call);
    return answer(call);
  });
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
  vi.unstubAllGlobals();
  history.replaceState(null, "", "/");
});

const json = (status: number, body: unknown) => new Response(body === null ? null : JSON.stringify(body), { status });
const fail = (status: number, code: string, message = code, details?: unknown) =>
  json(status, { error: { code, message, details } });
const flush = async () => {
  for (let i = 0; i < 6; i++) await act(async () => await Promise.resolve());
};
const input = (el: Element | null, value: string) =>
  act(() => {
    (el as HTMLInputElement).value = value;
    el!.dispatchEvent(new Event("input", { bubbles: true }));
  });
const button = (name: string) =>
  [...root.querySelectorAll("button")].find((b) => (b.getAttribute("aria-label") ?? b.textContent?.trim()) === name)!;
const click = async (name: string) => {
  await act(async () => button(name).click());
  await flush();
};
const alertText = () => root.querySelector('[role="alert"]')?.textContent ?? "";

const SESSION: Session = {
  user: { id: 1, username: "alice", display_name: "Alice", role: "agent" },
  csrf_token: "tok",
  must_enrol_2fa: false,
};
const STEP = { two_factor_required: true, pending_token: "pending-1", expires_at: "2026-03-02T10:20:00Z" };

describe("signing in with two factors", () => {
  it("asks for the code after the password, and signs in with it", async () => {
    const done: Session[] = [];
    answer = ({ url, body }) => {
      if (url === "/auth/login") return json(200, STEP);
      if (url === "/auth/login/2fa") {
        const b = body as { code?: string; recovery_code?: string };
        if (b.code === "123456" || b.recovery_code === "aaaaa-bbbbb-ccccc-ddddd") return json(200, SESSION);
        return fail(401, "two_factor_failed");
      }
      return fail(404, "not_found");
    };
    act(() => render(<Login onLoggedIn={(s) => done.push(s)} />, root));
    input(root.querySelector("#login-username"), "alice");
    input(root.querySelector("#login-password"), "demo-pass");
    await click("Log in");
    expect(root.querySelector("h1")!.textContent).toBe("Two-factor sign-in");
    const code = root.querySelector<HTMLInputElement>("#login-code")!;
    expect(root.querySelector('label[for="login-code"]')!.textContent).toBe("Authentication code");
    expect(code.getAttribute("autocomplete")).toBe("one-time-code");
    expect(code.getAttribute("inputmode")).toBe("numeric");
    // Not six digits: said before asking.
    input(code, "12");
    await click("Verify");
    expect(alertText()).toMatch(/6 digits/);
    expect(calls.filter((c) => c.url === "/auth/login/2fa")).toHaveLength(0);
    // A wrong code.
    input(root.querySelector("#login-code"), "654 321");
    await click("Verify");
    expect(calls.at(-1)!.body).toEqual({ pending_token: "pending-1", code: "654321" });
    expect(alertText()).toMatch(/not right, or it was used already/);
    // The right one.
    input(root.querySelector("#login-code"), "123 456");
    await click("Verify");
    expect(done).toEqual([SESSION]);
  });

  it("takes a recovery code instead, and starts again when the pending sign-in expired", async () => {
    const done: Session[] = [];
    let expired = false;
    answer = ({ url }) => {
      if (url === "/auth/login") return json(200, STEP);
      if (url === "/auth/login/2fa") return expired ? fail(401, "unauthenticated") : json(200, SESSION);
      return fail(404, "not_found");
    };
    act(() => render(<Login onLoggedIn={(s) => done.push(s)} />, root));
    input(root.querySelector("#login-username"), "alice");
    input(root.querySelector("#login-password"), "demo-pass");
    await click("Log in");
    await click("Use a recovery code instead");
    expect(root.querySelector('label[for="login-code"]')!.textContent).toBe("Recovery code");
    input(root.querySelector("#login-code"), " AAAAA-bbbbb-ccccc-ddddd ");
    expired = true;
    await click("Verify");
    expect(calls.at(-1)!.body).toEqual({ pending_token: "pending-1", recovery_code: "aaaaa-bbbbb-ccccc-ddddd" });
    // Back at step one, saying why.
    expect(root.querySelector("h1")!.textContent).toBe("Log in to the console");
    expect(alertText()).toMatch(/took too long/);
    expect(done).toEqual([]);
  });
});

describe("the security screen", () => {
  it("enrols: the key in groups of four, the QR code as an image only, a first code, the recovery codes once", async () => {
    let enabled = false;
    const codes = Array.from({ length: 10 }, (_, i) => `${i}aaaa-bbbbb-ccccc-ddddd`);
    answer = ({ method, url, body }) => {
      if (url === "/me/2fa" && method === "GET") {
        return json(200, { enabled, required: true, recovery_codes_left: enabled ? 10 : 0 });
      }
      if (url === "/me/2fa" && method === "POST") {
        return json(201, {
          secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
          otpauth_uri: "otpauth://totp/Parley:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Parley",
          qr_svg: `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><text>${EVIL}</text></svg>`,
        });
      }
      if (url === "/me/2fa/confirm") {
        if ((body as { code: string }).code !== "123456") return fail(422, "invalid_input", "wrong code");
        enabled = true;
        return json(200, { recovery_codes: codes });
      }
      return fail(404, "not_found");
    };
    act(() => render(<Security username="alice" />, root));
    await flush();
    const status = root.querySelector('[data-testid="two-factor-status"]')!;
    expect(status.getAttribute("data-enabled")).toBe("false");
    expect(status.textContent).toMatch(/requires it/);
    await click("Set up two-factor sign-in");
    expect(root.querySelector('[data-testid="totp-secret"]')!.textContent).toBe(
      "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP",
    );
    expect(root.querySelector('[data-testid="totp-link"]')!.getAttribute("href")).toMatch(/^otpauth:\/\/totp\//);
    // The server's SVG is an <img> source, never markup in the page.
    expect(root.querySelector("svg")).toBeNull();
    expect(root.querySelector("script")).toBeNull();
    const qr = root.querySelector<HTMLImageElement>('[data-testid="totp-qr"]')!;
    expect(qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(qr.getAttribute("alt")).toMatch(/QR code/);
    const decoded = new TextDecoder().decode(
      Uint8Array.from(atob(qr.getAttribute("src")!.split(",")[1]), (c) => c.charCodeAt(0)),
    );
    expect(decoded).toContain(EVIL);
    // A wrong code, then the right one.
    input(root.querySelector("#enrol-code"), "000000");
    await click("Turn on two-factor sign-in");
    expect(alertText()).toMatch(/not right/);
    input(root.querySelector("#enrol-code"), "123 456");
    await click("Turn on two-factor sign-in");
    const shown = [...root.querySelectorAll('[data-testid="recovery-codes"] li')].map((li) => li.textContent);
    expect(shown).toEqual(codes);
    // Copy puts them on the clipboard.
    const written: string[] = [];
    vi.stubGlobal("navigator", { clipboard: { writeText: async (t: string) => void written.push(t) } });
    await click("Copy codes");
    expect(written).toEqual([codes.join("\n")]);
    await click("I have saved them");
    expect(root.querySelector('[data-testid="recovery-codes"]')).toBeNull();
    expect(root.querySelector('[data-testid="two-factor-status"]')!.getAttribute("data-enabled")).toBe("true");
  });

  it("formats the key and makes data URLs of any text", () => {
    expect(groupSecret("abcd efgh ij")).toBe("abcd efgh ij");
    expect(groupSecret("ABCDEFGHIJ")).toBe("ABCD EFGH IJ");
    expect(svgDataUrl("<svg>é</svg>")).toBe(`data:image/svg+xml;base64,${btoa("<svg>\u00c3\u00a9</svg>")}`);
  });
});

describe("the app", () => {
  it("gives a session that must enrol the enrolment only, then the console", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    FakeSocket.all = [];
    let enrolled = false;
    answer = ({ method, url }) => {
      if (url === "/auth/me") return json(200, { ...SESSION, must_enrol_2fa: !enrolled });
      if (url === "/me/2fa" && method === "POST") return json(201, { secret: "JBSWY3DP", otpauth_uri: "otpauth://totp/x" });
      if (url === "/me/2fa/confirm") {
        enrolled = true;
        return json(200, { recovery_codes: ["a-b-c-d"] });
      }
      if (url === "/auth/logout") return new Response(null, { status: 204 });
      if (url.startsWith("/im/conversations") || url === "/admin/workgroups" || url === "/staff") return json(200, []);
      if (url.startsWith("/directory")) return json(200, []);
      if (url === "/me/buddies") return json(200, { favourites: [], groups: [], members: [] });
      return fail(404, "not_found");
    };
    act(() => render(<App />, root));
    await flush();
    expect(root.querySelector("h1")!.textContent).toBe("Set up two-factor sign-in");
    expect(button("Log out")).toBeTruthy();
    expect(root.querySelector('nav[aria-label="Main"]')).toBeNull();
    expect(FakeSocket.all).toHaveLength(0); // no socket for an enrol-only session
    await click("Set up two-factor sign-in");
    input(root.querySelector("#enrol-code"), "123456");
    await click("Turn on two-factor sign-in");
    await click("I have saved them");
    await flush();
    expect(root.querySelector('nav[aria-label="Main"]')).not.toBeNull();
  });

  it("opens the guest acceptance page from its link, makes the account and signs in", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    history.replaceState(null, "", "/console/#/guest?token=t%2Bk");
    answer = ({ url, body }) => {
      if (url === "/guests/accept") {
        expect(body).toEqual({ token: "t+k", username: "gus", password: "long enough", display_name: "Gus" });
        return json(201, { id: 7, username: "gus", display_name: "Gus", role: "guest" });
      }
      if (url === "/auth/login") {
        return json(200, { user: { id: 7, username: "gus", display_name: "Gus", role: "guest" }, csrf_token: "t" });
      }
      if (url.startsWith("/im/conversations")) return json(200, []);
      return fail(404, "not_found");
    };
    act(() => render(<App />, root));
    await flush();
    expect(root.querySelector("h1")!.textContent).toBe("Accept your invitation");
    input(root.querySelector("#guest-username"), "gus");
    input(root.querySelector("#guest-name"), "Gus");
    input(root.querySelector("#guest-password"), "long enough");
    input(root.querySelector("#guest-password-again"), "long enougH");
    await click("Accept and sign in");
    expect(alertText()).toMatch(/differ/);
    input(root.querySelector("#guest-password-again"), "long enough");
    await click("Accept and sign in");
    await flush();
    // A guest's console: their room only, no navigation, no directory; the token is gone from the address.
    expect(root.querySelector('[data-testid="guest-console"]')).not.toBeNull();
    expect(root.querySelector('nav[aria-label="Main"]')).toBeNull();
    expect(root.querySelector("#directory-search")).toBeNull();
    expect(location.hash).toBe("");
    expect(calls.some((c) => c.url === "/staff" || c.url.startsWith("/directory"))).toBe(false);
  });

  it("reads the token from the fragment only", () => {
    expect(guestToken("#/guest?token=abc")).toBe("abc");
    expect(guestToken("#/guest")).toBe("");
    expect(guestToken("#/other?token=abc")).toBeNull();
    expect(guestToken("")).toBeNull();
    expect(guestLink("a b", "https://chat.example")).toBe("https://chat.example/console/#/guest?token=a%20b");
  });
});

describe("guests", () => {
  it("invites a guest and shows the one-time link when nothing was emailed", async () => {
    answer = ({ url, body }) => {
      if (url === "/im/rooms/r1/guests") {
        return json(201, {
          id: "g1",
          conversation_id: "r1",
          email: (body as { email: string }).email,
          expires_at: "2026-03-05T10:00:00Z",
          token: "tok-123",
          emailed: false,
        });
      }
      return fail(404, "not_found");
    };
    act(() => render(<GuestInvite roomId="r1" roomName={EVIL} />, root));
    await click("Invite a guest");
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog.textContent).toContain(EVIL);
    expect(dialog.querySelector("img")).toBeNull();
    input(dialog.querySelector('input[type="email"]'), "gus@partner.example");
    await click("Send invitation");
    expect(calls.at(-1)!.body).toEqual({ email: "gus@partner.example" });
    const link = root.querySelector<HTMLInputElement>('[data-testid="guest-link"]')!;
    expect(link.value).toBe(`${location.origin}/console/#/guest?token=tok-123`);
    expect(root.querySelector('[data-testid="guest-invited"]')!.textContent).toContain("No email was sent");
  });

  it("says clearly when the network is internal-only", async () => {
    answer = () => fail(403, "internal_only", "guests cannot be invited: this network is internal-only");
    act(() => render(<GuestInvite roomId="r1" roomName="Partners" />, root));
    await click("Invite a guest");
    input(root.querySelector('input[type="email"]'), "gus@partner.example");
    await click("Send invitation");
    expect(root.querySelector('[data-testid="guest-refused"]')!.textContent).toMatch(/internal-only/);
    expect(root.querySelector('[data-testid="guest-link"]')).toBeNull();
  });
});

describe("the account policy", () => {
  const POLICY = { require_2fa: "none", internal_only: false, staff_email_domains: [] as string[] };

  it("explains what internal-only does before saving it, and saves domains as the server keeps them", async () => {
    const puts: unknown[] = [];
    answer = ({ method, url, body }) => {
      if (url === "/admin/account-policy" && method === "GET") return json(200, POLICY);
      if (url === "/admin/account-policy" && method === "PUT") {
        puts.push(body);
        return json(200, body);
      }
      if (url === "/me/2fa") return json(200, { enabled: true, required: false, recovery_codes_left: 10 });
      return fail(404, "not_found");
    };
    act(() => render(<AccountPolicyAdmin myRole="admin" />, root));
    await flush();
    act(() => (root.querySelector<HTMLInputElement>('input[type="checkbox"]')!).click());
    input(root.querySelector("textarea"), "Example.COM, @corp.example\nexample.com");
    await click("Save account policy");
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog.textContent).toMatch(/every guest is removed/);
    expect(puts).toEqual([]);
    await click("Cancel");
    expect(root.querySelector('[role="dialog"]')).toBeNull();
    await click("Save account policy");
    await click("Save and apply now");
    expect(puts).toEqual([{ require_2fa: "none", internal_only: true, staff_email_domains: ["corp.example", "example.com"] }]);
    expect(root.querySelector('[role="status"]')!.textContent).toMatch(/saved/);
  });

  it("sets how staff names are shown, and leaves it out for a server that has none", async () => {
    const puts: unknown[] = [];
    let policy: Record<string, unknown> = { ...POLICY, name_format: "as_entered" };
    answer = ({ method, url, body }) => {
      if (url === "/admin/account-policy" && method === "GET") return json(200, policy);
      if (url === "/admin/account-policy" && method === "PUT") {
        puts.push(body);
        return json(200, body);
      }
      if (url === "/me/2fa") return json(200, { enabled: true, required: false, recovery_codes_left: 10 });
      return fail(404, "not_found");
    };
    act(() => render(<AccountPolicyAdmin myRole="admin" />, root));
    await flush();
    const select = [...root.querySelectorAll("label")].find((l) => l.textContent!.startsWith("Staff names"))!
      .querySelector("select")!;
    act(() => {
      select.value = "first_l";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await click("Save account policy");
    expect(puts).toEqual([{ ...POLICY, name_format: "first_l" }]);
    act(() => render(null, root));
    policy = { ...POLICY };
    act(() => render(<AccountPolicyAdmin myRole="admin" />, root));
    await flush();
    expect(root.textContent).not.toMatch(/Staff names/);
    await click("Save account policy");
    expect(puts[1]).toEqual(POLICY);
  });

  it("warns an admin without two factors that a stricter policy signs them out too", () => {
    const before = { require_2fa: "none" as const, internal_only: false, staff_email_domains: [] };
    const stricter = { ...before, require_2fa: "supervisors_and_admins" as const };
    expect(consequences(before, stricter, "admin", false).join(" ")).toMatch(/signed out too/);
    expect(consequences(before, stricter, "admin", true).join(" ")).not.toMatch(/signed out too/);
    expect(consequences(stricter, before, "admin", false)).toEqual([]);
    expect(parseDomains(" A.example  b.example,@A.EXAMPLE ")).toEqual(["a.example", "b.example"]);
  });

  it("turns off someone's two-factor sign-in, after asking", async () => {
    const notes: string[] = [];
    answer = ({ method, url }) =>
      method === "DELETE" && url === "/admin/users/bob/2fa" ? new Response(null, { status: 204 }) : fail(404, "not_found");
    const user = { id: 2, username: "bob", display_name: "Bob", role: "agent" as const, active: true, two_factor: true };
    act(() => render(<TwoFactorCell user={user} onChanged={async (n) => void notes.push(n)} />, root));
    expect(root.querySelector('[data-testid="user-two-factor"]')!.textContent).toContain("On");
    await click("Turn off two-factor sign-in of bob");
    expect(calls).toEqual([]);
    await click("Turn it off");
    expect(calls).toEqual([{ method: "DELETE", url: "/admin/users/bob/2fa", body: undefined }]);
    expect(notes[0]).toMatch(/bob is off/);
  });
});
