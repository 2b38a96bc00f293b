import { hashSecret } from '../core/index.ts';
import { VigilProcess } from '../test/helpers/child.ts';
import { freePort } from '../test/helpers/net.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { Victoria } from '../test/helpers/victoria.ts';
import { NumberedSensor, sleep, until, writeProcessConfigs } from './common.ts';

const DEVICES = 10;

/**
 * A numbered publisher at QoS 1 into the gateway's site broker while the gateway and the server are
 * SIGKILLed at random moments (and restarted), and the TSDB is stopped for a while. Counts, from what
 * the TSDB holds, what was acknowledged, stored, lost and stored twice, and whether a problem that
 * stayed one got two tickets.
 */
export async function crashDrill(o: { kills: number; tsdbOutageS: number; rate: number; seed?: number; raw?: boolean }): Promise<Record<string, number | string>> {
  let rnd = o.seed ?? Date.now() % 2 ** 31;
  const random = () => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const tmp = tempDir('vigil-crash-');
  // The TSDB as InfluxDB behaves: identical points overwrite. A server killed after the TSDB took a
  // batch but before the spool forgot it sends that batch again; `--raw` keeps such double writes.
  const vm = await new Victoria({ overwrite: !o.raw }).start();
  const [http, mqttPort, gwHttp, sensors] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const password = 'crash-gateway-password';
  const files = writeProcessConfigs(tmp.dir, {
    name: 'crash',
    passwordHash: hashSecret(password),
    ports: { http, mqtt: mqttPort, gwHttp, sensors },
    topic: 'sensors/{device}/{metric}',
    influx: { url: vm.url, timeout: '2s' },
    uplink: { maxDelay: '200ms', reconnect: { initial: '200ms', max: '1000ms' } },
  });
  const env = { VIGIL_LOG_LEVEL: 'error' };
  const startServer = () => new VigilProcess(['server', '-c', files.server], env).start();
  const startGateway = () => new VigilProcess(['gateway', '-c', files.gateway], { ...env, DRILL_PASSWORD: password }).start();
  let server = startServer();
  let gateway = startGateway();
  let sensor: NumberedSensor | undefined;
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${gwHttp}/healthz`).catch(() => undefined))?.ok === true, 30_000);
    sensor = await NumberedSensor.connect(`mqtt://127.0.0.1:${sensors}`, 'crash-sensor', { devices: DEVICES, value: (n) => n });
    sensor.start(o.rate);

    let gatewayKills = 0;
    let serverKills = 0;
    const tsdbAt = Math.floor(o.kills / 2);
    let tsdbBack: Promise<void> | undefined;
    for (let k = 0; k < 2 * o.kills; k++) {
      await sleep(800 + random() * 2500);
      if (k === tsdbAt) tsdbBack = vm.stop().then(() => sleep(o.tsdbOutageS * 1000)).then(() => vm.start().then(() => undefined));
      const killGateway = gatewayKills < o.kills && (serverKills >= o.kills || random() < 0.5);
      if (killGateway) {
        await gateway.kill('SIGKILL');
        gateway = startGateway();
        gatewayKills++;
      } else {
        await server.kill('SIGKILL');
        server = startServer();
        serverKills++;
      }
    }
    sensor.stop();
    await tsdbBack;
    // Everything sent is acknowledged by the gateway, then everything leaves the outbox and the spool.
    const numbered = sensor;
    await until(() => numbered.acked.size === numbered.sent, 120_000, 200);
    const drained = await until(async () => {
      try {
        const g = (await (await fetch(`http://127.0.0.1:${gwHttp}/api/v1/status`)).json()) as { outbox: { pendingReadings: number; sealedReadings: number } };
        const p = (await (await fetch(`http://127.0.0.1:${http}/api/v1/pipeline`)).json()) as { tsdb: { spoolReadings: number } };
        return g.outbox.pendingReadings + g.outbox.sealedReadings === 0 && p.tsdb.spoolReadings === 0;
      } catch {
        return false;
      }
    }, 180_000, 500);
    await sleep(1000);
    const { stored, raw, lost } = await numbered.count(vm);
    const tickets = (await (await fetch(`http://127.0.0.1:${http}/api/v1/tickets?limit=500&status=open,acknowledged,in_progress,reopened`)).json()) as { tickets: { dedupeKey: string }[] };
    const findings = (await (await fetch(`http://127.0.0.1:${http}/api/v1/findings?device=hot-1&limit=1000`)).json()) as { findings: unknown[] };
    const keys = new Map<string, number>();
    for (const t of tickets.tickets) keys.set(t.dedupeKey, (keys.get(t.dedupeKey) ?? 0) + 1);
    return {
      tsdb: o.raw ? 'keeps every sample' : 'identical points overwrite',
      sent: numbered.sent,
      acknowledged: numbered.acked.size,
      stored,
      lost,
      duplicates: raw - stored,
      duplicate_tickets: [...keys.values()].reduce((a, c) => a + (c - 1), 0),
      open_tickets: tickets.tickets.length,
      hot_findings: findings.findings.length,
      gateway_kills: gatewayKills,
      server_kills: serverKills,
      tsdb_outage_s: o.tsdbOutageS,
      drained: drained ? 1 : 0,
    };
  } finally {
    await sensor?.close();
    await gateway.kill('SIGTERM');
    await server.kill('SIGTERM');
    await vm.destroy();
    tmp.cleanup();
  }
}
