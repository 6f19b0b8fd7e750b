/** The Web Lock a tab holds while it has a database open: granted to others once it is gone. */
export const tabLockName = (client: string) => `notesync-tab:${client}`;

/** Takes the tab's lock; resolves once held. The returned function releases it. */
export async function holdTabLock(client: string): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await new Promise<void>((granted, failed) => {
    navigator.locks
      .request(tabLockName(client), () => {
        granted();
        return held;
      })
      .catch(failed);
  });
  return release;
}
