// Main-thread side of a frame stream into the worker-thread engine. Frames go into a small pool of
// shared buffers and the newest one's slot into a shared mailbox; the worker takes from the mailbox
// the moment a run ends (engine/worker-frames), so no main-thread hop sits between two inferences
// and a busy or descheduled main thread never delays the next one. Nothing queues: a frame that
// arrives while another waits replaces it (dropped), and when every slot is busy (results not yet
// handled here) the newest frame waits in one buffer here for the next free slot. Memory is the
// pool's few frames, whatever the camera rate or the run time. A result's pixels are read in place and its slot returns on release().

import type { MessagePort } from 'node:worker_threads';
import type { RgbFrame } from '../capture/types.js';
import type { FrameStreamHandlers, FrameStream as FrameStreamPort } from './types.js';
import type { FramePool, PoolViews, StreamFrame, StreamReply, StreamRequest } from './worker-protocol.js';
import {
  deserializeError,
  POOL_EMPTY,
  POOL_IDLE,
  POOL_MAILBOX,
  POOL_META_FIELDS,
  poolViews,
  takeMailbox,
} from './worker-protocol.js';

/** Slots: one in the mailbox, one in the engine, one result being handled here, one to fill. */
export const POOL_SLOTS = 4;

interface Pool extends PoolViews {
  /** Bytes each slot holds. */
  capacity: number;
  /** Slots neither in the mailbox, nor in the worker, nor leased out with a result. */
  free: number[];
}

export class FrameStream implements FrameStreamPort {
  private pool: Pool | undefined;
  /** The current pool and the one before (results taken from it may still come back). */
  private readonly pools = new Map<number, Pool>();
  private generation = 0;
  private seq = 0;
  private nextDrain = 0;
  private readonly drains = new Map<number, () => void>();
  /** Results handed out and not yet released: their pixels are a slot. */
  private readonly leased = new Map<Uint8Array, { pool: Pool; slot: number }>();
  private closed = false;
  /** A frame that found every slot busy, waiting here for one (never more than one). */
  private held: RgbFrame | undefined;

  constructor(
    private readonly port: MessagePort,
    private readonly handlers: FrameStreamHandlers,
    private readonly onClose: () => void = () => {},
  ) {
    port.on('message', (reply: StreamReply) => this.receive(reply));
  }

  /** The engine is gone: closes the stream (drains resolve) and tells the owner once. */
  fail(error: Error): void {
    if (this.closed) return;
    this.close();
    this.handlers.ended?.(error);
  }

  /** Copies the frame (the source reuses its buffers) into a free slot and posts it in the mailbox. */
  offer(frame: RgbFrame): void {
    if (this.closed) return;
    const bytes = frame.data.length;
    if (bytes !== frame.width * frame.height * 3 || bytes === 0) {
      // Checked here, not in the worker: a frame that is not what it says never takes a slot.
      this.handlers.failed(
        new RangeError(`frame data has ${bytes} bytes, expected ${frame.width * frame.height * 3}`),
        frame,
      );
      return;
    }
    if (!this.pool || bytes > this.pool.capacity) this.newPool(bytes);
    const pool = this.pool!;
    // No free slot: take back the one in the mailbox (its frame is older), else keep the frame
    // here until a result frees a slot (one buffer: a newer frame replaces it).
    let slot = pool.free.pop();
    if (slot === undefined) {
      slot = takeMailbox(pool.control);
      if (slot !== undefined) this.handlers.dropped(1);
    }
    if (slot === undefined) {
      this.hold(frame);
      return;
    }
    this.post(pool, slot, frame);
  }

  private hold(frame: RgbFrame): void {
    if (this.held) this.handlers.dropped(1);
    const data =
      this.held?.data.length === frame.data.length ? this.held.data : new Uint8Array(frame.data.length);
    data.set(frame.data);
    this.held = { ...frame, data };
  }

  /** A slot came free: the frame held here, if any, goes into it. */
  private freed(pool: Pool, slot: number): void {
    const held = this.held;
    if (held && pool === this.pool && !this.closed) {
      this.held = undefined;
      this.post(pool, slot, held);
    } else pool.free.push(slot);
  }

  private post(pool: Pool, slot: number, frame: RgbFrame): void {
    pool.slots[slot]!.set(frame.data);
    const at = slot * POOL_META_FIELDS;
    pool.meta[at] = ++this.seq;
    pool.meta[at + 1] = frame.captureTimeMs;
    pool.meta[at + 2] = frame.width;
    pool.meta[at + 3] = frame.height;
    const previous = Atomics.exchange(pool.control, POOL_MAILBOX, slot);
    if (previous !== POOL_EMPTY) {
      pool.free.push(previous);
      this.handlers.dropped(1);
    }
    // The worker found the mailbox empty and waits: wake it (once; it clears nothing itself).
    if (Atomics.compareExchange(pool.control, POOL_IDLE, 1, 0) === 1) this.send({ type: 'kick' });
  }

  /** Gives a result's slot back once nothing refers to its pixels any more. */
  release(frame: RgbFrame): void {
    const lease = this.leased.get(frame.data);
    if (!lease) return;
    this.leased.delete(frame.data);
    if (lease.pool === this.pool) this.freed(lease.pool, lease.slot);
  }

  /** Drops the frame waiting and resolves once the frame in flight is out. */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.dropWaiting();
    const id = this.nextDrain++;
    return new Promise<void>((resolve) => {
      this.drains.set(id, resolve);
      this.send({ type: 'drain', id });
    });
  }

  /** Closes the port; the worker's side of the stream goes with it. Call after drain(). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    this.onClose();
    for (const resolve of this.drains.values()) resolve();
    this.drains.clear();
  }

  private send(request: StreamRequest): void {
    this.port.postMessage(request);
  }

  private dropWaiting(): void {
    if (this.held) {
      this.held = undefined;
      this.handlers.dropped(1);
    }
    if (!this.pool) return;
    const waiting = takeMailbox(this.pool.control);
    if (waiting === undefined) return;
    this.pool.free.push(waiting);
    this.handlers.dropped(1);
  }

  /** A pool for frames of `bytes` (the first frame, or a larger one than the pool holds). */
  private newPool(bytes: number): void {
    this.dropWaiting();
    const shared: FramePool = {
      generation: ++this.generation,
      control: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
      meta: new SharedArrayBuffer(POOL_SLOTS * POOL_META_FIELDS * Float64Array.BYTES_PER_ELEMENT),
      slots: Array.from({ length: POOL_SLOTS }, () => new SharedArrayBuffer(bytes)),
    };
    const views = poolViews(shared);
    views.control[POOL_MAILBOX] = POOL_EMPTY;
    // Not idle: the worker looks into the mailbox when the pool message reaches it.
    views.control[POOL_IDLE] = 0;
    this.pool = {
      ...views,
      capacity: bytes,
      free: Array.from({ length: POOL_SLOTS }, (_, slot) => POOL_SLOTS - 1 - slot),
    };
    this.pools.set(shared.generation, this.pool);
    this.pools.delete(shared.generation - 2);
    this.send({ type: 'pool', ...shared });
  }

  /** The result's frame, read in place; `pool` is set when its slot is to be reused. */
  private frameOf(reply: StreamFrame): { frame: RgbFrame; pool: Pool | undefined } {
    const bytes = reply.width * reply.height * 3;
    const from = this.pools.get(reply.generation);
    // A result from the pool given up when a larger frame came keeps its pixels; its slot is not
    // reused. Anything else is not a slot of ours: an empty frame rather than a wrong one.
    const data =
      from && bytes <= from.capacity ? from.slots[reply.slot]!.subarray(0, bytes) : new Uint8Array(bytes);
    const frame = { data, width: reply.width, height: reply.height, captureTimeMs: reply.captureTimeMs };
    return { frame, pool: from === this.pool ? from : undefined };
  }

  private receive(reply: StreamReply): void {
    if (reply.type === 'drained') {
      this.drains.get(reply.id)?.();
      this.drains.delete(reply.id);
      return;
    }
    const { frame, pool } = this.frameOf(reply);
    if (reply.type === 'failed') {
      this.handlers.failed(deserializeError(reply.error), frame);
      if (pool) this.freed(pool, reply.slot);
      return;
    }
    if (pool) this.leased.set(frame.data, { pool, slot: reply.slot });
    this.handlers.result({
      seq: reply.seq,
      frame,
      output: reply.output,
      takenAtMs: reply.takenAtMs,
      preprocessMs: reply.preprocessMs,
      inferenceMs: reply.inferenceMs,
    });
  }
}
