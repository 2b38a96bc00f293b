import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';

const BrokerUrlSchema = z.string().regex(/^mqtts?:\/\/.+/, 'an mqtt:// or mqtts:// URL');

/**
 * One broker, or the nodes of a clustered broker as a list. With a list a client connects to the first
 * and moves to the next whenever a connection fails or drops.
 */
export const BrokerUrlsSchema = z.union([BrokerUrlSchema, z.array(BrokerUrlSchema).min(1, 'at least one broker URL').max(16, 'at most 16 broker URLs')]);
export type BrokerUrls = z.infer<typeof BrokerUrlsSchema>;

export function brokerUrlList(urls: BrokerUrls): string[] {
  return typeof urls === 'string' ? [urls] : urls;
}

export interface BrokerConnection {
  client: MqttClient;
  /** The URL connected to, or being tried. */
  url(): string;
}

/** Connects to one broker, or round a list of them: MQTT.js takes the next of `servers` on every reconnect. */
export function connectBroker(urls: BrokerUrls, opts: IClientOptions): BrokerConnection {
  const list = brokerUrlList(urls);
  if (list.length === 1) return { client: connect(list[0]!, opts), url: () => list[0]! };
  const servers = list.map((u) => {
    const p = new URL(u);
    const protocol = p.protocol === 'mqtts:' ? ('mqtts' as const) : ('mqtt' as const);
    return { host: p.hostname.replace(/^\[|\]$/g, ''), port: Number(p.port || (protocol === 'mqtts' ? 8883 : 1883)), protocol };
  });
  const client = connect({ ...opts, servers });
  return {
    client,
    url: () => {
      const i = servers.findIndex((s) => s.host === client.options.host && s.port === client.options.port);
      return list[i] ?? list[0]!;
    },
  };
}
