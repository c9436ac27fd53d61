// The web server's connection slots: at most `maxConnections` open, at most `perClient` from one
// address, and a connection that is not serving a request (idle keep-alive, or one that never sent
// a byte) gives its slot up to a newcomer, oldest first, and is closed after `idleTimeoutMs` anyway.
// One client holding every slot with silent sockets can therefore not lock others out.
// Pipelining is bounded before the HTTP parser sees the bytes: Node parses every request of a
// received chunk at once (a 64 KiB write holds 1500 GETs), even after the socket is destroyed, so
// a deeper pipeline is cut off in the bytes handed to the parser and the connection closed.

import type { Socket } from 'node:net';

export interface SlotLimits {
  maxConnections: number;
  perClient: number;
  idleTimeoutMs: number;
  /** Requests a connection may have unanswered at once (HTTP pipelining); beyond, it is closed. */
  maxPipelined: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');

interface Slot {
  address: string;
  /** Request heads received and not yet answered (or abandoned). */
  inFlight: number;
  /** A request head was received (a keep-alive client, not a silent socket). */
  served: boolean;
  /** The last bytes of the previous chunk, for a head end split across two chunks. */
  tail: Buffer;
  /** Date.now() when the last request finished, or when the connection opened. */
  idleSince: number;
}

export interface SlotStats {
  open: number;
  evicted: number;
  refused: number;
  pipelineClosed: number;
}

export class ConnectionSlots {
  private readonly slots = new Map<Socket, Slot>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly counters = { evicted: 0, refused: 0, pipelineClosed: 0 };

  constructor(private readonly limits: SlotLimits) {}

  start(): void {
    this.sweeper ??= setInterval(() => this.closeIdle(), Math.min(1000, this.limits.idleTimeoutMs));
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const socket of this.slots.keys()) socket.destroy();
    this.slots.clear();
  }

  stats(): SlotStats {
    return { open: this.slots.size, ...this.counters };
  }

  /** A new connection: given a slot (evicting an idle one if need be) or closed at once. */
  admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const fromClient = [...this.slots].filter(([, slot]) => slot.address === address);
    if (fromClient.length >= this.limits.perClient && !this.evictOldestIdle(fromClient)) {
      this.refuse(socket);
      return;
    }
    if (this.slots.size >= this.limits.maxConnections && !this.evictOldestIdle([...this.slots])) {
      this.refuse(socket);
      return;
    }
    const slot: Slot = { address, inFlight: 0, served: false, tail: Buffer.alloc(0), idleSince: Date.now() };
    this.slots.set(socket, slot);
    socket.once('close', () => this.slots.delete(socket));
    this.gateParser(socket, slot);
  }

  /**
   * Puts a filter between the socket and the HTTP parser's data listener (Node's own
   * connection listener has just attached it; a JS 'data' listener makes Node feed the parser
   * from JS instead of consuming the socket natively).
   */
  private gateParser(socket: Socket, slot: Slot): void {
    const listeners = socket.listeners('data') as Array<(chunk: Buffer) => void>;
    const parserListener = listeners[listeners.length - 1];
    // A Node.js whose server attaches otherwise keeps the parser as it is (pipelining unbounded,
    // as before); test/integration/daemon-web-stall.test.ts fails on such a version.
    if (listeners.length !== 1 || !parserListener) return;
    socket.removeListener('data', parserListener);
    socket.on('data', (chunk: Buffer) => {
      const allowed = this.admitHeads(slot, chunk);
      if (allowed === chunk.length) return parserListener(chunk);
      this.counters.pipelineClosed++;
      if (allowed > 0) parserListener(chunk.subarray(0, allowed));
      socket.destroy();
    });
  }

  /** How many bytes of `chunk` may reach the parser: all, or up to the last head allowed in flight. */
  private admitHeads(slot: Slot, chunk: Buffer): number {
    const joined = slot.tail.length > 0 ? Buffer.concat([slot.tail, chunk]) : chunk;
    const offset = slot.tail.length;
    let from = 0;
    for (;;) {
      const end = joined.indexOf(HEAD_END, from);
      if (end < 0) break;
      if (slot.inFlight >= this.limits.maxPipelined) return Math.max(0, from - offset);
      slot.inFlight++;
      slot.served = true;
      from = end + HEAD_END.length;
    }
    slot.tail = Buffer.from(joined.subarray(Math.max(from, joined.length - (HEAD_END.length - 1))));
    return chunk.length;
  }

  /** The request's response finished or was abandoned. */
  endRequest(socket: Socket): void {
    const slot = this.slots.get(socket);
    if (!slot) return;
    slot.inFlight = Math.max(0, slot.inFlight - 1);
    if (slot.inFlight === 0) slot.idleSince = Date.now();
  }

  /** Closes the connection that has waited longest without a request; silent ones go first. */
  private evictOldestIdle(candidates: Array<[Socket, Slot]>): boolean {
    const rank = (slot: Slot) => (slot.served ? 1 : 0);
    let oldest: [Socket, Slot] | undefined;
    for (const entry of candidates) {
      const slot = entry[1];
      if (slot.inFlight > 0) continue;
      if (
        !oldest ||
        rank(slot) < rank(oldest[1]) ||
        (rank(slot) === rank(oldest[1]) && slot.idleSince < oldest[1].idleSince)
      )
        oldest = entry;
    }
    if (!oldest) return false;
    this.counters.evicted++;
    this.slots.delete(oldest[0]);
    oldest[0].destroy();
    return true;
  }

  private refuse(socket: Socket): void {
    this.counters.refused++;
    socket.destroy();
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.limits.idleTimeoutMs;
    for (const [socket, slot] of this.slots)
      if (slot.inFlight === 0 && slot.idleSince < cutoff) {
        this.slots.delete(socket);
        socket.destroy();
      }
  }
}
