import { useEffect, useRef, useState } from "preact/hooks";

import { Api, ApiError, type Session } from "./api";
import { unlockAudio } from "./alerts";

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
      onLoggedIn(await Api.login(username.trim(), password));
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) {
        setError("Wrong username or password, or the account is deactivated.");
      } else if (err instanceof ApiError && err.code === "invalid_input") {
        setError("Enter your username and password.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    }
  };

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
