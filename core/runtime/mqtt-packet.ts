import mqttPacket from 'mqtt-packet';

/**
 * MQTT.js and aedes share one mqtt-packet, which on its first write caches a 2-byte Buffer for every
 * one of the 65,536 packet ids: about 7 MB of heap, held for the life of the process. A busy central
 * broker may keep that; an edge gateway sending a few packets a second should not, so `vigil gateway`
 * calls this before anything connects. Packets are the same bytes either way.
 */
export function dropPacketIdCache(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}
