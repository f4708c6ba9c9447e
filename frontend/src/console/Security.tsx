// "Security": two-factor sign-in for every staff member (docs/protocol.md, "Accounts"): the
// status (`GET /me/2fa`), enrolling (`POST /me/2fa`: the secret, grouped for typing, the
// otpauth link, and the server's QR code when it sends one), confirming with a first code, and
// the ten recovery codes, shown once. The enrolment is also the whole console of a session that
// may only enrol (`must_enrol_2fa`, see App.tsx).

import { useEffect, useRef, useState } from "preact/hooks";

import { ApiError } from "./api";
import { AccountsApi, type Enrolment, type TwoFactorStatus } from "./directoryApi";
import { message as errorText } from "./PastChats";

/** The base32 secret in groups of four, as people type it. */
export function groupSecret(secret: string): string {
  return (secret.replace(/\s+/g, "").match(/.{1,4}/g) ?? []).join(" ");
}

/** A `data:` URL of an SVG document (shown with `<img>`, so nothing in it ever runs). */
export function svgDataUrl(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

export function recoveryFile(codes: string[], username: string): string {
  return [
    `Parley recovery codes for ${username}`,
    "Each code works once, instead of the code from your authenticator app.",
    "",
    ...codes,
    "",
  ].join("\n");
}

export function Security({ username }: { username: string }) {
  const [status, setStatus] = useState<TwoFactorStatus | null>(null);
  const [error, setError] = useState("");
  const load = async () => {
    try {
      setStatus(await AccountsApi.twoFactor());
      setError("");
    } catch (e) {
      setError(`Could not read your two-factor status: ${errorText(e)}`);
    }
  };
  useEffect(() => {
    void load();
  }, []);
  return (
    <div class="security" data-testid="security">
      <h2>Security</h2>
      <section class="profile-section" aria-labelledby="two-factor-heading">
        <h3 id="two-factor-heading">Two-factor sign-in</h3>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {!status && !error && <p class="muted">Loading…</p>}
        {status && (
          <p data-testid="two-factor-status" data-enabled={String(status.enabled)}>
            {status.enabled ? (
              <>
                <strong>On.</strong> You sign in with your password and a code from your authenticator app.{" "}
                {status.recovery_codes_left} recovery code{status.recovery_codes_left === 1 ? "" : "s"} left. Lost
                your phone and your codes? An admin can turn it off, and you set it up again.
              </>
            ) : (
              <>
                <strong>Off.</strong> {status.required ? "Your organisation requires it for your account." : ""}
              </>
            )}
          </p>
        )}
        {status && !status.enabled && <TwoFactorEnrol username={username} onDone={() => void load()} />}
      </section>
    </div>
  );
}

type Step =
  | { kind: "start" }
  | { kind: "scan"; enrolment: Enrolment }
  | { kind: "codes"; codes: string[] };

/** Enrol: start, scan or type the secret, confirm a first code, keep the recovery codes. */
export function TwoFactorEnrol({ username, onDone }: { username: string; onDone: () => void }) {
  const [step, setStep] = useState<Step>({ kind: "start" });
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const start = async () => {
    setError("");
    setBusy(true);
    try {
      setStep({ kind: "scan", enrolment: await AccountsApi.enrol() });
    } catch (e) {
      setError(
        e instanceof ApiError && e.code === "conflict"
          ? "Two-factor sign-in is on already."
          : `Could not start: ${errorText(e)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  const confirm = async (e: Event) => {
    e.preventDefault();
    const value = code.replace(/\s+/g, "");
    if (!/^\d{6}$/.test(value)) {
      setError("Enter the 6 digits your app shows now.");
      return;
    }
    setError("");
    setBusy(true);
    try {
      const { recovery_codes } = await AccountsApi.confirm(value);
      setStep({ kind: "codes", codes: recovery_codes });
    } catch (err) {
      setCode("");
      if (err instanceof ApiError && err.code === "invalid_input") {
        setError("That code is not right. Check the time on your phone, and enter the code it shows now.");
      } else if (err instanceof ApiError && err.code === "conflict") {
        setError("Nothing to confirm: start again.");
        setStep({ kind: "start" });
      } else {
        setError(`Could not turn it on: ${errorText(err)}`);
      }
    } finally {
      setBusy(false);
    }
  };

  if (step.kind === "start") {
    return (
      <div class="enrol" data-testid="two-factor-enrol">
        <p>
          You will need an authenticator app on your phone (any app that takes a QR code or a key: Google
          Authenticator, Microsoft Authenticator, 1Password, FreeOTP…).
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="button" class="primary" disabled={busy} onClick={() => void start()}>
          Set up two-factor sign-in
        </button>
      </div>
    );
  }
  if (step.kind === "codes") return <RecoveryCodes codes={step.codes} username={username} onDone={onDone} />;

  const { enrolment } = step;
  const link = enrolment.otpauth_uri.startsWith("otpauth://") ? enrolment.otpauth_uri : null;
  return (
    <div class="enrol" data-testid="two-factor-enrol">
      <ol class="enrol-steps">
        <li>
          Add Parley to your authenticator app:{" "}
          {enrolment.qr_svg ? "scan this QR code, or type the key." : "type the key, or open the link on your phone."}
          {enrolment.qr_svg && (
            <div class="enrol-qr">
              <img
                src={svgDataUrl(enrolment.qr_svg)}
                alt="QR code to add Parley to your authenticator app"
                width={200}
                height={200}
                data-testid="totp-qr"
              />
            </div>
          )}
          <p>
            Key:{" "}
            <code class="totp-secret" data-testid="totp-secret" aria-label="Key for your authenticator app">
              {groupSecret(enrolment.secret)}
            </code>
          </p>
          {link && (
            <p>
              <a href={link} data-testid="totp-link">
                Open in an authenticator app
              </a>
            </p>
          )}
          <p class="muted">The key is shown only now. Keep it to yourself.</p>
        </li>
        <li>
          <form class="inline-form" onSubmit={confirm}>
            <label for="enrol-code">Code from the app</label>
            <input
              id="enrol-code"
              autoComplete="one-time-code"
              inputMode="numeric"
              maxLength={16}
              value={code}
              onInput={(e) => setCode((e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="primary" disabled={busy}>
              Turn on two-factor sign-in
            </button>
          </form>
        </li>
      </ol>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function RecoveryCodes({ codes, username, onDone }: { codes: string[]; username: string; onDone: () => void }) {
  const [notice, setNotice] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const text = recoveryFile(codes, username);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(codes.join("\n"));
      setNotice("Copied to the clipboard.");
    } catch {
      setNotice("Could not copy: select the codes and copy them by hand, or download them.");
    }
  };
  const download = () => {
    try {
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = "parley-recovery-codes.txt";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      setNotice("Downloaded parley-recovery-codes.txt.");
    } catch {
      setNotice("Could not download: copy the codes instead.");
    }
  };
  return (
    <div class="recovery" data-testid="recovery-codes-panel">
      <h4 tabIndex={-1} ref={heading}>
        Two-factor sign-in is on. Save your recovery codes
      </h4>
      <p>
        If you lose your phone, each of these codes signs you in once instead of a code from the app. They are shown
        only now: keep them somewhere safe, away from your phone.
      </p>
      <ol class="recovery-codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div class="dialog-actions">
        <button type="button" onClick={() => void copy()}>
          Copy codes
        </button>
        <button type="button" onClick={download}>
          Download codes
        </button>
        <button type="button" class="primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
    </div>
  );
}

/** The console of a session that may only enrol: the policy requires two-factor sign-in. */
export function EnrolOnly({
  username,
  onEnrolled,
  onLogout,
}: {
  username: string;
  onEnrolled: () => void;
  onLogout: () => void;
}) {
  return (
    <main class="center">
      <div class="login-card enrol-card" aria-labelledby="enrol-heading" role="region">
        <div class="brand brand-large" aria-hidden="true">
          Parley
        </div>
        <h1 id="enrol-heading">Set up two-factor sign-in</h1>
        <p class="notice" role="status">
          Your organisation requires two-factor sign-in for your account. Set it up to use the console.
        </p>
        <TwoFactorEnrol username={username} onDone={onEnrolled} />
        <button type="button" class="link" onClick={onLogout}>
          Log out
        </button>
      </div>
    </main>
  );
}
