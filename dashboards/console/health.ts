/** What the fleet page shows per device; colour is never the only signal, so each comes with reasons. */
export type Health = 'ok' | 'warning' | 'critical' | 'offline';

export interface HealthInput {
  /** Poll state of a Modbus device, when the gateway reports one. */
  pollState?: string | undefined;
  gatewayState?: 'online' | 'offline' | 'unknown' | undefined;
  alerts: readonly { phase: string; severity: 'warning' | 'critical'; fault: string; ruleId: string }[];
}

/**
 * offline: the device (or its gateway) is not reporting, so its other signals are stale; else the
 * worst firing or recovering alert; pending alerts have not fired yet and do not count.
 */
export function healthOf(h: HealthInput): { health: Health; reasons: string[] } {
  const live = h.alerts.filter((a) => a.phase === 'firing' || a.phase === 'recovering');
  const silent = live.filter((a) => a.fault === 'device_offline');
  if (h.pollState === 'offline' || h.gatewayState === 'offline' || silent.length > 0) {
    const reasons = [
      ...(h.pollState === 'offline' ? ['device does not answer its gateway'] : []),
      ...(h.gatewayState === 'offline' ? ['gateway offline'] : []),
      ...silent.map((a) => `${a.ruleId}: no data`),
    ];
    return { health: 'offline', reasons };
  }
  const critical = live.filter((a) => a.severity === 'critical');
  if (critical.length > 0) return { health: 'critical', reasons: critical.map((a) => `${a.ruleId} (${a.fault})`) };
  if (live.length > 0) return { health: 'warning', reasons: live.map((a) => `${a.ruleId} (${a.fault})`) };
  return { health: 'ok', reasons: [] };
}
