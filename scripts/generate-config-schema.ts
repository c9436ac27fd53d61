// Writes docs/config.schema.json and docs/config.md from the config schema (src/config/schema.ts and
// its sections, schema-*.ts, with each key's metadata), the single source.
// Run: node --import tsx scripts/generate-config-schema.ts   (a test checks the committed file is current)

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc, renderConfigJsonSchema } from '../src/config/json-schema.js';

const target = fileURLToPath(new URL('../docs/config.schema.json', import.meta.url));
writeFileSync(target, renderConfigJsonSchema());
const docTarget = fileURLToPath(new URL('../docs/config.md', import.meta.url));
writeFileSync(docTarget, renderConfigDoc());
process.stdout.write(`wrote ${target} and ${docTarget}\n`);
