// The staff directory in the Team sidebar: every staff member with photo (or initials), name,
// title, presence (a dot and the word: never colour alone) and status text, live; a search; my
// buddy list (favourites and named groups) above everyone. Clicking a colleague opens the DM.

import { useState } from "preact/hooks";

import {
  groupNameError,
  groupsOf,
  isFavourite,
  moveFavourite,
  removeGroup,
  renameGroup,
  setFavourite,
  setGroups,
  addGroup,
  type Edit,
} from "./buddies";
import { everyone, initials, matches, nameOf, person, presenceLabel, type DirectoryState } from "./directory";
import type { Buddies, DirectoryEntry } from "./directoryApi";
import { message as errorText } from "./PastChats";
import { Dialog } from "./Team";

/** A member's photo, or their initials when there is none (or it does not load). */
export function Avatar({ entry, size = 28 }: { entry: DirectoryEntry; size?: number }) {
  const [failed, setFailed] = useState<string | null>(null);
  const url = entry.photo_url;
  const style = { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px` };
  if (url && failed !== url) {
    return (
      <img
        class="avatar"
        src={url}
        alt=""
        width={size}
        height={size}
        style={style}
        data-testid="avatar-photo"
        onError={() => setFailed(url)}
      />
    );
  }
  return (
    <span class="avatar avatar-initials" aria-hidden="true" style={style} data-testid="avatar-initials">
      {initials(nameOf(entry))}
    </span>
  );
}

/** The presence as a dot and its word. */
export function PresenceBadge({ entry }: { entry: Pick<DirectoryEntry, "presence" | "idle"> }) {
  return (
    <span class="presence-badge" data-testid="presence">
      <span class={`dot dot-${entry.presence}`} aria-hidden="true" />
      <span data-testid="presence-label">{presenceLabel(entry)}</span>
    </span>
  );
}

interface Props {
  dir: DirectoryState;
  myUserId: number;
  /** Null until loaded (or when it could not be). */
  buddies: Buddies | null;
  error: string;
  onOpenDirect: (userId: number) => Promise<void>;
  onOpenProfile: () => void;
  /** Replace my buddy list (`PUT /me/buddies`). */
  onSaveBuddies: (b: Buddies) => Promise<void>;
}

export function DirectorySidebar({ dir, myUserId, buddies, error, onOpenDirect, onOpenProfile, onSaveBuddies }: Props) {
  const [q, setQ] = useState("");
  const [editing, setEditing] = useState<number | null>(null);
  const [newGroup, setNewGroup] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<{ from: string; to: string } | null>(null);
  const [actionError, setActionError] = useState("");
  const [busy, setBusy] = useState(false);

  const all = everyone(dir);
  const shown = all.filter((e) => matches(e, q));
  const byId = (ids: number[]) =>
    ids.map((id) => person(dir, id)).filter((e): e is DirectoryEntry => e !== null && matches(e, q));

  const run = async (what: string, task: () => Promise<void>) => {
    setBusy(true);
    setActionError("");
    try {
      await task();
      return true;
    } catch (e) {
      setActionError(`Could not ${what}: ${errorText(e)}`);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const save = async (edit: Edit) => {
    if (!edit.ok) {
      setActionError(edit.error);
      return false;
    }
    return run("save your buddy list", () => onSaveBuddies(edit.buddies));
  };

  const open = (e: DirectoryEntry) => {
    if (e.user_id === myUserId) onOpenProfile();
    else void run(`open a conversation with ${nameOf(e)}`, () => onOpenDirect(e.user_id));
  };

  const row = (e: DirectoryEntry, section: string) => (
    <li
      key={`${section}:${e.user_id}`}
      class="dir-person"
      data-testid="directory-person"
      data-user-id={e.user_id}
      data-presence={e.presence}
    >
      <button
        type="button"
        class="dir-open"
        disabled={busy}
        title={e.user_id === myUserId ? "My profile" : `Message ${nameOf(e)}`}
        onClick={() => open(e)}
      >
        <Avatar entry={e} />
        <span class="dir-text">
          <span class="dir-name" data-testid="directory-name">
            {nameOf(e)}
            {e.user_id === myUserId && <span class="muted"> (you)</span>}
          </span>
          {e.title && (
            <span class="dir-title" data-testid="directory-title">
              {e.title}
            </span>
          )}
          <PresenceBadge entry={e} />
          {e.status_text && (
            <span class="dir-status" data-testid="directory-status">
              {e.status_text}
            </span>
          )}
        </span>
      </button>
      {buddies && e.user_id !== myUserId && (
        <button
          type="button"
          class="subtle dir-buddy"
          aria-label={`Buddy list: ${nameOf(e)}`}
          title="Favourites and groups"
          onClick={() => setEditing(e.user_id)}
        >
          {isFavourite(buddies, e.user_id) ? "★" : "☆"}
        </button>
      )}
    </li>
  );

  const favourites = buddies ? byId(buddies.favourites) : [];
  const editingEntry = editing === null ? null : person(dir, editing);

  return (
    <section class="directory" aria-labelledby="directory-heading">
      <h2 id="directory-heading">Directory</h2>
      <label class="sr-only" for="directory-search">
        Search staff
      </label>
      <input
        id="directory-search"
        type="search"
        class="dir-search"
        placeholder="Search staff"
        maxLength={100}
        value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)}
      />
      {(error || actionError) && (
        <p class="error" role="alert">
          {actionError || error}
        </p>
      )}
      {buddies && favourites.length > 0 && (
        <div class="dir-section" data-testid="buddy-favourites">
          <h3>Favourites</h3>
          <ul class="dir-list">{favourites.map((e) => row(e, "fav"))}</ul>
        </div>
      )}
      {buddies?.groups.map((g) => {
        const members = byId(g.user_ids);
        if (q.trim() && members.length === 0) return null;
        return (
          <div class="dir-section" key={g.name} data-testid="buddy-group" data-group={g.name}>
            {renaming?.from === g.name ? (
              <form
                class="dir-group-form"
                onSubmit={(ev) => {
                  ev.preventDefault();
                  void save(renameGroup(buddies, g.name, renaming.to)).then((done) => done && setRenaming(null));
                }}
              >
                <label>
                  <span class="sr-only">New name of the group {g.name}</span>
                  <input
                    value={renaming.to}
                    maxLength={40}
                    onInput={(ev) => setRenaming({ from: g.name, to: (ev.target as HTMLInputElement).value })}
                  />
                </label>
                <button type="submit" disabled={busy}>
                  Rename
                </button>
                <button type="button" class="link" onClick={() => setRenaming(null)}>
                  Cancel
                </button>
              </form>
            ) : (
              <div class="dir-group-head">
                <h3>{g.name}</h3>
                <button
                  type="button"
                  class="link"
                  aria-label={`Rename group ${g.name}`}
                  onClick={() => setRenaming({ from: g.name, to: g.name })}
                >
                  Rename
                </button>
                <button
                  type="button"
                  class="link"
                  aria-label={`Delete group ${g.name}`}
                  disabled={busy}
                  onClick={() => void save(removeGroup(buddies, g.name))}
                >
                  Delete
                </button>
              </div>
            )}
            {members.length ? (
              <ul class="dir-list">{members.map((e) => row(e, `group:${g.name}`))}</ul>
            ) : (
              <p class="muted dir-empty">Nobody yet: add colleagues with ☆.</p>
            )}
          </div>
        );
      })}
      {buddies &&
        (newGroup === null ? (
          <button type="button" class="link" onClick={() => setNewGroup("")}>
            New group
          </button>
        ) : (
          <form
            class="dir-group-form"
            onSubmit={(ev) => {
              ev.preventDefault();
              void save(addGroup(buddies, newGroup)).then((done) => done && setNewGroup(null));
            }}
          >
            <label>
              <span class="sr-only">Group name</span>
              <input
                value={newGroup}
                maxLength={40}
                placeholder="Group name"
                onInput={(ev) => setNewGroup((ev.target as HTMLInputElement).value)}
              />
            </label>
            <button type="submit" disabled={busy}>
              Create group
            </button>
            <button type="button" class="link" onClick={() => setNewGroup(null)}>
              Cancel
            </button>
          </form>
        ))}
      <div class="dir-section" data-testid="directory-everyone">
        <h3>Everyone</h3>
        {!dir.loaded && !error && <p class="muted">Loading…</p>}
        {dir.loaded && shown.length === 0 && (
          <p class="muted" data-testid="directory-empty">
            Nobody found.
          </p>
        )}
        <ul class="dir-list">{shown.map((e) => row(e, "all"))}</ul>
      </div>
      {editingEntry && buddies && (
        <BuddyDialog
          entry={editingEntry}
          buddies={buddies}
          saveError={actionError}
          onClose={() => {
            setActionError("");
            setEditing(null);
          }}
          onSave={async (edit) => {
            if (await save(edit)) setEditing(null);
          }}
        />
      )}
    </section>
  );
}

/** Favourite or not, and which groups: ticking another group and unticking one moves them. */
function BuddyDialog({
  entry,
  buddies,
  saveError,
  onClose,
  onSave,
}: {
  entry: DirectoryEntry;
  buddies: Buddies;
  saveError: string;
  onClose: () => void;
  onSave: (edit: Edit) => Promise<void>;
}) {
  const id = entry.user_id;
  const [favourite, setFav] = useState(isFavourite(buddies, id));
  const [groups, setGroupNames] = useState<string[]>(groupsOf(buddies, id));
  const [extra, setExtra] = useState("");
  const [error, setError] = useState("");
  const name = nameOf(entry);
  const toggle = (g: string) => setGroupNames((list) => (list.includes(g) ? list.filter((x) => x !== g) : [...list, g]));
  const apply = (): Edit => {
    let b = buddies;
    if (extra.trim()) {
      const made = addGroup(b, extra);
      if (!made.ok) return made;
      b = made.buddies;
    }
    const fav = setFavourite(b, id, favourite);
    if (!fav.ok) return fav;
    return setGroups(fav.buddies, id, extra.trim() ? [...groups, extra.trim()] : groups);
  };
  const moved = (delta: -1 | 1) => onSave(moveFavourite(buddies, id, delta));
  const at = buddies.favourites.indexOf(id);
  return (
    <Dialog title={`Buddy list: ${name}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const extraError = extra.trim() ? groupNameError(buddies, extra) : null;
          if (extraError) {
            setError(extraError);
            return;
          }
          void onSave(apply());
        }}
      >
        <label class="check">
          <input type="checkbox" checked={favourite} onChange={() => setFav((v) => !v)} />
          Favourite
        </label>
        <fieldset class="dir-groups">
          <legend>Groups</legend>
          {buddies.groups.length === 0 && <p class="muted">No groups yet.</p>}
          {buddies.groups.map((g) => (
            <label class="check" key={g.name}>
              <input type="checkbox" checked={groups.includes(g.name)} onChange={() => toggle(g.name)} />
              {g.name}
            </label>
          ))}
          <label>
            Add to a new group
            <input value={extra} maxLength={40} onInput={(e) => setExtra((e.target as HTMLInputElement).value)} />
          </label>
        </fieldset>
        {at >= 0 && (
          <div class="dialog-actions">
            <button type="button" disabled={at === 0} onClick={() => void moved(-1)}>
              Move up in favourites
            </button>
            <button type="button" disabled={at === buddies.favourites.length - 1} onClick={() => void moved(1)}>
              Move down in favourites
            </button>
          </div>
        )}
        {(error || saveError) && (
          <p class="error" role="alert">
            {error || saveError}
          </p>
        )}
        <div class="dialog-actions">
          <button type="submit" class="primary">
            Save
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
