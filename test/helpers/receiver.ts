import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { verify } from '../../tickets/index.ts';

export interface Received {
  key: string;
  eventId: number;
  ticketId: number;
  type: string;
  signed: boolean;
  answered: number | 'hang';
}

/** What the receiver does with the n-th request (0-based): answer with a status, or never answer. */
export type Behaviour = (n: number, body: string) => number | 'hang';

/**
 * A service desk's webhook endpoint on loopback, as the example receiver in the README would be: it
 * checks the signature and records each request's idempotency key. It can misbehave on purpose,
 * and go down and come back on the same port.
 */
export class WebhookReceiver {
  readonly requests: Received[] = [];
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  constructor(
    private readonly secret: string,
    public behaviour: Behaviour = () => 200,
    /** How long each answer takes, like a desk that does some work per event. */
    private readonly delayMs = 0,
  ) {}

  async start(port = this.port): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}/hooks/vigil`;
  }

  /** Down: refuses connections until started again. */
  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()).closeAllConnections());
  }

  /** Each event once, in the order first received: what a receiver that honours the key acts on. */
  effective(): Received[] {
    const seen = new Set<string>();
    return this.requests.filter((r) => r.answered !== 'hang' && r.answered < 300 && !seen.has(r.key) && (seen.add(r.key), true));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const n = this.requests.length;
    const answer = this.behaviour(n, body);
    const payload = JSON.parse(body) as { type: string; ticket: { id: number } };
    const key = String(req.headers['idempotency-key']);
    this.requests.push({
      key,
      eventId: Number(/(\d+)$/.exec(key)?.[1]),
      ticketId: payload.ticket.id,
      type: payload.type,
      signed: verify(this.secret, req.headers['vigil-signature'] as string, body, Date.now()).ok,
      answered: answer,
    });
    if (answer === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    res.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
  }
}
