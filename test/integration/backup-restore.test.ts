import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/index.ts';
import { bearingFinding } from '../helpers/findings.ts';
import { VigilProcess } from '../helpers/child.ts';
import { freePort, waitFor } from '../helpers/net.ts';
import { type ServerHandle, publishSamples, sensor, startGateway, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

async function vigil(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = new VigilProcess(args).start();
  const code = await p.exited();
  return { code, output: p.output };
}

// Day 2: back up a running server and gateway, restore into a fresh directory, start on it.
describe('vigil backup and restore, while the processes run', () => {
  const tmp = tempDir();
  const servers: ServerHandle[] = [];
  const gateways: Gateway[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.stop().catch(() => undefined);
    for (const s of servers) await s.server.stop().catch(() => undefined);
    tmp.cleanup();
  });

  it('restores a server with its tickets, tokens and sealed webhook secrets, taken while it was writing', async () => {
    const dir = join(tmp.dir, 'server');
    const srv = await startServer({ dataDir: dir });
    servers.push(srv);
    const { token } = await srv.server.tokens.create({ name: 'desk-anna', role: 'service_desk', by: 'test', at: Date.now() });
    const sub = await srv.server.tickets.outbox.createSubscription({ url: 'http://127.0.0.1:9/hook', events: ['*'], secret: 'a-secret-for-the-desk-tool', description: '', createdAt: Date.now(), createdBy: 'test' });
    for (let i = 0; i < 20; i++) await srv.server.tickets.handleFinding(bearingFinding(`fan-${i}`));
    // The server keeps writing (new problems) while the backup runs.
    let writing = true;
    let n = 20;
    const writer = (async () => {
      while (writing) {
        await srv.server.tickets.handleFinding(bearingFinding(`pump-${n++}`));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const backup = await vigil(['backup', '--data-dir', dir, '--to', join(tmp.dir, 'server-backup')]);
    writing = false;
    await writer;
    expect(backup).toMatchObject({ code: 0, output: expect.stringMatching(/backed up .* server\.db \(\d+ KiB\), secret\.key/) });
    const manifest = JSON.parse(readFileSync(join(tmp.dir, 'server-backup', 'backup.json'), 'utf8')) as { databases: { file: string }[] };
    expect(manifest.databases.map((d) => d.file)).toEqual(['server.db']);

    const restoredDir = join(tmp.dir, 'server-restored');
    expect(await vigil(['restore', '--from', join(tmp.dir, 'server-backup'), '--data-dir', restoredDir])).toMatchObject({ code: 0 });
    // Restoring over a directory that has data is refused: nothing is overwritten.
    expect(await vigil(['restore', '--from', join(tmp.dir, 'server-backup'), '--data-dir', dir])).toMatchObject({ code: 1, output: expect.stringMatching(/already holds .*server\.db/) });

    const again = await startServer({ dataDir: restoredDir });
    servers.push(again);
    const tickets = await again.server.tickets.store.list({ limit: 10_000, offset: 0 });
    expect(tickets.total).toBeGreaterThanOrEqual(20);
    expect(tickets.tickets.map((t) => t.deviceId)).toEqual(expect.arrayContaining(['fan-0', 'fan-19']));
    // A consistent snapshot: every ticket it holds has the history event that created it.
    for (const t of tickets.tickets) expect((await again.server.tickets.store.history(t.id))[0]?.type).toBe('ticket.created');
    expect(await again.server.tokens.verify(token, Date.now())).toMatchObject({ name: 'desk-anna', role: 'service_desk' });
    expect((await again.server.tickets.outbox.subscription(sub.id))?.secret).toBe('a-secret-for-the-desk-tool');
  });

  it('restores a gateway whose outbox holds readings the uplink never took, and delivers them from the new directory', async () => {
    const deadPort = await freePort();
    const dir = join(tmp.dir, 'gw');
    const gw = await startGateway({ dataDir: dir, uplinkUrl: `mqtt://127.0.0.1:${deadPort}` });
    gateways.push(gw.gateway);
    const client = await sensor(gw.localUrl);
    const sent = await publishSamples(client, 200, { t0: Date.now() - 60_000 });
    await client.endAsync();
    await waitFor(() => gw.gateway.outbox.stats().pendingReadings + gw.gateway.outbox.stats().sealedReadings >= sent, { message: 'readings in the outbox' });
    expect(await vigil(['backup', '--data-dir', dir, '--to', join(tmp.dir, 'gw-backup')])).toMatchObject({ code: 0, output: expect.stringMatching(/outbox\.db/) });
    await gw.gateway.stop();

    const restoredDir = join(tmp.dir, 'gw-restored');
    expect(await vigil(['restore', '--from', join(tmp.dir, 'gw-backup'), '--data-dir', restoredDir])).toMatchObject({ code: 0 });
    const srv = await startServer({ dataDir: join(tmp.dir, 'server-for-gw'), brokerPort: deadPort });
    servers.push(srv);
    const restored = await startGateway({ dataDir: restoredDir, uplinkUrl: srv.brokerUrl });
    gateways.push(restored.gateway);
    await waitFor(async () => (await srv.ingested()) >= sent, { timeoutMs: 20_000, message: 'the restored outbox delivered' });
    expect(await srv.ingested()).toBe(sent);
  });

  it('refuses a manifest edited to write outside the data directory, and writes nothing', async () => {
    const forged = join(tmp.dir, 'forged');
    mkdirSync(forged);
    copyFileSync(join(tmp.dir, 'server-backup', 'server.db'), join(forged, 'server.db'));
    for (const file of ['../escaped.db', '/tmp/escaped.db', 'server.db/../../escaped.db']) {
      writeFileSync(join(forged, 'backup.json'), JSON.stringify({ format: 'vigil-backup/1', kind: 'server', at: 'x', databases: [{ file, bytes: 1 }], files: [] }));
      expect(await vigil(['restore', '--from', forged, '--data-dir', join(tmp.dir, 'target')]), file).toMatchObject({ code: 65 });
    }
    writeFileSync(join(forged, 'backup.json'), JSON.stringify({ format: 'vigil-backup/1', kind: 'server', at: 'x', databases: [], files: ['../../.bashrc'] }));
    expect((await vigil(['restore', '--from', forged, '--data-dir', join(tmp.dir, 'target')])).code).toBe(65);
    expect(existsSync(join(tmp.dir, 'escaped.db'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'target'))).toBe(false);
  });

  it('refuses what is not a backup, and a backup over an existing one', async () => {
    expect(await vigil(['restore', '--from', tmp.dir, '--data-dir', join(tmp.dir, 'x')])).toMatchObject({ code: 66, output: expect.stringMatching(/not a Vigil backup \(no backup\.json\)/) });
    expect(await vigil(['backup', '--data-dir', join(tmp.dir, 'server'), '--to', join(tmp.dir, 'server-backup')])).toMatchObject({ code: 1, output: expect.stringMatching(/exists; give a new directory/) });
    expect(await vigil(['backup', '--data-dir', join(tmp.dir, 'nowhere'), '--to', join(tmp.dir, 'b2')])).toMatchObject({ code: 66 });
  });
});
