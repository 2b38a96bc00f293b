import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteOutbox } from '../../gateway/outbox/index.ts';
import { outboxContract } from '../contracts/outbox.contract.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const files = new WeakMap<object, { file: string; maxReadings: number; overflow: 'drop_oldest' | 'reject_new' }>();

outboxContract('sqlite', {
  create(o) {
    const opts = { file: join(tmp.dir, `outbox-${n++}.db`), maxReadings: o?.maxReadings ?? 1e9, overflow: o?.overflow ?? 'drop_oldest' };
    const ob = new SqliteOutbox(opts.file, opts);
    files.set(ob, opts);
    return ob;
  },
  reopen(ob) {
    const opts = files.get(ob)!;
    ob.close();
    const again = new SqliteOutbox(opts.file, opts);
    files.set(again, opts);
    return again;
  },
});
