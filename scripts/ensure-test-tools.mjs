#!/usr/bin/env node
// Makes sure the system tools the integration tests talk to are present (a real mosquitto broker,
// openssl for its TLS certificates, ffmpeg and GStreamer (with x264enc) for video sources and RTP
// outputs, and shellcheck, patch and systemd-analyze for the deploy/ and native/ scripts, python3 for
// a unix datagram listener, chromium for the live page in a headless browser, promtool from the
// prometheus package to check /metrics, qemu-x86_64-static from qemu-user-static to run the int8 demo
// as a CPU without VNNI). scripts/run-tests.mjs runs it before any test, so no test
// has to skip when a tool is missing.
// As root on Debian/Ubuntu it installs what is missing with apt-get; otherwise it names the command.

import { spawnSync } from 'node:child_process';

const tools = {
  mosquitto: 'mosquitto',
  mosquitto_sub: 'mosquitto-clients',
  ffmpeg: 'ffmpeg',
  'gst-launch-1.0': 'gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good',
  shellcheck: 'shellcheck',
  patch: 'patch',
  openssl: 'openssl',
  'systemd-analyze': 'systemd',
  python3: 'python3',
  chromium: 'chromium',
  promtool: 'prometheus',
  'qemu-x86_64-static': 'qemu-user-static',
};

// GStreamer elements (checked with gst-inspect-1.0) and the package that has each.
const gstElements = {
  x264enc: 'gstreamer1.0-plugins-ugly',
};

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const hasElement = (element) => spawnSync('gst-inspect-1.0', [element], { stdio: 'ignore' }).status === 0;
const missing = [
  ...Object.keys(tools).filter((tool) => !has(tool) && !has(`/usr/sbin/${tool}`)),
  ...Object.keys(gstElements).filter((element) => !hasElement(element)),
];
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.map((name) => tools[name] ?? gstElements[name]))].join(' ');
const isRoot = process.getuid?.() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(
    `The tests need: ${missing.join(', ')}.\nInstall them with: sudo apt-get install -y ${packages}`,
  );
  process.exit(1);
}
console.error(`Installing test tools: ${packages}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (command) => spawnSync('sh', ['-c', command], { stdio: 'inherit', env }).status === 0;
if (!run('apt-get update -qq') || !run(`apt-get install -y -qq --no-install-recommends ${packages}`)) {
  console.error(`apt-get failed; install by hand: apt-get install -y ${packages}`);
  process.exit(1);
}
