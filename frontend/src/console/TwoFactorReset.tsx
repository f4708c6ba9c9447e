// In the admin's staff list: whether someone signs in with two factors, and turning it off for
// them (a lost phone: `DELETE /admin/users/{username}/2fa`; their sessions end, they enrol again).

import { useState } from "preact/hooks";

import type { AdminUser } from "./api";
import { AccountsApi } from "./directoryApi";
import { message as errorText } from "./PastChats";

export function TwoFactorCell({ user, onChanged }: { user: AdminUser; onChanged: (note: string) => Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const on = user.two_factor === true;
  const reset = async () => {
    setBusy(true);
    setError("");
    try {
      await AccountsApi.resetTwoFactor(user.username);
      setAsking(false);
      await onChanged(
        `Two-factor sign-in of ${user.username} is off; their sessions ended. They set it up again at their next login if it is required.`,
      );
    } catch (e) {
      setError(`Could not turn it off: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="two-factor-cell" data-testid="user-two-factor" data-enabled={String(on)}>
      <span>{on ? "On" : "Off"}</span>
      {on && !asking && (
        <button
          type="button"
          class="danger"
          aria-label={`Turn off two-factor sign-in of ${user.username}`}
          onClick={() => setAsking(true)}
        >
          Turn off
        </button>
      )}
      {asking && (
        <span role="group" aria-label={`Confirm turning off two-factor sign-in of ${user.username}`}>
          Their authenticator and recovery codes stop working, and they are signed out.{" "}
          <button type="button" class="danger" disabled={busy} onClick={() => void reset()}>
            Turn it off
          </button>{" "}
          <button type="button" onClick={() => setAsking(false)}>
            Keep it
          </button>
        </span>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
