import { compress } from 'snappyjs';
import { type DeliveryOutcome, classifyHttp, errorMessage } from '../../../core/index.ts';
import type { RemoteWriteConfig } from './config.ts';
import { writeRequest } from './encode.ts';

/** POSTs spool lines as a snappy-compressed remote-write request and classifies the answer. */
export class RemoteWriter {
  private readonly headers: Record<string, string>;

  constructor(private readonly c: RemoteWriteConfig) {
    this.headers = {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': 'vigil-remote-write/1',
      ...(c.bearerToken ? { authorization: `Bearer ${c.bearerToken}` } : c.username !== undefined ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}` } : {}),
    };
  }

  async write(lines: string): Promise<DeliveryOutcome> {
    try {
      const res = await fetch(this.c.url, { method: 'POST', headers: this.headers, body: compress(writeRequest(lines, this.c.prefix)), redirect: 'error', signal: AbortSignal.timeout(this.c.timeout) });
      const body = res.ok ? undefined : await res.text().catch(() => undefined);
      if (res.ok) await res.body?.cancel().catch(() => undefined);
      return classifyHttp(res.status, body, res.headers.get('retry-after'));
    } catch (err) {
      const e = err as Error;
      return { kind: 'retry', reason: e.name === 'TimeoutError' ? `no answer within ${this.c.timeout} ms` : errorMessage(e.cause ?? e) };
    }
  }
}
