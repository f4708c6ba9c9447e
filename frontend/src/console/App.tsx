import { useEffect, useState } from "preact/hooks";

import { Api, ApiError, setCsrfToken, type Session, type StaffUser } from "./api";
import { Console } from "./Console";
import { GuestAccept, GuestConsole, guestToken } from "./Guests";
import { Login } from "./Login";
import { EnrolOnly } from "./Security";

type Phase =
  | { kind: "loading" }
  | { kind: "error"; message: string }
  | { kind: "login"; notice?: string }
  /** The acceptance page of a guest invitation (`#/guest?token=...`). */
  | { kind: "guest-accept"; token: string }
  /** The policy requires two-factor sign-in: this session may only enrol. */
  | { kind: "enrol"; user: StaffUser }
  | { kind: "in"; user: StaffUser };

function phaseOf(session: Session): Phase {
  return session.must_enrol_2fa ? { kind: "enrol", user: session.user } : { kind: "in", user: session.user };
}

/** Drop the fragment (a used invitation token) from the address bar and the history entry. */
function clearHash(): void {
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });

  const check = async () => {
    const token = guestToken(location.hash);
    if (token !== null) {
      setPhase({ kind: "guest-accept", token });
      return;
    }
    setPhase({ kind: "loading" });
    try {
      const session = await Api.me();
      setCsrfToken(session.csrf_token);
      setPhase(phaseOf(session));
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

  const loggedIn = (session: Session) => {
    setCsrfToken(session.csrf_token);
    clearHash();
    setPhase(phaseOf(session));
  };
  const loggedOut = (notice?: string) => {
    setCsrfToken(null);
    setPhase({ kind: "login", notice });
  };

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
      return <Login notice={phase.notice} onLoggedIn={loggedIn} />;
    case "guest-accept":
      return <GuestAccept token={phase.token} onLoggedIn={loggedIn} />;
    case "enrol":
      return (
        <EnrolOnly
          username={phase.user.username}
          // Confirming turned this very session into an ordinary one.
          onEnrolled={() => void check()}
          onLogout={() => {
            Api.logout().then(
              () => loggedOut("You are logged out."),
              () => loggedOut("You are logged out."),
            );
          }}
        />
      );
    case "in":
      if (phase.user.role === "guest") {
        return <GuestConsole key={phase.user.id} user={phase.user} onLoggedOut={loggedOut} />;
      }
      return <Console key={phase.user.id} user={phase.user} onLoggedOut={loggedOut} />;
  }
}
