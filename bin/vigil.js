#!/usr/bin/env node
// The `vigil` command. It runs the JavaScript that `npm ci` (and `npm run build`, and `npm test`)
// compiles into dist/; with VIGIL_FROM_SOURCE=1, or before the first build, it runs the TypeScript
// sources through tsx instead (for development: no build between an edit and a run).
import { existsSync } from 'node:fs';
import { setTimeout } from 'node:timers';

const compiled = new URL('../dist/main.js', import.meta.url);
let main;
if (process.env.VIGIL_FROM_SOURCE !== '1' && existsSync(compiled)) {
  process.setSourceMapsEnabled(true);
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
// A long-running command has stopped its services by now; a connection or timer that is still open
// (a client that did not go) must not keep the process up.
setTimeout(() => process.exit(), 2000).unref();
