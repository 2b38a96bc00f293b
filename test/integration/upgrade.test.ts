import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, appliedMigrations, createRegistry, openDatabase, parseConfig, silentLogger } from '../../core/index.ts';
import { ServerConfigSchema, buildServer } from '../../server/index.ts';
import { tempDir } from '../helpers/tmp.ts';

// `test/fixtures/server-v1.db` was made by the release before numbered migrations (the server of commit
// "server/build.ts names what consumes accepted readings", with three tickets, two ruleset versions,
// two tokens (one scoped), a webhook subscription and three pending deliveries), sealed with this key.
const SECRET_KEY = 'fixture-secret-key-0123456789abcdef0123456789';
// The fixture was written at 2026-12-01T06:10:48Z; its P1 ticket is due an hour later. The server runs a
// minute after that time so no SLA breach (and its delivery) joins the three the fixture holds.
const FIXTURE_WRITTEN_AT = Date.parse('2026-12-01T06:10:48Z');

describe('upgrade: the server starts on a database of the previous release', () => {
  const tmp = tempDir();
  afterAll(async () => tmp.cleanup());

  const start = async () => {
    const config = parseConfig(ServerConfigSchema, { version: 1, dataDir: tmp.dir, http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, tickets: { webhooks: { initialBackoff: '1h' } } }, {});
    const server = await buildServer(config, { log: silentLogger(), clock: new ManualClock(FIXTURE_WRITTEN_AT + 60_000), registry: createRegistry(), secretKeys: { current: SECRET_KEY } });
    await server.start();
    return server;
  };

  it('migrates it, and keeps every ticket, ruleset version, token and pending delivery', async () => {
    copyFileSync(new URL('../fixtures/server-v1.db', import.meta.url), join(tmp.dir, 'server.db'));
    const before = openDatabase(join(tmp.dir, 'server.db'));
    expect(appliedMigrations(before)).toEqual([]);
    before.close();

    const server = await start();
    try {
      expect((await server.tickets.store.list({ limit: 10, offset: 0 })).tickets.map((t) => t.deviceId).sort()).toEqual(['fan-2', 'motor-3', 'pump-1']);
      expect((await server.rules.versions.list()).map((v) => v.version)).toEqual([2, 1]);
      expect(server.rules.version).toBe(2);
      expect((await server.rules.versions.active())!.yaml).toMatch(/warning: 82, critical: 95/);
      const tokens = await server.tokens.list();
      expect(tokens.map((t) => t.name).sort()).toEqual(['desk-b', 'ops@plant-a']);
      expect(tokens.find((t) => t.name === 'desk-b')).toMatchObject({ scope: { sites: ['plant-b'] } });
      expect(await server.tickets.outbox.counts()).toMatchObject({ pending: 3, dead: 0 });
      expect(await server.tickets.outbox.subscription(1)).toMatchObject({ url: 'http://127.0.0.1:9/unreachable', secret: 'fixture-webhook-secret-0123456789' });
      // Working on after the upgrade: a ticket can be acted on.
      const [first] = (await server.tickets.store.list({ limit: 1, offset: 0 })).tickets;
      expect((await server.tickets.act(first!.id, { action: 'acknowledge' }, { name: 'desk', role: 'service_desk' })).ok).toBe(true);
    } finally {
      await server.stop();
    }
    const db = openDatabase(join(tmp.dir, 'server.db'));
    const applied = appliedMigrations(db).map((m) => m.id);
    db.close();
    expect(applied).toEqual(expect.arrayContaining(['access/001-initial', 'access/002-token-scope', 'tickets/001-initial', 'webhooks/001-initial', 'rulesets/001-initial', 'audit/001-initial']));

    // A second start finds nothing left to migrate.
    const again = await start();
    await again.stop();
    const db2 = openDatabase(join(tmp.dir, 'server.db'));
    expect(appliedMigrations(db2).map((m) => m.id)).toEqual(applied);
    db2.close();
  });
});
