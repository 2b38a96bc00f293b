import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Tests that run `vigil` as a process (bin/vigil.js) run the compiled dist/, as users do; build it
// from the current sources first (about 0.2 s), so a test never runs stale output.
export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-cli.mjs', import.meta.url))], { stdio: 'ignore' });
}
