import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { type Criticality, TicketPolicySchema, type Tier, assetOf, dispatchGroupOf, escalate, priorityOf, slaOf } from './policy.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const policy = parseConfig(TicketPolicySchema, {}, {});

describe('ticket priority: severity × asset criticality × customer tier, safety always P1', () => {
  const table: [severity: 'warning' | 'critical', criticality: Criticality, tier: Tier, expected: string][] = [
    ['critical', 'high', 'standard', 'P1'],
    ['critical', 'medium', 'standard', 'P2'],
    ['critical', 'low', 'standard', 'P3'],
    ['warning', 'high', 'standard', 'P2'],
    ['warning', 'medium', 'standard', 'P3'],
    ['warning', 'low', 'standard', 'P4'],
    ['critical', 'high', 'premium', 'P1'], // clamped: nothing above P1
    ['critical', 'medium', 'premium', 'P1'],
    ['warning', 'medium', 'premium', 'P2'],
    ['warning', 'low', 'premium', 'P3'],
    ['critical', 'high', 'basic', 'P2'],
    ['warning', 'medium', 'basic', 'P4'],
    ['warning', 'low', 'basic', 'P4'], // clamped: nothing below P4
  ];
  it.each(table)('%s on a %s-criticality asset of a %s customer → %s', (severity, criticality, tier, expected) => {
    const asset = { site: 's', region: 'r', customer: null, equipment: 'pump', criticality, tier };
    expect(priorityOf(policy, severity, 'bearing_wear', asset)).toBe(expected);
  });

  it.each([
    ['warning', 'low', 'basic'],
    ['critical', 'low', 'basic'],
  ] as const)('over-temperature is P1 even as a %s on a %s asset of a %s customer', (severity, criticality, tier) => {
    expect(priorityOf(policy, severity, 'overheating', { site: null, region: 'r', customer: null, equipment: 'fan', criticality, tier })).toBe('P1');
  });

  it('takes its matrix, tier shifts and safety faults from config', () => {
    const p = parseConfig(TicketPolicySchema, { priority: { warning: { low: 'P3' } }, tierShift: { premium: -2 }, safetyFaults: ['overheating', 'device_offline'] }, {});
    const asset = { site: null, region: 'r', customer: null, equipment: 'fan', criticality: 'low' as const, tier: 'premium' as const };
    expect(priorityOf(p, 'warning', 'vibration', asset)).toBe('P1');
    expect(priorityOf(p, 'warning', 'device_offline', { ...asset, tier: 'basic' })).toBe('P1');
  });

  it('escalates one step, and P1 stays P1', () => {
    expect(['P1', 'P2', 'P3', 'P4'].map((p) => escalate(p as 'P1'))).toEqual(['P1', 'P1', 'P2', 'P3']);
  });
});

describe('SLA deadlines per priority', () => {
  it.each([
    ['P1', HOUR, 8 * HOUR],
    ['P2', 4 * HOUR, 24 * HOUR],
    ['P3', DAY, 5 * DAY],
    ['P4', 3 * DAY, 10 * DAY],
  ] as const)('%s: respond within %i ms, resolve within %i ms (defaults)', (p, respond, resolve) => {
    expect(slaOf(policy, p, 1000)).toEqual({ respondBy: 1000 + respond, resolveBy: 1000 + resolve });
  });

  it('takes durations from config', () => {
    const p = parseConfig(TicketPolicySchema, { sla: { P1: { response: '15m', resolution: '4h' } } }, {});
    expect(slaOf(p, 'P1', 0)).toEqual({ respondBy: 15 * 60_000, resolveBy: 4 * HOUR });
    expect(slaOf(p, 'P2', 0)).toEqual({ respondBy: 4 * HOUR, resolveBy: 24 * HOUR });
  });
});

describe('dispatch group from site region and equipment type', () => {
  const p = parseConfig(
    TicketPolicySchema,
    {
      sites: { 'plant-a': { region: 'north', tier: 'premium', customer: 'Acme' }, 'plant-b': { region: 'south' } },
      assets: [
        { devices: ['press-*'], criticality: 'high', equipment: 'hydraulic-press' },
        { devices: ['fan-9'], criticality: 'low' },
      ],
      dispatch: { rules: [{ region: 'north', equipment: 'hydraulic-*', group: 'north-hydraulics' }, { region: 'south', group: 'south-all' }] },
    },
    {},
  );
  it.each([
    ['press-1', 'plant-a', 'north-hydraulics'],
    ['pump-3', 'plant-a', 'north-pump'],
    ['fan-9', 'plant-a', 'north-fan'],
    ['press-1', 'plant-b', 'south-all'],
    ['pump-3', 'plant-b', 'south-all'],
    ['pump-3', 'elsewhere', 'default-pump'],
    ['pump-3', null, 'default-pump'],
    ['42', 'plant-a', 'north-equipment'],
  ] as const)('%s at %s → %s', (device, site, group) => {
    expect(dispatchGroupOf(p, assetOf(p, device, site))).toBe(group);
  });

  it('reads criticality and tier from the asset and site entries', () => {
    expect(assetOf(p, 'press-7', 'plant-a')).toEqual({ site: 'plant-a', region: 'north', tier: 'premium', customer: 'Acme', criticality: 'high', equipment: 'hydraulic-press' });
    expect(assetOf(p, 'fan-9', 'plant-b')).toMatchObject({ tier: 'standard', criticality: 'low', equipment: 'fan' });
  });

  it('refuses a policy with unknown fields or bad values, with their paths', () => {
    const bad = () => parseConfig(TicketPolicySchema, { sla: { P1: { response: 'soon', resolution: '8h' } }, tierShift: { gold: 1 } }, {});
    expect(bad).toThrow(/sla\.P1\.response/);
    expect(bad).toThrow(/tierShift: .*gold/);
  });
});
