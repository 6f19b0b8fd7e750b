import { defineStore } from "pinia";
import { ref } from "vue";
import { forgetKeptPreviews } from "../markdown/kept-previews";
import { savedSession, SESSION_KEY as KEY, type Session } from "../saved-session";

export type { Session };

/** What an account request answered: an error message for the user, or nothing on success. */
type Outcome<T = void> = { ok: true; value: T } | { ok: false; message: string };

/** Who is signed in. The token stays in localStorage so the app opens offline. */
export const useSessionStore = defineStore("session", () => {
  const session = ref<Session | null>(savedSession());
  const error = ref("");
  const busy = ref(false);
  /** A sentence for the next screen (the sign-in screen after being signed out, say). */
  const notice = ref("");
  /**
   * A new token is being fetched (a password change): the server ends the old session, and the
   * sync client seeing that must not sign this tab out.
   */
  const renewing = ref(false);

  // Other tabs of this browser profile: a sign-in, sign-out or new token there applies here too.
  window.addEventListener("storage", (e) => {
    if (e.key !== KEY && e.key !== null) return;
    const next = savedSession();
    if (next?.token !== session.value?.token) session.value = next;
  });

  function setSession(next: Session | null) {
    session.value = next;
    if (next) localStorage.setItem(KEY, JSON.stringify(next));
    else {
      localStorage.removeItem(KEY);
      forgetKeptPreviews(localStorage); // the list's previews were the last user's notes
    }
  }

  async function request<T>(
    path: string,
    options: { body?: unknown; token?: string } = {},
  ): Promise<Outcome<T>> {
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: {
          ...(options.body !== undefined && { "content-type": "application/json" }),
          ...(options.token && { authorization: `Bearer ${options.token}` }),
        },
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      });
      const body = (await res.json().catch(() => ({}))) as T & { message?: string };
      if (!res.ok)
        return { ok: false, message: body.message ?? `the server answered ${res.status}` };
      return { ok: true, value: body };
    } catch {
      return { ok: false, message: "cannot reach the server: check your connection" };
    }
  }

  async function authenticate(
    mode: "signin" | "signup",
    username: string,
    password: string,
  ): Promise<void> {
    busy.value = true;
    error.value = "";
    notice.value = "";
    const res = await request<{ token?: string; userId?: string }>(
      mode === "signup" ? "/api/signup" : "/api/login",
      { body: { username, password } },
    );
    busy.value = false;
    if (!res.ok) error.value = res.message;
    else if (!res.value.token || !res.value.userId) error.value = "the server answered no session";
    else setSession({ token: res.value.token, userId: res.value.userId, username });
  }

  /**
   * Forgets the session here and, unless `remote` is false (it has ended already), ends it on
   * the server (its token stops working everywhere). `message` is shown on the sign-in screen.
   */
  function signOut(options: { remote?: boolean; message?: string } = {}): void {
    const token = session.value?.token;
    setSession(null);
    notice.value = options.message ?? "";
    // Best effort: offline, the token simply expires; the local sign-out has happened either way.
    if (token && options.remote !== false)
      void request("/api/logout", { token }).catch(() => undefined);
  }

  /** Changes the password; every other session ends, this one continues with a new token. */
  async function changePassword(oldPassword: string, newPassword: string): Promise<Outcome> {
    const current = session.value;
    if (!current) return { ok: false, message: "not signed in" };
    renewing.value = true;
    try {
      const res = await request<{ token: string }>("/api/password", {
        token: current.token,
        body: { oldPassword, newPassword },
      });
      if (!res.ok) return res;
      setSession({ ...current, token: res.value.token });
      return { ok: true, value: undefined };
    } finally {
      renewing.value = false;
    }
  }

  /** Ends every session of the account, on every device, this one included. */
  async function signOutEverywhere(): Promise<Outcome> {
    const current = session.value;
    if (!current) return { ok: false, message: "not signed in" };
    const res = await request("/api/logout-everywhere", { token: current.token });
    if (!res.ok) return res;
    signOut({ remote: false, message: "You are signed out on every device." });
    return { ok: true, value: undefined };
  }

  /** Deletes the account and everything of it on the server (the caller removes the local copy). */
  async function deleteAccount(password: string): Promise<Outcome> {
    const current = session.value;
    if (!current) return { ok: false, message: "not signed in" };
    return request("/api/delete-account", { token: current.token, body: { password } });
  }

  return {
    session,
    error,
    busy,
    notice,
    renewing,
    authenticate,
    signOut,
    changePassword,
    signOutEverywhere,
    deleteAccount,
  };
});
