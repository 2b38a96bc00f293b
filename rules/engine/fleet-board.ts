/** One device's smoothed level as a fleet rule last saw it. */
export interface FleetEntry {
  level: number;
  at: number;
  /** Published by another server of the cluster (see {@link FleetBoard.merge}), not by an instance here. */
  remote?: true;
}

/** A board entry as servers share it: its group (rule, model, metric), the device and its level. */
export interface FleetLevel {
  key: string;
  deviceId: string;
  level: number;
  at: number;
}

const sharedId = (key: string, deviceId: string) => `${key}\u0002${deviceId}`;

/**
 * What a fleet rule compares a device with: the latest smoothed level of every device of the same
 * model under the same rule and metric, as each device's own instance last published it. The engine
 * owns one board, so a backtest (its own engine) never mixes with the live fleet; it is rebuilt from
 * the readings after a restart, since each instance publishes again on its next reading.
 */
export class FleetBoard {
  private readonly groups = new Map<string, Map<string, FleetEntry>>();
  /** The time of each entry's level as last shared ({@link markShared}), so an unchanged level is not shared again. */
  private readonly shared = new Map<string, number>();

  /** The group of one rule, model and metric; created empty on first use. */
  group(key: string): Map<string, FleetEntry> {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = new Map()));
    return g;
  }

  /** Forgets a device everywhere (it left the fleet or its rule was removed). */
  forget(deviceId: string): void {
    for (const [key, g] of this.groups) {
      g.delete(deviceId);
      this.shared.delete(sharedId(key, deviceId));
    }
  }

  /**
   * The levels this server's own instances published (not what {@link merge} brought in) that have not
   * been shared at their current time: returned again until {@link markShared} records them.
   */
  localChanges(): FleetLevel[] {
    const out: FleetLevel[] = [];
    for (const [key, g] of this.groups) {
      for (const [deviceId, e] of g) {
        if (!e.remote && this.shared.get(sharedId(key, deviceId)) !== e.at) out.push({ key, deviceId, level: e.level, at: e.at });
      }
    }
    return out;
  }

  /** Records levels as shared (once they are in the store), so {@link localChanges} leaves them out until they move. */
  markShared(levels: readonly FleetLevel[]): void {
    for (const l of levels) this.shared.set(sharedId(l.key, l.deviceId), l.at);
  }

  /**
   * Takes in levels other servers published (a cluster's servers each hold some of a model's devices),
   * so a fleet rule compares a device with all its siblings. A device an instance here publishes for
   * keeps its own entry: it is this server's now, whatever an older row elsewhere says.
   */
  merge(levels: readonly FleetLevel[]): number {
    let n = 0;
    for (const l of levels) {
      const g = this.group(l.key);
      const e = g.get(l.deviceId);
      if (e && !e.remote) continue;
      if (e && e.at >= l.at) continue;
      g.set(l.deviceId, { level: l.level, at: l.at, remote: true });
      n++;
    }
    return n;
  }
}

/** What the engine hands every rule step beside the reading: shared views that no single instance owns. */
export interface StepEnv {
  fleet: FleetBoard;
}
