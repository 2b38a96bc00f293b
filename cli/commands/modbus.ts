import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT } from '../exit-codes.ts';
import { METRIC_CATALOG, type MetricId, parseConfigText, silentLogger, systemClock, timeWindow } from '../../core/index.ts';
import {
  Bus,
  DevicePoller,
  type ModbusTransport,
  type Profile,
  ProfileSchema,
  RtuTransport,
  TcpTransport,
  loadProfiles,
} from '../../gateway/modbus/index.ts';
import type { CliContext } from '../context.ts';
import { modbusHelp } from '../help.ts';


export async function modbusCommand(argv: string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'read') {
    ctx.err(modbusHelp);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      tcp: { type: 'string' },
      rtu: { type: 'string' },
      baud: { type: 'string', default: '19200' },
      parity: { type: 'string', default: 'even' },
      unit: { type: 'string', default: '1' },
      profile: { type: 'string' },
      profiles: { type: 'string', multiple: true, default: [] },
      timeout: { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const unitId = Number(values.unit);
  const timeout = Number(values.timeout);
  if (!values.profile || (!values.tcp && !values.rtu) || !Number.isInteger(unitId) || unitId < 0 || unitId > 255 || !(timeout > 0)) {
    ctx.err(modbusHelp);
    return 2;
  }
  const profile = resolveProfile(values.profile, values.profiles);
  const log = silentLogger();
  let transport: ModbusTransport & { lastError: string | undefined };
  if (values.tcp) {
    const m = /^(.+):(\d+)$/.exec(values.tcp);
    if (!m) {
      ctx.err(`--tcp wants HOST:PORT, got ${values.tcp}`);
      return 2;
    }
    transport = new TcpTransport(m[1]!, Number(m[2]), log, systemClock);
  } else {
    const parity = values.parity as 'none' | 'even' | 'odd';
    if (!['none', 'even', 'odd'].includes(parity)) {
      ctx.err('--parity is none, even or odd');
      return 2;
    }
    transport = new RtuTransport({ path: values.rtu!, baudRate: Number(values.baud), parity, dataBits: 8, stopBits: 1 }, log, systemClock);
  }
  await transport.start();
  try {
    if (!transport.connected) {
      ctx.err(`cannot reach ${transport.id}: ${transport.lastError ?? 'no connection'}`);
      return 1;
    }
    const notes: string[] = [];
    const poller = new DevicePoller(
      { id: 'diagnose', unitId, profile, settings: { pollInterval: 1000, timeout, retries: 0, offlineAfter: 1, maxBackoff: 1000 } },
      new Bus(transport),
      {
        readings: async () => undefined,
        rejected: (r) => notes.push(r.message),
        window: () => timeWindow(Date.now(), 400 * 86_400_000, 300_000),
        polled: () => undefined,
        stateChanged: () => undefined,
      },
      systemClock,
      log,
    );
    const started = Date.now();
    const result = await poller.poll();
    if ('error' in result) {
      ctx.err(`${profile.name} @ ${transport.id} unit ${unitId}: ${result.error}`);
      return 1;
    }
    const holes = poller.status().learnedHoles;
    if (values.json) {
      for (const v of result.values) {
        const s = v.register.spec;
        ctx.out(JSON.stringify(s.metric ? { metric: s.metric, value: v.value, unit: METRIC_CATALOG[s.metric as MetricId].unit } : { name: s.name, value: v.value }));
      }
    } else {
      ctx.out(`${profile.name} @ ${transport.id} unit ${unitId}: ${result.values.length} values in ${Date.now() - started} ms`);
      for (const v of result.values) {
        const s = v.register.spec;
        const label = (s.metric ?? s.name ?? '').padEnd(22);
        const value = typeof v.value === 'number' ? `${Number(v.value.toPrecision(7))} ${s.metric ? METRIC_CATALOG[s.metric as MetricId].unit : ''}` : JSON.stringify(v.value);
        ctx.out(`  ${label} ${value.padEnd(18)} ${s.table} ${v.register.address} ${s.type}${s.order ? ` ${s.order}` : ''}`);
      }
      if (holes > 0) ctx.out(`  note: the device refused ${holes} combined read(s) (exception 02); lower maxGap in the profile to avoid unmapped registers`);
    }
    for (const n of notes) ctx.err(`  refused: ${n}`);
    // A refused value is a failed read for a script that checks the exit code.
    return notes.length > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await transport.stop();
  }
}

function resolveProfile(nameOrFile: string, dirs: string[]): Profile {
  if (/\.ya?ml$/.test(nameOrFile) && existsSync(nameOrFile)) return parseConfigText(ProfileSchema, readFileSync(nameOrFile, 'utf8'), {}, nameOrFile);
  const profiles = loadProfiles(dirs);
  const p = profiles.get(nameOrFile);
  if (!p) throw new Error(`no profile ${nameOrFile}; have ${[...profiles.keys()].join(', ')} (or give a .yaml file)`);
  return p;
}
export { modbusHelp };
