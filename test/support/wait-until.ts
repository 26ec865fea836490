/**
 * Polls `check` until it holds, for work the service finishes after it has
 * answered (transcripts at close, the purge after a withdrawal). Real time,
 * not the injected clock: the work runs on the event loop, not on a timer.
 */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
