#!/usr/bin/env node
// The `vigil` command. Sources are TypeScript run through tsx's loader, so there is no build step
// between `npm ci` and a working command and no stale output to trip over.
import { setTimeout } from 'node:timers';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// A long-running command has stopped its services by now; a connection or timer that is still open
// (a client that did not go) must not keep the process up.
setTimeout(() => process.exit(), 2000).unref();
