/** Time source. Engines with their own authoritative clock (Redis TIME) use it only for timers. */
export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Calls `fn` once at or after epoch ms `at`; returns a function that cancels it. */
  setTimer(at: number, fn: () => void): () => void;
}

// setTimeout overflows above 2^31-1 ms (~24.8 days): longer waits are chained.
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Wall-clock time and real timers. Timers are unref'd so they never keep a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(at, fn) {
    let handle: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    const arm = () => {
      if (cancelled) return;
      const wait = at - Date.now();
      if (wait <= 0) return fn();
      handle = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
      (handle as { unref?: () => void }).unref?.();
    };
    arm();
    return () => {
      cancelled = true;
      if (handle !== undefined) clearTimeout(handle);
    };
  },
};
