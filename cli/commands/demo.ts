import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ServiceGroup, createRegistry, service, generateSecret, generateToken, hashSecret, loadConfigFile, parseConfig, redactUrl, systemClock } from '../../core/index.ts';
import { ScenarioRunner, ScenarioSchema } from '../../firmware-sim/index.ts';
import { GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { ServerConfigSchema, buildServer } from '../../server/index.ts';
import { defaultRulesetText } from '../../rules/index.ts';
import { type CliContext, cliLogger, influxFromEnv, stopMessage, untilSignal } from '../context.ts';
import { demoHelp } from '../help.ts';


const DEMO_SCENARIO = fileURLToPath(new URL('../../firmware-sim/scenarios/demo.yaml', import.meta.url));

export async function demoCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'http-port': { type: 'string', default: '8080' },
      'mqtt-port': { type: 'string', default: '1883' },
      'sensor-port': { type: 'string', default: '1884' },
      'modbus-port': { type: 'string', default: '1502' },
      'data-dir': { type: 'string', default: './data/demo' },
      scenario: { type: 'string', default: DEMO_SCENARIO },
      tls: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const httpPort = Number(values['http-port']);
  const mqttPort = Number(values['mqtt-port']);
  const sensorPort = Number(values['sensor-port']);
  const modbusPort = Number(values['modbus-port']);
  const dataDir = resolve(values['data-dir']);
  const log = cliLogger(ctx.env, 'vigil-demo');
  const scenario = loadConfigFile(ScenarioSchema, values.scenario, ctx.env);

  const modbusDevices = scenario.devices.filter((d) => d.modbus);
  const ruleset = demoRuleset(scenario.devices, join(dataDir, 'server'));
  const tls = values.tls ? await demoCertificates(join(dataDir, 'tls')) : undefined;
  const scheme = tls ? { http: 'https', mqtt: 'mqtts' } : { http: 'http', mqtt: 'mqtt' };
  const serverTls = tls && { cert: tls.server.cert, key: tls.server.key };
  // With --tls each port speaks TLS only, so nothing can slip through in clear text beside it.
  const brokerOn = (port: number) => (tls ? { plain: false, tls: { port, ...serverTls, ca: tls.ca } } : { port });
  // A fresh gateway password each run: the broker still requires credentials, even in the demo.
  const password = generateSecret();
  const influx = influxFromEnv(ctx.env);
  // The API requires a token even in the demo; this one is printed (or chosen in VIGIL_TOKEN, the name every client example uses) and
  // admits to the gateway's API too.
  const given = ctx.env.VIGIL_TOKEN;
  const token = given || generateToken();
  let historyReplayed: () => true | string = () => 'starting';
  const server = await buildServer(
    parseConfig(
      ServerConfigSchema,
      {
        version: 1,
        dataDir: join(dataDir, 'server'),
        http: { host: '127.0.0.1', port: httpPort, ...(serverTls ? { tls: serverTls } : {}) },
        broker: { mode: 'embedded', host: '127.0.0.1', ...brokerOn(mqttPort), gateways: [{ gatewayId: 'demo-gw', site: scenario.site, passwordHash: hashSecret(password) }] },
        rules: { ruleset },
        ...(influx ? { sinks: [{ kind: 'influxdb', ...influx }] } : {}),
        // The shared store when one is named, as a server config's database: { url: "${VIGIL_DATABASE_URL}" } does.
        ...(ctx.env.VIGIL_DATABASE_URL ? { database: { url: '${VIGIL_DATABASE_URL}' } } : {}),
      },
      ctx.env,
      'demo server',
    ),
    {
      log: log.child({ part: 'server' }),
      clock: systemClock,
      registry: createRegistry({ defaultMetrics: true }),
      secretKeys: { current: ctx.env.VIGIL_SECRET_KEY },
      // Ready once the week of history has been replayed and has left the gateway, so what the README
      // shows (findings, tickets) is there for a script that waits on /readyz.
      readiness: [{ name: 'demo history', check: () => historyReplayed() }],
    },
  );
  const gateway = buildGateway(
    parseConfig(
      GatewayConfigSchema,
      {
        version: 1,
        site: scenario.site,
        gatewayId: 'demo-gw',
        dataDir: join(dataDir, 'gateway'),
        http: { host: '127.0.0.1', port: httpPort + 1, apiToken: '${DEMO_TOKEN}', ...(serverTls ? { tls: serverTls } : {}) },
        devices: scenario.devices.map((d) => ({ id: d.id })),
        drivers: [
          {
            kind: 'mqtt-device',
            id: 'site-sensors',
            // Loopback only, so anonymous sensors are acceptable here and nowhere else.
            broker: { mode: 'embedded', host: '127.0.0.1', ...brokerOn(sensorPort), allowAnonymous: true },
            topics: [{ pattern: 'sensors/{device}/{metric}' }, { pattern: 'sensors/{device}' }],
          },
          ...(modbusDevices.length > 0
            ? [
                {
                  kind: 'modbus-tcp',
                  id: 'site-modbus',
                  defaults: { pollInterval: '2s', timeout: '500ms' },
                  devices: modbusDevices.map((d) => ({ id: d.id, host: '127.0.0.1', port: modbusPort, unitId: d.modbus!.unitId, profile: d.modbus!.profile })),
                },
              ]
            : []),
        ],
        uplink: { url: `${scheme.mqtt}://127.0.0.1:${mqttPort}`, password: '${DEMO_GATEWAY_PASSWORD}', ...(tls ? { tls: { ca: tls.ca } } : {}) },
      },
      { DEMO_GATEWAY_PASSWORD: password, DEMO_TOKEN: token },
      'demo gateway',
    ),
    { log: log.child({ part: 'gateway' }), clock: systemClock, registry: createRegistry() },
  );
  await server.tokens.register(token, { name: 'demo-admin', role: 'admin', by: 'demo', at: Date.now() });
  const sim: ScenarioRunner = new ScenarioRunner(scenario, { url: `${scheme.mqtt}://127.0.0.1:${sensorPort}`, ca: tls ? readFileSync(tls.ca) : undefined, modbusPort, log: log.child({ part: 'sim' }), clock: systemClock });
  historyReplayed = () => {
    if (!sim.stats().caughtUp) return 'replaying the week of history';
    const o = gateway.outbox.stats();
    return o.pendingReadings + o.sealedReadings === 0 ? true : 'history still in the gateway outbox';
  };

  // Modbus devices are up before the gateway polls them (as real ones would be); MQTT sensors start
  // after it, since they connect to the site broker the gateway hosts.
  const modbusDevicesService = service('modbus-devices', () => sim.startModbus(), async () => undefined);
  const all = new ServiceGroup([server, modbusDevicesService, gateway, sim], { log });
  const started = Date.now();
  await all.start();
  const api = `${scheme.http}://127.0.0.1:${httpPort}`;
  ctx.out('');
  ctx.out(`Vigil demo is running (started in ${((Date.now() - started) / 1000).toFixed(1)} s). Ctrl-C stops it.`);
  ctx.out(`  admin token     ${given ? '(from VIGIL_TOKEN)' : token}   send it as: Authorization: Bearer <token>`);
  ctx.out(`  console         ${api}/console/   (sign in with the admin token)`);
  ctx.out(`  API docs        ${api}/docs`);
  ctx.out(`  server API      ${api}/api/v1/devices   ${api}/api/v1/quarantine`);
  ctx.out(`  rule engine     ${api}/api/v1/findings   ${api}/api/v1/alerts   ${api}/api/v1/rulesets`);
  ctx.out(`  tickets         ${api}/api/v1/tickets   ${api}/api/v1/tickets/stream   ${api}/api/v1/rules/stats`);
  ctx.out(`  health/metrics  ${api}/healthz   ${api}/readyz   ${api}/metrics`);
  if (tls) ctx.out(`  TLS CA          ${tls.ca}   (every port speaks TLS only; e.g. curl --cacert, mosquitto_pub --cafile)`);
  ctx.out(`  server broker   ${scheme.mqtt}://127.0.0.1:${mqttPort}  (gateway demo-gw, password generated for this run)`);
  ctx.out(`  gateway         ${scheme.http}://127.0.0.1:${httpPort + 1}/api/v1/status   (same token)`);
  ctx.out(`  site broker     ${scheme.mqtt}://127.0.0.1:${sensorPort}  (sensors publish to sensors/{device} or sensors/{device}/{metric})`);
  ctx.out(`  TSDB            ${influx ? influx.url : 'none (set INFLUX_URL to store readings)'}`);
  ctx.out(`  data            ${dataDir}${ctx.env.VIGIL_DATABASE_URL ? `; the server's store in PostgreSQL ${redactUrl(ctx.env.VIGIL_DATABASE_URL)}` : ''}`);
  ctx.out(`  simulated fleet ${scenario.devices.filter((d) => !d.modbus).map((d) => d.id).join(', ')} over MQTT; a week of history replays first`);
  if (modbusDevices.length > 0) ctx.out(`  Modbus devices  ${modbusDevices.map((d) => `${d.id} (unit ${d.modbus!.unitId})`).join(', ')} at 127.0.0.1:${modbusPort}, polled every 2 s`);
  for (const t of sim.truth) ctx.out(`  ground truth    ${t.deviceId}: ${t.fault}, fails at ${new Date(t.failsAt).toISOString()}`);
  ctx.out('');
  const sig = await untilSignal();
  log.info({ signal: sig }, stopMessage(sig));
  await all.stop();
  return 0;
}

/**
 * The demo's throwaway PKI: a CA and one server certificate for loopback, made on the first --tls run
 * and kept so a client configured with the CA keeps working across runs. Not for production.
 */
async function demoCertificates(dir: string): Promise<{ ca: string; server: { cert: string; key: string } }> {
  const ca = join(dir, 'ca.pem');
  const server = { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  if (existsSync(ca) && existsSync(server.cert) && existsSync(server.key)) return { ca, server };
  // Loaded only here: no other command needs a certificate builder.
  const { issueCertificate, makeAuthority, writeIssued } = await import('../../core/runtime/pki.ts');
  const authority = makeAuthority('Vigil demo CA');
  writeIssued(dir, 'ca', authority);
  rmSync(join(dir, 'ca-key.pem')); // nothing else will be signed with it
  writeIssued(dir, 'server', issueCertificate(authority, { cn: 'localhost', hosts: ['localhost', '127.0.0.1', '::1'], usage: 'server' }));
  return { ca, server };
}
export { demoHelp };

/**
 * The default ruleset with the scenario's equipment models as device entries, written where the demo
 * server starts from it, so faults count per model and a fan's case is offered on its sibling.
 */
function demoRuleset(devices: readonly { id: string; model?: string | undefined }[], dir: string): string {
  const entries = devices.filter((d) => d.model).map((d) => `  - { id: ${JSON.stringify(d.id)}, model: ${JSON.stringify(d.model)} }`);
  const text = defaultRulesetText();
  if (entries.length === 0) return 'default';
  if (!/^devices: \[\]$/m.test(text)) throw new Error('the default ruleset has device entries of its own; the demo cannot add its models');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'demo-ruleset.yaml');
  writeFileSync(file, text.replace(/^devices: \[\]$/m, `devices:\n${entries.join('\n')}`));
  return file;
}
