// Running one of our own modules in a child process or a worker thread: from source (a .ts file)
// through tsx, built (a .js file) as is, so that the same code works under `npm run edgeseg` and from dist/.

import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `node` arguments that run the module `name` (no extension) that sits beside `base` (import.meta.url). */
export function siblingModuleArgs(base: string, name: string): string[] {
  const fromSource = base.endsWith('.ts');
  const path = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, base));
  // tsx resolved from here, not from the working folder: bin/edgeseg runs from any folder.
  return fromSource ? ['--import', import.meta.resolve('tsx'), path] : [path];
}

/** A worker thread running the module `name` (no extension) that sits beside `base` (import.meta.url). */
export function siblingWorker(base: string, name: string, options: WorkerOptions): Worker {
  if (base.endsWith('.ts')) {
    // Running from source through tsx: the worker needs the TypeScript loader registered first.
    const url = new URL(`./${name}.ts`, base).href;
    const tsxApi = import.meta.resolve('tsx/esm/api');
    return new Worker(
      `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`,
      { ...options, eval: true },
    );
  }
  return new Worker(new URL(`./${name}.js`, base), options);
}
