import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearingFinding } from '../helpers/findings.ts';
import { type ServerHandle, startServer } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

const VIGIL = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

/** Runs `vigil ARGS` and keeps all of its output (an export may be large). */
async function vigil(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = spawn(process.execPath, [VIGIL, ...args], { env: { ...process.env, VIGIL_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  p.stdout.on('data', (d: Buffer) => (output += d.toString()));
  p.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
  return { code, output };
}

/** A CSV line split into its fields (quoted fields may hold commas and doubled quotes). */
function fields(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)) out.push(m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replaceAll('""', '"') : m[1]!);
  return out;
}

// Day 2: what the server holds leaves it as CSV or JSON lines, streamed, while it runs.
describe('vigil export readings|tickets|findings', () => {
  const tmp = tempDir();
  const dir = join(tmp.dir, 'server');
  let srv: ServerHandle;
  const T0 = Date.UTC(2026, 10, 1);

  beforeAll(async () => {
    srv = await startServer({ dataDir: dir });
    for (let i = 0; i < 30; i++) srv.server.tickets.handleFinding(bearingFinding(`fan-${i}`, { at: T0 + i * 3_600_000 }));
    for (let i = 0; i < 30; i++) await srv.server.rules.findings.add(bearingFinding(`fan-${i}`, { at: T0 + i * 3_600_000, evidence: { value: 7.5, note: 'a "quoted", comma' } }));
    srv.server.history.add('plant-a', Array.from({ length: 600 }, (_, i) => ({ deviceId: 'pump-1', metric: 'bearing_temp' as const, value: 40 + (i % 7), unit: '°C', ts: T0 + i * 6_000 })));
    await srv.server.history.flushAll();
  });
  afterAll(async () => {
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('streams findings as CSV, by time, with quoted fields and ISO times', async () => {
    const r = await vigil(['export', 'findings', '--data-dir', dir, '--from', '2026-11-01T10:00:00Z', '--to', '2026-11-01T20:00:00Z']);
    expect(r.code).toBe(0);
    const lines = r.output.trim().split('\n');
    expect(lines[0]).toBe('id,at,site,device,metric,rule,event,severity,fault,evidence');
    expect(lines).toHaveLength(1 + 10);
    const first = fields(lines[1]!);
    expect(first[1]).toBe('2026-11-01T10:00:00.000Z');
    expect(first[3]).toBe('fan-10');
    expect(JSON.parse(first[9]!)).toEqual({ value: 7.5, note: 'a "quoted", comma' });
  });

  it('streams tickets as JSON lines, and readings as per-minute rows to a file', async () => {
    const t = await vigil(['export', 'tickets', '--data-dir', dir, '--format', 'jsonl']);
    expect(t.code).toBe(0);
    const tickets = t.output.trim().split('\n').map((l) => JSON.parse(l) as { deviceId: string; status: string });
    expect(tickets).toHaveLength(30);
    expect(tickets[0]).toMatchObject({ deviceId: 'fan-0', status: 'open' });
    const file = join(tmp.dir, 'readings.csv');
    const r = await vigil(['export', 'readings', '--data-dir', dir, '--out', file]);
    expect(r).toMatchObject({ code: 0, output: expect.stringMatching(/60 readings written to/) });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('minute,site,device,metric,mean,min,max,last,count');
    expect(lines).toHaveLength(61); // 600 readings 6 s apart: 60 minutes
    expect(fields(lines[1]!)).toEqual(['2026-11-01T00:00:00.000Z', 'plant-a', 'pump-1', 'bearing_temp', expect.any(String), '40', '46', expect.any(String), '10']);
  });

  it('finds the data directory from the server config, and refuses bad arguments with usage (2)', async () => {
    const config = join(tmp.dir, 'server.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(config, `version: 1\ndataDir: ${dir}\nbroker: { mode: external, url: "mqtt://127.0.0.1:1", password: "\${BROKER_PASSWORD}" }\n`);
    const viaConfig = await vigil(['export', 'tickets', '-c', config, '--from=-100000d']);
    expect(viaConfig.code).toBe(0);
    expect(viaConfig.output.trim().split('\n')).toHaveLength(31);
    // The service loop's columns: where the ticket came from, visits, first-time fix, the customer's answer.
    expect(viaConfig.output.split('\n')[0]).toMatch(/,source,customer_noticed,reports,visits,first_time_fix,accepted_by,score,nps,close_reason$/);
    expect(viaConfig.output.split('\n')[1]).toMatch(/,predicted,false,0,0,,,,,$/);
    expect((await vigil(['export', 'tickets', '--data-dir', dir, '--from', 'yesterday'])).output).toMatch(/not a time/);
    expect((await vigil(['export', 'everything', '--data-dir', dir])).code).toBe(2);
    expect(await vigil(['export', 'tickets', '--data-dir', join(tmp.dir, 'nowhere')])).toMatchObject({ code: 66, output: expect.stringMatching(/no .*server\.db/) });
    expect((await vigil(['export', 'tickets', '--data-dir', dir, '--format', 'xml'])).code).toBe(2);
  });
});
