import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { crc32c, EventFileWriter, readEventRecords } from '../../src/train/event-file.js';
import { makeTempDir } from '../helpers/tmp.js';

test('crc32c matches the standard check value', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('event file holds framed, CRC-checked scalar and PNG image summaries TensorBoard can read', async () => {
  const dir = await makeTempDir();
  const writer = await EventFileWriter.create(join(dir, 'logs'));
  await writer.scalars(3, { 'loss/train': 0.5, 'metrics/mIoU': 0.25, skipped: Number.NaN });
  const png = await sharp(Buffer.alloc(4 * 6 * 3, 200), { raw: { width: 6, height: 4, channels: 3 } })
    .png()
    .toBuffer();
  await writer.images(5, [{ tag: 'validation/0/prediction', png, height: 4, width: 6 }]);
  await writer.close();

  const files = await readdir(join(dir, 'logs'));
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^events\.out\.tfevents\.\d+\./);
  const events = readEventRecords(await readFile(join(dir, 'logs', files[0]!)));
  assert.equal(events.length, 3);
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  const scalars = (events[1]!.summary as { value: Array<{ tag: string; simpleValue: number }> }).value;
  assert.equal(events[1]!.step, 3);
  assert.deepEqual(
    scalars.map((v) => [v.tag, v.simpleValue]),
    [
      ['loss/train', 0.5],
      ['metrics/mIoU', 0.25],
    ],
  );
  const image = (events[2]!.summary as { value: Array<{ tag: string; image: Record<string, unknown> }> })
    .value[0]!;
  assert.equal(image.tag, 'validation/0/prediction');
  const decoded = await sharp(Buffer.from(image.image.encodedImageString as number[])).metadata();
  assert.deepEqual([decoded.format, decoded.width, decoded.height], ['png', 6, 4]);

  // A flipped byte must be caught by the data CRC.
  const corrupted = new Uint8Array(await readFile(join(dir, 'logs', files[0]!)));
  corrupted[corrupted.length - 10]! ^= 0xff;
  assert.throws(() => readEventRecords(corrupted), /CRC/);
});
