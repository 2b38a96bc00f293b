import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

const DIR = new URL('../../examples/systemd/', import.meta.url);
const UNITS = ['vigil-gateway.service', 'vigil-server.service'];
const ANALYZE = '/usr/bin/systemd-analyze';

function verify(file: string): { status: number | null; output: string } {
  const r = spawnSync(ANALYZE, ['verify', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('systemd units in examples/systemd', () => {
  it.each(UNITS)('%s runs the command as its own user, hardened, restarted on failure but not on a bad config', (unit) => {
    const text = readFileSync(new URL(unit, DIR), 'utf8');
    for (const line of ['User=vigil', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'Restart=on-failure', 'RestartPreventExitStatus=78', 'CapabilityBoundingSet=', 'KillSignal=SIGTERM']) {
      expect(text.split('\n'), `${unit}: ${line}`).toContain(line);
    }
    expect(text).toMatch(/^StateDirectory=vigil\/(gateway|server)$/m);
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node (--v8-pool-size=0 )?\/opt\/vigil\/bin\/vigil\.js (gateway|server) -c \/etc\/vigil\/(gateway|server)\.yaml$/m);
    // V8 writes machine code at run time; this option would kill the process at start.
    expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
  });

  // systemd-analyze ships with systemd; on a machine without it this check is skipped, and says so.
  it.skipIf(!existsSync(ANALYZE)).each(UNITS)('%s passes systemd-analyze verify with no warning', (unit) => {
    const r = verify(new URL(unit, DIR).pathname);
    expect(r).toEqual({ status: 0, output: '' });
  });

  it.skipIf(!existsSync(ANALYZE))('the verify step would catch a misspelt option', () => {
    const tmp = tempDir();
    const bad = join(tmp.dir, 'vigil-server.service');
    writeFileSync(bad, readFileSync(new URL('vigil-server.service', DIR), 'utf8').replace('ProtectSystem=strict', 'ProtectSystm=strict'));
    expect(verify(bad).output).toMatch(/Unknown key 'ProtectSystm'/);
    tmp.cleanup();
  });
});
