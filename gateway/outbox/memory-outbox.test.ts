import { outboxContract } from '../../test/contracts/outbox.contract.ts';
import { MemoryOutbox } from './memory-outbox.ts';

outboxContract('memory', {
  create: (o) => new MemoryOutbox({ maxReadings: o?.maxReadings ?? 1e9, overflow: o?.overflow ?? 'drop_oldest' }),
});
