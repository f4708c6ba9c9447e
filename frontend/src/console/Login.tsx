import { useEffect, useRef, useState } from "preact/hooks";

import { Api, ApiError, type Session, type TwoFactorStep } from "./api";
import { unlockAudio } from "./alerts";

/** `POST /auth/login` answered a session, or asks for the second step. */
export function isTwoFactorStep(answer: Session | TwoFactorStep): answer is TwoFactorStep {
  return (answer as TwoFactorStep).two_factor_required === true;
}

export function Login({
  onLoggedIn,
  notice,
}: {
  onLoggedIn: (session: Session) => void;
  notice?: string;
}) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [step, setStep] = useState<TwoFactorStep | null>(null);
  const userRef = useRef<HTMLInputElement>(null);
  useEffect(() => userRef.current?.focus(), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    unlockAudio();
    if (!username.trim() || !password) {
      setError("Enter your username and password.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      const answer = await Api.login(username.trim(), password);
      setBusy(false);
      if (isTwoFactorStep(answer)) {
        setPassword("");
        setStep(answer);
      } else {
        onLoggedIn(answer);
      }
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) {
        setError("Wrong username or password, or the account is deactivated.");
      } else if (err instanceof ApiError && err.code === "invalid_input") {
        setError("Enter your username and password.");
      } else if (err instanceof ApiError && err.code === "internal_only") {
        setError("Guests cannot sign in: this network is internal-only.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    }
  };

  if (step) {
    return (
      <SecondStep
        step={step}
        onLoggedIn={onLoggedIn}
        onRestart={(why) => {
          setStep(null);
          setError(why);
        }}
      />
    );
  }

  return (
    <main class="center">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-heading">
        <div class="brand brand-large" aria-hidden="true">
          Parley
        </div>
        <h1 id="login-heading">Log in to the console</h1>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <div class="field">
          <label for="login-username">Username</label>
          <input
            id="login-username"
            ref={userRef}
            name="username"
            autoComplete="username"
            autoCapitalize="off"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary wide" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}

/** Step two of a sign-in: the authenticator app's code, or a recovery code. */
function SecondStep({
  step,
  onLoggedIn,
  onRestart,
}: {
  step: TwoFactorStep;
  onLoggedIn: (session: Session) => void;
  onRestart: (why: string) => void;
}) {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);
  useEffect(() => codeRef.current?.focus(), [recovery]);

  const submit = async (e: Event) => {
    e.preventDefault();
    // Authenticator apps show "123 456": the spaces are not part of the code.
    const value = recovery ? code.trim().toLowerCase() : code.replace(/\s+/g, "");
    if (!value) {
      setError(recovery ? "Enter one of your recovery codes." : "Enter the code your app shows.");
      return;
    }
    if (!recovery && !/^\d{6}$/.test(value)) {
      setError("The code is the 6 digits your authenticator app shows now.");
      return;
    }
    setBusy(true);
    setError("");
    try {
      onLoggedIn(
        await Api.loginSecondStep(step.pending_token, recovery ? { recovery_code: value } : { code: value }),
      );
    } catch (err) {
      setBusy(false);
      setCode("");
      if (err instanceof ApiError && err.code === "two_factor_failed") {
        setError(
          recovery
            ? "That recovery code is not right, or it was used already."
            : "That code is not right, or it was used already. Wait for the next one and try again.",
        );
      } else if (err instanceof ApiError && err.status === 401) {
        onRestart("The sign-in took too long or is no longer valid. Log in again.");
      } else if (err instanceof ApiError && err.code === "internal_only") {
        onRestart("Guests cannot sign in: this network is internal-only.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    }
  };

  const label = recovery ? "Recovery code" : "Authentication code";
  return (
    <main class="center">
      <form class="login-card" onSubmit={submit} aria-labelledby="second-step-heading">
        <div class="brand brand-large" aria-hidden="true">
          Parley
        </div>
        <h1 id="second-step-heading">Two-factor sign-in</h1>
        <p class="muted" id="second-step-help">
          {recovery
            ? "Enter one of the recovery codes you saved when you set up two-factor sign-in. Each works once."
            : "Enter the 6-digit code your authenticator app shows for Parley."}
        </p>
        <div class="field">
          <label for="login-code">{label}</label>
          <input
            id="login-code"
            key={label}
            ref={codeRef}
            name={recovery ? "recovery_code" : "code"}
            autoComplete="one-time-code"
            inputMode={recovery ? "text" : "numeric"}
            autoCapitalize="off"
            spellcheck={false}
            maxLength={recovery ? 64 : 16}
            aria-describedby="second-step-help"
            value={code}
            onInput={(e) => setCode((e.target as HTMLInputElement).value)}
          />
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary wide" disabled={busy}>
          Verify
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setRecovery((r) => !r);
            setCode("");
            setError("");
          }}
        >
          {recovery ? "Use the code from my app" : "Use a recovery code instead"}
        </button>
        <button type="button" class="link" onClick={() => onRestart("")}>
          Start again
        </button>
      </form>
    </main>
  );
}
