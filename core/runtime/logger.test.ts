import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logger', () => {
  it('never writes passwords, tokens or secrets, however deep', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ destination: sink });
    log.info({ uplink: { url: 'mqtt://x', password: 'p4ss' }, token: 't0k', config: { influx: { token: 'deep' } }, secret: 's' }, 'starting');
    const text = lines.join('');
    expect(text).toContain('mqtt://x');
    for (const s of ['p4ss', 't0k', 'deep', '"s"']) expect(text).not.toContain(s);
    expect(text).toContain('[redacted]');
  });
});
