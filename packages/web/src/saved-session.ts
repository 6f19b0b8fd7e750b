/** Who is signed in, as kept in localStorage (the app opens offline with it). */
export interface Session {
  readonly token: string;
  readonly userId: string;
  readonly username: string;
}

export const SESSION_KEY = "notesync:session";

/** The session kept from the last visit, if any. */
export function savedSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}
