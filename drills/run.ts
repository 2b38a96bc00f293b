// npm run drill -- NAME [--json] [options]: fault drills on this machine, loopback only, bounded in time.
// Each prints what was sent, stored and lost (one JSON line with --json). See README, "Drills".
import { parseArgs } from 'node:util';
import { crashDrill } from './crash.ts';
import { failoverDrill } from './failover.ts';
import { fuzzDrill } from './fuzz.ts';
import { outageDrill } from './outage.ts';
import { soakDrill } from './soak.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    minutes: { type: 'string' },
    rate: { type: 'string' },
    cases: { type: 'string' },
    kills: { type: 'string' },
    seed: { type: 'string' },
    raw: { type: 'boolean', default: false },
    servers: { type: 'string' },
  },
});
const name = positionals[0];
const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
const seconds = values.minutes !== undefined ? Number(values.minutes) * 60 : values.seconds !== undefined ? Number(values.seconds) : undefined;

const DRILLS: Record<string, () => Promise<Record<string, unknown>>> = {
  outage: () => outageDrill({ seconds: seconds ?? 120, rate: num(values.rate, 2000) }),
  crash: () => crashDrill({ kills: num(values.kills, 25), tsdbOutageS: seconds ?? 60, rate: num(values.rate, 500), raw: values.raw, ...(values.seed ? { seed: Number(values.seed) } : {}) }),
  failover: async () => {
    const { handovers_s, ...r } = await failoverDrill({
      servers: num(values.servers, 3),
      seconds: seconds ?? 300,
      rate: num(values.rate, 2000),
      killEveryS: 60,
      restartAfterS: 20,
      brokerStop: { atS: 90, forS: 30 },
      failoverAfter: '15s',
      raw: values.raw,
    });
    console.error(`handovers (s): ${handovers_s.join(', ')}`);
    return r;
  },
  soak: () => soakDrill({ seconds: seconds ?? 300, rate: num(values.rate, 2000) }),
  fuzz: async () => {
    const { first_crashes, ...r } = await fuzzDrill({ cases: num(values.cases, 1_000_000), ...(values.seed ? { seed: Number(values.seed) } : {}) });
    for (const c of first_crashes) console.error(c);
    return r;
  },
};

if (!name || !DRILLS[name]) {
  console.error(`usage: npm run drill -- ${Object.keys(DRILLS).join('|')} [--json] [--seconds N | --minutes N] [--rate N]`);
  process.exit(2);
}
const started = Date.now();
const result = { drill: name, ...(await DRILLS[name]()), elapsed_s: Math.round((Date.now() - started) / 100) / 10 };
if (values.json) console.log(JSON.stringify(result));
else for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(20)} ${v}`);
process.exit(0);
