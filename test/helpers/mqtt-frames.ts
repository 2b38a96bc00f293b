/** An MQTT fixed header (MQTT 3.1.1 §2.2): packet type, then the remaining length as a variable byte integer. */
export function fixedHeader(type: number, remainingLength: number): Buffer {
  const bytes = [type << 4];
  let n = remainingLength;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}
