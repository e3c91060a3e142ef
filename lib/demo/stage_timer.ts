/**
 * Wall time of consecutive stages: `lap(name)` records the seconds since the previous lap (or
 * since the timer was made, or last `restart()`ed) under `name` and returns them formatted as
 * `"12.3 s"`; `restart()` starts the next stage now without recording (after stages timed
 * elsewhere).
 * @module
 */

/** A stage timer; `stages` maps each lapped stage to its seconds. */
export function stageTimer(): { stages: Record<string, number>; lap: (name: string) => string; restart: () => void } {
  const stages: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    stages[name] = (now - clock) / 1000;
    clock = now;
    return `${stages[name].toFixed(1)} s`;
  };
  const restart = () => {
    clock = performance.now();
  };
  return { stages, lap, restart };
}
