import { z } from 'zod';
import { CROSS_CHECK, DatabaseConfigSchema, DurationSchema, crossCheck, httpConfigSchema } from '../core/index.ts';
import { BrokerConfigSchema, InfluxConfigSchema, IntakeConfigSchema, SinkEntrySchema } from '../ingest/index.ts';
import { RulesConfigSchema } from '../rules/index.ts';
import { TicketsConfigSchema } from '../tickets/index.ts';

export const SERVER_CONFIG_VERSION = 1;

/** The server's config file: every part's section, each validated by the part's own schema. */
export const ServerConfigSchema = z
  .strictObject({
    version: z.literal(SERVER_CONFIG_VERSION),
    dataDir: z.string().default('./data/server'),
    /**
     * The server's store: the SQLite file in `dataDir` (default), or PostgreSQL shared by several
     * servers: `database: { url: "${VIGIL_DATABASE_URL}" }`.
     */
    database: DatabaseConfigSchema.prefault({}),
    http: httpConfigSchema(8080).prefault({}),
    broker: BrokerConfigSchema,
    intake: IntakeConfigSchema,
    /**
     * Where accepted readings are stored: `[{ kind: influxdb, url: … }]`, one entry per kind (see
     * `ingest/sinks/`). Without any, readings are validated and tracked but not stored in a TSDB.
     */
    sinks: z.array(SinkEntrySchema).default([]),
    /** Deprecated: the same as `sinks: [{ kind: influxdb, … }]`, still read, with a warning at start. */
    influx: InfluxConfigSchema.optional(),
    /** The rule engine: the starting ruleset, late-reading tolerance, snapshot and tick intervals. */
    rules: RulesConfigSchema,
    /** Per-minute rollups in SQLite, for the console's charts and for backtests. */
    history: z
      .strictObject({ retention: DurationSchema.prefault('90d'), flushEvery: DurationSchema.prefault('2s') })
      .prefault({}),
    /** Tickets: priority, SLA and dispatch policy, the knowledge base, webhook delivery. */
    tickets: TicketsConfigSchema,
    /**
     * Several servers sharing the shards (`broker.shards: leased`): this server's name in the cluster
     * (default host name and process id) and how long a dead server's shards wait before another takes them.
     */
    cluster: z
      .strictObject({
        memberId: z.string().min(1).max(200).optional(),
        failoverAfter: DurationSchema.prefault('15s'),
        /**
         * Where the other servers reach this one's API, to ask it for the devices on its shards (default:
         * http(s)://<http.host, or the host name when it listens on every address>:<port>). Use https
         * between machines: the caller's token travels with the question.
         */
        advertiseUrl: z.string().regex(/^https?:\/\/[^/]+\/?$/, 'an http:// or https:// URL without a path').optional(),
        /** How often the servers share the levels fleet rules compare devices by (fleet-outlier). */
        fleetShareEvery: DurationSchema.prefault('60s').refine((ms) => ms >= 100, 'at least 100ms: each share reads and writes the store'),
      })
      .prefault({}),
  })
  .superRefine(
    crossCheck((c, ctx) => {
      const kinds = new Set<string>();
      c.sinks.forEach((sink, i) => {
        if (kinds.has(sink.kind)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'kind'], message: `a second ${sink.kind} sink: one of each kind` });
        kinds.add(sink.kind);
      });
      if (c.broker.mode === 'external' && c.broker.shards === 'leased' && !c.database.url) {
        ctx.addIssue({ code: 'custom', path: ['broker', 'shards'], message: 'leased shards are shared through the PostgreSQL store: set database.url' });
      }
      if (c.influx && kinds.has('influxdb')) ctx.addIssue({ code: 'custom', path: ['influx'], message: 'give the TSDB in sinks: or in the old influx: section, not both' });
      if (c.broker.mode === 'embedded') {
        const b = c.broker;
        if (!b.plain && !b.tls) ctx.addIssue({ code: 'custom', path: ['broker', 'plain'], message: 'with the plain port off, configure broker.tls' });
        b.gateways.forEach((g, i) => {
          if (!g.passwordHash && !b.tls?.ca) ctx.addIssue({ code: 'custom', path: ['broker', 'gateways', i, 'passwordHash'], message: 'a gateway without a password needs client certificates: set broker.tls.ca' });
        });
        const seen = new Set<string>();
        c.broker.gateways.forEach((g, i) => {
          if (seen.has(g.gatewayId)) ctx.addIssue({ code: 'custom', path: ['broker', 'gateways', i, 'gatewayId'], message: `gateway ${g.gatewayId} is listed twice` });
          seen.add(g.gatewayId);
        });
      }
    }),
    CROSS_CHECK,
  );
export type ServerConfig = z.infer<typeof ServerConfigSchema>;
