// Whether a PID named in a file (a temp folder, a partial video) still belongs to a running
// process: what decides whether its leftovers may be removed.

/** True when a process with this PID runs (EPERM: it runs under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
