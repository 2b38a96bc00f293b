import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Logger } from './logger.ts';
import { service, type Service } from './service.ts';

export type { FastifyInstance };

export interface ReadinessCheck {
  name: string;
  /** Ready when true; otherwise a short reason. */
  check(): true | string;
}

export interface HttpDeps {
  log: Logger;
  registry: Registry;
  readiness?: readonly ReadinessCheck[];
}

/**
 * The fastify app with the routes every Vigil process serves: `/healthz` (the process runs),
 * `/readyz` (its dependencies are usable), `/metrics` (Prometheus). Building is separate from
 * listening so tests can `inject()` requests without a socket.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const failing: Record<string, string> = {};
    for (const c of deps.readiness ?? []) {
      const r = c.check();
      if (r !== true) failing[c.name] = r;
    }
    const ready = Object.keys(failing).length === 0;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', failing });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` }));
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: err.code ?? 'error', message: status >= 500 ? 'internal error' : err.message });
  });
  return app;
}

/** A Service that listens on start and closes on stop; `address()` gives the bound port (port 0 in tests). */
export function httpService(app: FastifyInstance, host: string, port: number): Service & { address(): { host: string; port: number } } {
  let bound = { host, port };
  return {
    ...service(
      'http',
      async () => {
        await app.listen({ host, port });
        const a = app.server.address();
        if (a && typeof a === 'object') bound = { host, port: a.port };
      },
      async () => {
        await app.close();
      },
    ),
    address: () => bound,
  };
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

/**
 * Validates a request part (body, query, params) against a zod schema. On failure it answers 400 with
 * every problem and its path and returns undefined, so a handler reads `if (!q) return reply;`.
 */
export function parseRequest<T>(schema: z.ZodType<T>, value: unknown, reply: { code(n: number): { send(body: unknown): unknown } }, part = 'body'): T | undefined {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  reply.code(400).send({ error: 'bad_request', message: r.error.issues.map((i) => `${i.path.join('.') || part}: ${i.message}`).join('; ') });
  return undefined;
}
