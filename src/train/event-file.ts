// TensorBoard event files: TFRecord framing (length, masked CRC32C of the length, data, masked CRC32C
// of the data) around Event protos holding scalar and PNG image summaries. Written by us rather than
// by tfjs-node's summary writer because that one has no image summaries and is optional here.

import { mkdir, open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { CRC32_CASTAGNOLI, crc32 } from '../system/crc.js';

const EVENT_PROTO = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string tag = 1;
    oneof value {
      float simple_value = 2;
      Image image = 4;
    }
  }
  repeated Value value = 1;
}
`;

/** The Event message type (also used by tests to decode what was written). */
export const EventMessage = protobuf.parse(EVENT_PROTO).root.lookupType('tensorboard.Event');

/** CRC-32C (Castagnoli), as TFRecord uses. crc32c("123456789") = 0xe3069283. */
export function crc32c(bytes: Uint8Array): number {
  return crc32(CRC32_CASTAGNOLI, bytes);
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs stay distinct. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of those 8 bytes, the data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const record = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(record.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(record.subarray(0, 8)), true);
  record.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return record;
}

export interface ImageSummary {
  tag: string;
  png: Uint8Array;
  height: number;
  width: number;
}

/** Appends events to RUNDIR/logs/events.out.tfevents.<seconds>.<host>; each write is flushed to disk. */
export class EventFileWriter {
  readonly path: string;
  private handle: Awaited<ReturnType<typeof open>> | undefined;

  private constructor(path: string) {
    this.path = path;
  }

  static async create(logDir: string, now = Date.now()): Promise<EventFileWriter> {
    await mkdir(logDir, { recursive: true });
    const writer = new EventFileWriter(
      join(logDir, `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}`),
    );
    writer.handle = await open(writer.path, 'a');
    await writer.writeEvent({ wallTime: now / 1000, step: 0, fileVersion: 'brain.Event:2' });
    return writer;
  }

  async scalars(step: number, values: Record<string, number>): Promise<void> {
    const value = Object.entries(values)
      .filter(([, v]) => Number.isFinite(v))
      .map(([tag, simpleValue]) => ({ tag, simpleValue }));
    await this.writeEvent({ wallTime: Date.now() / 1000, step, summary: { value } });
  }

  async images(step: number, images: ImageSummary[]): Promise<void> {
    const value = images.map((image) => ({
      tag: image.tag,
      image: {
        height: image.height,
        width: image.width,
        colorspace: 3,
        encodedImageString: image.png,
      },
    }));
    await this.writeEvent({ wallTime: Date.now() / 1000, step, summary: { value } });
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  private async writeEvent(event: Record<string, unknown>): Promise<void> {
    if (!this.handle) throw new Error(`event file ${this.path} is closed`);
    const data = EventMessage.encode(EventMessage.fromObject(event)).finish();
    await this.handle.write(frameRecord(data));
    await this.handle.datasync();
  }
}

/** Reads every record of an event file back, checking both CRCs of each (for tests and tools). */
export function readEventRecords(file: Uint8Array): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [];
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let offset = 0;
  while (offset < file.length) {
    const length = Number(view.getBigUint64(offset, true));
    if (view.getUint32(offset + 8, true) !== maskedCrc32c(file.subarray(offset, offset + 8)))
      throw new Error(`bad length CRC at byte ${offset}`);
    const data = file.subarray(offset + 12, offset + 12 + length);
    if (view.getUint32(offset + 12 + length, true) !== maskedCrc32c(data))
      throw new Error(`bad data CRC at byte ${offset}`);
    events.push(EventMessage.toObject(EventMessage.decode(data), { longs: Number, bytes: Array }));
    offset += 12 + length + 4;
  }
  return events;
}
