import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import { type DeliveryOutcome, classifyHttp, errorMessage } from '../../../core/index.ts';

export interface InfluxTarget {
  url: string;
  token?: string | undefined;
  org: string;
  bucket: string;
  timeoutMs: number;
}

/** Sends line protocol to the InfluxDB v2 write API and says which failure class an error falls in. */
export class InfluxWriter {
  private readonly influx: InfluxDB;
  private readonly path: string;

  constructor(target: InfluxTarget) {
    this.influx = new InfluxDB({ url: target.url, token: target.token, timeout: target.timeoutMs });
    this.path = `/api/v2/write?org=${encodeURIComponent(target.org)}&bucket=${encodeURIComponent(target.bucket)}&precision=ms`;
  }

  async write(body: string): Promise<DeliveryOutcome> {
    try {
      await this.influx.transport.request(this.path, body, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
      return { kind: 'ok' };
    } catch (err) {
      if (err instanceof HttpError) {
        const ra = err.headers?.['retry-after'];
        return classifyHttp(err.statusCode, err.body, Array.isArray(ra) ? ra[0] : ra);
      }
      return { kind: 'retry', reason: errorMessage(err) };
    }
  }
}
