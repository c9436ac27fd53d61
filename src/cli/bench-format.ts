// What `edgeseg bench` prints: the text form of each bench mode's report (--json prints the report).

import type { CompareReport } from '../bench/compare.js';
import type { BenchReport, RuntimeBench, VariantReport } from '../bench/daemon-path.js';
import type { FeatureCostReport } from '../bench/features.js';
import type { TableReport } from '../bench/model-table.js';
import type { StartupReport } from '../bench/startup.js';
import { engineLabel } from './infer.js';

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

function variantLines(variant: VariantReport): string[] {
  const s = variant.stages;
  const stage = (name: string, stats: { medianMs: number; p90Ms: number }) =>
    `  ${name.padEnd(12)} median ${ms(stats.medianMs)}  p90 ${ms(stats.p90Ms)}`;
  const lines = [
    `[${variant.label}] ${engineLabel(variant.engine)} on the ${variant.engine.thread ?? 'main'} thread, ${variant.frames} frames each side`,
    stage('preprocess', s.preprocess),
    stage('inference', s.inference),
    stage('handoff', s.handoff),
    stage('postprocess', s.postprocess),
    `  pre+post     median ${ms(variant.prePostMedianMs)}`,
    `  daemon path  ${variant.pipelineFps.toFixed(2)} results/s, CPU ${ms(variant.cpuMsPerFrame.pipeline)}/frame`,
    `  bare session ${variant.bareFps.toFixed(2)} runs/s (median ${ms(variant.bareMedianMs)}), CPU ${ms(variant.cpuMsPerFrame.bare)}/run`,
    `  daemon path / bare session: ${variant.ratio.toFixed(3)} (median of per-round ratios ${variant.roundRatioMedian.toFixed(3)})`,
  ];
  if (variant.vsFirstVariant !== 1)
    lines.push(
      `  results/s against the first variant, median per round: ${variant.vsFirstVariant.toFixed(3)}`,
    );
  const camera = variant.camera;
  if (camera) {
    const m = camera.meanMs;
    lines.push(
      `  camera ${camera.cameraFps} frames/s, ${camera.results} results (${camera.resultsPerSecond.toFixed(2)}/s): age mean ${ms(camera.ageMs.mean)} (median ${ms(camera.ageMs.medianMs)}, p90 ${ms(camera.ageMs.p90Ms)})`,
      `    = queue ${ms(m.queue)} + pre ${ms(m.preprocess)} + inference ${ms(m.inference)} + handoff ${ms(m.handoff)} + post ${ms(m.postprocess)}`,
      `    age / (pre + inference + post = ${ms(camera.workMeanMs)}): ${camera.ageOverWork.toFixed(3)}`,
    );
  }
  return lines;
}

function tfjsLines(bench: RuntimeBench | { skipped: string }): string[] {
  if ('skipped' in bench) return [`tfjs: skipped: ${bench.skipped}`];
  const s = bench.stages;
  return [
    `[tfjs] ${bench.runtime}/${bench.engine.provider}, ${bench.frames} frames: inference median ${ms(s.inference.medianMs)}, pre+post ${ms(bench.prePostMedianMs)}, ${bench.endToEndFps.toFixed(2)} frames/s`,
  ];
}

export function formatBench(report: BenchReport): string {
  return [
    `model ${report.model} (input ${report.modelInput}), raw frames ${report.frameSize}`,
    `JPEG decode of a file input at that size (not in the daemon's path): median ${ms(report.decode.medianMs)}`,
    `post-processing of random logits: median ${ms(report.noisyPostprocess.medianMs)}`,
    ...report.variants.flatMap(variantLines),
    ...tfjsLines(report.tfjs),
  ].join('\n');
}

export function formatStartup(report: StartupReport): string {
  return [
    `engine start, ${report.model}:`,
    ...report.modes.map(
      (mode) =>
        `  ${mode.mode.padEnd(20)} start median ${(mode.startMs.medianMs / 1000).toFixed(2)} s, peak ${mode.peakMb.toFixed(0)} MB, steady ${mode.steadyMb.toFixed(0)} MB, peak/steady ${mode.peakOverSteady.toFixed(2)}`,
    ),
  ].join('\n');
}

export function formatCompare(report: CompareReport): string {
  const side = (label: string, t: CompareReport['a']) =>
    `${label} ${t.model} (${t.precision}, ${engineLabel(t.engine)}): frame median ${ms(t.frameMedianMs)}, inference median ${ms(t.inferenceMedianMs)}, ${t.framesPerSecond.toFixed(2)} frames/s`;
  return [
    `raw ${report.frameSize} frames, ${report.rounds.length} alternating rounds`,
    side('A', report.a),
    side('B', report.b),
    ...report.rounds.map(
      (round, i) =>
        `  round ${i + 1}: A ${ms(round.aFrameMedianMs)}  B ${ms(round.bFrameMedianMs)}  A/B ${round.speedup.toFixed(2)}`,
    ),
    compareVerdict(report),
  ].join('\n');
}

/**
 * The sentence under a --compare: which model is faster and by how much, from the median of the
 * per-round ratios; when the medians over all frames point the other way, the load changed during
 * the run and the sentence says so instead of naming a winner.
 */
export function compareVerdict(report: CompareReport): string {
  const perRound = report.speedup;
  const overall = report.a.frameMedianMs / report.b.frameMedianMs;
  const ratios = `median of the per-round A/B ratios ${perRound.toFixed(2)}, A/B over all frames ${overall.toFixed(2)}`;
  if (Math.sign(perRound - 1) !== Math.sign(overall - 1))
    return `inconclusive: the rounds and the whole run disagree on which is faster (${ratios}); the machine's load changed during the run: rerun with more --rounds on a quieter machine`;
  if (perRound >= 1) return `B is ${perRound.toFixed(2)}x as fast as A (${ratios})`;
  return `B is ${(1 / perRound).toFixed(2)}x slower than A (${ratios})`;
}

export function formatFeatureCost(report: FeatureCostReport): string {
  const ab = (name: string, a: string, b: string, result: { aMs: number; bMs: number; costMs: number }) =>
    `  ${name.padEnd(14)} ${a} ${ms(result.aMs)}, ${b} ${ms(result.bMs)}: ${result.costMs >= 0 ? '+' : ''}${ms(result.costMs)} per frame`;
  return [
    `model ${report.model}: medians of ${report.rounds} alternating rounds over ${report.scenes} scenes`,
    ...report.rows.flatMap((row) => [
      `frames ${row.frame} (HxW)`,
      ab('mask', 'point', 'linear', row.mask),
      ab('overlay', 'point', 'linear', row.overlay),
      ab('ignore-class', 'none', 'one', row.ignoreClass),
      ...(row.encoder
        ? [
            `  RTP encoder    ffmpeg libx264 ultrafast: ${ms(row.encoder.cpuMsPerFrame)} CPU per frame (${row.encoder.frames} frames)`,
          ]
        : []),
    ]),
  ].join('\n');
}

export function formatModelTable(report: TableReport): string {
  const header = [
    'model',
    'precision',
    'input',
    'parameters',
    'GFLOP',
    'frame median',
    'frames/s',
    'x first',
    'x first of size',
  ];
  const rows = report.rows.map((row) => [
    row.name,
    row.precision,
    row.input,
    row.parameters.toLocaleString('en-US'),
    row.forwardGflop.toFixed(row.forwardGflop < 10 ? 2 : 1),
    ms(row.frameMedianMs),
    row.framesPerSecond.toFixed(2),
    row.vsFirst.toFixed(2),
    row.vsSameInputReference.toFixed(2),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [
    `${report.rows.length} models, ${report.rounds} alternating rounds of ${report.framesPerRound} raw frames each at its own input size; ratios are medians of per-round ratios (speed, x the reference)`,
    line(header),
    ...rows.map(line),
  ].join('\n');
}
