#!/usr/bin/env node
// The `edgeseg` command line: builds the program (cli/program.ts) for the command asked for and runs it.

import { runMain } from './main.js';
import { createProgram } from './program.js';

const requested = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
await runMain(await createProgram(requested));
