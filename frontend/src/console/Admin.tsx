import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

import type { TransferKind } from "../shared/protocol";
import { Api, type AdminUser, type IdentityMode, type Role, type Workgroup } from "./api";
import { message } from "./PastChats";
import { formatFormFields, parseFormFields } from "./formFields";
import { AttachmentPolicyAdmin } from "./AttachmentPolicyAdmin";
import { BrandingAdmin } from "./BrandingAdmin";
import { CobrowseSitesAdmin } from "./Cobrowse";
import { HoursAdmin } from "./HoursAdmin";
import { IdentityKeys } from "./IdentityKeys";
import { SupervisionAdmin } from "./SupervisionAdmin";
import { AgentRoutingEditor } from "./Skills";
import { TwoFactorCell } from "./TwoFactorReset";

const ROLES: Role[] = ["agent", "supervisor", "admin"];
const ROLE_LABEL: Record<Role, string> = { agent: "Agent", supervisor: "Supervisor", admin: "Admin" };

interface Props {
  workgroups: Workgroup[];
  reloadWorkgroups: () => Promise<void>;
  me: string;
}

export function Admin({ workgroups, reloadWorkgroups, me }: Props) {
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [usersError, setUsersError] = useState("");

  const reloadUsers = async () => {
    try {
      setUsers(await Api.users());
      setUsersError("");
    } catch (e) {
      setUsersError(message(e));
    }
  };
  useEffect(() => {
    void reloadUsers();
    void reloadWorkgroups();
  }, []);

  return (
    <div class="admin">
      <WorkgroupsAdmin
        workgroups={workgroups}
        users={users ?? []}
        reload={async () => {
          await reloadWorkgroups();
        }}
      />
      <HoursAdmin workgroups={workgroups} />
      <BrandingAdmin workgroups={workgroups} />
      <AttachmentPolicyAdmin workgroups={workgroups} />
      <CobrowseSitesAdmin workgroups={workgroups} />
      <IdentityKeys workgroups={workgroups} />
      <SupervisionAdmin workgroups={workgroups} users={users ?? []} />
      <StaffAdmin
        users={users}
        error={usersError}
        workgroups={workgroups}
        reload={async () => {
          await reloadUsers();
          await reloadWorkgroups();
        }}
        me={me}
      />
    </div>
  );
}

// Workgroups ------------------------------------------------------------------------------

interface WgFields {
  slug: string;
  name: string;
  button_text: string;
  offer_timeout_secs: string;
  wait_timeout_secs: string;
  max_chats: string;
  form_fields: string;
  decline_cooldown_secs: string;
  preferred_agent_secs: string;
  max_missed_offers: string;
  /** Allowed transfer targets, comma-separated ("agent,queue,workgroup"). */
  transfer_targets: string;
  max_transfers: string;
  /** "true" or "false". */
  invitations: string;
  /** "optional" or "required". */
  identity: string;
}

const TRANSFER_TARGETS: { kind: TransferKind; label: string }[] = [
  { kind: "agent", label: "Transfers to an agent" },
  { kind: "queue", label: "Transfers to a queue" },
  { kind: "workgroup", label: "Transfers to another workgroup" },
];

function targetsOf(f: WgFields): TransferKind[] {
  const chosen = new Set(f.transfer_targets.split(",").filter(Boolean));
  return TRANSFER_TARGETS.map((t) => t.kind).filter((k) => chosen.has(k));
}

const EMPTY_WG: WgFields = {
  slug: "",
  name: "",
  button_text: "",
  offer_timeout_secs: "30",
  wait_timeout_secs: "300",
  max_chats: "3",
  form_fields: "",
  decline_cooldown_secs: "20",
  preferred_agent_secs: "10",
  max_missed_offers: "3",
  transfer_targets: "agent,queue,workgroup",
  max_transfers: "3",
  invitations: "true",
  identity: "optional",
};

function wgBody(f: WgFields) {
  return {
    name: f.name.trim(),
    button_text: f.button_text.trim(),
    offer_timeout_secs: Number(f.offer_timeout_secs),
    wait_timeout_secs: Number(f.wait_timeout_secs),
    max_chats: Number(f.max_chats),
    // PUT replaces everything: always send the form fields, or they would be lost.
    form_fields: parseFormFields(f.form_fields),
    decline_cooldown_secs: Number(f.decline_cooldown_secs),
    preferred_agent_secs: Number(f.preferred_agent_secs),
    max_missed_offers: Number(f.max_missed_offers),
    transfer_targets: targetsOf(f),
    max_transfers: Number(f.max_transfers),
    invitations: f.invitations === "true",
    identity: (f.identity === "required" ? "required" : "optional") as IdentityMode,
  };
}

function WorkgroupFields({
  fields,
  set,
  idPrefix,
  withSlug,
}: {
  fields: WgFields;
  set: (f: WgFields) => void;
  idPrefix: string;
  withSlug: boolean;
}) {
  const input = (
    key: keyof WgFields,
    label: string,
    extra: Record<string, unknown> = {},
  ) => (
    <div class="field">
      <label for={`${idPrefix}-${key}`}>{label}</label>
      <input
        id={`${idPrefix}-${key}`}
        value={fields[key]}
        onInput={(e) => set({ ...fields, [key]: (e.target as HTMLInputElement).value })}
        {...extra}
      />
    </div>
  );
  return (
    <div class="fields">
      {withSlug &&
        input("slug", "Slug", {
          required: true,
          maxLength: 64,
          pattern: "[a-z0-9][a-z0-9._\\-]*",
          title: "Lowercase letters, digits, dots, dashes and underscores",
        })}
      {input("name", "Name", { required: true, maxLength: 128 })}
      {input("button_text", "Button text", { maxLength: 128, placeholder: "Chat with …" })}
      {input("offer_timeout_secs", "Offer timeout (seconds)", {
        type: "number",
        min: 5,
        max: 600,
        required: true,
      })}
      {input("wait_timeout_secs", "Wait timeout (seconds)", {
        type: "number",
        min: 10,
        max: 86400,
        required: true,
      })}
      {input("max_chats", "Max chats per agent", { type: "number", min: 1, max: 100, required: true })}
      {input("decline_cooldown_secs", "Decline cooldown (seconds)", {
        type: "number",
        min: 0,
        max: 3600,
        required: true,
      })}
      {input("preferred_agent_secs", "Returning customer's agent first (seconds)", {
        type: "number",
        min: 0,
        max: 120,
        required: true,
      })}
      {input("max_missed_offers", "Missed offers before away (0: never)", {
        type: "number",
        min: 0,
        max: 100,
        required: true,
      })}
      {input("max_transfers", "Transfers per chat at most", {
        type: "number",
        min: 0,
        max: 20,
        required: true,
      })}
      <fieldset class="field field-wide">
        <legend>Agents may transfer chats</legend>
        {TRANSFER_TARGETS.map((t) => (
          <label class="check" key={t.kind}>
            <input
              type="checkbox"
              checked={targetsOf(fields).includes(t.kind)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                const next = new Set(targetsOf(fields));
                if (on) next.add(t.kind);
                else next.delete(t.kind);
                set({ ...fields, transfer_targets: [...next].join(",") });
              }}
            />
            {t.label}
          </label>
        ))}
        <label class="check">
          <input
            type="checkbox"
            checked={fields.invitations === "true"}
            onChange={(e) =>
              set({ ...fields, invitations: String((e.target as HTMLInputElement).checked) })
            }
          />
          Agents may invite others into a chat
        </label>
      </fieldset>
      <div class="field field-wide">
        <label for={`${idPrefix}-identity`}>Customer identity</label>
        <select
          id={`${idPrefix}-identity`}
          value={fields.identity}
          aria-describedby={`${idPrefix}-identity-help`}
          onChange={(e) => set({ ...fields, identity: (e.target as HTMLSelectElement).value })}
        >
          <option value="optional">Optional: anonymous visitors may chat</option>
          <option value="required">Required: only customers your site signed in</option>
        </select>
        <small id={`${idPrefix}-identity-help`} class="muted">
          Verified customers come with a token your backend signs (keys below). History links only
          by verified identity or the same browser, never by a typed email.
        </small>
      </div>
      <div class="field field-wide">
        <label for={`${idPrefix}-form_fields`}>Extra form fields</label>
        <textarea
          id={`${idPrefix}-form_fields`}
          rows={3}
          value={fields.form_fields}
          placeholder={"order_number | Order number | required"}
          aria-describedby={`${idPrefix}-form_fields-help`}
          onInput={(e) => set({ ...fields, form_fields: (e.target as HTMLTextAreaElement).value })}
        />
        <small id={`${idPrefix}-form_fields-help`} class="muted">
          One per line: name | Label | required (optional). Asked in the pre-chat form.
        </small>
      </div>
    </div>
  );
}

function WorkgroupsAdmin({
  workgroups,
  users,
  reload,
}: {
  workgroups: Workgroup[];
  users: AdminUser[];
  reload: () => Promise<void>;
}) {
  const [create, setCreate] = useState<WgFields>(EMPTY_WG);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [editing, setEditing] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    setNotice("");
    try {
      const wg = await Api.createWorkgroup({ slug: create.slug.trim(), ...wgBody(create) });
      setCreate(EMPTY_WG);
      setNotice(`Workgroup “${wg.name}” created.`);
      await reload();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="admin-section" aria-labelledby="wg-heading">
      <h2 id="wg-heading">Workgroups</h2>
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
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Slug</th>
            <th scope="col">Name</th>
            <th scope="col">Button text</th>
            <th scope="col">Offer timeout</th>
            <th scope="col">Wait timeout</th>
            <th scope="col">Max chats</th>
            <th scope="col">Members</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {workgroups.map((wg) =>
            editing === wg.slug ? (
              <tr key={wg.slug} class="editing">
                <td colSpan={8}>
                  <EditWorkgroup
                    wg={wg}
                    users={users}
                    done={async (note) => {
                      setEditing(null);
                      setError("");
                      if (note) setNotice(note);
                      await reload();
                    }}
                  />
                </td>
              </tr>
            ) : (
              <tr key={wg.slug}>
                <td>
                  <code>{wg.slug}</code>
                </td>
                <td>{wg.name}</td>
                <td>{wg.button_text}</td>
                <td>{wg.offer_timeout_secs} s</td>
                <td>{wg.wait_timeout_secs} s</td>
                <td>{wg.max_chats}</td>
                <td>{wg.members.length ? wg.members.join(", ") : <span class="muted">None</span>}</td>
                <td>
                  <button
                    type="button"
                    aria-label={`Edit workgroup ${wg.slug}`}
                    onClick={() => {
                      setNotice("");
                      setError("");
                      setEditing(wg.slug);
                    }}
                  >
                    Edit
                  </button>
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      <form class="card" aria-labelledby="wg-create-heading" onSubmit={submit}>
        <h3 id="wg-create-heading">New workgroup</h3>
        <WorkgroupFields fields={create} set={setCreate} idPrefix="wg-new" withSlug />
        <button type="submit" class="primary" disabled={busy}>
          Create workgroup
        </button>
      </form>
    </section>
  );
}

function EditWorkgroup({
  wg,
  users,
  done,
}: {
  wg: Workgroup;
  users: AdminUser[];
  done: (notice?: string) => Promise<void>;
}) {
  const [fields, setFields] = useState<WgFields>({
    slug: wg.slug,
    name: wg.name,
    button_text: wg.button_text,
    offer_timeout_secs: String(wg.offer_timeout_secs),
    wait_timeout_secs: String(wg.wait_timeout_secs),
    max_chats: String(wg.max_chats),
    form_fields: formatFormFields(wg.form_fields ?? []),
    decline_cooldown_secs: String(wg.decline_cooldown_secs ?? EMPTY_WG.decline_cooldown_secs),
    preferred_agent_secs: String(wg.preferred_agent_secs ?? EMPTY_WG.preferred_agent_secs),
    max_missed_offers: String(wg.max_missed_offers ?? EMPTY_WG.max_missed_offers),
    transfer_targets: (wg.transfer_targets ?? TRANSFER_TARGETS.map((t) => t.kind)).join(","),
    max_transfers: String(wg.max_transfers ?? EMPTY_WG.max_transfers),
    invitations: String(wg.invitations ?? true),
    identity: wg.identity ?? "optional",
  });
  const [members, setMembers] = useState<string[]>(wg.members);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const staff = users.length
    ? users
    : wg.members.map((u) => ({ username: u, display_name: u, active: true }) as AdminUser);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await Api.updateWorkgroup(wg.slug, wgBody(fields));
      const before = [...wg.members].sort().join("\n");
      if ([...members].sort().join("\n") !== before) await Api.setMembers(wg.slug, members);
      await done(`Workgroup “${fields.name.trim()}” saved.`);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };

  return (
    <form class="card inline-edit" aria-label={`Edit workgroup ${wg.slug}`} onSubmit={save}>
      <h3>
        Edit <code>{wg.slug}</code>
      </h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <WorkgroupFields fields={fields} set={setFields} idPrefix={`wg-${wg.slug}`} withSlug={false} />
      <CheckList
        legend="Members"
        options={staff.map((u) => ({
          value: u.username,
          label: (
            <>
              {u.display_name || u.username}{" "}
              <span class="muted">
                ({u.username}
                {u.active ? "" : ", inactive"})
              </span>
            </>
          ),
        }))}
        selected={members}
        onChange={setMembers}
      />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={() => done()} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// Staff -----------------------------------------------------------------------------------

const EMPTY_USER = { username: "", display_name: "", role: "agent" as Role, password: "", email: "" };

function StaffAdmin({
  users,
  error: loadError,
  workgroups,
  reload,
  me,
}: {
  users: AdminUser[] | null;
  error: string;
  workgroups: Workgroup[];
  reload: () => Promise<void>;
  me: string;
}) {
  const [create, setCreate] = useState(EMPTY_USER);
  const [groups, setGroups] = useState<string[]>([]);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  const [resetting, setResetting] = useState<string | null>(null);
  const [newPassword, setNewPassword] = useState("");
  const [skillsOf, setSkillsOf] = useState<string | null>(null);

  const run = async (what: () => Promise<unknown>, note: string) => {
    setError("");
    setNotice("");
    setBusy(true);
    try {
      await what();
      setNotice(note);
      await reload();
      return true;
    } catch (err) {
      setError(message(err));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const unlock = async (username: string) => {
    setError("");
    setNotice("");
    setBusy(true);
    try {
      const { was_locked } = await Api.unlockUser(username);
      setNotice(
        was_locked ? `${username} is unlocked and can log in again.` : `${username} was not locked out.`,
      );
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const ok = await run(
      () =>
        Api.createUser({
          username: create.username.trim(),
          display_name: create.display_name.trim(),
          role: create.role,
          password: create.password,
          workgroups: groups,
          // Needed when the account policy limits staff to the company's email domains.
          ...(create.email.trim() ? { email: create.email.trim() } : {}),
        }),
      `User “${create.username.trim()}” created.`,
    );
    if (ok) {
      setCreate(EMPTY_USER);
      setGroups([]);
    }
  };

  return (
    <section class="admin-section" aria-labelledby="staff-heading">
      <h2 id="staff-heading">Staff</h2>
      {(error || loadError) && (
        <p class="error" role="alert">
          {error || loadError}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {users === null && !loadError && <p class="muted">Loading…</p>}
      {users && (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Display name</th>
              <th scope="col">Role</th>
              <th scope="col">Workgroups</th>
              <th scope="col">Status</th>
              <th scope="col">Two-factor</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              const self = me === `user:${u.id}`;
              const memberOf = workgroups.filter((w) => w.members.includes(u.username));
              return (
                <tr key={u.username} class={u.active ? "" : "inactive"}>
                  <td>
                    <code>{u.username}</code>
                    {self && <span class="muted"> (you)</span>}
                  </td>
                  <td>{u.display_name}</td>
                  <td>
                    {u.role === "guest" ? (
                      <span title="Someone outside the company, invited into one room">Guest</span>
                    ) : (
                    <select
                      aria-label={`Role of ${u.username}`}
                      value={u.role}
                      disabled={busy}
                      onChange={(e) => {
                        const role = (e.target as HTMLSelectElement).value as Role;
                        void run(
                          () => Api.patchUser(u.username, { role }),
                          `${u.username} is now ${ROLE_LABEL[role].toLowerCase()}.`,
                        );
                      }}
                    >
                      {ROLES.map((r) => (
                        <option value={r} key={r}>
                          {ROLE_LABEL[r]}
                        </option>
                      ))}
                    </select>
                    )}
                  </td>
                  <td>{memberOf.length ? memberOf.map((w) => w.name).join(", ") : <span class="muted">None</span>}</td>
                  <td>{u.active ? "Active" : "Deactivated"}</td>
                  <td>
                    <TwoFactorCell
                      user={u}
                      onChanged={async (note) => {
                        setError("");
                        setNotice(note);
                        await reload();
                      }}
                    />
                  </td>
                  <td>
                    <div class="row-actions">
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`${u.active ? "Deactivate" : "Reactivate"} ${u.username}`}
                      onClick={() =>
                        void run(
                          () => Api.patchUser(u.username, { active: !u.active }),
                          `${u.username} ${u.active ? "deactivated" : "reactivated"}.`,
                        )
                      }
                    >
                      {u.active ? "Deactivate" : "Reactivate"}
                    </button>
                    {resetting === u.username ? (
                      <form
                        class="inline-form"
                        aria-label={`Reset password of ${u.username}`}
                        onSubmit={async (e) => {
                          e.preventDefault();
                          const ok = await run(
                            () => Api.patchUser(u.username, { password: newPassword }),
                            `Password of ${u.username} changed; their sessions were ended.`,
                          );
                          if (ok) {
                            setResetting(null);
                            setNewPassword("");
                          }
                        }}
                      >
                        <label for={`pw-${u.username}`} class="sr-only">
                          New password for {u.username}
                        </label>
                        <input
                          id={`pw-${u.username}`}
                          type="password"
                          autoComplete="new-password"
                          minLength={8}
                          required
                          placeholder="New password (8+)"
                          value={newPassword}
                          onInput={(e) => setNewPassword((e.target as HTMLInputElement).value)}
                        />
                        <button type="submit" class="primary" disabled={busy}>
                          Save password
                        </button>
                        <button type="button" onClick={() => setResetting(null)}>
                          Cancel
                        </button>
                      </form>
                    ) : (
                      <button
                        type="button"
                        aria-label={`Reset password of ${u.username}`}
                        onClick={() => {
                          setNewPassword("");
                          setResetting(u.username);
                        }}
                      >
                        Reset password
                      </button>
                    )}
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Unlock login of ${u.username}`}
                      title="After too many failed logins an account is locked for a while; this lifts it"
                      onClick={() => void unlock(u.username)}
                    >
                      Unlock login
                    </button>
                    <button
                      type="button"
                      aria-label={`Skills of ${u.username}`}
                      aria-expanded={skillsOf === u.username}
                      onClick={() => setSkillsOf(skillsOf === u.username ? null : u.username)}
                    >
                      Skills
                    </button>
                    </div>
                    {skillsOf === u.username && (
                      <AgentRoutingEditor
                        username={u.username}
                        onClose={(note) => {
                          setSkillsOf(null);
                          if (note) {
                            setError("");
                            setNotice(note);
                          }
                        }}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <form class="card" aria-labelledby="user-create-heading" onSubmit={submit}>
        <h3 id="user-create-heading">New user</h3>
        <div class="fields">
          <div class="field">
            <label for="user-new-username">Username</label>
            <input
              id="user-new-username"
              required
              maxLength={64}
              autoComplete="off"
              pattern="[a-z0-9][a-z0-9._\-]*"
              title="Lowercase letters, digits, dots, dashes and underscores"
              value={create.username}
              onInput={(e) => setCreate({ ...create, username: (e.target as HTMLInputElement).value })}
            />
          </div>
          <div class="field">
            <label for="user-new-display">Display name</label>
            <input
              id="user-new-display"
              maxLength={128}
              value={create.display_name}
              onInput={(e) =>
                setCreate({ ...create, display_name: (e.target as HTMLInputElement).value })
              }
            />
          </div>
          <div class="field">
            <label for="user-new-role">Role</label>
            <select
              id="user-new-role"
              value={create.role}
              onChange={(e) => setCreate({ ...create, role: (e.target as HTMLSelectElement).value as Role })}
            >
              {ROLES.map((r) => (
                <option value={r} key={r}>
                  {ROLE_LABEL[r]}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="user-new-email">Email</label>
            <input
              id="user-new-email"
              type="email"
              maxLength={254}
              autoComplete="off"
              value={create.email}
              onInput={(e) => setCreate({ ...create, email: (e.target as HTMLInputElement).value })}
            />
          </div>
          <div class="field">
            <label for="user-new-password">Password</label>
            <input
              id="user-new-password"
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              value={create.password}
              onInput={(e) => setCreate({ ...create, password: (e.target as HTMLInputElement).value })}
            />
          </div>
        </div>
        {workgroups.length > 0 && (
          <CheckList
            legend="Workgroups"
            options={workgroups.map((w) => ({ value: w.slug, label: w.name }))}
            selected={groups}
            onChange={setGroups}
          />
        )}
        <button type="submit" class="primary" disabled={busy}>
          Create user
        </button>
      </form>
    </section>
  );
}

/** A set of checkboxes choosing some of ``options`` (members of a workgroup, a user's groups). */
function CheckList({
  legend,
  options,
  selected,
  onChange,
}: {
  legend: string;
  options: { value: string; label: ComponentChildren }[];
  selected: string[];
  onChange: (next: string[]) => void;
}) {
  return (
    <fieldset class="members">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label class="check" key={o.value}>
          <input
            type="checkbox"
            checked={selected.includes(o.value)}
            onChange={(e) => {
              const on = (e.target as HTMLInputElement).checked;
              onChange(on ? [...selected, o.value] : selected.filter((v) => v !== o.value));
            }}
          />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}
