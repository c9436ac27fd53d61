// Process and board health for the `health` topic: memory, CPU, temperatures (Jetson thermal zones).

import { readdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';

export interface SystemHealth {
  rssBytes: number;
  heapUsedBytes: number;
  cpuLoad1: number;
  /** This process's CPU use since the previous call, in percent of one core. */
  cpuPercent: number;
  temperaturesC: Record<string, number>;
  uptimeS: number;
}

let lastCpu = process.cpuUsage();
let lastCpuAt = performance.now();

export async function readSystemHealth(thermalRoot = '/sys/class/thermal'): Promise<SystemHealth> {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const now = performance.now();
  const elapsedUs = Math.max(1, (now - lastCpuAt) * 1000);
  const cpuPercent = (100 * (cpu.user - lastCpu.user + cpu.system - lastCpu.system)) / elapsedUs;
  lastCpu = cpu;
  lastCpuAt = now;
  return {
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    cpuLoad1: loadavg()[0] ?? 0,
    cpuPercent: Math.round(cpuPercent * 10) / 10,
    temperaturesC: await readTemperatures(thermalRoot),
    uptimeS: Math.round(process.uptime()),
  };
}

// Reads thermal_zoneN/type and thermal_zoneN/temp (millidegrees) as { type: °C }; empty where /sys has none.
export async function readTemperatures(thermalRoot: string): Promise<Record<string, number>> {
  const temperatures: Record<string, number> = {};
  let zones: string[];
  try {
    zones = (await readdir(thermalRoot)).filter((entry) => entry.startsWith('thermal_zone'));
  } catch {
    return temperatures;
  }
  for (const zone of zones.sort()) {
    try {
      const [type, temp] = await Promise.all([
        readFile(join(thermalRoot, zone, 'type'), 'utf8'),
        readFile(join(thermalRoot, zone, 'temp'), 'utf8'),
      ]);
      const celsius = Number.parseInt(temp.trim(), 10) / 1000;
      if (Number.isFinite(celsius)) temperatures[type.trim() || zone] = celsius;
    } catch {
      // Some zones refuse reads (disabled sensors); skip them.
    }
  }
  return temperatures;
}
