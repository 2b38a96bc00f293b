import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, type Migration, PostgresSql, type Sql, SqliteSql, isUniqueViolation, migrateStore, numbered, openDatabase, retrying } from '../../core/index.ts';
import { Postgres } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/tmp.ts';

const MIGRATIONS: Migration[] = [
  {
    id: 'engine-test/001-initial',
    sqlite: 'CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, v INTEGER NOT NULL, open INTEGER NOT NULL DEFAULT 1); CREATE UNIQUE INDEX item_open_k ON item (k) WHERE open = 1',
    postgres: 'CREATE TABLE item (id BIGSERIAL PRIMARY KEY, k TEXT NOT NULL, v BIGINT NOT NULL, open INTEGER NOT NULL DEFAULT 1); CREATE UNIQUE INDEX item_open_k ON item (k) WHERE open = 1',
  },
  { id: 'engine-test/002-note', sqlite: 'ALTER TABLE item ADD COLUMN note TEXT', postgres: 'ALTER TABLE item ADD COLUMN note TEXT' },
];

const pgServer = new Postgres();
const tmp = tempDir('vigil-engines-');
let dbN = 0;

const engines: [string, () => Promise<Sql>][] = [
  ['sqlite', async () => new SqliteSql(openDatabase(`${tmp.dir}/e${++dbN}.db`))],
  ['postgres', async () => new PostgresSql({ url: await pgServer.database(`engines_${++dbN}`), pool: 4 })],
];

beforeAll(async () => {
  await pgServer.start();
});
afterAll(async () => {
  await pgServer.destroy();
  tmp.cleanup();
});

describe.each(engines)('the %s store engine', (name, open) => {
  let sql: Sql;
  beforeAll(async () => {
    sql = await open();
    expect(await migrateStore(sql, MIGRATIONS)).toEqual(['engine-test/001-initial', 'engine-test/002-note']);
  });
  afterAll(async () => {
    await sql.close();
  });

  it('applies each migration once and refuses ids out of order', async () => {
    expect(sql.dialect).toBe(name);
    expect(await migrateStore(sql, MIGRATIONS)).toEqual([]);
    await expect(migrateStore(sql, [MIGRATIONS[1]!, MIGRATIONS[0]!])).rejects.toThrow(/out of order/);
  });

  it('binds ? placeholders, returns ids and numbers (not strings), and counts changes', async () => {
    const row = await sql.get<{ id: number }>("INSERT INTO item (k, v, note) VALUES (?, ?, 'what?') RETURNING id", ['a', 1_790_000_000_000]);
    expect(typeof row!.id).toBe('number');
    const back = await sql.get<{ v: number; note: string; n: number }>('SELECT v, note, (SELECT COUNT(*) FROM item) AS n FROM item WHERE id = ?', [row!.id]);
    expect(back).toEqual({ v: 1_790_000_000_000, note: 'what?', n: 1 });
    expect((await sql.run('UPDATE item SET v = v + 1 WHERE k = ?', ['a'])).changes).toBe(1);
    expect((await sql.run('UPDATE item SET v = v + 1 WHERE k = ?', ['nobody'])).changes).toBe(0);
  });

  it('commits a transaction whole, or nothing of it when the body throws', async () => {
    await sql.tx(async () => {
      await sql.run('INSERT INTO item (k, v) VALUES (?, ?)', ['b', 1]);
      await sql.run('INSERT INTO item (k, v) VALUES (?, ?)', ['c', 1]);
    });
    await expect(
      sql.tx(async () => {
        await sql.run('INSERT INTO item (k, v) VALUES (?, ?)', ['d', 1]);
        throw new Error('refused halfway');
      }),
    ).rejects.toThrow('refused halfway');
    const ks = (await sql.all<{ k: string }>('SELECT k FROM item ORDER BY k')).map((r) => r.k);
    expect(ks).toEqual(['a', 'b', 'c']);
  });

  it('keeps a query from outside a transaction out of it', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = sql.tx(async () => {
      await sql.run('INSERT INTO item (k, v) VALUES (?, ?)', ['e', 1]);
      // On SQLite the body must not wait on anything but the store; here it waits on the test only
      // to show that an outside write lands after the transaction, not inside it.
      if (name === 'postgres') await held;
      throw new Error('rolled back');
    });
    const outside = sql.run('INSERT INTO item (k, v) VALUES (?, ?)', ['f', 1]);
    release();
    await expect(tx).rejects.toThrow('rolled back');
    await outside;
    const ks = (await sql.all<{ k: string }>("SELECT k FROM item WHERE k IN ('e', 'f')")).map((r) => r.k);
    expect(ks).toEqual(['f']);
  });

  it('reports a unique index refusal as one, and a retryable conflict is retried', async () => {
    const err = await sql.run('INSERT INTO item (k, v) VALUES (?, ?)', ['a', 9]).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
    let tries = 0;
    const out = await retrying(sql, async () => {
      tries++;
      if (tries < 3) throw new Conflict();
      return 'done';
    });
    expect([out, tries]).toEqual(['done', 3]);
    tries = 0;
    await expect(retrying(sql, async () => { tries++; throw new Error('not a conflict'); })).rejects.toThrow('not a conflict');
    expect(tries).toBe(1);
  });
});

describe('PostgreSQL under concurrency', () => {
  it('lets exactly one of many concurrent writers open the row a partial unique index guards', async () => {
    const url = await pgServer.database('engines_race');
    const a = new PostgresSql({ url, pool: 8 });
    const b = new PostgresSql({ url, pool: 8 });
    await Promise.all([migrateStore(a, MIGRATIONS), migrateStore(b, MIGRATIONS)]);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).tx(async () => {
          const s = i % 2 ? a : b;
          const r = await s.get<{ id: number }>('INSERT INTO item (k, v) VALUES (?, ?) ON CONFLICT (k) WHERE open = 1 DO NOTHING RETURNING id', ['pump-1/bearing', i]);
          return r?.id;
        }),
      ),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    expect((await a.get<{ n: number }>('SELECT COUNT(*) AS n FROM item'))!.n).toBe(1);
    expect((await a.all<{ id: string }>('SELECT id FROM schema_migration ORDER BY id')).map((r) => r.id)).toEqual(['engine-test/001-initial', 'engine-test/002-note']);
    await Promise.all([a.close(), b.close()]);
  });

  it('delivers NOTIFY to a listener on another pool when the transaction commits, not before', async () => {
    const url = await pgServer.database('engines_notify');
    const a = new PostgresSql({ url, pool: 2 });
    const b = new PostgresSql({ url, pool: 2 });
    const got: string[] = [];
    const stop = await b.listen('vigil_test', (p) => got.push(p));
    await a.tx(async () => {
      await a.notify('vigil_test', 'first');
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual([]);
    });
    await expect.poll(() => got, { timeout: 2000 }).toEqual(['first']);
    await stop();
    await Promise.all([a.close(), b.close()]);
  });
});

describe('placeholders', () => {
  it('numbers ? outside quotes only', () => {
    expect(numbered("SELECT ? , '?' , \"a?\" , ?")).toBe("SELECT $1 , '?' , \"a?\" , $2");
    expect(numbered('SELECT 1')).toBe('SELECT 1');
  });
});
