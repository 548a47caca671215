/**
 * Calls `tick` every `ms` milliseconds until the returned function is
 * called. One call at a time: the next starts `ms` after the last one
 * answered, so a slow server is never asked twice at once. Meant to be
 * returned from an `$effect` that starts it only while something runs, so
 * polling stops when that ends or when the page is left.
 */
export function every(ms: number, tick: () => Promise<unknown>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    timer = setTimeout(async () => {
      try {
        await tick();
      } catch {
        // `tick` shows its own errors; a failed poll is simply tried again.
      }
      if (!stopped) schedule();
    }, ms);
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
