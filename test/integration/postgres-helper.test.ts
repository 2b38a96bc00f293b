import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Postgres } from '../helpers/postgres.ts';

// The PostgreSQL the shared-store tests will run against: a real server 15, started by the tests.
describe('test PostgreSQL', () => {
  const server = new Postgres();
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('starts PostgreSQL 15 on loopback, gives each test file a database, and keeps data across a restart', async () => {
    const url = await server.database('vigil_helper');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    expect((await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v).toMatch(/^15\./);
    await c.query('CREATE TABLE t (id int PRIMARY KEY)');
    await c.query('INSERT INTO t VALUES (1), (2)');
    await c.end();
    await server.stop();
    await server.start();
    const again = new pg.Client({ connectionString: url });
    await again.connect();
    expect((await again.query<{ n: string }>('SELECT count(*) AS n FROM t')).rows[0]!.n).toBe('2');
    await again.end();
  });
});
