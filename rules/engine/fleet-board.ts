/** One device's smoothed level as a fleet rule last saw it. */
export interface FleetEntry {
  level: number;
  at: number;
}

/**
 * What a fleet rule compares a device with: the latest smoothed level of every device of the same
 * model under the same rule and metric, as each device's own instance last published it. The engine
 * owns one board, so a backtest (its own engine) never mixes with the live fleet; it is rebuilt from
 * the readings after a restart, since each instance publishes again on its next reading.
 */
export class FleetBoard {
  private readonly groups = new Map<string, Map<string, FleetEntry>>();

  /** The group of one rule, model and metric; created empty on first use. */
  group(key: string): Map<string, FleetEntry> {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = new Map()));
    return g;
  }

  /** Forgets a device everywhere (it left the fleet or its rule was removed). */
  forget(deviceId: string): void {
    for (const g of this.groups.values()) g.delete(deviceId);
  }
}

/** What the engine hands every rule step beside the reading: shared views that no single instance owns. */
export interface StepEnv {
  fleet: FleetBoard;
}
