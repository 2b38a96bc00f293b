import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TokenStore } from './access.ts';
import { type Principal, RateLimiter, type Role } from './access.ts';
import type { AuditLog } from './audit.ts';
import { parseRequest } from './http.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    endpoint?: EndpointSpec;
    /**
     * `public`: served to anyone (health, metrics, docs, the console's static files). Every other
     * route must be an {@link endpoint}; a route that declares neither is refused (deny by default).
     */
    access?: 'public';
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface EndpointSpec<B = unknown, Q = unknown, P = unknown> {
  summary: string;
  tag: string;
  /**
   * What a successful call answers: a JSON body's schema, or `event-stream` (SSE). Documented in
   * OpenAPI, and with VIGIL_CHECK_RESPONSES=1 (the tests) every answer is checked against it, so the
   * document cannot drift from what the server sends.
   */
  response: z.ZodType | 'event-stream';
  /** The status of a success: 201 when the call creates something. */
  status?: 200 | 201;
  /** Failures the handler itself sends, beyond the 400/401/403/429 that every route can answer. */
  errors?: readonly (404 | 409 | 422)[];
  /** Who may call it; admin always may. Reads default to every role; a write must say. */
  roles?: readonly Role[];
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  params?: z.ZodType<P>;
  /** `signature`: no token; the handler verifies an HMAC signature instead (inbound webhooks). */
  auth?: 'token' | 'signature';
  /** Also accept the token as `?access_token=` (EventSource cannot send headers). */
  queryToken?: boolean;
  /** Documented only: the handler parses the raw body itself (after checking its signature). */
  rawBody?: z.ZodType;
  /**
   * How the route treats a token scoped to sites: `filtered`, the handler shows only what
   * `principal.sites` allows (and 404 for the rest); `global`, it serves nothing site-specific.
   * Unset: refused to scoped tokens (deny by default).
   */
  scoped?: 'filtered' | 'global';
}

export interface Call<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  /** The caller; on a signature route (no token), a placeholder naming the route. */
  principal: Principal;
  req: FastifyRequest;
  reply: FastifyReply;
}

const SIGNED: Principal = { name: 'signed-webhook', role: 'viewer', tokenId: null };
const ALL_ROLES: readonly Role[] = ['viewer', 'operator', 'service_desk', 'admin'];
// Keyed by the HTTP server, which a fastify app shares with its encapsulated plugins.
const catalogs = new WeakMap<object, { method: Method; url: string; spec: EndpointSpec }[]>();

/**
 * Registers one API route: checks the caller's role, parses body, query and params with their zod
 * schemas (a 400 with every problem and its path when they do not fit, before the handler runs, so a
 * bad request changes nothing), and records the route for the OpenAPI document at `/docs`.
 */
export function endpoint<B = undefined, Q = undefined, P = undefined>(
  app: FastifyInstance,
  method: Method,
  url: string,
  spec: EndpointSpec<B, Q, P>,
  handler: (call: Call<B, Q, P>) => unknown,
): void {
  const list = catalogs.get(app.server) ?? [];
  catalogs.set(app.server, list);
  const check = process.env.VIGIL_CHECK_RESPONSES === '1';
  list.push({ method, url, spec: spec as EndpointSpec });
  app.route({
    method,
    url,
    config: { endpoint: spec as EndpointSpec },
    handler: async (req, reply) => {
      const query = spec.queryToken ? withoutToken(req.query) : req.query;
      const params = spec.params ? parseRequest(spec.params, req.params, reply, 'params') : undefined;
      if (spec.params && params === undefined) return reply;
      const q = spec.query ? parseRequest(spec.query, query, reply, 'query') : undefined;
      if (spec.query && q === undefined) return reply;
      if (!spec.query && query && typeof query === 'object' && Object.keys(query).length > 0) {
        return reply.code(400).send({ error: 'bad_request', message: `query: this endpoint takes no parameters (got ${Object.keys(query).join(', ')})` });
      }
      const body = spec.body ? parseRequest(spec.body, req.body, reply, 'body') : undefined;
      if (spec.body && body === undefined) return reply;
      // Fail closed: a handler never runs without a principal unless its route checks a signature.
      const principal = req.principal;
      if (!principal && spec.auth !== 'signature') return reply.code(401).send({ error: 'unauthorized', message: 'no credentials were checked for this route' });
      const out = await handler({ body: body as B, query: q as Q, params: params as P, principal: principal ?? SIGNED, req, reply });
      if (out === reply || reply.sent) return reply;
      if (check && spec.response !== 'event-stream') checkResponse(method, url, spec.response, out);
      return reply.code(spec.status ?? 200).send(out);
    },
    // Tests only: an answer with a status the document does not declare is turned into a 500 that
    // names it, so an undocumented 404 or 409 fails the test that provoked it.
    ...(check
      ? {
          onSend: async (_req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
            if (declaredStatuses(spec as EndpointSpec).includes(reply.statusCode)) return payload;
            const message = `${method} ${url} answered ${reply.statusCode}, which its endpoint spec does not declare`;
            reply.code(500);
            return JSON.stringify({ error: 'undocumented_status', message });
          },
        }
      : {}),
  });
}

function checkResponse(method: Method, url: string, schema: z.ZodType, out: unknown): void {
  // What the client sees is the JSON text, so check that (undefined fields dropped, dates as strings).
  const sent: unknown = out === undefined ? undefined : JSON.parse(JSON.stringify(out));
  const r = schema.safeParse(sent);
  if (!r.success) {
    throw new Error(`${method} ${url}: the answer does not match its documented schema: ${r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/** Every status a route can answer: its success, the handler's declared failures, and the gate's. */
function declaredStatuses(spec: EndpointSpec): number[] {
  const gate = spec.auth === 'signature' ? [400, 401, 429] : [400, 401, 403, 429];
  // Fastify's own body parsing: too large, or not JSON.
  const body = spec.body || spec.rawBody ? [413, 415] : [];
  return [spec.status ?? 200, ...gate, ...body, ...(spec.errors ?? [])].sort((a, b) => a - b);
}

function withoutToken(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  const { access_token: _, ...rest } = query as Record<string, unknown>;
  return rest;
}

export interface AccessOptions {
  tokens: TokenStore;
  audit: AuditLog;
  now: () => number;
  /** Tokens from the config file (the bootstrap admin token), checked before the store. */
  staticTokens?: readonly { token: string; name: string; role: Role }[];
  /** false only on a loopback-only server: callers without a token act as `local` admin. */
  required: boolean;
  rateLimitPerMinute: number;
  /** The sites of a customer, for tokens scoped to customers (the ticket policy's `sites` table). */
  sitesOfCustomer?: (customer: string) => readonly string[];
}

/** Access for a process's `http:` section, with its token store and audit log in the process's store. */
export function accessOptions(http: { apiToken?: string | undefined; requireAuth: boolean; rateLimit: { perMinute: number } }, stores: { tokens: TokenStore; audit: AuditLog }, now: () => number): AccessOptions {
  return {
    ...stores,
    now,
    required: http.requireAuth,
    rateLimitPerMinute: http.rateLimit.perMinute,
    staticTokens: http.apiToken ? [{ token: http.apiToken, name: 'config-admin', role: 'admin' }] : [],
  };
}

/**
 * Authentication, authorisation, rate limiting and the audit trail for every `/api/` route, in one
 * hook pair: a request is refused (401, 403, 429) before its handler runs, and every call that tried
 * to change something is written to the audit log with its actor and result.
 */
export function installAccess(app: FastifyInstance, opts: AccessOptions): void {
  const limiter = new RateLimiter(opts.rateLimitPerMinute);
  const statics = (opts.staticTokens ?? []).map((t) => ({ ...t, hash: createHash('sha256').update(t.token).digest() }));
  app.decorateRequest('principal', null);

  // Access is decided on the route the router matched (its declared spec), never on the URL string:
  // the router decodes and normalises paths, so `/%61pi/...` matches the same route as `/api/...`.
  app.addHook('onRequest', async (req, reply) => {
    const spec = req.routeOptions.config.endpoint;
    if (!spec) return; // public routes, and unmatched ones the not-found handler answers
    if (spec.auth === 'signature') {
      // No token to count against: limit by address, and let the handler check the signature.
      const wait = limiter.take(`signed@${req.ip}`, opts.now());
      return wait > 0 ? tooMany(reply, wait) : undefined;
    }
    const token = bearer(req) ?? (spec.queryToken ? queryToken(req) : undefined);
    let principal: Principal | undefined;
    if (token) {
      const h = createHash('sha256').update(token).digest();
      const s = statics.find((t) => timingSafeEqual(t.hash, h));
      principal = s ? { name: s.name, role: s.role, tokenId: null } : await opts.tokens.verify(token, opts.now());
      if (!principal) return unauthorized(req, reply, 'unknown or revoked token');
    } else if (opts.required) {
      return unauthorized(req, reply, 'send Authorization: Bearer <token> (make one with `vigil token create --role viewer`)');
    } else {
      principal = { name: 'local', role: 'admin', tokenId: null };
    }
    const wait = limiter.take(principal.tokenId !== null ? `t${principal.tokenId}` : `${principal.name}@${req.ip}`, opts.now());
    if (wait > 0) return tooMany(reply, wait);
    if (principal.scope) {
      const { sites, customers } = principal.scope;
      principal = { ...principal, sites: new Set([...sites, ...customers.flatMap((c) => opts.sitesOfCustomer?.(c) ?? [])]) };
      if (!spec.scoped) {
        req.principal = principal;
        return reply.code(403).send({ error: 'forbidden', message: `${req.method} ${req.routeOptions.url} is not available to a token scoped to sites` });
      }
    }
    req.principal = principal;
    const allowed = spec.roles ?? (req.method === 'GET' || req.method === 'HEAD' ? ALL_ROLES : []);
    if (principal.role !== 'admin' && !allowed.includes(principal.role)) {
      const who = ['admin', ...allowed.filter((r) => r !== 'admin')].join(', ');
      return reply.code(403).send({ error: 'forbidden', message: `role ${principal.role} may not ${req.method} ${req.routeOptions.url}; it needs ${who}` });
    }
  });

  // Failed logins cost the caller's address from its own bucket, so guessing tokens is as slow as
  // any other flood, and a 401 answered ten thousand times becomes a 429.
  const unauthorized = (req: FastifyRequest, reply: FastifyReply, message: string): FastifyReply => {
    const wait = limiter.take(`unauthorized@${req.ip}`, opts.now());
    return wait > 0 ? tooMany(reply, wait) : reply.code(401).send({ error: 'unauthorized', message });
  };

  // Written before the answer leaves (onSend, not onResponse): a caller that has its answer finds the
  // call in the audit log, and a crash between the two cannot lose the entry of a change it confirmed.
  app.addHook('onSend', async (req, reply, payload) => {
    const spec = req.routeOptions.config.endpoint;
    if (!spec || req.method === 'GET' || req.method === 'HEAD') return payload;
    const signed = spec.auth === 'signature';
    if (!req.principal && !signed) return payload;
    await opts.audit.record(opts.now(), req.principal?.name ?? 'signed-webhook', `${req.method} ${req.routeOptions.url}`, {
      role: req.principal?.role ?? 'signature',
      status: reply.statusCode,
      params: req.params ?? {},
    });
    return payload;
  });
}

function tooMany(reply: FastifyReply, waitS: number): FastifyReply {
  return reply.code(429).header('retry-after', String(waitS)).send({ error: 'rate_limited', message: `too many requests; retry in ${waitS} s` });
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

function queryToken(req: FastifyRequest): string | undefined {
  const q = req.query as Record<string, unknown> | undefined;
  return typeof q?.access_token === 'string' ? q.access_token : undefined;
}

/** The OpenAPI 3.1 document of every route registered with {@link endpoint}. */
export function openApiDocument(app: FastifyInstance, info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, url, spec } of catalogs.get(app.server) ?? []) {
    const path = url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
    }
    const scopeNote = spec.scoped === 'filtered' ? ' Scoped tokens see their sites only.' : spec.scoped === 'global' ? '' : ' Not for scoped tokens.';
    const signed = spec.auth === 'signature';
    const roles = signed ? 'none: HMAC signature' : ['admin', ...(spec.roles ?? (method === 'GET' ? ALL_ROLES : [])).filter((r) => r !== 'admin')].join(', ');
    const success = spec.status ?? 200;
    const responses: Record<string, unknown> = {};
    for (const code of declaredStatuses(spec)) {
      if (code === success) {
        responses[String(code)] =
          spec.response === 'event-stream'
            ? { description: 'A stream of Server-Sent Events', content: { 'text/event-stream': { schema: { type: 'string' } } } }
            : { description: code === 201 ? 'Created' : 'OK', content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } } };
      } else {
        const description = code === 401 && signed ? 'Missing or wrong signature' : ERROR_TEXT[code] ?? 'Error';
        responses[String(code)] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }, ...(code === 429 ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } } } : {}) };
      }
    }
    (paths[path] ??= {})[method.toLowerCase()] = {
      operationId: `${method.toLowerCase()}${path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: spec.summary,
      tags: [spec.tag],
      description: `Roles: ${roles}.${signed ? '' : scopeNote}`,
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body || spec.rawBody ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema((spec.body ?? spec.rawBody)!, 'input') } } } } : {}),
      responses,
      // A signed route takes no token: its only credential is the signature header.
      ...(signed ? { security: [{ signature: [] }] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token from `vigil token create`' },
        signature: { type: 'apiKey', in: 'header', name: 'Vigil-Signature', description: "t=<unix seconds>,v1=<HMAC-SHA256 of the timestamp and raw body with the subscription's secret>" },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: {
            error: { type: 'string', description: 'A stable code, e.g. bad_request, not_found' },
            message: { type: 'string' },
            issues: { type: 'array', description: 'On 422: every problem with its path', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed request: every problem with its path',
  401: 'No token, or an unknown or revoked one',
  403: 'The token\'s role or scope may not call this',
  404: 'No such resource (or not visible to this token)',
  409: 'Not possible in the current state',
  413: 'Body too large',
  415: 'Body is not JSON',
  422: 'Well-formed but invalid: every problem with its path',
  429: 'Rate limited; retry after the Retry-After seconds',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  } catch {
    return {};
  }
}

/** `/docs` (a readable index) and `/docs/openapi.json`. */
export function registerDocs(app: FastifyInstance, info: { title: string; version: string }): void {
  app.get('/docs/openapi.json', { config: { access: 'public' } }, async () => openApiDocument(app, info));
  app.get('/docs', { config: { access: 'public' } }, async (_req, reply) => {
    const doc = openApiDocument(app, info) as { paths: Record<string, Record<string, { summary: string; description: string; tags: string[] }>> };
    const rows = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => `<tr><td>${op.tags[0]}</td><td><code>${m.toUpperCase()} ${escape(path)}</code></td><td>${escape(op.summary)}</td><td>${escape(op.description)}</td></tr>`));
    reply.type('text/html; charset=utf-8');
    return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${escape(info.title)} API</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}td{padding:.2rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}</style>
<h1>${escape(info.title)} API ${escape(info.version)}</h1><p>Machine-readable: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1). Send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<table><thead><tr><th>Area</th><th>Endpoint</th><th>What</th><th>Who</th></tr></thead><tbody>${rows.join('')}</tbody></table></html>`;
  });
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * Makes JSON bodies in this (encapsulated) app arrive as the raw text, for handlers that must verify
 * a signature over the exact bytes before trusting them.
 */
export function rawJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
}
