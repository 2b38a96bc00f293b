// Runs one output of the contract suite in a process of its own, so the suite can SIGKILL it
// mid-delivery: `tsx output-child.ts KIND DB ADDRESS-JSON [PUT-JSON]`. With PUT it queues those items
// first and prints their ids; it then delivers until killed, printing `drained` when nothing is left.
import { OUTPUT_CASES } from './outputs.contract.ts';

const [kind, dbPath, address, put] = process.argv.slice(2);
const c = OUTPUT_CASES.find((x) => x.kind === kind);
if (!c || !dbPath || !address) {
  console.error('usage: output-child.ts KIND DB ADDRESS-JSON [PUT-JSON]');
  process.exit(2);
}
const out = await c.open(JSON.parse(address) as Record<string, string | number>, dbPath, { maxAttempts: 100 });
if (put) console.log(`put ${JSON.stringify(await out.put(JSON.parse(put) as { key: string; n: number }[]))}`);
console.log('delivering');
const timer = setInterval(() => {
  void out.pending().then((n) => {
    if (n === 0) console.log('drained');
  });
}, 100);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void out.stop().then(() => process.exit(0));
});
