// A member's buddy list (favourites and named groups; `GET`/`PUT /me/buddies`), edited as plain
// data: each function returns a new list, or a reason it cannot (the server's limits, checked
// here first so the console can say why before asking).

import type { Buddies } from "./directoryApi";

export const MAX_FAVOURITES = 200;
export const MAX_GROUPS = 50;
export const MAX_GROUP_MEMBERS = 200;
export const MAX_GROUP_NAME = 40;

export type Edit = { ok: true; buddies: Buddies } | { ok: false; error: string };

const ok = (buddies: Buddies): Edit => ({ ok: true, buddies });
const no = (error: string): Edit => ({ ok: false, error });

export function isFavourite(b: Buddies, userId: number): boolean {
  return b.favourites.includes(userId);
}

/** The groups `userId` is in, by name. */
export function groupsOf(b: Buddies, userId: number): string[] {
  return b.groups.filter((g) => g.user_ids.includes(userId)).map((g) => g.name);
}

/** Why a group name is refused, or null: 1-40 characters, one line, unique whatever the case. */
export function groupNameError(b: Buddies, name: string, renaming?: string): string | null {
  const n = name.trim();
  if (!n) return "A group needs a name.";
  if (Array.from(n).length > MAX_GROUP_NAME) return `A group name is at most ${MAX_GROUP_NAME} characters.`;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(n)) return "A group name is one line.";
  const lower = n.toLocaleLowerCase();
  const clash = b.groups.some(
    (g) => g.name.toLocaleLowerCase() === lower && (renaming === undefined || g.name !== renaming),
  );
  return clash ? `There is a group “${n}” already.` : null;
}

export function setFavourite(b: Buddies, userId: number, on: boolean): Edit {
  if (on === isFavourite(b, userId)) return ok(b);
  if (!on) return ok({ ...b, favourites: b.favourites.filter((id) => id !== userId) });
  if (b.favourites.length >= MAX_FAVOURITES) return no(`At most ${MAX_FAVOURITES} favourites.`);
  return ok({ ...b, favourites: [...b.favourites, userId] });
}

/** Put `userId` in exactly the groups named (added at the end of each new one). */
export function setGroups(b: Buddies, userId: number, names: string[]): Edit {
  const wanted = new Set(names);
  const groups = [];
  for (const g of b.groups) {
    const inIt = g.user_ids.includes(userId);
    if (wanted.has(g.name) && !inIt) {
      if (g.user_ids.length >= MAX_GROUP_MEMBERS) {
        return no(`The group “${g.name}” is full (${MAX_GROUP_MEMBERS} people).`);
      }
      groups.push({ ...g, user_ids: [...g.user_ids, userId] });
    } else if (!wanted.has(g.name) && inIt) {
      groups.push({ ...g, user_ids: g.user_ids.filter((id) => id !== userId) });
    } else {
      groups.push(g);
    }
  }
  return ok({ ...b, groups });
}

export function addGroup(b: Buddies, name: string, userIds: number[] = []): Edit {
  const error = groupNameError(b, name);
  if (error) return no(error);
  if (b.groups.length >= MAX_GROUPS) return no(`At most ${MAX_GROUPS} groups.`);
  return ok({ ...b, groups: [...b.groups, { name: name.trim(), user_ids: [...new Set(userIds)] }] });
}

export function renameGroup(b: Buddies, from: string, to: string): Edit {
  if (to.trim() === from) return ok(b);
  const error = groupNameError(b, to, from);
  if (error) return no(error);
  return ok({ ...b, groups: b.groups.map((g) => (g.name === from ? { ...g, name: to.trim() } : g)) });
}

export function removeGroup(b: Buddies, name: string): Edit {
  return ok({ ...b, groups: b.groups.filter((g) => g.name !== name) });
}

/** Move a favourite up (-1) or down (+1) in the list's order. */
export function moveFavourite(b: Buddies, userId: number, delta: -1 | 1): Edit {
  const i = b.favourites.indexOf(userId);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= b.favourites.length) return ok(b);
  const favourites = [...b.favourites];
  [favourites[i], favourites[j]] = [favourites[j], favourites[i]];
  return ok({ ...b, favourites });
}
