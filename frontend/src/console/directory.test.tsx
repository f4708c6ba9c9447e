import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { ServerMessage } from "../shared/protocol";
import { FakeSocket } from "../shared/testing";
import { setFetcher } from "./api";
import {
  addGroup,
  groupNameError,
  groupsOf,
  moveFavourite,
  removeGroup,
  renameGroup,
  setFavourite,
  setGroups,
} from "./buddies";
import {
  everyone,
  initialDirectory,
  initials,
  matches,
  person,
  presenceLabel,
  reduceDirectory,
  unknownIds,
  type DirectoryAction,
  type DirectoryState,
} from "./directory";
import { DirectorySidebar } from "./Directory";
import type { Buddies, DirectoryEntry } from "./directoryApi";
import { Profile } from "./Profile";
import { loadAll } from "./useDirectory";

const EVIL = "<img src=x onerror=alert(1)>";

function entry(user_id: number, display_name: string, over: Partial<DirectoryEntry> = {}): DirectoryEntry {
  return {
    user_id,
    username: display_name.toLowerCase().replace(/\W+/g, ""),
    display_name,
    role: "agent",
    title: "",
    presence: "offline",
    status_text: "",
    idle: false,
    photo_url: null,
    ...over,
  };
}

const frame = (message: ServerMessage): DirectoryAction => ({ type: "server", message });
const presence = (user_id: number, p: "available" | "away" | "busy" | "offline", status_text = "", idle = false) =>
  frame({ type: "presence", user_id, presence: p, status_text, idle });

function run(state: DirectoryState, ...actions: DirectoryAction[]): DirectoryState {
  return actions.reduce(reduceDirectory, state);
}

const TEAM = [entry(1, "Alice"), entry(2, "Bob", { title: "Night shift lead" }), entry(3, "Sam", { role: "supervisor" })];

describe("the directory reducer", () => {
  it("keeps the pages live with presence and staff_profile frames", () => {
    let s = run(initialDirectory(), { type: "dir_loaded", entries: TEAM, since: 0 });
    s = run(s, presence(2, "away", "back at 2", true), frame({
      type: "staff_profile",
      user_id: 3,
      display_name: "Sam",
      title: "Floor manager",
      photo_url: "/api/v1/staff/3/photo?v=ab",
    }));
    expect(person(s, 2)).toMatchObject({ presence: "away", status_text: "back at 2", idle: true, title: "Night shift lead" });
    expect(presenceLabel(person(s, 2)!)).toBe("Away (idle)");
    expect(person(s, 3)).toMatchObject({ title: "Floor manager", photo_url: "/api/v1/staff/3/photo?v=ab" });
    expect(everyone(s).map((e) => e.display_name)).toEqual(["Alice", "Bob", "Sam"]);
  });

  it("a page read after a frame wins over it; frames after the page's start win over the page", () => {
    let s = run(initialDirectory(), presence(1, "busy"));
    const since = s.version; // the reload starts now
    s = run(s, presence(2, "available"));
    s = run(s, {
      type: "dir_loaded",
      entries: [entry(1, "Alice", { presence: "away" }), entry(2, "Bob", { presence: "offline" })],
      since,
    });
    expect(person(s, 1)!.presence).toBe("away"); // the page is newer than the frame
    expect(person(s, 2)!.presence).toBe("available"); // the frame is newer than the page
  });

  it("names the ids frames mention that no page had, and drops those that are not staff", () => {
    let s = run(initialDirectory(), presence(9, "available"));
    expect(unknownIds(s)).toEqual([]); // not loaded yet: the pages will say
    s = run(s, { type: "dir_loaded", entries: TEAM, since: 0 });
    expect(unknownIds(s)).toEqual([9]);
    s = run(s, { type: "dir_entry", entry: entry(9, "Nina") });
    expect(unknownIds(s)).toEqual([]);
    expect(person(s, 9)!.presence).toBe("available");
    s = run(s, { type: "dir_gone", userId: 9 });
    expect(person(s, 9)).toBeNull();
  });

  it("searches names, usernames and titles in any case; initials for those without a photo", () => {
    expect(matches(TEAM[1], "NIGHT")).toBe(true);
    expect(matches(TEAM[1], "bob")).toBe(true);
    expect(matches(TEAM[1], "alice")).toBe(false);
    expect(matches(TEAM[1], "  ")).toBe(true);
    expect(initials("Alice Smith")).toBe("AS");
    expect(initials("bob")).toBe("BO");
    expect(initials("jean-luc picard")).toBe("JP");
    expect(initials("")).toBe("?");
    expect(initials("Émile Zola")).toBe("ÉZ");
  });

  it("reads every page of the directory", async () => {
    const pages = [Array.from({ length: 200 }, (_, i) => entry(i + 1, `P${i}`)), [entry(201, "Last")]];
    const offsets: number[] = [];
    const all = await loadAll(async (offset) => {
      offsets.push(offset);
      return pages[offsets.length - 1] ?? [];
    });
    expect(all).toHaveLength(201);
    expect(offsets).toEqual([0, 200]);
  });
});

describe("the buddy list", () => {
  const empty: Buddies = { favourites: [], groups: [] };

  it("adds, orders and removes favourites", () => {
    let b = empty;
    for (const id of [2, 3, 4]) {
      const e = setFavourite(b, id, true);
      if (!e.ok) throw new Error(e.error);
      b = e.buddies;
    }
    const up = moveFavourite(b, 4, -1);
    expect(up.ok && up.buddies.favourites).toEqual([2, 4, 3]);
    const off = setFavourite(b, 3, false);
    expect(off.ok && off.buddies.favourites).toEqual([2, 4]);
    const full = setFavourite({ favourites: Array.from({ length: 200 }, (_, i) => i + 10), groups: [] }, 1, true);
    expect(full).toEqual({ ok: false, error: "At most 200 favourites." });
  });

  it("moves a colleague between groups, and checks group names as the server does", () => {
    let made = addGroup(empty, "Sales", [2]);
    if (!made.ok) throw new Error(made.error);
    made = addGroup(made.buddies, "Support");
    if (!made.ok) throw new Error(made.error);
    const moved = setGroups(made.buddies, 2, ["Support"]);
    expect(moved.ok && moved.buddies.groups).toEqual([
      { name: "Sales", user_ids: [] },
      { name: "Support", user_ids: [2] },
    ]);
    if (!moved.ok) return;
    expect(groupsOf(moved.buddies, 2)).toEqual(["Support"]);
    expect(groupNameError(moved.buddies, "sales")).toMatch(/already/);
    expect(groupNameError(moved.buddies, "")).toMatch(/needs a name/);
    expect(groupNameError(moved.buddies, "x".repeat(41))).toMatch(/at most 40/);
    expect(groupNameError(moved.buddies, "two\nlines")).toMatch(/one line/);
    const renamed = renameGroup(moved.buddies, "Sales", "SALES");
    expect(renamed.ok && renamed.buddies.groups[0].name).toBe("SALES");
    expect(renameGroup(moved.buddies, "Sales", "support")).toEqual({ ok: false, error: "There is a group “support” already." });
    const removed = removeGroup(moved.buddies, "Sales");
    expect(removed.ok && removed.buddies.groups.map((g) => g.name)).toEqual(["Support"]);
  });
});

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  act(() => render(null, root));
  root.remove();
  vi.restoreAllMocks();
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};
const buttonNamed = (name: string, scope: ParentNode = root) =>
  [...scope.querySelectorAll("button")].find((b) => (b.getAttribute("aria-label") ?? b.textContent?.trim()) === name)!;
const input = (el: Element, value: string) =>
  act(() => {
    (el as HTMLInputElement).value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });

describe("the directory sidebar", () => {
  const loaded = (extra: DirectoryAction[] = []) =>
    run(
      initialDirectory(),
      {
        type: "dir_loaded",
        entries: [
          ...TEAM,
          entry(4, EVIL, { username: "eve", title: EVIL, status_text: EVIL, photo_url: "/api/v1/staff/4/photo?v=1" }),
        ],
        since: 0,
      },
      ...extra,
    );

  it("shows everyone with photo or initials, presence in words, status text, all as text", () => {
    const dir = loaded([presence(2, "busy", "in a meeting"), presence(1, "available")]);
    act(() =>
      render(
        <DirectorySidebar
          dir={dir}
          myUserId={1}
          buddies={{ favourites: [], groups: [] }}
          error=""
          onOpenDirect={async () => undefined}
          onOpenProfile={() => undefined}
          onSaveBuddies={async () => undefined}
        />,
        root,
      ),
    );
    const people = [...root.querySelectorAll('[data-testid="directory-person"]')];
    expect(people.map((p) => p.querySelector('[data-testid="directory-name"]')!.textContent)).toEqual([
      EVIL,
      "Alice (you)",
      "Bob",
      "Sam",
    ]);
    const bob = people[2];
    expect(bob.getAttribute("data-presence")).toBe("busy");
    expect(bob.querySelector('[data-testid="presence-label"]')!.textContent).toBe("Busy");
    expect(bob.querySelector('[data-testid="directory-status"]')!.textContent).toBe("in a meeting");
    expect(bob.querySelector('[data-testid="directory-title"]')!.textContent).toBe("Night shift lead");
    expect(bob.querySelector('[data-testid="avatar-initials"]')!.textContent).toBe("BO");
    // The hostile member: text everywhere; the only <img> is the photo from the server's URL.
    const eve = people[0];
    expect(eve.textContent).toContain(EVIL);
    const imgs = root.querySelectorAll("img");
    expect(imgs).toHaveLength(1);
    expect(imgs[0].getAttribute("src")).toBe("/api/v1/staff/4/photo?v=1");
    expect(imgs[0].getAttribute("alt")).toBe("");
    // A photo that does not load falls back to initials.
    act(() => void imgs[0].dispatchEvent(new Event("error")));
    expect(eve.querySelector('[data-testid="avatar-initials"]')).not.toBeNull();
    // The dot is decoration; the word is the presence.
    expect(bob.querySelector(".dot")!.getAttribute("aria-hidden")).toBe("true");
  });

  it("searches, opens a DM with a colleague and my profile for me", async () => {
    const opened: number[] = [];
    let profile = 0;
    act(() =>
      render(
        <DirectorySidebar
          dir={loaded()}
          myUserId={1}
          buddies={null}
          error=""
          onOpenDirect={async (id) => void opened.push(id)}
          onOpenProfile={() => profile++}
          onSaveBuddies={async () => undefined}
        />,
        root,
      ),
    );
    const search = root.querySelector<HTMLInputElement>("#directory-search")!;
    expect(root.querySelector('label[for="directory-search"]')!.textContent).toBe("Search staff");
    input(search, "night");
    expect(root.querySelectorAll('[data-testid="directory-person"]')).toHaveLength(1);
    await act(async () => root.querySelector<HTMLButtonElement>(".dir-open")!.click());
    expect(opened).toEqual([2]);
    input(search, "nobody at all");
    expect(root.querySelector('[data-testid="directory-empty"]')).not.toBeNull();
    input(search, "alice");
    await act(async () => root.querySelector<HTMLButtonElement>(".dir-open")!.click());
    expect(profile).toBe(1);
    expect(opened).toEqual([2]);
  });

  it("adds a colleague to favourites and a new group, then moves them to another group", async () => {
    const saved: Buddies[] = [];
    let buddies: Buddies = { favourites: [], groups: [{ name: "Sales", user_ids: [3] }] };
    const draw = () =>
      render(
        <DirectorySidebar
          dir={loaded()}
          myUserId={1}
          buddies={buddies}
          error=""
          onOpenDirect={async () => undefined}
          onOpenProfile={() => undefined}
          onSaveBuddies={async (b) => {
            saved.push(b);
            buddies = b;
            draw();
          }}
        />,
        root,
      );
    act(draw);
    expect(buttonNamed("Buddy list: Alice")).toBeUndefined(); // not for me
    await act(async () => buttonNamed("Buddy list: Bob").click());
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog.querySelector("h3")!.textContent).toBe("Buddy list: Bob");
    const [fav] = dialog.querySelectorAll<HTMLInputElement>('input[type="checkbox"]');
    act(() => fav.click());
    input([...dialog.querySelectorAll("label")].find((l) => l.textContent?.startsWith("Add to a new group"))!.querySelector("input")!, "Nights");
    await act(async () => buttonNamed("Save", dialog).click());
    await flush();
    expect(saved.at(-1)).toEqual({
      favourites: [2],
      groups: [
        { name: "Sales", user_ids: [3] },
        { name: "Nights", user_ids: [2] },
      ],
    });
    expect(root.querySelector('[role="dialog"]')).toBeNull();
    const favs = root.querySelector('[data-testid="buddy-favourites"]')!;
    expect(favs.textContent).toContain("Bob");
    expect(root.querySelector('[data-group="Nights"]')!.textContent).toContain("Bob");

    // Move: untick Nights, tick Sales.
    await act(async () => buttonNamed("Buddy list: Bob").click());
    const again = root.querySelector('[role="dialog"]')!;
    const boxes = [...again.querySelectorAll("label.check")];
    act(() => boxes.find((l) => l.textContent === "Nights")!.querySelector("input")!.click());
    act(() => boxes.find((l) => l.textContent === "Sales")!.querySelector("input")!.click());
    await act(async () => buttonNamed("Save", again).click());
    await flush();
    expect(saved.at(-1)!.groups).toEqual([
      { name: "Sales", user_ids: [3, 2] },
      { name: "Nights", user_ids: [] },
    ]);
    // A clashing new group is refused here, nothing is sent.
    await act(async () => buttonNamed("New group").click());
    input(root.querySelector('input[placeholder="Group name"]')!, "sales");
    const count = saved.length;
    await act(async () => buttonNamed("Create group").click());
    expect(saved.length).toBe(count);
    expect(root.querySelector('[role="alert"]')!.textContent).toMatch(/already/);
    // Delete a group.
    await act(async () => buttonNamed("Delete group Nights").click());
    await flush();
    expect(saved.at(-1)!.groups.map((g) => g.name)).toEqual(["Sales"]);
  });
});

describe("my profile", () => {
  const calls: { method: string; url: string; body: unknown; type?: string }[] = [];
  let answer: (method: string, url: string, body: unknown) => Response;
  beforeEach(() => {
    calls.length = 0;
    setFetcher(async (input, init) => {
      const url = String(input);
      const method = init?.method ?? "GET";
      const raw = init?.body;
      const body = raw instanceof Blob ? raw : raw ? JSON.parse(String(raw)) : undefined;
      calls.push({ method, url, body, type: (init?.headers as Record<string, string>)["Content-Type"] });
      return answer(method, url, body);
    });
  });
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
  const me = { id: 1, username: "alice", display_name: "Alice", role: "supervisor" as const };
  const mine = entry(1, "Alice", { presence: "available", role: "supervisor" });

  it("saves the title, and shows a status refused or warned by the house rules", async () => {
    const entries: DirectoryEntry[] = [];
    const presences: { presence: string; text: string; confirm: boolean }[] = [];
    answer = (_method, url, body) => {
      if (url.endsWith("/me/profile")) return json(200, { ...mine, title: (body as { title: string }).title });
      return json(404, { error: { code: "not_found", message: "no" } });
    };
    const setPresence = async (p: "available" | "away" | "busy" | "offline", text: string, confirm: boolean) => {
      presences.push({ presence: p, text, confirm });
      if (text.includes("guarantee")) {
        const { ApiError } = await import("./api");
        throw new ApiError(422, "blocked_word", "We make no promises (\"guarantee\")", {
          rule: 1,
          reason: "We make no promises",
          words: ["guarantee"],
        });
      }
      if (text.includes("discount") && !confirm) {
        const { ApiError } = await import("./api");
        throw new ApiError(422, "blocked_word_warning", "warned", { rule: 2, reason: "Ask first", words: ["discount"] });
      }
      return { presence: p, status_text: text.replace("darn", "***") };
    };
    act(() =>
      render(<Profile me={me} entry={mine} onEntry={(e) => entries.push(e)} setPresence={setPresence} />, root),
    );
    expect(root.querySelector('[data-testid="profile-display-name"]')!.textContent).toBe("Alice");
    // The title: PUT /me/profile with only the title.
    input(root.querySelector("#profile-title")!, "  Night shift lead ");
    await act(async () => buttonNamed("Save title").click());
    await flush();
    expect(calls.at(-1)).toMatchObject({ method: "PUT", url: "/api/v1/me/profile", body: { title: "Night shift lead" } });
    expect(entries.at(-1)!.title).toBe("Night shift lead");

    // A refused status: said clearly, nothing saved.
    input(root.querySelector("#profile-status")!, "I guarantee it");
    await act(async () => buttonNamed("Save status").click());
    await flush();
    const refused = root.querySelector('[data-testid="status-refused"]')!;
    expect(refused.getAttribute("role")).toBe("alert");
    expect(refused.textContent).toContain("We make no promises");
    expect(refused.textContent).toContain("“guarantee”");
    // A warned one: saved when confirmed. Busy is a presence every role may choose.
    act(() => {
      const select = root.querySelector<HTMLSelectElement>("#profile-presence")!;
      select.value = "busy";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    input(root.querySelector("#profile-status")!, "discount day");
    await act(async () => buttonNamed("Save status").click());
    await flush();
    expect(root.querySelector('[data-testid="status-warning"]')!.textContent).toContain("Ask first");
    await act(async () => buttonNamed("Save anyway").click());
    await flush();
    expect(presences.at(-1)).toEqual({ presence: "busy", text: "discount day", confirm: true });
    expect(root.querySelector('[data-testid="status-saved"]')!.textContent).toBe("Saved.");
    // A masked one says so.
    input(root.querySelector("#profile-status")!, "darn it");
    await act(async () => buttonNamed("Save status").click());
    await flush();
    expect(root.querySelector('[data-testid="status-saved"]')!.textContent).toContain("“*** it”");
  });

  const file = (bytes: number[], name: string, type: string, size?: number) => {
    const data = new Uint8Array(size ?? bytes.length);
    data.set(bytes);
    return new File([data], name, { type });
  };
  const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
  const pick = async (f: File) => {
    const el = root.querySelector<HTMLInputElement>("#profile-photo-file")!;
    Object.defineProperty(el, "files", { value: [f], configurable: true });
    await act(async () => void el.dispatchEvent(new Event("change", { bubbles: true })));
    // Reading the file's first bytes is a task of its own (a FileReader in jsdom).
    for (let i = 0; i < 5; i++) await act(() => new Promise((r) => setTimeout(r, 0)));
    await flush();
  };

  it("checks a photo as the server does, uploads it raw, shows the server's refusals, removes it", async () => {
    const entries: DirectoryEntry[] = [];
    let status = 200;
    answer = (method, url) => {
      if (url.endsWith("/me/photo") && method === "PUT") {
        if (status === 413) return json(413, { error: { code: "body_too_large", message: "too large", details: { max_bytes: 1048576 } } });
        if (status === 422) return json(422, { error: { code: "bad_image", message: "this is not an image we can read" } });
        return json(200, { ...mine, photo_url: "/api/v1/staff/1/photo?v=9" });
      }
      if (url.endsWith("/me/photo") && method === "DELETE") return new Response(null, { status: 204 });
      return json(404, { error: { code: "not_found", message: "no" } });
    };
    const check = async (f: Blob) => {
      const { checkPhoto } = await import("./photo");
      return checkPhoto(f, undefined, async () => ({ width: 800, height: 600 }));
    };
    const draw = (e: DirectoryEntry) =>
      render(
        <Profile
          me={me}
          entry={e}
          onEntry={(x) => {
            entries.push(x);
            draw(x);
          }}
          setPresence={async () => ({ presence: "available", status_text: "" })}
          check={check}
        />,
        root,
      );
    act(() => draw(mine));
    expect(root.querySelector('label[for="profile-photo-file"]')!.textContent).toBe("Choose a photo");
    // SVG, a text file named .png, too large: refused here, nothing uploaded.
    await pick(file([...new TextEncoder().encode("<svg xmlns=")], "x.svg", "image/svg+xml"));
    expect(root.querySelector('[data-testid="photo-error"]')!.textContent).toMatch(/not a PNG, JPEG, WebP or GIF/);
    await pick(file([...new TextEncoder().encode("hello")], "x.png", "image/png"));
    expect(root.querySelector('[data-testid="photo-error"]')!.textContent).toMatch(/not a PNG/);
    await pick(file(PNG, "big.png", "image/png", 2 * 1024 * 1024 + 1));
    expect(root.querySelector('[data-testid="photo-error"]')!.textContent).toMatch(/at most 2 MiB/);
    expect(calls.filter((c) => c.url.endsWith("/me/photo"))).toHaveLength(0);
    // A good one: the raw bytes, then the new entry.
    await pick(file(PNG, "me.png", "image/png"));
    const put = calls.find((c) => c.method === "PUT" && c.url.endsWith("/me/photo"))!;
    expect(put.body).toBeInstanceOf(Blob);
    expect(put.type).toBe("image/png");
    expect(entries.at(-1)!.photo_url).toBe("/api/v1/staff/1/photo?v=9");
    expect(root.querySelector("img")!.getAttribute("src")).toBe("/api/v1/staff/1/photo?v=9");
    // The server's own limits and refusals, shown.
    status = 413;
    await pick(file(PNG, "me.png", "image/png"));
    expect(root.querySelector('[data-testid="photo-error"]')!.textContent).toBe(
      "The photo is too large: this server takes at most 1 MiB.",
    );
    status = 422;
    await pick(file(PNG, "me.png", "image/png"));
    expect(root.querySelector('[data-testid="photo-error"]')!.textContent).toContain("this is not an image we can read");
    // Removed.
    await act(async () => buttonNamed("Remove photo").click());
    await flush();
    expect(calls.at(-1)).toMatchObject({ method: "DELETE", url: "/api/v1/me/photo" });
    expect(entries.at(-1)!.photo_url).toBeNull();
    expect(root.querySelector("img")).toBeNull();
  });
});

describe("the console's directory, live", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("follows presence and profile frames, opens a DM from the directory, and busy silences", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    FakeSocket.all = [];
    localStorage.clear();
    const calls: { method: string; url: string; body: unknown }[] = [];
    const dm = {
      id: "d".repeat(32),
      kind: "direct",
      status: "active",
      workgroup_id: null,
      last_seq: 0,
      created_at: "2026-03-02T10:15:00Z",
      ended_at: null,
      end_reason: null,
      metadata: {},
      participants: [
        { key: "user:1", role: "member", name: "Alice", present: true },
        { key: "user:2", role: "member", name: "Bob", present: true },
      ],
      room: null,
    };
    setFetcher(async (input, init) => {
      const url = String(input).replace("/api/v1", "");
      const method = init?.method ?? "GET";
      calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      const json = (body: unknown) => new Response(JSON.stringify(body));
      if (url === "/auth/me") {
        return json({ user: { id: 1, username: "alice", display_name: "Alice", role: "admin" }, csrf_token: "t" });
      }
      if (url.startsWith("/directory?")) return json(TEAM);
      if (url === "/directory/9") return json(entry(9, "Nina", { title: "New here" }));
      if (url === "/me/buddies") return json({ favourites: [], groups: [], members: [] });
      if (url === "/im/direct") return json(dm);
      if (url.startsWith("/im/conversations") && method === "GET" && !url.includes("/history")) return json([]);
      if (url.includes("/history")) return json([]);
      if (url === "/admin/workgroups" || url === "/staff" || url.startsWith("/waiting")) return json([]);
      return new Response(JSON.stringify({ error: { code: "not_found", message: "no" } }), { status: 404 });
    });
    const { App } = await import("./App");
    const { isSilenced } = await import("./alerts");
    act(() => render(<App />, root));
    await flush();
    await flush();
    const ws = FakeSocket.last!;
    act(() => ws.open());
    act(() => {
      ws.push({
        type: "welcome",
        session: { kind: "staff", user_id: 1, username: "alice", name: "Alice", role: "admin", conversation_id: null },
        node_id: "n1",
        heartbeat_secs: 20,
        max_message_chars: 4000,
        server_time: new Date().toISOString(),
        idle_away_secs: 300,
      });
      ws.push({ type: "presence", user_id: 1, presence: "available", status_text: "" });
      ws.push({ type: "presence", user_id: 2, presence: "available", status_text: "" });
      ws.push({ type: "synced" });
    });
    await flush();
    const bob = () => root.querySelector('[data-testid="directory-person"][data-user-id="2"]')!;
    expect(bob().querySelector('[data-testid="presence-label"]')!.textContent).toBe("Available");
    act(() => {
      ws.push({ type: "presence", user_id: 2, presence: "away", status_text: "lunch", idle: true });
      ws.push({ type: "staff_profile", user_id: 2, display_name: "Bob", title: "Team lead", photo_url: "/api/v1/staff/2/photo?v=1" });
    });
    await flush();
    expect(bob().querySelector('[data-testid="presence-label"]')!.textContent).toBe("Away (idle)");
    expect(bob().querySelector('[data-testid="directory-status"]')!.textContent).toBe("lunch");
    expect(bob().querySelector('[data-testid="directory-title"]')!.textContent).toBe("Team lead");
    expect(bob().querySelector("img")!.getAttribute("src")).toBe("/api/v1/staff/2/photo?v=1");
    // A new account's first frame: fetched alone.
    act(() => ws.push({ type: "presence", user_id: 9, presence: "available", status_text: "" }));
    await flush();
    expect(calls.some((c) => c.url === "/directory/9")).toBe(true);
    expect(root.querySelector('[data-user-id="9"]')!.textContent).toContain("New here");

    // Clicking Bob opens the DM with him.
    await act(async () => bob().querySelector<HTMLButtonElement>(".dir-open")!.click());
    await flush();
    expect(calls.find((c) => c.url === "/im/direct")!.body).toEqual({ user_ids: [2] });
    expect(root.querySelector('[data-testid="im-view"]')!.getAttribute("data-conversation")).toBe(dm.id);

    // Busy (mine): sounds and pop-ups are off; available again: on.
    act(() => ws.push({ type: "presence", user_id: 1, presence: "busy", status_text: "" }));
    await flush();
    expect(isSilenced()).toBe(true);
    act(() => ws.push({ type: "presence", user_id: 1, presence: "available", status_text: "" }));
    await flush();
    expect(isSilenced()).toBe(false);
  });

  it("sends idle after idle_away_secs without input, and active at the next input", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    vi.stubGlobal("WebSocket", FakeSocket);
    FakeSocket.all = [];
    localStorage.clear();
    setFetcher(async (input) => {
      const url = String(input).replace("/api/v1", "");
      const json = (body: unknown) => new Response(JSON.stringify(body));
      if (url === "/auth/me") return json({ user: { id: 1, username: "sam", display_name: "Sam", role: "supervisor" }, csrf_token: "t" });
      if (url === "/me/buddies") return json({ favourites: [], groups: [], members: [] });
      return json([]);
    });
    const { App } = await import("./App");
    act(() => render(<App />, root));
    await flush();
    await flush();
    const ws = FakeSocket.last!;
    act(() => ws.open());
    act(() => {
      ws.push({
        type: "welcome",
        session: { kind: "staff", user_id: 1, username: "sam", name: "Sam", role: "supervisor", conversation_id: null },
        node_id: "n1",
        heartbeat_secs: 600,
        max_message_chars: 4000,
        server_time: new Date().toISOString(),
        idle_away_secs: 60,
      });
      ws.push({ type: "synced" });
    });
    await flush();
    const idles = () => ws.sent.filter((m) => m.type === "idle").map((m) => m.idle);
    act(() => void vi.advanceTimersByTime(59_000));
    expect(idles()).toEqual([]);
    act(() => void vi.advanceTimersByTime(1_000));
    expect(idles()).toEqual([true]);
    act(() => void window.dispatchEvent(new KeyboardEvent("keydown", { key: "x" })));
    expect(idles()).toEqual([true, false]);
    expect(ws.sent.find((m) => m.type === "idle")!.ref).toBeTruthy();
  });
});
