#!/usr/bin/env node
// The `edgeseg` command line: builds the program (cli/program.ts) for the command asked for and runs it.

import { runMain } from './main.js';
import { createProgram } from './program.js';

const args = process.argv.slice(2);
const requested = args.find((arg) => !arg.startsWith('-'));
// `edgeseg --version` needs no command: loading them all (tfjs, onnxruntime, sharp) took seconds.
const versionOnly = requested === undefined && args.some((arg) => arg === '-V' || arg === '--version');
await runMain(await createProgram(versionOnly ? null : requested));
