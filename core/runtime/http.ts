import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type FastifyModule from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from './logger.ts';
import type { Server as TlsServer } from 'node:tls';
import { service, type Service } from './service.ts';
import { readTlsFiles, TlsServerFilesSchema, type TlsServerFiles, watchTlsFiles } from './tls.ts';

export type { FastifyInstance };

// fastify is required when a process first serves HTTP, not at import: a gateway without an API
// (most edge boxes) never loads it, which is a fifth of its memory. It is CommonJS, so a plain
// require keeps buildHttp synchronous.
let fastifyModule: typeof FastifyModule | undefined;
const fastify = (): { default: typeof FastifyModule; LogController: typeof FastifyModule.LogController } => {
  fastifyModule ??= createRequire(import.meta.url)('fastify') as typeof FastifyModule;
  return { default: fastifyModule, LogController: fastifyModule.LogController };
};

export interface ReadinessCheck {
  name: string;
  /** Ready when true; otherwise a short reason. */
  check(): true | string;
}

export interface HttpDeps {
  log: Logger;
  registry: Registry;
  readiness?: readonly ReadinessCheck[];
  /** Serve HTTPS with these files (reloaded when they change). */
  tls?: TlsServerFiles | undefined;
  /** What `/metrics` answers instead of the registry alone (a server's workers: every worker's series). */
  metrics?: (() => Promise<string>) | undefined;
}

/**
 * The fastify app with the routes every Vigil process serves: `/healthz` (the process runs),
 * `/readyz` (its dependencies are usable), `/metrics` (Prometheus). Building is separate from
 * listening so tests can `inject()` requests without a socket.
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const { default: Fastify, LogController } = fastify();
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ...(deps.tls ? { https: readTlsFiles(deps.tls) } : {}),
  }) as unknown as FastifyInstance;
  if (deps.tls) {
    const stop = watchTlsFiles(deps.tls, (ctx) => (app.server as unknown as TlsServer).setSecureContext(ctx), deps.log);
    app.addHook('onClose', async () => stop());
  }

  // Deny by default: a matched route that declares no access policy is refused before its handler,
  // so a route added without one fails safe. Endpoints (core/runtime/api.ts) declare theirs.
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return;
    const config = req.routeOptions.config;
    if (config.access === 'public' || config.endpoint) return;
    deps.log.error({ route: req.routeOptions.url, method: req.method }, 'route declares no access policy; refused');
    return reply.code(403).send({ error: 'forbidden', message: 'this route declares no access policy' });
  });

  const open = { config: { access: 'public' as const } };
  app.get('/healthz', open, async () => ({ status: 'ok' }));

  app.get('/readyz', open, async (_req, reply) => {
    const failing: Record<string, string> = {};
    for (const c of deps.readiness ?? []) {
      const r = c.check();
      if (r !== true) failing[c.name] = r;
    }
    const ready = Object.keys(failing).length === 0;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', failing });
  });

  app.get('/metrics', open, async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.metrics ? deps.metrics() : deps.registry.metrics();
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

/**
 * A second listener of the same app on a port of its own (ephemeral, never shared): a server worker
 * behind one shared port listens here too, so another server can reach this very worker. Same routes,
 * same access checks, same TLS.
 */
export function ownPortService(app: FastifyInstance, host: string, tls: TlsServerFiles | undefined): Service & { address(): { host: string; port: number } | undefined } {
  let server: HttpServer | undefined;
  let bound: { host: string; port: number } | undefined;
  return {
    ...service(
      'http-own-port',
      async () => {
        const handler = (req: IncomingMessage, res: ServerResponse) => app.routing(req, res);
        // Loaded here: most processes never open a port of their own.
        server = tls ? (await import('node:https')).createServer(readTlsFiles(tls), handler) : (await import('node:http')).createServer(handler);
        const srv = server;
        // `exclusive`: in a cluster worker, a port of this worker's own, not one shared through the primary.
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ host, port: 0, exclusive: true }, () => resolve());
        });
        const a = srv.address();
        if (a && typeof a === 'object') bound = { host, port: a.port };
      },
      async () => {
        const srv = server;
        server = undefined;
        if (!srv) return;
        const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
        srv.closeAllConnections();
        await closed;
      },
    ),
    address: () => bound,
  };
}

/**
 * The `http:` section of the server and the gateway: where the API listens and how callers prove who
 * they are. One schema so both processes refuse the same unsafe settings.
 */
export function httpConfigSchema(defaultPort: number) {
  return z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(defaultPort),
      /** A bootstrap admin token from the environment (`${VIGIL_TOKEN}`); make the rest with `vigil token create`. */
      apiToken: z.string().min(16).optional(),
      /** false lets callers without a token act as admin: for a loopback-only development process, refused otherwise. */
      requireAuth: z.boolean().default(true),
      /** Requests per minute per token (or per address without one), with bursts up to the same number. */
      rateLimit: z.strictObject({ perMinute: z.number().int().min(1).max(1_000_000).default(1200) }).prefault({}),
      /** Serve HTTPS (the API and the console) with this certificate; reloaded when the files change. */
      tls: TlsServerFilesSchema.omit({ ca: true }).optional(),
    })
    .superRefine((h, ctx) => {
      if (!isLoopback(h.host) && !h.requireAuth) ctx.addIssue({ code: 'custom', path: ['requireAuth'], message: 'the API listens beyond loopback: it must require tokens' });
    });
}
export type HttpConfig = z.infer<ReturnType<typeof httpConfigSchema>>;

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
