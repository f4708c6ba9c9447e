import { useEffect, useState } from "preact/hooks";

import { Api, ApiError, setCsrfToken, type StaffUser } from "./api";
import { Console } from "./Console";
import { Login } from "./Login";

type Phase =
  | { kind: "loading" }
  | { kind: "error"; message: string }
  | { kind: "login"; notice?: string }
  | { kind: "in"; user: StaffUser };

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });

  const check = async () => {
    setPhase({ kind: "loading" });
    try {
      const session = await Api.me();
      setCsrfToken(session.csrf_token);
      setPhase({ kind: "in", user: session.user });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        setPhase({ kind: "login" });
      } else {
        setPhase({ kind: "error", message: e instanceof Error ? e.message : String(e) });
      }
    }
  };

  useEffect(() => {
    void check();
  }, []);

  switch (phase.kind) {
    case "loading":
      return (
        <main class="center">
          <p class="muted" role="status">
            Loading…
          </p>
        </main>
      );
    case "error":
      return (
        <main class="center">
          <div class="login-card">
            <p class="error" role="alert">
              {phase.message}
            </p>
            <button type="button" onClick={() => void check()}>
              Try again
            </button>
          </div>
        </main>
      );
    case "login":
      return (
        <Login
          notice={phase.notice}
          onLoggedIn={(session) => {
            setCsrfToken(session.csrf_token);
            setPhase({ kind: "in", user: session.user });
          }}
        />
      );
    case "in":
      return (
        <Console
          key={phase.user.id}
          user={phase.user}
          onLoggedOut={(notice) => {
            setCsrfToken(null);
            setPhase({ kind: "login", notice });
          }}
        />
      );
  }
}
