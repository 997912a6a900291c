import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system) a local PostgreSQL backend has used so far, in ms: the first field
 * of /proc/<pid>/schedstat (nanoseconds on a CPU; /proc/<pid>/stat counts 10 ms ticks, too
 * coarse for short statements). Null when the pid is null or not a local process. Read while
 * the backend is idle (between statements), so the value is current. On a shared machine wall
 * time includes waiting for a core; CPU time does not, so its ratio is the steadier of the two.
 */
export function backendCpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

export interface BackendTiming {
  wallMs: number;
  /** The backend's CPU time over fn, ms; null when it cannot be read. */
  cpuMs: number | null;
}

/** Wall time of fn and the CPU time the backend `pid` spent meanwhile. */
export async function timeBackend(pid: number | null, fn: () => Promise<void>): Promise<BackendTiming> {
  const c0 = backendCpuMs(pid);
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const c1 = backendCpuMs(pid);
  return { wallMs, cpuMs: c0 === null || c1 === null ? null : c1 - c0 };
}
