// Runs before `npm test` and `npm run bench`: installs the Debian packages the real-server tiers need
// when any is missing, so the README's test command passes on a fresh machine.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const binaries = ['/usr/bin/victoria-metrics', '/usr/sbin/mosquitto', '/usr/bin/mosquitto_pub', '/usr/bin/socat', '/usr/bin/chromium', '/usr/bin/curl', '/usr/bin/jq', '/usr/bin/openssl', '/usr/lib/python3/dist-packages/aiosmtpd/__init__.py', '/usr/lib/postgresql/15/bin/postgres', '/usr/sbin/nats-server'];
const missing = binaries.filter((b) => {
  try {
    accessSync(b, b.endsWith('.py') ? constants.R_OK : constants.X_OK);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.log(`missing ${missing.join(', ')}: installing test dependencies`);
  const script = fileURLToPath(new URL('./install-test-deps.sh', import.meta.url));
  const r = spawnSync('bash', [script], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
