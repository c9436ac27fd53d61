// Writes docs/mqtt-api.md: the prose below plus JSON Schemas generated from src/mqtt/payloads.ts.
// Run: node --import tsx scripts/generate-mqtt-docs.ts   (a test checks the committed file is current)

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMqttApiDoc } from '../src/mqtt/api-doc.js';

const target = fileURLToPath(new URL('../docs/mqtt-api.md', import.meta.url));
writeFileSync(target, renderMqttApiDoc());
process.stdout.write(`wrote ${target}\n`);
