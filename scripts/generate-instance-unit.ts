// Writes systemd/edgeseg@.service (one daemon per camera: edgeseg@front.service reads
// /etc/edgeseg/front.yaml and keeps its state in /var/lib/edgeseg/front) from systemd/edgeseg.service,
// so that the two units cannot drift apart: every other line is the single unit's own.
// Run: node --import tsx scripts/generate-instance-unit.ts   (a test checks the committed file is current)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Rule {
  /** What the rule changes, for the error when the single unit no longer has it. */
  what: string;
  match: RegExp;
  replace: (line: string) => string;
}

const RULES: Rule[] = [
  {
    what: 'the first comment line (what the unit is)',
    match: /^# edgeseg segmentation daemon\b/,
    replace: () =>
      '# edgeseg segmentation daemon, one per camera: edgeseg@front.service reads /etc/edgeseg/front.yaml\n' +
      '# and keeps its state in /var/lib/edgeseg/front; all instances share /opt/edgeseg and its models.\n' +
      '# Installed to /etc/systemd/system/edgeseg@.service by deploy/install.sh --instance NAME.\n' +
      '# GENERATED from edgeseg.service by scripts/generate-instance-unit.ts: edit that, then regenerate.',
  },
  {
    what: 'Description=',
    match: /^Description=.+$/,
    replace: (line) => `${line} (camera %i)`,
  },
  {
    what: 'the config file in ExecStart=',
    match: /^ExecStart=.* --config \/etc\/edgeseg\/config\.yaml$/,
    replace: (line) => line.replace('/etc/edgeseg/config.yaml', '/etc/edgeseg/%i.yaml'),
  },
  {
    what: 'EnvironmentFile=-/etc/edgeseg/edgeseg.env',
    match: /^EnvironmentFile=-\/etc\/edgeseg\/edgeseg\.env$/,
    // Shared secrets first, then the camera's own (e.g. its RTSP credentials), which win.
    replace: (line) => `${line}\nEnvironmentFile=-/etc/edgeseg/%i.env`,
  },
  {
    what: 'EDGESEG_STATE_DIR in Environment=',
    match: /^Environment=.*\bEDGESEG_STATE_DIR=\/var\/lib\/edgeseg(?= |$).*$/,
    replace: (line) =>
      line.replace(/EDGESEG_STATE_DIR=\/var\/lib\/edgeseg(?= |$)/, 'EDGESEG_STATE_DIR=/var/lib/edgeseg/%i'),
  },
  {
    what: 'StateDirectory=edgeseg',
    match: /^StateDirectory=edgeseg$/,
    replace: () => 'StateDirectory=edgeseg/%i',
  },
  {
    what: 'ReadWritePaths=/var/lib/edgeseg',
    match: /^ReadWritePaths=\/var\/lib\/edgeseg$/,
    replace: () => 'ReadWritePaths=/var/lib/edgeseg/%i',
  },
];

/** The instance unit for a single unit's text; each rule must apply to exactly one line. */
export function instanceUnit(single: string): string {
  const lines = single.split('\n');
  for (const rule of RULES) {
    const hits = lines.flatMap((line, index) => (rule.match.test(line) ? [index] : []));
    if (hits.length !== 1)
      throw new Error(
        `systemd/edgeseg.service: expected exactly one line for ${rule.what}, found ${hits.length}; update scripts/generate-instance-unit.ts`,
      );
    lines[hits[0]!] = rule.replace(lines[hits[0]!]!);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const single = fileURLToPath(new URL('../systemd/edgeseg.service', import.meta.url));
  const target = fileURLToPath(new URL('../systemd/edgeseg@.service', import.meta.url));
  writeFileSync(target, instanceUnit(readFileSync(single, 'utf8')));
  process.stdout.write(`wrote ${target}\n`);
}
