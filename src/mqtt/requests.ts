// Request/response over MQTT, as zigbee2mqtt's bridge requests: a JSON request on
// <base>/request/<name> is answered on <base>/response/<name> with the request's `transaction`,
// `status: ok|error`, and `data` or an `error` that names the field at fault.

import { UserError } from '../system/errors.js';

export type RequestHandler = (payload: Record<string, unknown>) => Promise<unknown>;

export interface RequestResponse {
  transaction?: unknown;
  status: 'ok' | 'error';
  data?: unknown;
  error?: string;
}

export class RequestRouter {
  private readonly handlers = new Map<string, RequestHandler>();

  constructor(private readonly maxPayloadBytes: number) {}

  on(name: string, handler: RequestHandler): this {
    this.handlers.set(name, handler);
    return this;
  }

  off(name: string): this {
    this.handlers.delete(name);
    return this;
  }

  get names(): string[] {
    return [...this.handlers.keys()];
  }

  /** Never throws: every failure becomes an error response. */
  async handle(name: string, payload: Buffer): Promise<RequestResponse> {
    let transaction: unknown;
    try {
      if (payload.length > this.maxPayloadBytes) {
        transaction = leadingTransaction(payload);
        throw new UserError(
          `payload is ${payload.length} bytes; the limit is ${this.maxPayloadBytes} (mqtt.max_payload_bytes)`,
        );
      }
      let body: unknown = {};
      const text = payload.toString('utf8').trim();
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw new UserError(`payload is not valid JSON: ${(error as Error).message}`);
        }
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new UserError('payload must be a JSON object');
      const request = body as Record<string, unknown>;
      transaction = request.transaction;
      const handler = this.handlers.get(name);
      if (!handler) throw new UserError(`unknown request "${name}"; known: ${this.names.join(', ')}`);
      const data = await handler(request);
      return {
        ...(transaction === undefined ? {} : { transaction }),
        status: 'ok',
        ...(data === undefined ? {} : { data }),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ...(transaction === undefined ? {} : { transaction }), status: 'error', error: message };
    }
  }
}

/** The transaction of an oversized request, read from its first kilobyte only (it is never parsed whole). */
function leadingTransaction(payload: Buffer): unknown {
  const head = payload.subarray(0, 1024).toString('utf8');
  const match = /"transaction"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,15})/.exec(head);
  if (!match) return undefined;
  try {
    return JSON.parse(match[1]!);
  } catch {
    return undefined;
  }
}
