import type { Etcd3, Watcher } from "etcd3";
import type { Logger } from "pino";
import {
  AccountError,
  AccountFailure,
  type AccountRecord,
  type AccountRecords,
} from "../accounts.js";

interface StoredUser {
  readonly username: string;
  readonly passwordHash: string;
  readonly createdAt: number;
  readonly generation: number;
}

/**
 * Accounts in etcd, for several server nodes: any node answers sign-ups and sign-ins, so account
 * requests need no home node. A username is claimed by one transaction that creates
 * `accounts/usernames/<name>` only if it is absent (etcd is linearizable: two nodes can never
 * both create one name); reads go to etcd each time, so a sign-in on any node sees a sign-up
 * made a moment before on another. Sign-outs are keys that expire with the token they end.
 */
export class EtcdAccountRecords implements AccountRecords {
  private readonly watchers: Watcher[] = [];

  constructor(
    private readonly etcd: Etcd3,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private userKey = (id: string) => `${this.prefix}accounts/users/${id}`;
  private nameKey = (username: string) =>
    `${this.prefix}accounts/usernames/${username.toLowerCase()}`;
  private signedOutKey = (sessionId: string) => `${this.prefix}accounts/signed-out/${sessionId}`;

  /**
   * Calls `listener` whenever a user's account changes on any node (sessions ended, password,
   * deletion): the node serving the user closes connections whose token no longer holds.
   */
  async watch(listener: (userId: string, removed: boolean) => void): Promise<void> {
    const users = `${this.prefix}accounts/users/`;
    const byUser = await this.etcd.watch().prefix(users).create();
    byUser.on("put", (kv) => listener(kv.key.toString().slice(users.length), false));
    byUser.on("delete", (kv) => listener(kv.key.toString().slice(users.length), true));
    // One session signed out: its key's value is the user.
    const signedOut = await this.etcd.watch().prefix(`${this.prefix}accounts/signed-out/`).create();
    signedOut.on("put", (kv) => listener(kv.value.toString(), false));
    for (const w of [byUser, signedOut]) {
      w.on("error", (err) => this.log.warn({ err }, "etcd accounts watch failed; retrying"));
      this.watchers.push(w);
    }
  }

  async insert(record: AccountRecord, createdAt: number): Promise<void> {
    const user: StoredUser = {
      username: record.username,
      passwordHash: record.passwordHash,
      createdAt,
      generation: 0,
    };
    const claimed = await this.etcd
      .if(this.nameKey(record.username), "Create", "==", 0)
      .then(
        this.etcd.put(this.nameKey(record.username)).value(record.id),
        this.etcd.put(this.userKey(record.id)).value(JSON.stringify(user)),
      )
      .commit();
    if (!claimed.succeeded)
      throw new AccountFailure(AccountError.UsernameTaken, "that username is taken");
  }

  async byUsername(username: string): Promise<AccountRecord | undefined> {
    const id = await this.etcd.get(this.nameKey(username)).string();
    return id === null ? undefined : this.byId(id);
  }

  async byId(userId: string): Promise<AccountRecord | undefined> {
    const user = await this.user(userId);
    if (!user) return undefined;
    return { id: userId, username: user.stored.username, passwordHash: user.stored.passwordHash };
  }

  private async user(userId: string): Promise<{ stored: StoredUser; revision: string } | null> {
    const res = await this.etcd.get(this.userKey(userId)).exec();
    const kv = res.kvs[0];
    if (!kv) return null;
    return { stored: JSON.parse(kv.value.toString()) as StoredUser, revision: kv.mod_revision };
  }

  /** Changes a user's record with a compare-and-swap, retried when another node changed it first. */
  private async update(userId: string, change: (u: StoredUser) => StoredUser): Promise<void> {
    for (;;) {
      const current = await this.user(userId);
      if (!current) return;
      const written = await this.etcd
        .if(this.userKey(userId), "Mod", "==", current.revision)
        .then(this.etcd.put(this.userKey(userId)).value(JSON.stringify(change(current.stored))))
        .commit();
      if (written.succeeded) return;
    }
  }

  setPassword(userId: string, passwordHash: string): Promise<void> {
    return this.update(userId, (u) => ({ ...u, passwordHash, generation: u.generation + 1 }));
  }

  signOutEverywhere(userId: string): Promise<void> {
    return this.update(userId, (u) => ({ ...u, generation: u.generation + 1 }));
  }

  async remove(userId: string): Promise<void> {
    // Retried when another node changed the record first (a sign-out at the same moment).
    for (;;) {
      const current = await this.user(userId);
      if (!current) return;
      // Sign-out keys name no account; they expire with the tokens they end.
      const removed = await this.etcd
        .if(this.userKey(userId), "Mod", "==", current.revision)
        .then(
          this.etcd.delete().key(this.userKey(userId)),
          this.etcd.delete().key(this.nameKey(current.stored.username)),
        )
        .commit();
      if (removed.succeeded) return;
    }
  }

  async signOut(sessionId: string, userId: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil((expiresAt - Date.now()) / 1000));
    const lease = this.etcd.lease(ttl, { autoKeepAlive: false });
    await lease.put(this.signedOutKey(sessionId)).value(userId);
    lease.release();
  }

  async sessionGeneration(userId: string): Promise<number | null> {
    return (await this.user(userId))?.stored.generation ?? null;
  }

  async isSignedOut(sessionId: string): Promise<boolean> {
    return (await this.etcd.get(this.signedOutKey(sessionId)).string()) !== null;
  }

  close(): void {
    for (const w of this.watchers.splice(0)) void w.cancel().catch(() => undefined);
  }
}
