import { EmbeddedBroker, type Reading, silentLogger } from '../core/index.ts';
import { InfluxWriter, LineEncoder } from '../ingest/index.ts';


/**
 * The reference ceiling for the intake benchmark: the same broker (aedes) and the same TSDB client,
 * with nothing but JSON.parse, line protocol and the write: no validation, no dedupe, no spool, no
 * durability (it acknowledges at once). Vigil's intake is measured against this.
 */
export class MinimalPipeline {
  written = 0;
  /** Each Envelope's lines, and how many readings they hold. */
  private lines: { text: string; count: number }[] = [];
  private readonly encoder = new LineEncoder('minimal');
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
          const env = JSON.parse((packet.payload as Buffer).toString('utf8')) as { site: string; gatewayId: string; readings: Reading[] };
          // The same lines as intake writes (a device's metrics of one time on one line).
          this.lines.push({ text: this.encoder.encode(env.site, env.gatewayId, env.readings), count: env.readings.length });
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
        // Up to 20,000 readings a write, as before.
        let n = 0;
        let k = 0;
        while (k < this.lines.length && (k === 0 || n + this.lines[k]!.count <= 20_000)) n += this.lines[k++]!.count;
        const batch = this.lines.splice(0, k);
        const r = await this.writer.write(batch.map((b) => b.text).join('\n'));
        if (r.kind !== 'ok') throw new Error(`minimal pipeline write failed: ${JSON.stringify(r)}`);
        this.written += n;
      }
      this.writing = undefined;
    })();
  }
}
