import { connect } from 'node:net';

/**
 * Sends one HTTP/1.1 request with the request line exactly as given: no client-side normalisation of
 * `..`, `//`, `%2f` or `#`, which fetch and node:http would apply, so attacks reach the server intact.
 */
export async function rawRequest(port: number, requestLine: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const head = Object.entries({ host: `127.0.0.1:${port}`, connection: 'close', ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    sock.on('connect', () => sock.write(`${requestLine} HTTP/1.1\r\n${head}\r\n\r\n${body}`));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.setTimeout(10_000, () => sock.destroy(new Error(`no answer to ${requestLine}`)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) return reject(new Error(`no HTTP status in answer to ${requestLine}: ${text.slice(0, 200)}`));
      resolve({ status: Number(m[1]), text });
    });
  });
}
