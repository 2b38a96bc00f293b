import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { stopProcess } from './binaries.ts';
import { freePort, waitFor } from './net.ts';
import { tempDir } from './tmp.ts';

const BIN = '/usr/lib/postgresql/15/bin';

/**
 * PostgreSQL 15 (Debian `postgresql`) on a temporary data directory and a free loopback port, as the
 * tests' own server: `initdb` and `postgres` refuse to run as root, so as root they run as `nobody`.
 * Trust authentication on loopback only; fsync off (a test server, thrown away after).
 */
export class Postgres {
  private proc: ChildProcess | undefined;
  private readonly tmp = tempDir('vigil-pg-');
  port = 0;

  get url(): string {
    return `postgres://vigil@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<this> {
    if (!existsSync(join(BIN, 'postgres'))) throw new Error(`${BIN}/postgres not found: install it with \`npm run test:deps\` (Debian package postgresql)`);
    const data = join(this.tmp.dir, 'data');
    const asUser = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'nobody']).toString()), gid: Number(execFileSync('id', ['-g', 'nobody']).toString()) } : undefined;
    if (!existsSync(data)) {
      mkdirSync(data);
      if (asUser) {
        chmodSync(this.tmp.dir, 0o755);
        chownSync(data, asUser.uid, asUser.gid);
      }
      execFileSync(join(BIN, 'initdb'), ['-D', data, '-U', 'vigil', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'], { stdio: 'ignore', ...asUser });
    }
    if (this.port === 0) this.port = await freePort();
    this.proc = spawn(join(BIN, 'postgres'), ['-D', data, '-p', String(this.port), '-k', data, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'], { stdio: ['ignore', 'ignore', 'pipe'], ...asUser });
    let stderr = '';
    this.proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    await waitFor(
      async () => {
        const c = new pg.Client({ connectionString: this.url });
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      { timeoutMs: 30_000, message: `PostgreSQL did not start: ${stderr}` },
    );
    return this;
  }

  /** A database of its own for one test file, on this server. */
  async database(name: string): Promise<string> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await c.end();
    }
    return `postgres://vigil@127.0.0.1:${this.port}/${name}`;
  }

  /** Fast shutdown (SIGINT): clients are disconnected, the data kept, so `start()` brings it back. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await stopProcess(p, 'SIGINT');
  }

  async destroy(): Promise<void> {
    await this.stop();
    this.tmp.cleanup();
  }
}
