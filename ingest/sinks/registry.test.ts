import { describe, expect, it } from 'vitest';
import { SinkEntrySchema } from './registry.ts';

describe('sink registry', () => {
  // One folder per kind, each with its README, a valid example and a contract entry: test/docs/plugins.test.ts.
  it('refuses an unknown kind and another kind’s settings', () => {
    expect(SinkEntrySchema.safeParse({ kind: 'carrier-pigeon', url: 'http://x' }).success).toBe(false);
    expect(SinkEntrySchema.safeParse({ kind: 'influxdb', url: 'http://127.0.0.1:8428', colour: 'red' }).success).toBe(false);
    expect(SinkEntrySchema.safeParse({ kind: 'influxdb' }).success).toBe(false);
  });
});
