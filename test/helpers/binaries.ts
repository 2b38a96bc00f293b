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
