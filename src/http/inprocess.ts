/**
 * @module In-process requests: a request in, a response out, through the same handler the HTTP
 * server runs (routing, 404/405, errors, JSON), without a socket — as Hono's `app.request`. Route
 * tests use it to check a route in milliseconds (test/http/routes-inprocess.test.ts).
 */
import { PassThrough, Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeHandler, type Router } from './server.ts';

/** What an in-process request answered. */
export interface InProcessResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON. */
  json(): unknown;
}

/** Runs one request through `router` (`url` is a path with its query string). */
export async function request(router: Router, method: string, url: string, opts: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<InProcessResponse> {
  const payload = opts.body === undefined ? [] : [Buffer.from(opts.body)];
  const req = Object.assign(Readable.from(payload), {
    method, url, headers: { ...(opts.body !== undefined ? { 'content-length': String(payload[0]!.length) } : {}), ...lower(opts.headers ?? {}) },
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;
  const chunks: Buffer[] = [];
  let status = 0;
  let headers: Record<string, string> = {};
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  const res = Object.assign(out, {
    headersSent: false,
    writeHead(s: number, h: Record<string, string> = {}) { status = s; headers = lower(h); res.headersSent = true; return res; },
  });
  const done = new Promise<void>(resolve => out.on('end', () => resolve()));
  await makeHandler(router)(req, res as unknown as ServerResponse);
  if (!res.writableEnded) await new Promise<void>(resolve => out.on('finish', () => resolve()));
  out.end();
  await done;
  const body = Buffer.concat(chunks).toString('utf8');
  return { status, headers, body, json: () => JSON.parse(body) };
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
