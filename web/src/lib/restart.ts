/**
 * Waits for a server that stopped to be started again: asks `ping` every
 * `everyMs` until it answers (true) or `deadlineMs` has passed (false).
 * Failures meanwhile are expected, as nothing listens between the old
 * process's exit and the new one's start, so they are not reported.
 *
 * The first ask comes only after `everyMs`: the old process stops serving
 * right after its last answer, and asking at once could reach it instead of
 * its successor. Each ask may take up to `everyMs * 4`, so a connection that
 * is accepted but never served cannot hold the wait past its deadline.
 * Aborting `stop` (the page is left) rejects with its reason.
 */
export async function whenBack(
  ping: (signal: AbortSignal) => Promise<unknown>,
  { everyMs, deadlineMs, stop }: { everyMs: number; deadlineMs: number; stop: AbortSignal },
): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    await pause(everyMs, stop);
    try {
      await ask(ping, everyMs * 4, stop);
      return true;
    } catch {
      stop.throwIfAborted();
    }
    if (Date.now() >= deadline) return false;
  }
}

function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    stop.throwIfAborted();
    const timer = setTimeout(resolve, ms);
    stop.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(stop.reason);
      },
      { once: true },
    );
  });
}

/** One ping, given up after `ms` or when `stop` aborts. */
async function ask(ping: (signal: AbortSignal) => Promise<unknown>, ms: number, stop: AbortSignal): Promise<void> {
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), ms);
  const stopped = () => giveUp.abort();
  stop.addEventListener('abort', stopped, { once: true });
  try {
    await ping(giveUp.signal);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', stopped);
  }
}
