import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseConfigText } from '../../core/index.ts';
import { ScenarioSchema } from '../../firmware-sim/index.ts';
import { GatewayConfigSchema } from '../../gateway/index.ts';
import { ProfileSchema } from '../../gateway/modbus/index.ts';
import { ServerConfigSchema } from '../../server/index.ts';
import { RulesetSchema } from '../../rules/index.ts';
import { configProblems } from '../helpers/config.ts';

const problems = (schema: z.ZodType, text: string): string[] => configProblems(() => parseConfigText(schema, text, { P: 'a-long-enough-secret-value' }));

// Regression (#12): errors came in rounds. A field error hid the cross-checks (duplicate ids,
// references between sections) until it was fixed, so each run revealed the next problem.
describe('every config reports all of its problems in one round, each with its path', () => {
  it('gateway', () => {
    const p = problems(
      GatewayConfigSchema,
      `version: 1
site: plant-a
gatewayId: gw-1
devices: [{ id: pump-1 }, { id: pump-1 }]
intake: { maxAge: 400 }
drivers:
  - kind: modbus-tcp
    devices: [{ id: pump-9, host: 127.0.0.1, profile: nope }]
uplink: { url: "mqtt://127.0.0.1:1883", password: "\${P}" }
`,
    );
    expect(p).toEqual([
      expect.stringMatching(/^intake\.maxAge: a duration needs a unit/),
      expect.stringMatching(/^devices\.1\.id: device pump-1 is listed twice/),
      expect.stringMatching(/^drivers\.0\.devices\.0\.id: device pump-9 is not listed/),
      expect.stringMatching(/^drivers\.0\.devices\.0\.profile: no profile nope/),
    ]);
  });

  it('server', () => {
    const p = problems(
      ServerConfigSchema,
      `version: 1
history: { flushEvery: 2 }
broker:
  mode: embedded
  plain: false
  gateways:
    - { gatewayId: gw-1, site: plant-a, passwordHash: "\${P}" }
    - { gatewayId: gw-1, site: plant-a, passwordHash: "\${P}" }
`,
    );
    expect(p).toContainEqual(expect.stringMatching(/^history\.flushEvery: a duration needs a unit/));
    expect(p).toContainEqual(expect.stringMatching(/^broker\.plain: with the plain port off/));
    expect(p).toContainEqual(expect.stringMatching(/^broker\.gateways\.1\.gatewayId: gateway gw-1 is listed twice/));
  });

  it('ruleset', () => {
    const p = problems(
      RulesetSchema,
      `version: 1
name: plant-a
defaults: { for: 10 }
devices: [{ id: "pump-*", class: no-such-class }]
rules:
  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 80, critical: 70 } }
  - { id: hot, kind: threshold, metric: bearing_temp, fault: overheating, params: { warning: 80 } }
`,
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^defaults\.for: a duration needs a unit/),
        expect.stringMatching(/^rules\.0\.params: critical must/),
        expect.stringMatching(/^rules\.1\.id: rule id hot is used twice/),
        expect.stringMatching(/^devices\.0\.class: unknown asset class no-such-class/),
      ]),
    );
  });

  it('scenario', () => {
    const p = problems(
      ScenarioSchema,
      `version: 1
site: plant-a
sampleEvery: 60
modbus: { port: 1502 }
devices:
  - { id: pump-1, modbus: { unitId: 1 } }
  - { id: pump-2, modbus: { unitId: 1 }, fault: { kind: bearing_wear, onset: 5, failsAt: +2d } }
`,
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^sampleEvery: a duration needs a unit/),
        expect.stringMatching(/^devices\.1\.fault\.onset: a relative time with a unit/),
        expect.stringMatching(/^devices\.1\.modbus\.unitId: unit id 1 is used twice/),
      ]),
    );
  });

  it('profile', () => {
    const p = problems(
      ProfileSchema,
      `name: Bad Name
registers:
  - { metric: speed_rpm, table: holding, address: 0 }
  - { metric: speed_rpm, table: holding, address: 2 }
  - { metric: bearing_temp, table: holding, address: 4, unit: K, scale: nope }
`,
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: lower-case/),
        expect.stringMatching(/^registers\.1\.metric: speed_rpm is mapped twice/),
        expect.stringMatching(/^registers\.2\.scale: /),
        expect.stringMatching(/^registers\.2\.unit: bearing_temp is in/),
      ]),
    );
  });
});
