import { createHash } from 'node:crypto';
import { type BrokerLimits, type BrokerRefusal, type BrokerTls, EmbeddedBroker, type Logger, TOPIC_ROOT, clientIdOf, gatewayClientId, gatewayTopic, verifySecret } from '../../core/index.ts';
import type { GatewayCredential } from '../config.ts';
import type { Intake } from '../subscriber/intake.ts';

export type BrokerPrincipal = { kind: 'gateway'; site: string; gatewayId: string } | { kind: 'subscriber'; username: string };

export interface CentralBrokerOptions {
  host: string;
  port: number;
  plain: boolean;
  tls: BrokerTls | undefined;
  gateways: readonly GatewayCredential[];
  subscribers: readonly { username: string; passwordHash: string }[];
  intake: Intake;
  log: Logger;
  limits: BrokerLimits;
  maxEnvelopeBytes: number;
  onAclViolation(principal: BrokerPrincipal, topic: string): void;
  onRefused(reason: BrokerRefusal): void;
}

/**
 * The server's embedded broker. Gateways log in with their id and password and may publish only their
 * own `envelope` and `state` topics; Envelopes go straight into the intake from the publish hook, so
 * the gateway's PUBACK follows the durable write (aedes sends it after authorizePublish completes).
 * Client ids are bound to logins: `vigil-gw-<gatewayId>` for a gateway, `vigil-sub-<username>` for a
 * subscriber (each may add `/suffix` for extra connections of its own).
 */
export function centralBroker(opts: CentralBrokerOptions): EmbeddedBroker<BrokerPrincipal> {
  const gateways = new Map(opts.gateways.map((g) => [g.gatewayId, g]));
  const subscribers = new Map(opts.subscribers.map((s) => [s.username, s]));
  // scrypt takes ~50 ms; remember passwords that verified so a reconnecting fleet does not queue on it.
  const verified = new Map<string, string>();
  const check = (username: string, password: string, hash: string): boolean => {
    const digest = createHash('sha256').update(`${username}\u0000${password}`).digest('base64');
    if (verified.get(hash) === digest) return true;
    if (!verifySecret(password, hash)) return false;
    verified.set(hash, digest);
    return true;
  };
  return new EmbeddedBroker<BrokerPrincipal>({
    host: opts.host,
    port: opts.port,
    plain: opts.plain,
    tls: opts.tls,
    log: opts.log,
    limits: opts.limits,
    maxPayloadBytes: opts.maxEnvelopeBytes,
    onRefused: opts.onRefused,
    hooks: {
      authenticate(username, password, _clientId, certificateName) {
        if (certificateName !== undefined) {
          // A verified client certificate is the login: its common name is the gateway id. A username,
          // if sent, must say the same.
          const g = gateways.get(certificateName);
          if (!g || (username !== undefined && username !== certificateName)) return undefined;
          return { kind: 'gateway', site: g.site, gatewayId: g.gatewayId };
        }
        if (username === undefined || password === undefined) return undefined;
        const g = gateways.get(username);
        if (g?.passwordHash && check(username, password, g.passwordHash)) return { kind: 'gateway', site: g.site, gatewayId: g.gatewayId };
        const s = subscribers.get(username);
        if (s && check(username, password, s.passwordHash)) return { kind: 'subscriber', username };
        return undefined;
      },
      // A gateway's identity is its login, and its client id must say the same: otherwise gateway A,
      // with its own valid password, could connect as vigil-gw-B and keep B offline.
      clientIdAllowed: (p, clientId) => clientIdOf(p.kind === 'gateway' ? gatewayClientId(p.gatewayId) : `vigil-sub-${p.username}`, clientId),
      async onPublish(p, packet) {
        if (p.kind !== 'gateway') {
          opts.onAclViolation(p, packet.topic);
          return 'deny';
        }
        const envelope = gatewayTopic(p.site, p.gatewayId, 'envelope');
        const state = gatewayTopic(p.site, p.gatewayId, 'state');
        const status = gatewayTopic(p.site, p.gatewayId, 'status');
        if (packet.topic !== envelope && packet.topic !== state && packet.topic !== status) {
          opts.onAclViolation(p, packet.topic);
          return 'deny';
        }
        await opts.intake.accept(packet.topic, packet.payload as Buffer, p);
        return 'accept';
      },
      authorizeSubscribe(p, topic) {
        return p.kind === 'subscriber' && (topic === `${TOPIC_ROOT}/#` || topic.startsWith(`${TOPIC_ROOT}/`));
      },
    },
  });
}
