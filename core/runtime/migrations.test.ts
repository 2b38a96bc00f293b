import { describe, expect, it } from 'vitest';
import { appliedMigrations, migrate } from './migrations.ts';
import { openDatabase } from './sqlite.ts';

describe('numbered migrations', () => {
  it('applies each once, in order, records it, and takes over tables made before migrations were recorded', () => {
    const db = openDatabase(':memory:');
    db.exec('CREATE TABLE thing (id INTEGER PRIMARY KEY)'); // a database from before
    db.prepare('INSERT INTO thing (id) VALUES (1)').run();
    const list = [
      { id: 'things/001-initial', sqlite: 'CREATE TABLE IF NOT EXISTS thing (id INTEGER PRIMARY KEY)' },
      { id: 'things/002-name', sqlite: "ALTER TABLE thing ADD COLUMN name TEXT NOT NULL DEFAULT ''" },
    ];
    expect(migrate(db, list)).toEqual(['things/001-initial', 'things/002-name']);
    expect(migrate(db, list)).toEqual([]);
    expect(appliedMigrations(db).map((m) => m.id)).toEqual(['things/001-initial', 'things/002-name']);
    expect(db.prepare('SELECT id, name FROM thing').all()).toEqual([{ id: 1, name: '' }]);
  });

  it('leaves nothing half done when a migration fails, and refuses ids out of order', () => {
    const db = openDatabase(':memory:');
    const bad = [{ id: 'x/001-initial', sqlite: 'CREATE TABLE a (id INTEGER); CREATE TABLE b (nonsense' }];
    expect(() => migrate(db, bad)).toThrow();
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'a'").get()).toBeUndefined();
    expect(appliedMigrations(db)).toEqual([]);
    expect(() => migrate(db, [{ id: 'x/002-b', sqlite: '' }, { id: 'x/001-a', sqlite: '' }])).toThrow(/out of order/);
    expect(() => migrate(db, [{ id: 'no-number', sqlite: '' }])).toThrow(/<area>\/<NNN>-<what>/);
  });
});
