import { EmbeddedBroker, silentLogger } from '../core/index.ts';
import { InfluxWriter } from '../ingest/index.ts';

interface MinimalReading {
  deviceId: string;
  metric: string;
  value: number;
  ts: number;
}

/**
 * The reference ceiling for the intake benchmark: the same broker (aedes) and the same TSDB client,
 * with nothing but JSON.parse, line protocol and the write: no validation, no dedupe, no spool, no
 * durability (it acknowledges at once). Vigil's intake is measured against this.
 */
export class MinimalPipeline {
  written = 0;
  private lines: string[] = [];
  private writing: Promise<void> | undefined;
  private readonly writer: InfluxWriter;
  readonly broker: EmbeddedBroker<true>;

  constructor(influxUrl: string) {
    this.writer = new InfluxWriter({ url: influxUrl, org: 'vigil', bucket: 'minimal', timeoutMs: 30_000 });
    this.broker = new EmbeddedBroker<true>({
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
      hooks: {
        authenticate: () => true,
        onPublish: (_p, packet) => {
          const env = JSON.parse((packet.payload as Buffer).toString('utf8')) as { site: string; gatewayId: string; readings: MinimalReading[] };
          for (const r of env.readings) {
            this.lines.push(`minimal,device=${r.deviceId},gateway=${env.gatewayId},site=${env.site} ${r.metric}=${r.value} ${r.ts}`);
          }
          this.kick();
          return 'accept';
        },
        authorizeSubscribe: () => false,
      },
    });
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = (async () => {
      while (this.lines.length > 0) {
        const batch = this.lines.splice(0, 20_000);
        const r = await this.writer.write(batch.join('\n'));
        if (r.kind !== 'ok') throw new Error(`minimal pipeline write failed: ${JSON.stringify(r)}`);
        this.written += batch.length;
      }
      this.writing = undefined;
    })();
  }
}
