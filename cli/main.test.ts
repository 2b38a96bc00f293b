import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/tmp.ts';
import { main } from './main.ts';

function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return main(argv, { env, out: (l) => out.push(l), err: (l) => err.push(l) }).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }));
}

describe('vigil command', () => {
  it('prints usage, and refuses unknown commands with exit code 2', async () => {
    expect((await run(['help'])).out).toMatch(/vigil gateway -c FILE/);
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command: frobnicate/);
  });

  it('refuses a bad config with every problem and its path, exit code 78, before connecting anything', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'gw.yaml');
    writeFileSync(file, 'version: 1\nsite: plant-a\ngatewayId: "gw 1"\ndrivers: []\nuplink: { url: "http://x", password: hunter2 }\n');
    const r = await run(['gateway', '-c', file]);
    tmp.cleanup();
    expect(r.code).toBe(78);
    expect(r.err).toMatch(/gatewayId: gateway id must be/);
    expect(r.err).toMatch(/drivers: /);
    expect(r.err).toMatch(/uplink\.url: an mqtt/);
    expect(r.err).toMatch(/uplink\.password: secrets must come from the environment/);
    expect(r.err).not.toMatch(/hunter2/);
  });

  it('refuses --workers where the workers could not share the shards, and a count that is not one', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'server.yaml');
    writeFileSync(file, `version: 1\ndataDir: ${tmp.dir}/data\nbroker: { mode: embedded }\n`);
    const embedded = await run(['server', '-c', file, '--workers', '2']);
    expect(embedded.code).toBe(2);
    expect(embedded.err).toMatch(/--workers needs broker\.shards: leased/);
    const bad = await run(['server', '-c', file, '--workers', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--workers: a whole number from 1 to 64, not "lots"/);
    tmp.cleanup();
  });

  it('says which file it cannot read', async () => {
    const r = await run(['server', '-c', '/nonexistent/server.yaml']);
    expect(r.code).toBe(66); // EX_NOINPUT: missing input, not a bad config
    expect(r.err).toMatch(/nonexistent\/server\.yaml: cannot read: ENOENT/);
  });

  it('follows one convention: --help per command exits 0, unknown options are usage errors, missing files 66', async () => {
    for (const cmd of ['gateway', 'server', 'sim', 'demo', 'credential', 'modbus', 'replay', 'token', 'secrets']) {
      const h = await run([cmd, '--help']);
      expect(h.code, cmd).toBe(0);
      expect(h.out, cmd).toContain(`vigil ${cmd}`);
    }
    const unknown = await run(['token', 'list', '--colour']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Unknown option '--colour'[\s\S]*vigil token create/);
    expect((await run(['replay', '--rules', 'default', '--csv', '/nonexistent/readings.csv'])).code).toBe(66);
    const { existsSync } = await import('node:fs');
    const help = (await run(['--help'])).out;
    expect(help).toMatch(/Exit codes: 0 ok, 1 failure at run time, 2 usage, 65 bad input data, 66 missing input file, 78 bad configuration/);
    for (const f of help.match(/examples\/[\w./-]+\.ya?ml/g) ?? []) expect(existsSync(new URL(`../${f}`, import.meta.url)), f).toBe(true);
    expect(help).not.toMatch(/gateway\.example\.yaml/);
  });

  it('makes gateway credentials whose hash the server config accepts', async () => {
    const r = await run(['credential', '--gateway', 'gw-1', '--site', 'plant-a']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/passwordHash: "scrypt\$/);
    expect((await run(['credential', '--gateway', 'gw 1', '--site', 'plant-a'])).code).toBe(2);
  });

  it('creates, lists and revokes API tokens in the server database, keeping only their hash', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'server.yaml');
    writeFileSync(file, `version: 1\ndataDir: ${join(tmp.dir, 'data')}\nbroker: { mode: embedded }\n`);
    const made = await run(['token', 'create', '--role', 'service_desk', '--name', 'desk-bot', '-c', file]);
    expect(made.code).toBe(0);
    const token = made.out.split('\n')[1]!;
    expect(token).toMatch(/^vgl_[A-Za-z0-9_-]{40,}$/);
    const { openDatabase, TokenStore } = await import('../core/index.ts');
    const db = openDatabase(join(tmp.dir, 'data', 'server.db'));
    const store = TokenStore.sqlite(db);
    expect(await store.verify(token, Date.now())).toMatchObject({ name: 'desk-bot', role: 'service_desk' });
    expect(JSON.stringify(db.prepare('SELECT * FROM api_token').all())).not.toContain(token);
    expect((await run(['token', 'list', '--data-dir', join(tmp.dir, 'data')])).out).toMatch(/^1\tservice_desk\tdesk-bot\tactive/);
    expect((await run(['token', 'revoke', '1', '--data-dir', join(tmp.dir, 'data')])).code).toBe(0);
    expect(await store.verify(token, Date.now())).toBeUndefined();
    expect((await run(['token', 'create', '--role', 'root', '--data-dir', join(tmp.dir, 'data')])).err).toMatch(/--role must be one of viewer, operator, service_desk, admin/);
    expect((await run(['token', 'create', '--role', 'viewer'])).code).toBe(2);
    const scoped = await run(['token', 'create', '--role', 'service_desk', '--customers', 'acme', '--sites', 'plant-x', '--data-dir', join(tmp.dir, 'data')]);
    expect((await store.verify(scoped.out.split('\n')[1]!, Date.now()))?.scope).toEqual({ sites: ['plant-x'], customers: ['acme'] });
    expect((await run(['token', 'list', '--data-dir', join(tmp.dir, 'data')])).out).toMatch(/scope site:plant-x,customer:acme/);
    expect((await run(['token', 'create', '--role', 'admin', '--sites', 'plant-x', '--data-dir', join(tmp.dir, 'data')])).code).toBe(2);
    db.close();
    tmp.cleanup();
  });

  it('makes tokens for the gateway in its own database when given a gateway config', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'gateway.yaml');
    writeFileSync(file, `version: 1\nsite: s\ngatewayId: g\ndataDir: ${join(tmp.dir, 'gw')}\ndrivers: [{ kind: mqtt-device, broker: { mode: embedded, allowAnonymous: true }, topics: [{ pattern: 'sensors/{device}' }] }]\nuplink: { url: 'mqtt://127.0.0.1:1883' }\n`);
    const made = await run(['token', 'create', '--role', 'viewer', '-c', file]);
    expect(made.code, made.err).toBe(0);
    const { openDatabase, TokenStore } = await import('../core/index.ts');
    const db = openDatabase(join(tmp.dir, 'gw', 'gateway.db'));
    expect(await TokenStore.sqlite(db).verify(made.out.split('\n')[1]!, Date.now())).toMatchObject({ role: 'viewer' });
    db.close();
    tmp.cleanup();
  });

  it('rotates the key that seals webhook secrets: the new key opens them, the old alone no longer does', async () => {
    const tmp = tempDir();
    const data = join(tmp.dir, 'data');
    const { openDatabase, SecretBox, SqliteSql } = await import('../core/index.ts');
    const { WebhookOutbox } = await import('../tickets/index.ts');
    const OLD = 'the-old-key-for-the-rotation-test';
    const NEW = 'the-new-key-for-the-rotation-test';
    let db = openDatabase(join(data, 'server.db'));
    await (await WebhookOutbox.open(new SqliteSql(db), new SecretBox(OLD))).createSubscription({ url: 'http://127.0.0.1:1/', events: ['*'], secret: 'whsec-rotate-me-1234', description: '', createdAt: 1, createdBy: 't' });
    db.close();
    expect((await run(['secrets', 'rotate', '--data-dir', data])).code).toBe(2);
    const r = await run(['secrets', 'rotate', '--data-dir', data], { VIGIL_SECRET_KEY: NEW, VIGIL_SECRET_KEY_OLD: OLD });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^1 secret\(s\) sealed/);
    db = openDatabase(join(data, 'server.db'));
    const row = db.prepare('SELECT secret FROM webhook_subscription').get() as { secret: string };
    expect(row.secret).not.toContain('whsec');
    expect((await (await WebhookOutbox.open(new SqliteSql(db), new SecretBox(NEW))).subscription(1))?.secret).toBe('whsec-rotate-me-1234');
    await expect((await WebhookOutbox.open(new SqliteSql(db), new SecretBox(OLD))).subscription(1)).rejects.toThrow(/not configured/);
    db.close();
    tmp.cleanup();
  });

  it('takes INFLUX_TOKEN from the environment without calling it a secret written into the config', async () => {
    const { influxFromEnv } = await import('./context.ts');
    const { parseConfig } = await import('../core/index.ts');
    const { ServerConfigSchema } = await import('../server/index.ts');
    const env = { INFLUX_URL: 'http://127.0.0.1:8086', INFLUX_TOKEN: 'influx-token-from-the-shell', INFLUX_ORG: 'acme' };
    const config = parseConfig(ServerConfigSchema, { version: 1, broker: { mode: 'embedded' }, influx: influxFromEnv(env) }, env);
    expect(config.influx).toMatchObject({ url: 'http://127.0.0.1:8086', token: 'influx-token-from-the-shell', org: 'acme' });
  });

  it('makes a token from a config whose secrets are not set in this shell', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'server.yaml');
    writeFileSync(file, `version: 1\ndataDir: \${VIGIL_DATA:-${join(tmp.dir, 'data')}}\nhttp: { apiToken: "\${VIGIL_TOKEN}" }\nbroker: { mode: external, url: "mqtt://127.0.0.1:1", password: "\${BROKER_PASSWORD}" }\ninflux: { url: "http://127.0.0.1:1", token: "\${INFLUX_TOKEN}" }\n`);
    const made = await run(['token', 'create', '--role', 'viewer', '-c', file]);
    expect(made.code, made.err).toBe(0);
    expect((await run(['token', 'list', '-c', file])).out).toMatch(/^1\tviewer/);
    expect((await run(['secrets', 'rotate', '-c', file], { VIGIL_SECRET_KEY: 'a-new-key-of-enough-length' })).code).toBe(0);
    tmp.cleanup();
  });
});
