import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, systemClock, createRegistry } from '../../core/index.ts';
import { type Gateway, GatewayConfigSchema, buildGateway } from '../../gateway/index.ts';
import { GATEWAY_PASSWORD, type ServerHandle, gatewayConfigObject, startServer, testLogger } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/tmp.ts';

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> } };

// Regression (#12): the document had no response schemas, said 200 for creates, declared no 404/409/422,
// and put the signature-checked inbound webhook behind the bearer scheme. It was only ever walked by hand;
// here a real OpenAPI validator reads it, and every schema in it compiles as JSON Schema 2020-12.
describe('OpenAPI documents of the server and the gateway', () => {
  const tmp = tempDir();
  let srv: ServerHandle;
  let gw: Gateway;
  const docs: Record<string, Doc> = {};

  beforeAll(async () => {
    srv = await startServer({ dataDir: `${tmp.dir}/server` });
    const config = parseConfig(GatewayConfigSchema, { ...gatewayConfigObject({ dataDir: `${tmp.dir}/gw`, uplinkUrl: srv.brokerUrl }), http: { host: '127.0.0.1', port: 0 } }, { GW_PASSWORD: GATEWAY_PASSWORD });
    gw = buildGateway(config, { log: testLogger(), clock: systemClock, registry: createRegistry() });
    await gw.start();
    docs.server = (await (await fetch(`${srv.httpUrl}/docs/openapi.json`)).json()) as Doc;
    docs.gateway = (await (await fetch(`http://127.0.0.1:${gw.httpAddress()!.port}/docs/openapi.json`)).json()) as Doc;
  });
  afterAll(async () => {
    await gw?.stop();
    await srv?.server.stop();
    tmp.cleanup();
  });

  it('runs with every answer checked against the document (VIGIL_CHECK_RESPONSES, set by vitest.config.ts)', () => {
    expect(process.env.VIGIL_CHECK_RESPONSES).toBe('1');
  });

  it.each(['server', 'gateway'])('the %s document passes an OpenAPI 3.1 validator', async (which) => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(docs[which]!) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it.each(['server', 'gateway'])('every %s operation has a JSON response schema that compiles, and declares 400, 401, 403 and 429', (which) => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: docs[which]!.components });
    for (const [path, ops] of Object.entries(docs[which]!.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const success = Object.keys(op.responses).filter((c) => c.startsWith('2'));
        expect(success, where).toHaveLength(1);
        const content = op.responses[success[0]!]!.content!;
        const json = content['application/json']?.schema;
        if (!json) expect(Object.keys(content), where).toEqual(['text/event-stream']);
        else expect(() => ajv.compile(json as object), where).not.toThrow();
        const codes = Object.keys(op.responses);
        expect(codes, where).toEqual(expect.arrayContaining(['400', '401', '429']));
        if (!op.security) expect(codes, where).toContain('403');
        if (op.requestBody) expect(codes, where).toEqual(expect.arrayContaining(['413', '415']));
      }
    }
  });

  it('answers creates with 201 and declares the failures each route can send', () => {
    const p = docs.server!.paths;
    for (const [path, method] of [['/api/v1/tokens', 'post'], ['/api/v1/webhooks', 'post'], ['/api/v1/rulesets', 'post']] as const) {
      expect(Object.keys(p[path]![method]!.responses), `${method} ${path}`).toContain('201');
    }
    expect(Object.keys(p['/api/v1/tickets/{id}']!.get!.responses)).toContain('404');
    expect(Object.keys(p['/api/v1/tickets/{id}/acknowledge']!.post!.responses)).toEqual(expect.arrayContaining(['404', '409']));
    expect(Object.keys(p['/api/v1/rulesets/validate']!.post!.responses)).toContain('422');
    expect(p['/api/v1/tickets/stream']!.get!.responses['200']!.content).toHaveProperty(['text/event-stream']);
  });

  it('documents the inbound webhook as signed, not bearer-protected', () => {
    const op = docs.server!.paths['/api/v1/webhooks/{id}/inbound']!.post!;
    expect(op.security).toEqual([{ signature: [] }]);
    expect(docs.server!.components.securitySchemes.signature).toMatchObject({ type: 'apiKey', in: 'header', name: 'Vigil-Signature' });
    expect(Object.keys(op.responses)).not.toContain('403');
  });
});
