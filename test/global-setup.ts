import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Tests that run `vigil` as a process (bin/vigil.js) run the compiled dist/, and the browser tests the
// console's bundle, as users do; build both from the current sources first (well under a second), so
// a test never runs stale output.
export default function setup(): void {
  for (const script of ['build-cli.mjs', 'build-console.mjs']) execFileSync(process.execPath, [fileURLToPath(new URL(`../scripts/${script}`, import.meta.url))], { stdio: 'ignore' });
}
