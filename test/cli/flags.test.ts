// Every numeric flag of every command, found through commander (so a new flag is covered without
// editing this file), refuses `abc`, `-1` and `1e999` with one error that names the flag.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command, Option } from 'commander';
import { reportError } from '../../src/cli/main.js';
import { isNumericOption, isParsedOption } from '../../src/cli/parse.js';
import { createProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

/** Placeholders that only a number can fill: an option spelled with one must parse as a number. */
const NUMERIC_PLACEHOLDER = /<(n|port|rate|f|a|p|w|miou|multiplier|count|factor|fps)>/;

interface Flag {
  path: string[];
  option: Option;
}

function leafFlags(command: Command, path: string[] = []): Flag[] {
  const here = path.length > 0 ? command.options.map((option) => ({ path, option })) : [];
  return [...here, ...command.commands.flatMap((sub) => leafFlags(sub, [...path, sub.name()]))];
}

/** Parses argv with the real program; returns what a user would read on stderr and the exit code. */
async function parse(argv: string[]): Promise<{ code: number; stderr: string }> {
  const program = await createProgram();
  const reached: string[] = [];
  const neverRun = (command: Command) => {
    command.action(() => {
      reached.push(command.name());
    });
    for (const sub of command.commands) neverRun(sub);
  };
  for (const sub of program.commands) neverRun(sub);
  program.exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  let code = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    code = reportError(error);
  } finally {
    process.stderr.write = write;
  }
  if (reached.length > 0) written.push(`(the action of ${reached.join(', ')} ran)`);
  return { code, stderr: written.join('') };
}

test('every numeric flag of every command refuses abc, -1 and 1e999, naming the flag', async () => {
  const flags = leafFlags(await createProgram()).filter(({ option }) => isNumericOption(option));
  assert.ok(flags.length >= 40, `found only ${flags.length} numeric flags`);
  const failures: string[] = [];
  for (const { path, option } of flags) {
    for (const value of ['abc', '-1', '1e999']) {
      const { code, stderr } = await parse([...path, option.long!, value]);
      const lines = stderr.trim().split('\n');
      const clean =
        code === 1 && lines.length === 1 && lines[0]!.startsWith(`edgeseg: ${option.long}: must be `);
      if (!clean) failures.push(`${path.join(' ')} ${option.long} ${value}: exit ${code}: ${stderr.trim()}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('no command parses a number on its own: every flag spelled <n>, <port>, <rate>... uses cli/parse.ts', async () => {
  const strays = leafFlags(await createProgram())
    .filter(({ option }) => NUMERIC_PLACEHOLDER.test(option.flags) && !isNumericOption(option))
    .map(({ path, option }) => `${path.join(' ')} ${option.flags}`);
  const ownParsers = leafFlags(await createProgram())
    .filter(
      // .choices() installs commander's own check, which names the flag and the choices.
      ({ option }) =>
        option.parseArg !== undefined && option.argChoices === undefined && !isParsedOption(option),
    )
    .map(({ path, option }) => `${path.join(' ')} ${option.flags}`)
    // A repeatable flag collects its values; it parses nothing.
    .filter((flag) => !flag.endsWith('--ignore-class <name>'));
  assert.deepEqual(strays, []);
  assert.deepEqual(ownParsers, []);
});

test('the real CLI: run --port abc, watch --count -1, train --size 100x100 and --train-workers all name the flag, exit 1', async () => {
  const cases: Array<[string[], string]> = [
    [['run', '--demo', '--port', 'abc'], 'edgeseg: --port: must be an integer from 0 to 65535, got "abc"'],
    [['watch', '--count', '-1'], 'edgeseg: --count: must be a positive integer, got "-1"'],
    [
      ['train', '--data-source', 'synthetic-road', '--out', 'unused', '--size', '100x100'],
      'edgeseg: --size: 100x100 (HxW): both sides must be divisible by 32 (FCN-8s downsamples by 32); the nearest valid size is 96x96',
    ],
    // A flag that also takes `auto` says so.
    [
      ['train', '--data-source', 'synthetic-road', '--out', 'unused', '--train-workers', 'all'],
      'edgeseg: --train-workers: must be auto or an integer from 0 to 64, got "all"',
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args, { timeoutMs: 60_000 });
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trim(), message);
  }
});
