import { defineStore } from "pinia";
import { ref } from "vue";

export interface Session {
  readonly token: string;
  readonly userId: string;
  readonly username: string;
}

const KEY = "notesync:session";

function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

/** Who is signed in. The token stays in localStorage so the app opens offline. */
export const useSessionStore = defineStore("session", () => {
  const session = ref<Session | null>(loadSession());
  const error = ref("");
  const busy = ref(false);

  async function authenticate(
    mode: "signin" | "signup",
    username: string,
    password: string,
  ): Promise<void> {
    busy.value = true;
    error.value = "";
    try {
      const res = await fetch(mode === "signup" ? "/api/signup" : "/api/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password }),
      });
      const body = (await res.json().catch(() => ({}))) as {
        token?: string;
        userId?: string;
        message?: string;
      };
      if (!res.ok || !body.token || !body.userId) {
        error.value = body.message ?? `the server answered ${res.status}`;
        return;
      }
      session.value = { token: body.token, userId: body.userId, username };
      localStorage.setItem(KEY, JSON.stringify(session.value));
    } catch {
      error.value = "cannot reach the server: check your connection";
    } finally {
      busy.value = false;
    }
  }

  /** Forgets the session here and ends it on the server (its token stops working everywhere). */
  function signOut(): void {
    const token = session.value?.token;
    session.value = null;
    localStorage.removeItem(KEY);
    // Best effort: offline, the token simply expires; the local sign-out has happened either way.
    if (token)
      void fetch("/api/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      }).catch(() => undefined);
  }

  return { session, error, busy, authenticate, signOut };
});
