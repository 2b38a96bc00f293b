import { afterEach, describe, expect, it } from 'vitest';
import { type DeliveryOutcome, createRegistry, SqliteSql, openDatabase, silentLogger, systemClock, type Reading } from '../../../core/index.ts';
import { Quarantine } from '../../quarantine.ts';
import { InfluxSink } from './influx-sink.ts';

/** A writer that answers from a script, then succeeds; it records every body it was sent. */
class ScriptedWriter {
  bodies: string[] = [];
  constructor(private readonly script: ((body: string) => DeliveryOutcome | undefined)[] = []) {}
  async write(body: string): Promise<DeliveryOutcome> {
    this.bodies.push(body);
    const step = this.script.shift();
    return step?.(body) ?? { kind: 'ok' };
  }
  written(): string[] {
    return this.bodies.flatMap((b) => b.split('\n'));
  }
}

const readings = (n: number, from = 0): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ deviceId: 'pump-1', metric: 'vibration_rms', value: from + i, ts: 1_700_000_000_000 + from + i }));

let sinks: InfluxSink[] = [];
afterEach(async () => {
  for (const s of sinks) await s.stop();
  sinks = [];
});

async function setup(writer: ScriptedWriter, maxBatchReadings = 1000) {
  const db = openDatabase(':memory:');
  const quarantine = await Quarantine.open(new SqliteSql(db));
  const sink = new InfluxSink(
    { measurement: 'telemetry', maxBatchReadings, maxSpoolReadings: 1e6 },
    { db, writer, quarantine, log: silentLogger(), clock: systemClock, registry: createRegistry() },
  );
  sinks.push(sink);
  return { sink, quarantine };
}

async function drained(sink: InfluxSink): Promise<void> {
  const deadline = Date.now() + 5000;
  while (sink.spoolReadings > 0) {
    if (Date.now() > deadline) throw new Error(`spool still holds ${sink.spoolReadings}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('InfluxSink', () => {
  it('spools, then writes every line once and empties the spool', async () => {
    const writer = new ScriptedWriter();
    const { sink } = await setup(writer);
    await sink.start();
    await Promise.all([sink.write({ site: 's', gatewayId: 'g', readings: readings(3) }), sink.write({ site: 's', gatewayId: 'g', readings: readings(2, 3) })]);
    await drained(sink);
    expect(writer.written()).toHaveLength(5);
    expect(new Set(writer.written()).size).toBe(5);
  });

  it('quarantines a batch the server refuses as bad data (400) and moves on', async () => {
    const writer = new ScriptedWriter([() => ({ kind: 'drop', reason: 'HTTP 400: unable to parse' })]);
    const { sink, quarantine } = await setup(writer);
    await sink.write({ site: 's', gatewayId: 'g', readings: readings(4) });
    await sink.start();
    await drained(sink);
    const q = await quarantine.list({ limit: 10, offset: 0 });
    expect(q.items).toHaveLength(1);
    expect(q.items[0]).toMatchObject({ code: 'tsdb_rejected', reason: 'HTTP 400: unable to parse' });
    await sink.write({ site: 's', gatewayId: 'g', readings: readings(1, 10) });
    await drained(sink);
    expect(writer.bodies).toHaveLength(2);
  });

  it('splits a batch the server finds too large (413) until it fits, writing each line once', async () => {
    const writer = new ScriptedWriter([
      (b) => (b.split('\n').length > 2 ? { kind: 'split', reason: 'HTTP 413' } : undefined),
      (b) => (b.split('\n').length > 2 ? { kind: 'split', reason: 'HTTP 413' } : undefined),
    ]);
    const { sink } = await setup(writer);
    await sink.write({ site: 's', gatewayId: 'g', readings: readings(8) });
    await sink.start();
    await drained(sink);
    const ok = writer.bodies.slice(2).flatMap((b) => b.split('\n'));
    expect(ok.sort()).toEqual(writer.bodies[0]!.split('\n').sort());
  });

  it('splits lines of several readings by line, keeping the spool count of readings exact', async () => {
    const writer = new ScriptedWriter([(b) => (b.split('\n').length > 2 ? { kind: 'split', reason: 'HTTP 413' } : undefined)]);
    const { sink } = await setup(writer);
    // Four pumps, three metrics each at one time: four lines of three fields.
    const polls: Reading[] = ['pump-1', 'pump-2', 'pump-3', 'pump-4'].flatMap((deviceId, k) =>
      (['vibration_rms', 'bearing_temp', 'motor_current'] as const).map((metric, j) => ({ deviceId, metric, value: k * 10 + j, ts: 1_700_000_000_000 + k })),
    );
    await sink.write({ site: 's', gatewayId: 'g', readings: polls });
    expect(sink.spoolReadings).toBe(12);
    await sink.start();
    await drained(sink);
    expect(sink.spoolReadings).toBe(0);
    // Refused whole, then sent as two halves of two lines (six readings) each.
    expect(writer.bodies.map((b) => b.split('\n').length)).toEqual([4, 2, 2]);
    const ok = writer.bodies.slice(1).flatMap((b) => b.split('\n'));
    expect(ok.sort()).toEqual(writer.bodies[0]!.split('\n').sort());
  });

  it('keeps the data and retries after a transient failure, no sooner than Retry-After', async () => {
    const writer = new ScriptedWriter([() => ({ kind: 'retry', reason: 'HTTP 503', retryAfterMs: 300 })]);
    const { sink } = await setup(writer);
    await sink.write({ site: 's', gatewayId: 'g', readings: readings(2) });
    const started = Date.now();
    await sink.start();
    await drained(sink);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(writer.bodies).toHaveLength(2);
    expect(writer.bodies[0]).toBe(writer.bodies[1]);
  });
});
