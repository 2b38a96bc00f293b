import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, stopProcess } from './binaries.ts';
import { freePort, waitFor } from './net.ts';
import { tempDir } from './tmp.ts';
import { connect } from 'mqtt';

export interface MosquittoUser {
  username: string;
  password: string;
}

/**
 * Mosquitto (Debian `mosquitto`) on a free loopback port, with a password file, the ACL the README
 * gives for Vigil, and persistence, so a restart keeps sessions and queued messages like production.
 */
export class Mosquitto {
  private proc: ChildProcess | undefined;
  private readonly tmp = tempDir('vigil-mosq-');
  port = 0;

  constructor(private readonly users: MosquittoUser[], private readonly acl: string) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The broker's process id while it runs (benchmarks count its CPU). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<this> {
    const bin = requireBinary('/usr/sbin/mosquitto', 'mosquitto');
    const passwd = requireBinary('/usr/bin/mosquitto_passwd', 'mosquitto');
    if (this.port === 0) {
      this.port = await freePort();
      const pwFile = join(this.tmp.dir, 'passwd');
      writeFileSync(pwFile, '');
      for (const u of this.users) execFileSync(passwd, ['-b', pwFile, u.username, u.password]);
      writeFileSync(join(this.tmp.dir, 'acl'), this.acl);
      writeFileSync(
        join(this.tmp.dir, 'mosquitto.conf'),
        [
          `listener ${this.port} 127.0.0.1`,
          'allow_anonymous false',
          `password_file ${pwFile}`,
          `acl_file ${join(this.tmp.dir, 'acl')}`,
          'persistence true',
          `persistence_location ${this.tmp.dir}/`,
          'max_queued_messages 100000',
          // Running as root in CI: keep the user, so the temp files stay readable.
          'user root',
          'log_dest stderr',
          'log_type error',
        ].join('\n') + '\n',
      );
    }
    this.proc = spawn(bin, ['-c', join(this.tmp.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const probe = this.users[0]!;
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const c = connect(this.url, { username: probe.username, password: probe.password, reconnectPeriod: 0, connectTimeout: 1000 });
          let ok = false;
          c.once('connect', () => {
            ok = true;
            c.end(true);
          });
          c.once('close', () => resolve(ok));
        }),
      { timeoutMs: 15_000, message: `mosquitto did not start: ${stderr}` },
    );
    return this;
  }

  /** SIGTERM: mosquitto saves its persistence file, so sessions and queued messages survive. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await stopProcess(p);
  }

  async destroy(): Promise<void> {
    await this.stop();
    this.tmp.cleanup();
  }
}
