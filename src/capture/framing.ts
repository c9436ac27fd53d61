// Cuts a capture child's stdout into frames by a header in front of each frame, so that a frame of
// another size, or bytes lost or added between frames, are detected instead of re-chunked into
// misaligned frames: ffmpeg writes binary PPM (`P6 W H 255`, then W×H×3 bytes), GStreamer's
// multipartmux writes `--boundary` and `Content-Length: N` (its caps filter fixes W×H; the length
// also catches row padding). Parsing works on bytes in two reused frame buffers and one small header
// buffer: nothing is allocated per frame.

export type FrameFraming = 'ppm' | 'multipart';

/** The boundary of GStreamer's multipartmux in our pipelines (a constant of ours). */
export const MULTIPART_BOUNDARY = 'edgesegframe';

/** What a header announced: W×H for PPM, only the byte count for multipart. */
export interface AnnouncedFrame {
  width?: number;
  height?: number;
  bytes: number;
}

export interface FrameReaderHandlers {
  /** A frame of the expected size; its buffer is reused two frames later. */
  frame(data: Uint8Array): void;
  /** A frame whose header announced another size: its bytes were skipped. */
  refused(announced: AnnouncedFrame): void;
  /** Bytes that were no header were skipped until the next valid header. */
  resynchronised(skippedBytes: number): void;
}

const MAX_HEADER_BYTES = 96;
/** No capture tool writes a larger side: a bigger number is no header (and would swallow the stream). */
const MAX_SIDE = 16384;
const CR = 13;
const LF = 10;
const ascii = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
const MULTIPART_START = ascii(`--${MULTIPART_BOUNDARY}\r\n`);
const CONTENT_LENGTH = ascii('content-length:');

/** What a header parser returns when it has no payload length yet. */
const Parse = { NeedMore: -1, Bad: -2 } as const;

const isSpace = (byte: number) => byte === 32 || byte === 9 || byte === 10 || byte === 13;
const isDigit = (byte: number) => byte >= 48 && byte <= 57;

export class FrameReader {
  private readonly buffers: [Uint8Array, Uint8Array];
  private readonly header = new Uint8Array(MAX_HEADER_BYTES);
  private headerLength = 0;
  private current = 0;
  /** Bytes of the payload still to come, and whether they are kept (a frame) or skipped. */
  private payloadLeft = 0;
  private payloadFilled = 0;
  private keepPayload = false;
  private announced: AnnouncedFrame = { bytes: 0 };
  private skipped = 0;
  // Set by the header parsers (numbers, not objects: nothing allocated per frame).
  private parsedWidth = 0;
  private parsedHeight = 0;
  private parsedBytes = 0;

  constructor(
    readonly framing: FrameFraming,
    readonly width: number,
    readonly height: number,
    private readonly handlers: FrameReaderHandlers,
  ) {
    const frameBytes = width * height * 3;
    this.buffers = [new Uint8Array(frameBytes), new Uint8Array(frameBytes)];
  }

  /** Bytes skipped since the last valid header (a stream with no header at all keeps growing it). */
  get skippedBytes(): number {
    return this.skipped;
  }

  /** A new child: whatever was half read belongs to the one before. */
  reset(): void {
    this.headerLength = 0;
    this.payloadLeft = 0;
    this.payloadFilled = 0;
    this.skipped = 0;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - offset);
        if (this.keepPayload) {
          this.buffers[this.current]!.set(chunk.subarray(offset, offset + take), this.payloadFilled);
        }
        this.payloadFilled += take;
        this.payloadLeft -= take;
        offset += take;
        if (this.payloadLeft === 0) this.payloadDone();
        continue;
      }
      this.header[this.headerLength++] = chunk[offset++]!;
      this.headerByte();
    }
  }

  private payloadDone(): void {
    if (!this.keepPayload) {
      this.handlers.refused(this.announced);
      return;
    }
    const frame = this.buffers[this.current]!;
    this.current = 1 - this.current;
    this.handlers.frame(frame);
  }

  /** After each header byte: wait for more, start a payload, or drop bytes up to a possible header. */
  private headerByte(): void {
    for (;;) {
      const result = this.parseHeader();
      if (result === Parse.NeedMore) {
        if (this.headerLength < MAX_HEADER_BYTES) return;
      } else if (result !== Parse.Bad) {
        this.startPayload();
        return;
      }
      this.dropHeaderStart();
      if (this.headerLength === 0) return;
    }
  }

  private startPayload(): void {
    const expected = this.buffers[0].length;
    const width = this.parsedWidth;
    const height = this.parsedHeight;
    const bytes = this.parsedBytes;
    if (this.skipped > 0) {
      this.handlers.resynchronised(this.skipped);
      this.skipped = 0;
    }
    this.headerLength = 0;
    this.payloadFilled = 0;
    this.payloadLeft = bytes;
    this.keepPayload =
      bytes === expected &&
      (this.framing === 'multipart' || (width === this.width && height === this.height));
    if (!this.keepPayload) {
      this.announced = this.framing === 'ppm' ? { width, height, bytes } : { bytes };
      // An empty payload is refused at once (push() only finishes payloads it reads bytes of).
      if (bytes === 0) this.payloadDone();
    }
  }

  /** Drops the first header byte and everything up to the next byte that could start a header. */
  private dropHeaderStart(): void {
    const first = this.framing === 'ppm' ? 80 /* P */ : MULTIPART_START[0];
    let next = 1;
    while (next < this.headerLength && this.header[next] !== first && this.header[next] !== CR) next++;
    this.skipped += next;
    this.header.copyWithin(0, next, this.headerLength);
    this.headerLength -= next;
  }

  private parseHeader(): number {
    return this.framing === 'ppm' ? this.parsePpm() : this.parseMultipart();
  }

  /** `P6`, whitespace, width, whitespace, height, whitespace, 255, one whitespace byte. */
  private parsePpm(): number {
    const header = this.header;
    const length = this.headerLength;
    if (header[0] !== 80 /* P */) return Parse.Bad;
    if (length < 2) return Parse.NeedMore;
    if (header[1] !== 54 /* 6 */) return Parse.Bad;
    let at = 2;
    let width = 0;
    let height = 0;
    for (let field = 0; field < 3; field++) {
      if (at >= length) return Parse.NeedMore;
      if (!isSpace(header[at]!)) return Parse.Bad;
      while (at < length && isSpace(header[at]!)) at++;
      let value = 0;
      let digits = 0;
      while (at < length && isDigit(header[at]!)) {
        value = value * 10 + header[at]! - 48;
        if (++digits > 5) return Parse.Bad;
        at++;
      }
      if (at >= length) return Parse.NeedMore;
      if (digits === 0 || !isSpace(header[at]!) || value > MAX_SIDE) return Parse.Bad;
      if (field === 0) width = value;
      else if (field === 1) height = value;
      else if (value !== 255) return Parse.Bad;
    }
    // The single whitespace byte after maxval ends the header; `at` points at it.
    this.parsedWidth = width;
    this.parsedHeight = height;
    this.parsedBytes = width * height * 3;
    if (at + 1 !== length) return Parse.Bad;
    return this.parsedBytes;
  }

  /** An optional CRLF (the end of the previous part), `--boundary` CRLF, header lines, CRLF CRLF. */
  private parseMultipart(): number {
    const header = this.header;
    const length = this.headerLength;
    let at = 0;
    if (header[0] === CR) {
      if (length < 2) return Parse.NeedMore;
      if (header[1] !== LF) return Parse.Bad;
      at = 2;
    }
    for (let i = 0; i < MULTIPART_START.length; i++, at++) {
      if (at >= length) return Parse.NeedMore;
      if (header[at] !== MULTIPART_START[i]) return Parse.Bad;
    }
    // Header lines up to an empty line; the end is four bytes CR LF CR LF.
    if (length < at + 2) return Parse.NeedMore;
    if (
      !(
        header[length - 4] === CR &&
        header[length - 3] === LF &&
        header[length - 2] === CR &&
        header[length - 1] === LF
      )
    )
      return Parse.NeedMore;
    let bytes = -1;
    for (let line = at; line < length - 2; ) {
      let end = line;
      while (header[end] !== CR) end++;
      if (this.startsWithIgnoringCase(line, CONTENT_LENGTH)) {
        let digit = line + CONTENT_LENGTH.length;
        while (header[digit] === 32) digit++;
        let value = 0;
        let digits = 0;
        for (; digit < end && isDigit(header[digit]!); digit++) {
          value = value * 10 + header[digit]! - 48;
          if (++digits > 9) return Parse.Bad;
        }
        if (digits === 0 || digit !== end) return Parse.Bad;
        bytes = value;
      }
      line = end + 2;
    }
    if (bytes < 0) return Parse.Bad;
    this.parsedWidth = 0;
    this.parsedHeight = 0;
    this.parsedBytes = bytes;
    return bytes;
  }

  private startsWithIgnoringCase(at: number, prefix: Uint8Array): boolean {
    for (let i = 0; i < prefix.length; i++) {
      const byte = this.header[at + i];
      if (byte === undefined || (byte | 0x20) !== prefix[i]) return false;
    }
    return true;
  }
}
