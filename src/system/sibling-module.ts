// Running one of our own modules in a child process: from source (a .ts file) through tsx, built
// (a .js file) as is, so that the same code works under `npm run edgeseg` and from dist/.

import { fileURLToPath } from 'node:url';

/** `node` arguments that run the module `name` (no extension) that sits beside `base` (import.meta.url). */
export function siblingModuleArgs(base: string, name: string): string[] {
  const fromSource = base.endsWith('.ts');
  const path = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, base));
  // tsx resolved from here, not from the working folder: bin/edgeseg runs from any folder.
  return fromSource ? ['--import', import.meta.resolve('tsx'), path] : [path];
}
