// The architecture as a rule (run by `npm run lint`): src/ folders form layers, lowest first; a file
// may import its own folder and the folders below it, never one above, and no import cycle exists.
// A new folder goes into LAYERS at the height its imports give it.
const LAYERS = [
  'system', // logging, errors, files, signals: imports nothing of ours
  'model', // the FCN-8s description, manifest, model directory, checkpoints
  'data', // data sources and labels
  'capture', // FrameSource seam and sources; RgbFrame
  'engine', // InferenceEngine seam and the runtimes
  'segment', // raw output -> mask, counts, pictures
  'output', // video out
  'config', // the daemon's config schema
  'mqtt', // connection, topics, payloads
  'pipeline', // the daemon's frame loop and publisher
  'export', // ONNX / tfjs writers
  'train', // the training loop
  'jobs', // offline infer and eval
  'quantize', // int8 (calibrates and evaluates)
  'model-store', // install, list, verify models
  'web', // the daemon's HTTP server
  'daemon', // the controller and its extensions
  'bench', // every bench mode
  'cli', // commands: parsing and printing
];

const upward = LAYERS.flatMap((lower, index) => {
  const higher = LAYERS.slice(index + 1);
  return higher.length === 0
    ? []
    : [
        {
          name: `${lower}-imports-above`,
          comment: `src/${lower}/ may import only itself and ${LAYERS.slice(0, index).join(', ') || 'nothing of ours'}`,
          severity: 'error',
          from: { path: `^src/${lower}/` },
          to: { path: `^src/(${higher.join('|')})/` },
        },
      ];
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle (type-only imports included)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'unknown-folder',
      comment: 'every folder under src/ has a place in LAYERS (.dependency-cruiser.cjs)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: `^src/(?!(${LAYERS.join('|')})/)[^/]+/` },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
