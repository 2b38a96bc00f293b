import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { Postgres } from './helpers/postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test PostgreSQL's URL (the server's own database); each test file makes databases of its own on it. */
    postgresUrl: string;
  }
}

// Tests that run `vigil` as a process (bin/vigil.js) run the compiled dist/, and the browser tests the
// console's bundle, as users do; build both from the current sources first (well under a second), so
// a test never runs stale output. One PostgreSQL 15 serves every suite that runs on both engines.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  for (const script of ['build-cli.mjs', 'build-console.mjs']) execFileSync(process.execPath, [fileURLToPath(new URL(`../scripts/${script}`, import.meta.url))], { stdio: 'ignore' });
  const pg = await new Postgres().start();
  project.provide('postgresUrl', pg.url);
  return () => pg.destroy();
}
