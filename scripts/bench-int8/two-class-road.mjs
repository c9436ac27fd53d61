// A data-source module for the int8 speed benchmark (scripts/bench-int8.sh): the synthetic-road
// scenes relabelled to two classes named as `edgeseg model init --classes 2` names them (class0,
// class1 = road), so a random-weight full-size FCN-8s can be calibrated. Its accuracy means nothing.

import { createSyntheticRoadSource } from '../../dist/data/synthetic-road.js';

const ROAD = 1;
const CLASSES = [
  { id: 0, name: 'class0', color: [210, 45, 45], ignore: false },
  { id: 1, name: 'class1', color: [45, 210, 93], ignore: false },
];

async function* relabelled(batches) {
  for await (const batch of batches) {
    const labels = batch.labels.map((id) => (id === ROAD ? 1 : 0));
    yield { ...batch, labels };
  }
}

export default function createDataSource(options) {
  const base = createSyntheticRoadSource(options);
  return {
    ...base,
    name: 'two-class-road',
    numClasses: 2,
    classes: CLASSES,
    labelColors: CLASSES.map((c) => c.color),
    trainGenerator: (batchSize, generatorOptions) =>
      relabelled(base.trainGenerator(batchSize, generatorOptions)),
    validGenerator: (batchSize) => relabelled(base.validGenerator(batchSize)),
  };
}
