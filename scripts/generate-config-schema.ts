// Writes docs/config.schema.json from the config schema (src/config/schema.ts), the single source.
// Run: node --import tsx scripts/generate-config-schema.ts   (a test checks the committed file is current)

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigJsonSchema } from '../src/config/json-schema.js';

const target = fileURLToPath(new URL('../docs/config.schema.json', import.meta.url));
writeFileSync(target, renderConfigJsonSchema());
process.stdout.write(`wrote ${target}\n`);
