import { z } from 'zod';
import { RoleSchema, TokenScopeSchema, type TokenStore } from './access.ts';
import { endpoint } from './api.ts';
import type { AuditLog } from './audit.ts';
import type { FastifyInstance } from './http.ts';

const Id = z.strictObject({ id: z.coerce.number().int().positive() });
const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().positive().optional(),
  actor: z.string().max(200).optional(),
  action: z.string().max(200).optional(),
});

const int = z.number().int();
const TokenInfo = z.strictObject({ id: int, name: z.string(), role: RoleSchema, createdAt: int, createdBy: z.string(), revokedAt: int.nullable(), lastUsedAt: int.nullable(), scope: TokenScopeSchema.nullable() });
const AuditEntry = z.strictObject({ id: int, at: int, actor: z.string(), action: z.string(), detail: z.record(z.string(), z.unknown()) });

/** API tokens and the audit log, for admins. */
export function registerAccessApi(app: FastifyInstance, deps: { tokens: TokenStore; audit: AuditLog; now: () => number }): void {
  endpoint(app, 'GET', '/api/v1/tokens', { tag: 'access', summary: 'API tokens (never the tokens themselves)', roles: ['admin'], response: z.strictObject({ tokens: z.array(TokenInfo) }) }, async () => ({ tokens: await deps.tokens.list() }));
  endpoint(
    app,
    'POST',
    '/api/v1/tokens',
    {
      tag: 'access',
      summary: 'Create a token; it is shown once. `scope` limits it to sites and customers (not for admin)',
      roles: ['admin'],
      response: TokenInfo.extend({ token: z.string().describe('the token itself, shown this once') }),
      status: 201,
      body: z
        .strictObject({ name: z.string().trim().min(1).max(100), role: RoleSchema, scope: TokenScopeSchema.optional() })
        .refine((b) => !(b.scope && b.role === 'admin'), { path: ['scope'], message: 'an admin token cannot be scoped' }),
    },
    async ({ body, principal }) => {
      const { token, info } = await deps.tokens.create({ name: body.name, role: body.role, scope: body.scope, by: principal.name, at: deps.now() });
      return { ...info, token };
    },
  );
  endpoint(app, 'DELETE', '/api/v1/tokens/:id', { tag: 'access', summary: 'Revoke a token', roles: ['admin'], params: Id, response: z.strictObject({ revoked: int }), errors: [404] }, async ({ params, reply }) =>
    (await deps.tokens.revoke(params.id, deps.now())) ? { revoked: params.id } : reply.code(404).send({ error: 'not_found', message: `no active token ${params.id}` }),
  );
  endpoint(app, 'GET', '/api/v1/audit', { tag: 'access', summary: 'Audit log of privileged actions, newest first', roles: ['admin'], query: AuditQuery, response: z.strictObject({ entries: z.array(AuditEntry) }) }, async ({ query }) => ({ entries: await deps.audit.list(query) }));
}
