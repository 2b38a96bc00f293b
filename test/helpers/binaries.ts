import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** The path of a Debian-packaged binary the tests need, or an error that says how to get it. */
export function requireBinary(path: string, debianPackage: string): string {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(`${path} not found: install it with \`npm run test:deps\` (Debian package ${debianPackage})`);
  }
}

/** Sends `signal` to a child and resolves when it has exited (at once if it already has). */
export async function stopProcess(p: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill(signal);
  });
}
