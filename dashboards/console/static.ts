import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { FastifyInstance } from '../../core/index.ts';

const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
// A Map, not an object literal: `/console/constructor` must not find Object.prototype.constructor.
// The source map is not served: it would hand out the console's whole source.
const FILES = new Map<string, string>([
  ['index.html', 'text/html; charset=utf-8'],
  ['app.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
]);

/**
 * The console's static files at /console/, from the esbuild output. Read once: they change only with
 * a build. The page itself holds no data; everything it shows comes through the token-checked API.
 */
export function registerConsoleStatic(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  const file = (name: string): Buffer | undefined => {
    if (!cache.has(name) && existsSync(`${DIST}${name}`)) cache.set(name, readFileSync(`${DIST}${name}`));
    return cache.get(name);
  };
  const open = { config: { access: 'public' as const } };
  app.get('/', open, async (_req, reply) => reply.redirect('/console/'));
  app.get('/console', open, async (_req, reply) => reply.redirect('/console/'));
  const serve = async (name: string, reply: FastifyReply) => {
    const type = FILES.get(name);
    if (!type) return reply.code(404).send({ error: 'not_found', message: `no console file ${name}` });
    const body = file(name);
    if (!body) return reply.code(503).send({ error: 'not_built', message: 'the console is not built: run `npm run build`' });
    reply.header('content-type', type);
    reply.header('cache-control', name === 'index.html' ? 'no-cache' : 'max-age=300');
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
    reply.header('x-content-type-options', 'nosniff');
    return reply.send(body);
  };
  app.get('/console/', open, async (_req, reply) => serve('index.html', reply));
  app.get<{ Params: { file: string } }>('/console/:file', open, async (req, reply) => serve(req.params.file, reply));
}
