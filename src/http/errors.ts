/**
 * @module HttpError: a route's answer with Consul's status and message (server.ts writes it).
 */
/** An error that becomes an HTTP reply with a plain-text body. */
export class HttpError extends Error {
  readonly status: number;
  /** Close the connection after the answer (a request body was left unread). */
  readonly close: boolean;
  /** Headers the error reply carries (the ACL guard adds X-Consul-Default-ACL-Policy). */
  headers?: Record<string, string>;
  constructor(status: number, message: string, close = false) {
    super(message);
    this.status = status;
    this.close = close;
  }
}
