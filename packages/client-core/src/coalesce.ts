/**
 * Wraps an async task so that calls while it runs do not start it again in parallel: they cause
 * exactly one more run after the current one. For re-queries triggered by bursts of changes.
 */
export function coalesced(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await task();
      } while (again);
    })().finally(() => (running = null));
    return running;
  };
}
