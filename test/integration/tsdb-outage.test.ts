import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../../core/index.ts';
import { waitFor } from '../helpers/net.ts';
import { type Pipeline, publishSamples, startPipeline } from '../helpers/pipeline.ts';

describe('failure (c): the time-series database is down for a while', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(async () => p?.stop());

  it('keeps acknowledging gateways, holds readings in the spool, and drains it when the TSDB returns', async () => {
    const { vm, srv, sensor: s } = p;
    const t0 = Date.now() - 3_600_000;
    let expected = await publishSamples(s, 100, { t0 });
    await waitFor(async () => (await vm.count()) >= expected, { message: 'first batch stored' });

    await vm.stop();
    expected += await publishSamples(s, 500, { t0: t0 + 10_000 });
    await waitFor(async () => (await srv.ingested()) >= expected, { message: 'gateway acknowledged while the TSDB is down' });
    await waitFor(async () => (await metricValue(srv.registry, 'vigil_tsdb_write_failures_total', { class: 'retry' })) > 0, {
      message: 'a failed write was retried',
    });
    expect(await metricValue(srv.registry, 'vigil_tsdb_spool_readings')).toBe(1500);
    expect((await fetch(`${srv.httpUrl}/readyz`)).status).toBe(200);
    const pipeline = (await (await fetch(`${srv.httpUrl}/api/v1/pipeline`)).json()) as { tsdb: { state: string; spoolReadings: number } };
    expect(pipeline.tsdb).toMatchObject({ state: 'down', spoolReadings: 1500 });

    await new Promise((r) => setTimeout(r, 3000));
    await vm.start();
    await waitFor(async () => (await metricValue(srv.registry, 'vigil_tsdb_spool_readings')) === 0, { timeoutMs: 60_000, message: 'spool drained' });
    expect(await vm.count()).toBe(expected);
  });
});
