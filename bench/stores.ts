// node --import tsx bench/stores.ts: findings → tickets and webhook deliveries on both store engines.
import { fileURLToPath } from 'node:url';
import { PostgresSql } from '../core/index.ts';
import { Postgres } from '../test/helpers/postgres.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { benchTickets } from './tickets.ts';

export type TicketFigures = Awaited<ReturnType<typeof benchTickets>>;

/**
 * The ticket bench on the embedded SQLite file and on a PostgreSQL 15 of its own (a temporary data
 * directory on this machine, default settings, a pool of 10 as the server's default).
 */
export async function benchStores(dir: string): Promise<{ sqlite: TicketFigures; postgres: TicketFigures }> {
  const sqlite = await benchTickets(dir);
  const pg = await new Postgres().start();
  try {
    const url = await pg.database('bench_tickets');
    const postgres = await benchTickets(dir, async () => new PostgresSql({ url, pool: 10, application: 'vigil-bench' }));
    return { sqlite, postgres };
  } finally {
    await pg.destroy();
  }
}

export function describeStores(r: { sqlite: TicketFigures; postgres: TicketFigures }): string[] {
  const line = (name: string, f: TicketFigures) =>
    `tickets  ${name}: 10,000 findings on 100 devices ${f.floodFindingsPerS.toLocaleString('en')} findings/s (100 tickets); 5,000 new problems ${f.newTicketsPerS.toLocaleString('en')} tickets/s; webhooks ${f.webhookDeliveriesPerS.toLocaleString('en')} deliveries/s (${f.deliveries.toLocaleString('en')} signed, loopback receiver, 8 in flight)`;
  return [line('SQLite    ', r.sqlite), line('PostgreSQL', r.postgres)];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tmp = tempDir('vigil-bench-stores-');
  try {
    const r = await benchStores(tmp.dir);
    for (const l of describeStores(r)) console.log(l);
    if (process.argv.includes('--json')) console.log(JSON.stringify(r));
  } finally {
    tmp.cleanup();
  }
}
