// "My profile": what a staff member sets about themselves in the directory (docs/protocol.md,
// "Directory and buddy list"): the photo (checked here as the server checks it, then uploaded),
// the title (`PUT /me/profile`, the only field it takes: the display name is the admin's), the
// presence and status text (`PUT /me/presence`, with the house rules' answers shown as such).

import { useEffect, useRef, useState } from "preact/hooks";

import type { Presence } from "../shared/protocol";
import { ApiError, type StaffUser } from "./api";
import { Avatar } from "./Directory";
import { PRESENCE_LABEL } from "./directory";
import { DirectoryApi, type DirectoryEntry } from "./directoryApi";
import { message as errorText } from "./PastChats";
import { checkPhoto, formatBytes, PHOTO_TYPES } from "./photo";

export const MAX_TITLE_CHARS = 80;
export const MAX_STATUS_CHARS = 140;

interface Props {
  me: StaffUser;
  /** My directory entry as the console knows it (live), null before it is loaded. */
  entry: DirectoryEntry | null;
  /** A directory entry the server returned (a title or photo saved). */
  onEntry: (entry: DirectoryEntry) => void;
  /** Set my presence and status text (the console remembers it asked, see Console.tsx). */
  setPresence: (
    presence: Presence,
    statusText: string,
    confirm: boolean,
  ) => Promise<{ presence: Presence; status_text: string }>;
  /** For tests: the photo check (default `checkPhoto`). */
  check?: (file: Blob) => Promise<string | null>;
}

interface BlockedDetails {
  reason?: string;
  words?: string[];
}

function blockedText(err: ApiError): string {
  const d = (err.details ?? {}) as BlockedDetails;
  const words = Array.isArray(d.words) && d.words.length ? ` (${d.words.map((w) => `“${w}”`).join(", ")})` : "";
  return `${d.reason || err.message}${words}`;
}

export function Profile({ me, entry, onEntry, setPresence, check = (f) => checkPhoto(f) }: Props) {
  return (
    <div class="profile" data-testid="profile">
      <h2 id="profile-heading">My profile</h2>
      <PhotoSection me={me} entry={entry} onEntry={onEntry} check={check} />
      <section class="profile-section" aria-labelledby="profile-name-heading">
        <h3 id="profile-name-heading">Name</h3>
        <p>
          <strong data-testid="profile-display-name">{entry?.display_name || me.display_name || me.username}</strong>{" "}
          <span class="muted">
            ({me.username}, {me.role}) — your display name is set by an admin.
          </span>
        </p>
      </section>
      <TitleSection entry={entry} onEntry={onEntry} />
      <StatusSection entry={entry} setPresence={setPresence} />
    </div>
  );
}

function PhotoSection({
  me,
  entry,
  onEntry,
  check,
}: {
  me: StaffUser;
  entry: DirectoryEntry | null;
  onEntry: (entry: DirectoryEntry) => void;
  check: (file: Blob) => Promise<string | null>;
}) {
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const shown: DirectoryEntry = entry ?? {
    user_id: me.id,
    username: me.username,
    display_name: me.display_name,
    role: "agent",
    title: "",
    presence: "offline",
    status_text: "",
    idle: false,
    photo_url: null,
  };

  const upload = async (file: File) => {
    setError("");
    setNotice("");
    setBusy(true);
    try {
      const refused = await check(file);
      if (refused) {
        setError(refused);
        return;
      }
      onEntry(await DirectoryApi.setPhoto(file));
      setNotice("Your photo is saved.");
    } catch (e) {
      if (e instanceof ApiError && e.code === "body_too_large") {
        const max = (e.details as { max_bytes?: number } | null)?.max_bytes;
        setError(max ? `The photo is too large: this server takes at most ${formatBytes(max)}.` : e.message);
      } else if (e instanceof ApiError && e.code === "bad_image") {
        setError(`The server could not use this image: ${e.message}`);
      } else if (e instanceof ApiError && e.code === "rate_limited") {
        setError("Too many photo uploads; try again in a few minutes.");
      } else {
        setError(`Could not upload the photo: ${errorText(e)}`);
      }
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };

  const remove = async () => {
    setError("");
    setNotice("");
    setBusy(true);
    try {
      await DirectoryApi.deletePhoto();
      onEntry({ ...shown, photo_url: null });
      setNotice("Your photo is removed.");
    } catch (e) {
      setError(`Could not remove the photo: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="profile-section profile-photo" aria-labelledby="profile-photo-heading">
      <h3 id="profile-photo-heading">Photo</h3>
      <div class="profile-photo-row">
        <Avatar entry={shown} size={96} />
        <div>
          <label for="profile-photo-file">Choose a photo</label>
          <input
            id="profile-photo-file"
            ref={input}
            type="file"
            accept={PHOTO_TYPES.join(",")}
            disabled={busy}
            aria-describedby="profile-photo-help"
            onChange={(e) => {
              const file = (e.target as HTMLInputElement).files?.[0];
              if (file) void upload(file);
            }}
          />
          <p class="muted" id="profile-photo-help">
            PNG, JPEG, WebP or GIF, up to 2 MiB and 4096 × 4096 pixels. It is cropped to a square.
          </p>
          {shown.photo_url && (
            <button type="button" disabled={busy} onClick={() => void remove()}>
              Remove photo
            </button>
          )}
        </div>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="photo-error">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </section>
  );
}

function TitleSection({ entry, onEntry }: { entry: DirectoryEntry | null; onEntry: (e: DirectoryEntry) => void }) {
  const [title, setTitle] = useState(entry?.title ?? "");
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const touched = useRef(false);
  useEffect(() => {
    if (!touched.current) setTitle(entry?.title ?? "");
  }, [entry?.title]);
  const save = async (e: Event) => {
    e.preventDefault();
    setError("");
    setNotice("");
    setBusy(true);
    try {
      const saved = await DirectoryApi.setTitle(title.trim());
      onEntry(saved);
      touched.current = false;
      setTitle(saved.title);
      setNotice(saved.title ? "Your title is saved." : "Your title is cleared.");
    } catch (err) {
      setError(`Could not save the title: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="profile-section" aria-labelledby="profile-title-heading">
      <h3 id="profile-title-heading">Title in the directory</h3>
      <form class="inline-form" onSubmit={save}>
        <label for="profile-title">Title</label>
        <input
          id="profile-title"
          value={title}
          maxLength={MAX_TITLE_CHARS}
          placeholder="e.g. Night shift lead"
          onInput={(e) => {
            touched.current = true;
            setTitle((e.target as HTMLInputElement).value);
          }}
        />
        <button type="submit" disabled={busy}>
          Save title
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </section>
  );
}

type StatusAnswer =
  | { kind: "none" }
  | { kind: "saved"; text: string; masked: boolean }
  | { kind: "refused"; text: string }
  | { kind: "warned"; text: string }
  | { kind: "error"; text: string };

function StatusSection({
  entry,
  setPresence,
}: {
  entry: DirectoryEntry | null;
  setPresence: Props["setPresence"];
}) {
  const current = entry?.presence ?? "offline";
  const [presence, setChoice] = useState<Presence>(current === "offline" ? "available" : current);
  const [text, setText] = useState(entry?.status_text ?? "");
  const [answer, setAnswer] = useState<StatusAnswer>({ kind: "none" });
  const [busy, setBusy] = useState(false);
  const touched = useRef(false);
  useEffect(() => {
    if (touched.current) return;
    if (entry && entry.presence !== "offline") setChoice(entry.presence);
    setText(entry?.status_text ?? "");
  }, [entry?.presence, entry?.status_text]);

  const save = async (confirm: boolean) => {
    setBusy(true);
    setAnswer({ kind: "none" });
    const sent = text.trim();
    try {
      const saved = await setPresence(presence, sent, confirm);
      touched.current = false;
      setText(saved.status_text);
      setAnswer({ kind: "saved", text: saved.status_text, masked: saved.status_text !== sent });
    } catch (e) {
      if (e instanceof ApiError && e.code === "blocked_word") {
        setAnswer({ kind: "refused", text: blockedText(e) });
      } else if (e instanceof ApiError && e.code === "blocked_word_warning") {
        setAnswer({ kind: "warned", text: blockedText(e) });
      } else {
        setAnswer({ kind: "error", text: errorText(e) });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="profile-section" aria-labelledby="profile-status-heading">
      <h3 id="profile-status-heading">Presence and status</h3>
      <p class="muted">
        Now: {entry ? PRESENCE_LABEL[entry.presence] : "…"}
        {entry?.idle ? " (this browser was idle; you are available again as soon as you are back)" : ""}. Busy
        silences the console's sounds and pop-ups.
      </p>
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save(false);
        }}
      >
        <label for="profile-presence">My presence</label>
        <select
          id="profile-presence"
          value={presence}
          onChange={(e) => {
            touched.current = true;
            setChoice((e.target as HTMLSelectElement).value as Presence);
          }}
        >
          <option value="available">Available</option>
          <option value="away">Away</option>
          <option value="busy">Busy</option>
        </select>
        <label for="profile-status">Status text</label>
        <input
          id="profile-status"
          value={text}
          maxLength={MAX_STATUS_CHARS}
          placeholder="e.g. back at 2"
          onInput={(e) => {
            touched.current = true;
            setText((e.target as HTMLInputElement).value);
            if (answer.kind !== "none") setAnswer({ kind: "none" });
          }}
        />
        <button type="submit" disabled={busy}>
          Save status
        </button>
      </form>
      {answer.kind === "refused" && (
        <p class="error blocked" role="alert" data-testid="status-refused">
          Not saved: {answer.text}. Rephrase your status.
        </p>
      )}
      {answer.kind === "warned" && (
        <div class="notice blocked" role="alert" data-testid="status-warning">
          {answer.text}. Save it anyway?{" "}
          <button type="button" disabled={busy} onClick={() => void save(true)}>
            Save anyway
          </button>{" "}
          <button type="button" class="link" onClick={() => setAnswer({ kind: "none" })}>
            Rephrase
          </button>
        </div>
      )}
      {answer.kind === "error" && (
        <p class="error" role="alert">
          Could not save: {answer.text}
        </p>
      )}
      {answer.kind === "saved" && (
        <p class="notice" role="status" data-testid="status-saved">
          {answer.masked ? `Saved, with words the house rules mask: “${answer.text}”.` : "Saved."}
        </p>
      )}
    </section>
  );
}
