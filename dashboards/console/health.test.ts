import { describe, expect, it } from 'vitest';
import { healthOf } from './health.ts';

const alert = (phase: string, severity: 'warning' | 'critical', fault = 'bearing_wear', ruleId = 'r') => ({ phase, severity, fault, ruleId });

describe('device health on the fleet page', () => {
  it.each([
    [{ alerts: [] }, 'ok'],
    [{ alerts: [alert('pending', 'critical')] }, 'ok'],
    [{ alerts: [alert('firing', 'warning')] }, 'warning'],
    [{ alerts: [alert('recovering', 'warning'), alert('firing', 'critical')] }, 'critical'],
    [{ alerts: [alert('firing', 'critical')], pollState: 'offline' }, 'offline'],
    [{ alerts: [], gatewayState: 'offline' as const }, 'offline'],
    [{ alerts: [alert('firing', 'warning', 'device_offline', 'device-silent')] }, 'offline'],
  ])('%j → %s', (input, want) => {
    expect(healthOf(input).health).toBe(want);
  });

  it('says why, so colour is not the only signal', () => {
    expect(healthOf({ alerts: [alert('firing', 'warning', 'bearing_wear', 'kurtosis-baseline')] }).reasons).toEqual(['kurtosis-baseline (bearing_wear)']);
    expect(healthOf({ alerts: [], gatewayState: 'offline' }).reasons).toEqual(['gateway offline']);
  });
});
