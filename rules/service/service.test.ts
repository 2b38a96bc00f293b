import { describe, expect, it } from 'vitest';
import { AuditLog, ManualClock, createRegistry, openDatabase, silentLogger } from '../../core/index.ts';
import { SqliteSql } from '../../core/store/sqlite.ts';
import { RuleService, RulesConfigSchema } from './service.ts';

const MIN = 60_000;

// Snapshots write what changed since the last one; a write that fails must not lose the changes it
// carried, so the next snapshot writes everything.
describe('RuleService snapshots', () => {
  it('writes the changed rows, and everything after a failed write', async () => {
    const db = openDatabase(':memory:');
    const sql = new SqliteSql(db);
    const clock = new ManualClock();
    const rules = await RuleService.open(RulesConfigSchema.parse({}), { sql, audit: await AuditLog.open(sql), log: silentLogger(), clock, registry: createRegistry() });
    await rules.start();
    const t = clock.now();
    rules.ingest('plant-a', [
      { deviceId: 'fan-1', metric: 'bearing_temp', value: 50, ts: t },
      { deviceId: 'fan-2', metric: 'bearing_temp', value: 50, ts: t },
    ]);
    await rules.snapshot();
    const all = rules.lastSnapshot!.rows;
    expect(all).toBeGreaterThanOrEqual(2);
    await rules.snapshot();
    expect(rules.lastSnapshot!.rows).toBe(0);

    rules.ingest('plant-a', [{ deviceId: 'fan-1', metric: 'bearing_temp', value: 51, ts: t + MIN }]);
    db.exec('CREATE TRIGGER refuse BEFORE UPDATE ON rule_state BEGIN SELECT RAISE(ABORT, \'disk full\'); END');
    await expect(rules.snapshot()).rejects.toThrow(/disk full/);
    db.exec('DROP TRIGGER refuse');
    await rules.snapshot();
    expect(rules.lastSnapshot!.rows).toBe(all); // everything, not only what changed since the failed one
    await rules.snapshot();
    expect(rules.lastSnapshot!.rows).toBe(0);
    await rules.stop();
    db.close();
  });
});
