/**
 * @module HttpError: a route's answer with Consul's status and message (server.ts writes it).
 */
/** An error that becomes an HTTP reply with a plain-text body. */
export class HttpError extends Error {
  readonly status: number;
  /** Close the connection after the answer (a request body was left unread). */
  readonly close: boolean;
  constructor(status: number, message: string, close = false) {
    super(message);
    this.status = status;
    this.close = close;
  }
}
