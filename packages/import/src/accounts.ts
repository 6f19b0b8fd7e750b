import { AccountFailure, AccountStore, ImportWriter, SqliteAccountRecords } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";

/** Where a new account's password comes from: asked only when the account must be created. */
export type PasswordSource = (username: string) => Promise<string>;

/** A NoteSync data directory as the importer uses it: accounts, and each user's database. */
export class DataDirectory {
  private readonly records: SqliteAccountRecords;
  private readonly accounts: AccountStore;

  constructor(readonly dir: string) {
    if (!fs.existsSync(dir))
      throw new Error(`${dir} does not exist: give the server's --data-dir (NOTESYNC_DATA_DIR)`);
    fs.mkdirSync(path.join(dir, "users"), { recursive: true });
    // accounts.db, as one server node keeps it (a multi-node cluster keeps accounts in etcd).
    this.records = new SqliteAccountRecords(path.join(dir, "accounts.db"));
    this.accounts = new AccountStore(this.records);
  }

  /** The user's id; the account is created (with a password from `password`) when missing. */
  async user(
    username: string,
    password: PasswordSource,
  ): Promise<{ id: string; created: boolean }> {
    const [user] = await this.users([username], password);
    return user!;
  }

  /**
   * The users' ids, in order; missing accounts are created, but only once every name and every
   * new password is valid: a bad one stops it before any account is made.
   */
  async users(
    usernames: readonly string[],
    password: PasswordSource,
  ): Promise<{ id: string; created: boolean }[]> {
    const planned: { username: string; id: string | null; password: string }[] = [];
    for (const username of usernames) {
      const id = await this.userIdOf(username);
      if (id) {
        planned.push({ username, id, password: "" });
        continue;
      }
      try {
        const valid = AccountStore.validate({ username, password: await password(username) });
        planned.push({ username, id: null, password: valid.password });
      } catch (err) {
        if (err instanceof AccountFailure)
          throw new Error(`account ${username}: ${err.message}`, { cause: err });
        throw err;
      }
    }
    const made: { id: string; created: boolean }[] = [];
    for (const p of planned)
      made.push(
        p.id
          ? { id: p.id, created: false }
          : { id: await this.accounts.signup(p.username, p.password), created: true },
      );
    return made;
  }

  /** The user's id, or null when there is no such account. */
  async userIdOf(username: string): Promise<string | null> {
    return (await this.records.byUsername(username))?.id ?? null;
  }

  /** A writer into the user's database (the server's file for them). */
  writerFor(userId: string): ImportWriter {
    return new ImportWriter(path.join(this.dir, "users", `${userId}.db`));
  }

  close(): void {
    this.records.close();
  }
}

/**
 * Passwords from a file: one line holding the password (for one `--user`), or lines of
 * `username:password` (for many users). Blank lines and lines starting with `#` are skipped.
 */
export function passwordFile(file: string): PasswordSource {
  const lines = fs
    .readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
  return (username) => {
    const entry = lines.find((l) => l.startsWith(`${username}:`));
    if (entry) return Promise.resolve(entry.slice(username.length + 1));
    if (lines.length === 1 && !lines[0]!.includes(":")) return Promise.resolve(lines[0]!);
    return Promise.reject(
      new Error(`${file} has no line "${username}:<password>" for the new account ${username}`),
    );
  };
}

/** Asks on the terminal, without echoing what is typed. */
export const passwordPrompt: PasswordSource = (username) => {
  const input = process.stdin;
  if (!input.isTTY)
    return Promise.reject(
      new Error(
        `the account ${username} does not exist: give --password-file to create it (stdin is not a terminal to ask on)`,
      ),
    );
  process.stderr.write(`New NoteSync password for ${username}: `);
  return new Promise((resolve, reject) => {
    let typed = "";
    input.setRawMode(true);
    input.resume();
    input.setEncoding("utf8");
    const done = (result: () => void) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
      result();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done(() => resolve(typed));
        if (ch === "\u0003") return done(() => reject(new Error("cancelled")));
        if (ch === "\u007f") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    input.on("data", onData);
  });
};
