// A node:test reporter for scripts/run-tests.mjs: counts the top-level tests that passed and failed
// and sums each file's top-level test durations, and writes them as one JSON object at the end of
// the run (to the destination run-tests.mjs gives it), so that a run made of several groups can
// print one closing count and the slowest files.

import { relative } from 'node:path';

export default async function* counts(source) {
  const totals = { passed: 0, failed: 0, files: {} };
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0) continue;
    if (event.type === 'test:pass') totals.passed += 1;
    else totals.failed += 1;
    const file = event.data.file ? relative(process.cwd(), event.data.file) : '(unknown file)';
    totals.files[file] = (totals.files[file] ?? 0) + (event.data.details?.duration_ms ?? 0);
  }
  yield `${JSON.stringify(totals)}\n`;
}
