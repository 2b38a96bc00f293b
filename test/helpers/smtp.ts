import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess } from './binaries.ts';
import { freePort, waitFor } from './net.ts';
import { tempDir } from './tmp.ts';

export type SmtpAnswer = 'ok' | 'transient' | 'permanent' | 'hang' | 'slow';

export interface ReceivedMail {
  n: number;
  mode: SmtpAnswer;
  messageId: string;
  from: string;
  to: string[];
  tls: boolean;
  authenticated: boolean;
  data: string;
}

const SCRIPT = fileURLToPath(new URL('./smtp_server.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/**
 * A mail relay on loopback (Debian `python3-aiosmtpd`) that requires STARTTLS and a login, with a
 * certificate of its own CA (`ca`), recording each message it is handed and answering as `plan` says.
 */
export class SmtpRelay {
  private proc: ChildProcess | undefined;
  private readonly tmp = tempDir('vigil-smtp-');
  readonly user = 'desk-relay';
  readonly password = 'relay-password-0123456789';
  port = 0;

  get ca(): string {
    return join(this.tmp.dir, 'cert.pem');
  }

  async start(): Promise<this> {
    if (!existsSync('/usr/lib/python3/dist-packages/aiosmtpd')) throw new Error('python3-aiosmtpd is not installed: run scripts/install-test-deps.sh');
    if (!existsSync(this.ca)) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(this.tmp.dir, 'key.pem'), '-out', this.ca, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    }
    if (this.port === 0) this.port = await freePort();
    this.plan({});
    const proc = spawn(PYTHON, [SCRIPT, String(this.port), this.ca, join(this.tmp.dir, 'key.pem'), this.logFile, join(this.tmp.dir, 'plan.json'), this.user, this.password], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
    await waitFor(() => out.includes('ready') || proc.exitCode !== null, { timeoutMs: 20_000, message: 'smtp relay did not start' });
    if (proc.exitCode !== null) throw new Error(`smtp relay exited: ${out}`);
    return this;
  }

  /** How the relay answers the n-th message from now on (counted since it started). */
  plan(p: { sequence?: SmtpAnswer[]; then?: SmtpAnswer }): void {
    writeFileSync(join(this.tmp.dir, 'plan.json'), JSON.stringify(p));
  }

  private get logFile(): string {
    return join(this.tmp.dir, 'messages.jsonl');
  }

  messages(): ReceivedMail[] {
    if (!existsSync(this.logFile)) return [];
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ReceivedMail);
  }

  async stop(): Promise<void> {
    this.proc?.stdin?.end();
    await stopProcess(this.proc);
    this.proc = undefined;
    this.tmp.cleanup();
  }
}
