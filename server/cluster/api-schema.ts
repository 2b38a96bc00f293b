import { z } from 'zod';

const int = z.number().int();

/** What `GET /api/v1/cluster` answers: this server alone (or on a fixed shard list), or the leased cluster. */
export const ClusterViewSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('single'), self: z.string(), shards: z.union([z.literal('all'), z.literal('leased'), z.array(int)]) }),
  z.strictObject({
    mode: z.literal('leased'),
    self: z.string(),
    at: int,
    members: z.array(
      z.strictObject({
        id: z.string(),
        host: z.string(),
        pid: int,
        startedAt: int,
        seenAt: int,
        alive: z.boolean(),
        shards: z.array(int),
        apiUrl: z.string().nullable(),
        /** Per shard held: how old the last Envelope taken was when taken, in ms (as of the member's last round). */
        lagMs: z.record(z.string(), int),
      }),
    ),
    unowned: z.array(int),
    handovers: z.array(z.strictObject({ shard: int, from: z.string().nullable(), to: z.string(), epoch: int, at: int })),
  }),
]);
