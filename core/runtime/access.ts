import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type Migration, migrate } from './migrations.ts';
import type { Db } from './sqlite.ts';
import { SqliteSql } from '../store/sqlite.ts';
import { migrateStore } from '../store/migrate.ts';
import type { Sql } from '../store/sql.ts';

/**
 * What a token may do. `viewer` reads; `operator` also tunes rules; `service_desk` also works tickets;
 * `admin` may do everything, including tokens, webhooks and the audit log.
 */
export const RoleSchema = z.enum(['viewer', 'operator', 'service_desk', 'admin']);
export type Role = z.infer<typeof RoleSchema>;

/**
 * What a token may see: some sites, and the sites of some customers (as the ticket policy's `sites`
 * table assigns them). No scope: everything its role allows.
 */
export const TokenScopeSchema = z
  .strictObject({
    sites: z.array(z.string().min(1).max(64)).max(1000).default([]),
    customers: z.array(z.string().min(1).max(200)).max(1000).default([]),
  })
  .refine((s) => s.sites.length + s.customers.length > 0, { message: 'a scope names at least one site or customer' });
export type TokenScope = z.infer<typeof TokenScopeSchema>;

export interface Principal {
  /** The token's name (or `local` on an open loopback server); recorded as the actor of every change. */
  name: string;
  role: Role;
  tokenId: number | null;
  /** The token's scope as stored; undefined for an unscoped token. */
  scope?: TokenScope | undefined;
  /** The sites a scoped token may see (resolved from its scope on each request); undefined: all. */
  sites?: ReadonlySet<string> | undefined;
}

/** Whether the caller may see things of `site` (an unknown site is outside every scope). */
export function canSee(p: Principal, site: string | null | undefined): boolean {
  return p.sites === undefined || (site != null && p.sites.has(site));
}

export interface TokenInfo {
  id: number;
  name: string;
  role: Role;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
  lastUsedAt: number | null;
  scope: TokenScope | null;
}

const PREFIX = 'vgl_';

// Tokens carry 256 random bits, so a fast hash cannot be reversed by guessing, and the check costs
// microseconds on every request (scrypt, right for human passwords, would cost ~50 ms each).
function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function generateToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export const TOKEN_MIGRATIONS: Migration[] = [
  {
    id: 'access/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS api_token (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, role TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, created_by TEXT NOT NULL, revoked_at INTEGER, last_used_at INTEGER)`,
    postgres: `CREATE TABLE IF NOT EXISTS api_token (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, revoked_at BIGINT, last_used_at BIGINT)`,
  },
  {
    // Token scopes: every older token stays unscoped. A database made before migrations were recorded
    // may have the column already.
    id: 'access/002-token-scope',
    sqlite: (db) => {
      const columns = db.prepare('PRAGMA table_info(api_token)').all() as { name: string }[];
      if (!columns.some((c) => c.name === 'scope')) db.exec('ALTER TABLE api_token ADD COLUMN scope TEXT');
    },
    postgres: 'ALTER TABLE api_token ADD COLUMN IF NOT EXISTS scope TEXT',
  },
];

/** API tokens, stored as SHA-256 hashes: the token itself is shown once, at creation. */
export class TokenStore {
  private constructor(private readonly sql: Sql) {}

  static async open(sql: Sql): Promise<TokenStore> {
    await migrateStore(sql, TOKEN_MIGRATIONS);
    return new TokenStore(sql);
  }

  /** On a process's own SQLite file, opened at once (the gateway, the command line). */
  static sqlite(db: Db): TokenStore {
    migrate(db, TOKEN_MIGRATIONS);
    return new TokenStore(new SqliteSql(db));
  }

  async create(q: { name: string; role: Role; by: string; at: number; scope?: TokenScope | undefined }): Promise<{ token: string; info: TokenInfo }> {
    const token = generateToken();
    return { token, info: await this.register(token, q) };
  }

  /** Stores a token chosen elsewhere (the demo's `VIGIL_TOKEN`); registering it again is a no-op. */
  async register(token: string, q: { name: string; role: Role; by: string; at: number; scope?: TokenScope | undefined }): Promise<TokenInfo> {
    if (q.scope && q.role === 'admin') throw new Error('an admin token cannot be scoped: it manages tokens, which would let it widen its own scope');
    const hash = digest(token);
    const row = await this.sql.get<TokenRow>(
      'INSERT INTO api_token (name, role, hash, created_at, created_by, scope) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO UPDATE SET revoked_at = NULL, role = excluded.role, name = excluded.name, scope = excluded.scope RETURNING *',
      [q.name, q.role, hash, q.at, q.by, q.scope ? JSON.stringify(q.scope) : null],
    );
    return toInfo(row!);
  }

  /** The principal a presented token stands for, or undefined when it is unknown or revoked. */
  async verify(token: string, at: number): Promise<Principal | undefined> {
    const hash = digest(token);
    const row = await this.sql.get<TokenRow>('SELECT * FROM api_token WHERE hash = ? AND revoked_at IS NULL', [hash]);
    // The lookup is by hash, but compare in constant time anyway so no timing depends on the secret.
    if (!row || !timingSafeEqual(Buffer.from(row.hash), Buffer.from(hash))) return undefined;
    if (row.last_used_at === null || at - row.last_used_at > 60_000) await this.sql.run('UPDATE api_token SET last_used_at = ? WHERE id = ?', [at, row.id]);
    const scope = parseScope(row.scope);
    return { name: row.name, role: RoleSchema.parse(row.role), tokenId: row.id, ...(scope ? { scope } : {}) };
  }

  async revoke(id: number, at: number): Promise<boolean> {
    return (await this.sql.run('UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [at, id])).changes > 0;
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.sql.all<TokenRow>('SELECT * FROM api_token ORDER BY id')).map(toInfo);
  }
}

interface TokenRow {
  id: number;
  name: string;
  role: string;
  hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
  scope: string | null;
}

// A scope that no longer parses must not widen into "everything": it becomes a scope of no site.
function parseScope(text: string | null): TokenScope | undefined {
  if (text === null) return undefined;
  try {
    return TokenScopeSchema.parse(JSON.parse(text));
  } catch {
    return { sites: ['\u0000none'], customers: [] };
  }
}

const toInfo = (r: TokenRow): TokenInfo => ({
  id: r.id,
  name: r.name,
  role: RoleSchema.parse(r.role),
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  scope: parseScope(r.scope) ?? null,
});

/**
 * A token bucket per caller: `perMinute` requests a minute on average, bursts up to the same number.
 * Buckets of callers idle for a while are dropped so the map cannot grow without bound.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** 0 when the request may go ahead, else the seconds to wait. */
  take(key: string, now: number): number {
    const rate = this.perMinute / 60_000;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 10_000) this.sweep(now);
      this.buckets.set(key, (b = { tokens: this.perMinute, at: now }));
    }
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate / 1000);
  }

  /** The seconds `take` would ask to wait, without taking: 0 when a request may go ahead. */
  waitFor(key: string, now: number): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * (this.perMinute / 60_000));
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / (this.perMinute / 60_000) / 1000);
  }

  private sweep(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 120_000) this.buckets.delete(k);
  }
}
