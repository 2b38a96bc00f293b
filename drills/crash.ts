import { connect, type MqttClient } from 'mqtt';
import { hashSecret } from '../core/index.ts';
import { VigilProcess } from '../test/helpers/child.ts';
import { freePort } from '../test/helpers/net.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { Victoria } from '../test/helpers/victoria.ts';
import { sleep, until, writeProcessConfigs } from './common.ts';

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
  let sensor: MqttClient | undefined;
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${gwHttp}/healthz`).catch(() => undefined))?.ok === true, 30_000);
    // A persistent session and the client's own store: what the gateway did not acknowledge is sent again.
    sensor = connect(`mqtt://127.0.0.1:${sensors}`, { clientId: 'crash-sensor', clean: false, reconnectPeriod: 200 });
    sensor.on('error', () => undefined);
    await new Promise<void>((r) => sensor!.once('connect', () => r()));
    const t0 = Date.now() - 3_600_000;
    const acked = new Set<number>();
    let sent = 0;
    const publish = (n: number, again = false) => {
      if (!again) sent++;
      sensor!.publish(`sensors/dev-${n % DEVICES}/vibration_rms`, JSON.stringify({ value: n, ts: t0 + n }), { qos: 1 }, (err) => {
        // A sensor that is told its message failed sends it again, as a well-behaved one does.
        if (err) {
          setTimeout(() => publish(n, true), 200);
        }
        else acked.add(n);
      });
    };
    // A bearing that stays too hot the whole time: one problem, so one ticket whatever crashes. Its
    // samples are 5 minutes apart in sample time, so the limit rule's 10 minutes pass within three
    // samples, between two crashes of the server.
    const hotT0 = Date.now() - 24 * 3_600_000;
    let hotK = 0;
    const hot = () => sensor!.publish('sensors/hot-1/bearing_temp', JSON.stringify({ value: 110, ts: Math.min(Date.now(), hotT0 + hotK++ * 300_000) }), { qos: 1 });
    let n = 0;
    const perTick = Math.max(1, Math.round(o.rate / 10));
    const pubTimer = setInterval(() => {
      for (let i = 0; i < perTick; i++) publish(n++);
      if (n % (perTick * 10) < perTick) hot();
    }, 100);

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
    clearInterval(pubTimer);
    await tsdbBack;
    // Everything sent is acknowledged by the gateway, then everything leaves the outbox and the spool.
    await until(() => acked.size === sent, 120_000, 200);
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
    const series = await vm.export('{__name__="telemetry_vibration_rms"}');
    const seen = new Map<number, number>();
    let raw = 0;
    for (const s of series) {
      for (let i = 0; i < s.timestamps.length; i++) {
        raw++;
        const num = s.timestamps[i]! - t0;
        seen.set(num, (seen.get(num) ?? 0) + 1);
      }
    }
    let lost = 0;
    for (const a of acked) if (!seen.has(a)) lost++;
    const tickets = (await (await fetch(`http://127.0.0.1:${http}/api/v1/tickets?limit=500&status=open,acknowledged,in_progress,reopened`)).json()) as { tickets: { dedupeKey: string }[] };
    const findings = (await (await fetch(`http://127.0.0.1:${http}/api/v1/findings?device=hot-1&limit=1000`)).json()) as { findings: unknown[] };
    const keys = new Map<string, number>();
    for (const t of tickets.tickets) keys.set(t.dedupeKey, (keys.get(t.dedupeKey) ?? 0) + 1);
    return {
      tsdb: o.raw ? 'keeps every sample' : 'identical points overwrite',
      sent,
      acknowledged: acked.size,
      stored: seen.size,
      lost,
      duplicates: raw - seen.size,
      duplicate_tickets: [...keys.values()].reduce((a, c) => a + (c - 1), 0),
      open_tickets: tickets.tickets.length,
      hot_findings: findings.findings.length,
      gateway_kills: gatewayKills,
      server_kills: serverKills,
      tsdb_outage_s: o.tsdbOutageS,
      drained: drained ? 1 : 0,
    };
  } finally {
    await sensor?.endAsync(true);
    await gateway.kill('SIGTERM');
    await server.kill('SIGTERM');
    await vm.destroy();
    tmp.cleanup();
  }
}
