import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FaultReportWebhookPayloadSchema, KpiWebhookPayloadSchema, WebhookPayloadSchema } from '../../core/index.ts';
import { InboundSchema } from '../api.ts';

// The JSON Schemas in this folder document the wire formats for desk integrators; they are generated
// from the zod schemas the code uses. `UPDATE_SCHEMAS=1 npx vitest run tickets/webhooks` rewrites them.
const FILES = {
  'payload.schema.json': () => ({ $id: 'https://vigil.dev/schemas/webhook-payload.json', title: 'Vigil ticket webhook payload', ...z.toJSONSchema(WebhookPayloadSchema, { io: 'output' }) }),
  'kpi-payload.schema.json': () => ({ $id: 'https://vigil.dev/schemas/webhook-kpi-payload.json', title: 'Vigil kpi.below_target webhook payload', ...z.toJSONSchema(KpiWebhookPayloadSchema, { io: 'output' }) }),
  'report-payload.schema.json': () => ({ $id: 'https://vigil.dev/schemas/webhook-report-payload.json', title: 'Vigil report.faults webhook payload', ...z.toJSONSchema(FaultReportWebhookPayloadSchema, { io: 'output' }) }),
  'inbound.schema.json': () => ({ $id: 'https://vigil.dev/schemas/webhook-inbound.json', title: 'Vigil inbound ticket update', ...z.toJSONSchema(InboundSchema, { io: 'input' }) }),
};

describe('webhook JSON Schemas', () => {
  for (const [file, make] of Object.entries(FILES)) {
    it(`${file} matches the schema the code validates with`, () => {
      const path = new URL(file, import.meta.url);
      const want = `${JSON.stringify(make(), null, 2)}\n`;
      if (process.env.UPDATE_SCHEMAS) writeFileSync(path, want);
      expect(readFileSync(path, 'utf8')).toBe(want);
    });
  }

  it('describes a payload the server really sends', () => {
    const schema = FILES['payload.schema.json']() as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'type', 'at', 'actor', 'ticket']));
    expect(Object.keys((schema.properties.ticket as { properties: object }).properties)).toEqual(expect.arrayContaining(['priority', 'respondBy', 'resolveBy', 'evidence', 'suggestedAction']));
  });
});
