import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { z } from 'zod';
import type { Logger } from './logger.ts';

/** Certificate and key of a TLS server (PEM files), and optionally the CA its clients' certificates chain to. */
export const TlsServerFilesSchema = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  /** Clients presenting a certificate must chain to this CA; it also enables client-certificate logins. */
  ca: z.string().min(1).optional(),
});
export type TlsServerFiles = z.infer<typeof TlsServerFilesSchema>;

/** TLS for an embedded broker: its own port beside (or instead of) the plain one. */
export const BrokerTlsSchema = TlsServerFilesSchema.extend({
  port: z.number().int().min(0).max(65535).default(8883),
  /** Refuse clients without a valid certificate (otherwise a certificate is one way to log in, a password the other). */
  requireClientCert: z.boolean().default(false),
});
export type BrokerTls = z.infer<typeof BrokerTlsSchema>;

/** TLS for an MQTT client (the gateway's uplink): whom to trust, and a client certificate for mutual TLS. */
export const ClientTlsSchema = z
  .strictObject({
    ca: z.string().min(1).optional(),
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** The name the server's certificate must carry, when it differs from the URL's host. */
    servername: z.string().min(1).optional(),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'give cert and key together' });
export type ClientTls = z.infer<typeof ClientTlsSchema>;

/** Reads the PEM files named in a TLS block (only the ones given). */
export function readTlsFiles(files: { cert?: string | undefined; key?: string | undefined; ca?: string | undefined }): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  return {
    ...(files.cert ? { cert: readFileSync(files.cert) } : {}),
    ...(files.key ? { key: readFileSync(files.key) } : {}),
    ...(files.ca ? { ca: readFileSync(files.ca) } : {}),
  };
}

/**
 * Calls `apply` with the files' new contents whenever one of them changes (certificates renewed by
 * certbot, a CA rotated), so a long-running process takes new certificates without a restart. A file
 * caught half-written is tried again on its next change; the old context stays meanwhile. Polls every
 * `intervalMs` (fs.watch misses the rename that most renewal tools do).
 */
export function watchTlsFiles(files: { cert?: string | undefined; key?: string | undefined; ca?: string | undefined }, apply: (ctx: SecureContextOptions & ReturnType<typeof readTlsFiles>) => void, log: Logger, intervalMs = 1000): () => void {
  const paths = [files.cert, files.key, files.ca].filter((p): p is string => p !== undefined);
  const onChange = () => {
    try {
      apply(readTlsFiles(files));
      log.info({ files: paths }, 'TLS certificates reloaded');
    } catch (err) {
      log.warn({ err: (err as Error).message, files: paths }, 'TLS certificates changed but could not be loaded; keeping the previous ones');
    }
  };
  for (const p of paths) watchFile(p, { interval: intervalMs, persistent: false }, onChange);
  return () => {
    for (const p of paths) unwatchFile(p, onChange);
  };
}

/** The verified client certificate's common name, or undefined without a (valid) certificate. */
export function peerCommonName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}
