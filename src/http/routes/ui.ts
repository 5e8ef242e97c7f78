/**
 * @module The web UI: `GET /` redirects to /ui/ (301, as Consul), and /ui/* serves the files `make build`
 * put in dist/ui (ui/build.ts) from memory: the right Content-Type, the gzip twin built beside each file
 * when the client accepts gzip, `immutable` caching for content-hashed assets and ETag revalidation for
 * index.html. Only files listed when the folder is first read are served (no path is ever joined from
 * the request). A path without a file extension is a page of the single-page app: index.html.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { HttpError, type Ctx, type Reply, type Router } from '../server.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
};

/** Everything served from the UI's own origin, nothing from anywhere else (the UI works air-gapped). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

interface Asset { type: string; raw: Buffer; gz: Buffer | null; etag: string; immutable: boolean }

/** The built UI: the project root's dist/ui (found from this module, compiled or not). */
export function defaultUiDir(): string {
  let d = import.meta.dirname;
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return join(d, 'dist', 'ui');
}

/** Reads every file under `dir` (with its .gz twin) into memory, keyed by its path relative to `dir`. */
export async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile() || e.name.endsWith('.gz')) continue;
    const full = join(e.parentPath, e.name);
    const rel = full.slice(resolve(dir).length + 1).split('\\').join('/');
    const raw = await readFile(full);
    const gz = existsSync(full + '.gz') ? await readFile(full + '.gz') : null;
    out.set(rel, {
      type: TYPES[extname(e.name)] ?? 'application/octet-stream', raw, gz,
      etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`,
      // esbuild names bundles name-HASH.ext (ui/build.ts): their content never changes under that name.
      immutable: /-[A-Z0-9]{8}\.\w+$/.test(e.name),
    });
  }
  return out;
}

/** True when Accept-Encoding allows gzip (listed without q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  for (const part of String(header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.map(p => p.trim()).find(p => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

/** The reply for one asset: gzip when accepted, 304 when the client's ETag matches. */
export function assetReply(ctx: Ctx, a: Asset): Reply {
  const headers: Record<string, string> = {
    'Content-Type': a.type, ETag: a.etag, Vary: 'Accept-Encoding', 'X-Content-Type-Options': 'nosniff',
    'Cache-Control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (a.type.startsWith('text/html')) { headers['Content-Security-Policy'] = CSP; headers['X-Frame-Options'] = 'DENY'; }
  const inm = ctx.req.headers['if-none-match'];
  if (inm && inm.split(',').some(t => t.trim() === a.etag || t.trim() === '*')) return { status: 304, headers };
  if (a.gz && acceptsGzip(ctx.req.headers['accept-encoding'])) {
    headers['Content-Encoding'] = 'gzip';
    return { body: a.gz, headers };
  }
  return { body: a.raw, headers };
}

export function uiRoutes(r: Router, dir = defaultUiDir()): void {
  let assets: Promise<Map<string, Asset>> | null = null;
  const load = () => (assets ??= loadAssets(dir).catch(err => {
    assets = null; // built later (make build while the agent runs): read again on the next request
    throw new HttpError(404, `Roster UI not found in ${dir} (${(err as Error).message.split(',')[0]}): run make build\n`);
  }));
  const redirect = (): Reply => ({ status: 301, headers: { Location: '/ui/', 'Content-Type': 'text/html; charset=utf-8' }, body: '<a href="/ui/">Moved Permanently</a>.\n', raw: true });
  r.add(['GET', 'HEAD'], '/', redirect);
  r.add(['GET', 'HEAD'], '/ui/', async ctx => {
    // `/ui` (matched by the prefix route with an empty remainder) also redirects, so relative URLs resolve under /ui/.
    if (ctx.path === '/ui') return redirect();
    const files = await load();
    const name = ctx.param === '' ? 'index.html' : ctx.param;
    const a = files.get(name) ?? (extname(name) === '' ? files.get('index.html') : undefined);
    if (!a) throw new HttpError(404, '404 page not found\n');
    return assetReply(ctx, a);
  });
}
