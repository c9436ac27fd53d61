// Request/response over MQTT, as zigbee2mqtt's bridge requests: a JSON request on
// <base>/request/<name> is answered on <base>/response/<name> with the request's `transaction`,
// `status: ok|error`, and `data` or an `error` that names the field at fault. Each request name has
// a strict schema: unknown keys and wrong types are refused before a handler runs.

import { z } from 'zod';
import { describeIssues } from '../config/issues.js';
import { errorMessage, UserError } from '../system/errors.js';
import { leadingTransaction, parseRequestBody, type Transaction } from './request-body.js';

export type RequestHandler<T> = (request: T) => Promise<unknown>;

export interface RequestResponse {
  transaction?: Transaction;
  status: 'ok' | 'error';
  data?: unknown;
  error?: string;
}

/** The fields every request may carry. */
export const transactionField = {
  transaction: z
    .union([z.string().max(128), z.number().int()])
    .optional()
    .describe('echoed in the response: a string of at most 128 characters or an integer'),
};

/** A request schema: the transaction plus `shape`, unknown keys refused. */
export function requestSchema<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object({ ...transactionField, ...shape }).strict();
}

/** Requests with no fields but the transaction. */
export const EmptyRequestSchema = requestSchema({});

interface Route {
  schema: z.ZodType;
  handler: RequestHandler<never>;
}

const MAX_ERROR_LENGTH = 1000;

/** Requests handled at once by default; docs/mqtt-api.md states it. */
export const MAX_REQUESTS_IN_FLIGHT = 32;

export class RequestRouter {
  private readonly routes = new Map<string, Route>();
  private inFlight = 0;

  constructor(
    private readonly maxPayloadBytes: number,
    /** Requests handled at once; more are answered "busy" at once instead of piling up. */
    private readonly maxInFlight = MAX_REQUESTS_IN_FLIGHT,
  ) {}

  on<S extends z.ZodType>(name: string, schema: S, handler: RequestHandler<z.output<S>>): this {
    this.routes.set(name, { schema, handler: handler as RequestHandler<never> });
    return this;
  }

  off(name: string): this {
    this.routes.delete(name);
    return this;
  }

  get names(): string[] {
    return [...this.routes.keys()];
  }

  /** Never throws: every failure becomes an error response. */
  async handle(name: string, payload: Buffer): Promise<RequestResponse> {
    let transaction: Transaction | undefined;
    if (this.inFlight >= this.maxInFlight) {
      return errorResponse(
        leadingTransaction(payload),
        `busy: ${this.inFlight} requests are being handled; try again`,
      );
    }
    this.inFlight++;
    try {
      if (payload.length > this.maxPayloadBytes) {
        transaction = leadingTransaction(payload);
        throw new UserError(
          `payload is ${payload.length} bytes; the limit is ${this.maxPayloadBytes} (mqtt.max_payload_bytes)`,
        );
      }
      let body: Record<string, unknown>;
      try {
        ({ body, transaction } = parseRequestBody(payload));
      } catch (error) {
        transaction = (error as { transaction?: Transaction }).transaction;
        throw error;
      }
      const route = this.routes.get(name);
      if (!route)
        throw new UserError(`unknown request "${name.slice(0, 100)}"; known: ${this.names.join(', ')}`);
      const checked = route.schema.safeParse(body);
      if (!checked.success) throw new UserError(describeIssues(checked.error));
      const data = await route.handler(checked.data as never);
      return {
        ...(transaction === undefined ? {} : { transaction }),
        status: 'ok',
        ...(data === undefined ? {} : { data }),
      };
    } catch (error) {
      return errorResponse(transaction, responseError(error));
    } finally {
      this.inFlight--;
    }
  }
}

/** The `error` of a response: the message, and its hint, which says what to do about it (e.g. how to unlock a key). */
export function responseError(error: unknown): string {
  const hint = error instanceof UserError && error.hint ? ` (${error.hint})` : '';
  return `${errorMessage(error)}${hint}`;
}

function errorResponse(transaction: Transaction | undefined, message: string): RequestResponse {
  const error = message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}…` : message;
  return { ...(transaction === undefined ? {} : { transaction }), status: 'error', error };
}
