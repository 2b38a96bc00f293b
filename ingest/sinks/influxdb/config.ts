import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';

/** The `influxdb` sink: any server of the InfluxDB v2 write API (InfluxDB 2 and 3, VictoriaMetrics). */
export const InfluxConfigSchema = z.strictObject({
  url: z.string().url(),
  token: z.string().optional(),
  org: z.string().default('vigil'),
  bucket: z.string().default('telemetry'),
  measurement: z.string().default('telemetry'),
  timeout: DurationSchema.prefault('10s'),
  maxBatchReadings: z.number().int().positive().default(20_000),
  /** Readings the spool may hold while the TSDB is down (30-90 bytes each on disk: fewer when a line holds a whole poll). */
  maxSpoolReadings: z.number().int().positive().default(50_000_000),
});
export type InfluxConfig = z.infer<typeof InfluxConfigSchema>;
