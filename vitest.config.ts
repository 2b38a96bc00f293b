import { defineConfig } from 'vitest/config';

// Three tiers (see README, "Tests"): unit tests sit beside the code; integration and e2e tests talk to
// real brokers, VictoriaMetrics and child processes, so they get longer time limits and run one file
// at a time on this 2-core class of machine to keep timings honest.
// Every API answer is checked against its documented schema and statuses during tests (see
// core/runtime/api.ts), so the OpenAPI document cannot drift from what the servers send.
process.env.VIGIL_CHECK_RESPONSES ??= '1';

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    reporters: ['default', './test/reporters/summary.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{core,gateway,ingest,server,rules,tickets,dashboards,firmware-sim,cli}/**/*.test.ts', 'test/docs/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
