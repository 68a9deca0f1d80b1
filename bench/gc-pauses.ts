import { PerformanceObserver } from 'node:perf_hooks';

/** Garbage-collection pauses of this process over a stretch of a benchmark. */
export type GcPauses = { count: number; p50Ms: number; maxMs: number; totalMs: number };

/**
 * Records this process's garbage-collection pauses until `stop()`: a latency tail is often a
 * pause, and this says how many there were and how long.
 */
export function watchGc(): { stop(): GcPauses } {
  const pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      pauses.sort((a, b) => a - b);
      const round = (x: number) => Math.round(x * 100) / 100;
      return { count: pauses.length, p50Ms: round(pauses[Math.floor(pauses.length / 2)] ?? 0), maxMs: round(pauses.at(-1) ?? 0), totalMs: round(pauses.reduce((s, x) => s + x, 0)) };
    },
  };
}
