// Preloaded (--import) into each test process by scripts/run-tests.mjs: when the process exits it
// writes the CPU time (user + sys, in ms) it used together with the subprocesses it waited for
// (the CLIs, daemons, brokers and encoders its tests started) to the file EDGESEG_TEST_CPU_FILE
// names. Under `node --test FILE` both the runner and the file's own process load it; the runner
// exits last, so its figure (which holds its child's) is the one left in the file.

import { readFileSync, writeFileSync } from 'node:fs';

const destination = process.env.EDGESEG_TEST_CPU_FILE;

/** This process's CPU time plus that of its reaped children, from /proc (Linux); else its own only. */
function cpuMs() {
  try {
    // Fields after the command name (which may hold spaces): utime, stime, cutime, cstime are the
    // 12th to 15th of them, in clock ticks (100 per second on Linux).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0);
    return ticks * 10;
  } catch {
    const usage = process.resourceUsage();
    return (usage.userCPUTime + usage.systemCPUTime) / 1000;
  }
}

if (destination) {
  process.on('exit', () => {
    try {
      writeFileSync(destination, `${cpuMs()}\n`);
    } catch {
      // A figure the runner does not get is shown as unknown; the tests' outcome does not depend on it.
    }
  });
}
