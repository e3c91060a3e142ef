/**
 * Wall and CPU time of consecutive stages: `lap(name)` records the seconds since the previous
 * lap (or since the timer was made, or last `restart()`ed) under `name`, wall time in `stages`
 * and CPU time of the whole process (user + system, every thread) in `cpu`, and returns them
 * formatted as `"12.3 s, CPU 20.1 s"`; `restart()` starts the next stage now without recording
 * (after stages timed elsewhere). On loaded cores the wall time grows and the CPU time stays
 * close to the idle run's, so the CPU time is the one to compare across machines' loads.
 * `onLap` hears every lap (the demo's remaining-time estimate).
 * @module
 */

/** A stage timer; `stages` maps each lapped stage to its wall seconds, `cpu` to its CPU seconds. */
export interface StageTimer {
  stages: Record<string, number>;
  cpu: Record<string, number>;
  lap: (name: string) => string;
  restart: () => void;
  /** The listener the timer was made with, to hand on to stages timed elsewhere. */
  onLap?: LapListener;
}

/** Hears a stage's name, wall seconds and CPU seconds as it ends. */
export type LapListener = (name: string, seconds: number, cpuSeconds: number) => void;

/** Makes a {@link StageTimer}. */
export function stageTimer(onLap?: LapListener): StageTimer {
  const stages: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  let clock = performance.now();
  let cpuClock = process.cpuUsage();
  const lap = (name: string) => {
    const now = performance.now();
    const used = process.cpuUsage(cpuClock);
    stages[name] = (now - clock) / 1000;
    cpu[name] = (used.user + used.system) / 1e6;
    clock = now;
    cpuClock = process.cpuUsage();
    onLap?.(name, stages[name], cpu[name]);
    return `${stages[name].toFixed(1)} s, CPU ${cpu[name].toFixed(1)} s`;
  };
  const restart = () => {
    clock = performance.now();
    cpuClock = process.cpuUsage();
  };
  return { stages, cpu, lap, restart, onLap };
}
