import { describe, expect, it } from 'vitest';
import { mergeFleets } from './api.ts';

type Page = Parameters<typeof mergeFleets>[0][number];
const device = (deviceId: string, health: 'ok' | 'warning' = 'ok') => ({
  deviceId,
  gatewayId: 'gw',
  gatewayState: 'online',
  health,
  reasons: [],
  lastSeen: 1,
  lastTs: 1,
  values: {},
  pollState: null,
  openTickets: [],
});
const page = (sites: [string, string[]][], total = sites.reduce((n, [, d]) => n + d.length, 0)): Page => {
  const all = sites.flatMap(([site, ids]) => ids.map((id) => ({ site, d: device(id, id.endsWith('!') ? 'warning' : 'ok') })));
  const warn = all.filter((x) => x.d.health === 'warning').length;
  return {
    total,
    limit: 1000,
    offset: 0,
    summary: { devices: all.length, ok: all.length - warn, warning: warn, critical: 0, offline: 0, sites: sites.map(([site, ids]) => ({ site, devices: ids.length, ok: ids.filter((i) => !i.endsWith('!')).length, warning: ids.filter((i) => i.endsWith('!')).length, critical: 0, offline: 0 })) },
    sites: sites.map(([site, ids]) => ({ site, devices: ids.map((id) => device(id, id.endsWith('!') ? 'warning' : 'ok')) })),
  };
};

// Each server of a cluster answers the fleet for the sites of its shards; the one asked merges them.
describe('mergeFleets', () => {
  it('adds the counts, puts the sites in order across servers, and pages the merge', () => {
    const a = page([['plant-a', ['fan-1', 'fan-2!']], ['plant-c', ['pump-1']]]);
    const b = page([['plant-b', ['m-1', 'm-2', 'm-3']]]);
    const all = mergeFleets([a, b], 0, 1000);
    expect(all.total).toBe(6);
    expect(all.summary).toMatchObject({ devices: 6, ok: 5, warning: 1 });
    expect(all.summary.sites.map((s) => s.site)).toEqual(['plant-a', 'plant-b', 'plant-c']);
    expect(all.sites.map((s) => [s.site, s.devices.map((d) => d.deviceId)])).toEqual([
      ['plant-a', ['fan-1', 'fan-2!']],
      ['plant-b', ['m-1', 'm-2', 'm-3']],
      ['plant-c', ['pump-1']],
    ]);
    // The second page of two: a site cut by the page edge shows on both pages.
    const p2 = mergeFleets([b, a], 2, 2);
    expect(p2).toMatchObject({ total: 6, offset: 2, limit: 2 });
    expect(p2.sites.map((s) => [s.site, s.devices.map((d) => d.deviceId)])).toEqual([['plant-b', ['m-1', 'm-2']]]);
    expect(mergeFleets([], 0, 10)).toMatchObject({ total: 0, sites: [], summary: { devices: 0, sites: [] } });
  });
});
