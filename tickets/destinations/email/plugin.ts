import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { z } from 'zod';
import { type DeliveryOutcome, DurationSchema, errorMessage } from '../../../core/index.ts';
import { summarise } from '../describe.ts';
import { defineDestination } from '../types.ts';
import { mailBodies } from './message.ts';

export const EmailDestinationConfigSchema = z.strictObject({
  /** The mail relay (the desk's SMTP submission server). */
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535).default(587),
  /** `starttls`: plain connection upgraded with STARTTLS, refused if the relay does not offer it; `tls`: TLS from the start (port 465); `none`: no TLS (a relay on loopback only). */
  security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
  /** PEM file of the CA that signed the relay's certificate, when it is not a public one. */
  ca: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  /** From the environment: `${SMTP_PASSWORD}`. */
  password: z.string().min(1).optional(),
  from: z.string().min(3).max(320),
  to: z.array(z.string().min(3).max(320)).min(1).max(50),
  timeout: DurationSchema.prefault('20s'),
});
export type EmailDestinationConfig = z.infer<typeof EmailDestinationConfigSchema>;

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * SMTP answers in the outcome set of every output: 4xx replies are the relay's passing trouble (retry),
 * 5xx a refusal of this message (drop to the dead letters), a refused login or a failed TLS handshake
 * its configuration (kept, retried slowly), and a lost connection a retry.
 */
export function classifySmtp(err: SmtpError): DeliveryOutcome {
  const reason = `SMTP ${err.responseCode ?? err.code ?? 'error'}: ${(err.response ?? err.message ?? '').slice(0, 300)}`;
  if (err.code === 'EAUTH' || err.code === 'ETLS' || err.responseCode === 530 || err.responseCode === 534 || err.responseCode === 535) return { kind: 'auth', reason };
  if (err.responseCode !== undefined && err.responseCode >= 400 && err.responseCode < 500) return { kind: 'retry', reason };
  if ((err.responseCode !== undefined && err.responseCode >= 500) || err.code === 'EENVELOPE' || err.code === 'EMESSAGE') return { kind: 'drop', reason };
  return { kind: 'retry', reason };
}

/** A mail to the desk for each event, through an SMTP relay with STARTTLS. */
export const email = defineDestination({
  kind: 'email',
  summary: 'A mail per event (text and HTML, with deadlines and a console link) through an SMTP relay with STARTTLS',
  config: EmailDestinationConfigSchema,
  check: (c) => ((c.user === undefined) !== (c.password === undefined) ? [{ path: c.user === undefined ? 'user' : 'password', message: 'give both user and password, or neither' }] : []),
  create: (c, deps) => {
    const transport = createTransport({
      host: c.host,
      port: c.port,
      secure: c.security === 'tls',
      requireTLS: c.security === 'starttls',
      ignoreTLS: c.security === 'none',
      ...(c.user && c.password ? { auth: { user: c.user, pass: c.password } } : {}),
      tls: { ...(c.ca ? { ca: readFileSync(c.ca, 'utf8') } : {}), servername: c.host },
      connectionTimeout: c.timeout,
      greetingTimeout: c.timeout,
      socketTimeout: c.timeout,
      // Never log the session: it carries the credentials.
      logger: false,
      debug: false,
    });
    return {
      label: `email relay ${c.host}:${c.port}`,
      authHint: "check the relay's user, password and TLS certificate",
      async send(ev, signal) {
        const m = mailBodies(summarise(ev.event, deps.baseUrl));
        const sent = transport
          .sendMail({
            from: c.from,
            to: c.to,
            subject: m.subject,
            text: m.text,
            html: m.html,
            // The idempotency key as the Message-ID: a resend after a crash is the same message, which
            // mail systems and the desk's mail-to-ticket importers recognise.
            messageId: `<${ev.idempotencyKey}@vigil>`,
            headers: { 'X-Vigil-Event': ev.event.type, 'X-Vigil-Delivery': String(ev.deliveryId) },
          })
          .then((): DeliveryOutcome => ({ kind: 'ok' }), (err: unknown) => classifySmtp(err as SmtpError));
        const aborted = new Promise<DeliveryOutcome>((resolve) => {
          if (signal.aborted) resolve({ kind: 'retry', reason: 'stopping' });
          signal.addEventListener('abort', () => resolve({ kind: 'retry', reason: 'stopping' }), { once: true });
        });
        try {
          return await Promise.race([sent, aborted]);
        } catch (err) {
          return { kind: 'retry', reason: errorMessage(err) };
        }
      },
      close: () => transport.close(),
    };
  },
});
