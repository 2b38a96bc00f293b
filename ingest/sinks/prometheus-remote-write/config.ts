import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';

/** The `prometheus-remote-write` sink: VictoriaMetrics, Mimir, Thanos receive, Cortex, Prometheus. */
export const RemoteWriteConfigSchema = z.strictObject({
  /** The receiver's remote-write endpoint, e.g. http://victoria:8428/api/v1/write. */
  url: z.string().url(),
  /** Basic auth, or a bearer token; secrets as `${VAR}` references. */
  username: z.string().optional(),
  password: z.string().optional(),
  bearerToken: z.string().optional(),
  /** Series are named `<prefix><metric>` (`telemetry_vibration_rms`), as VictoriaMetrics names InfluxDB writes. */
  prefix: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'a Prometheus metric name prefix').default('telemetry_'),
  timeout: DurationSchema.prefault('10s'),
  maxBatchReadings: z.number().int().positive().default(10_000),
  maxSpoolReadings: z.number().int().positive().default(50_000_000),
});
export type RemoteWriteConfig = z.infer<typeof RemoteWriteConfigSchema>;
