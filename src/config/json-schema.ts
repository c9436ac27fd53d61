// The published JSON Schema of the daemon config (docs/config.schema.json), derived from the zod schema.

import { configJsonSchema } from './schema.js';

export function renderConfigJsonSchema(): string {
  const schema = {
    $id: 'https://edgeseg.invalid/config.schema.json',
    title: 'edgeseg daemon configuration',
    ...(configJsonSchema() as Record<string, unknown>),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
