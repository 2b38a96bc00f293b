import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** One Server-Sent Events frame (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The open event streams of one kind: opening one hijacks the reply, writes a keep-alive comment every
 * 15 s, and forgets the stream when the client goes; all are ended as the app starts to close, so a
 * stopping server is not held open by its browsers.
 */
export class SseHub<F = undefined> {
  private readonly streams = new Map<ServerResponse, F>();
  /** What each stream stops when it ends (see `attach` in {@link open}). */
  private readonly detach = new Map<ServerResponse, () => void>();

  constructor(
    app: FastifyInstance,
    private readonly max = 200,
  ) {
    // preClose, not onClose: the server's close waits for open connections before onClose hooks run,
    // so streams ended there would hold every stop until its timeout.
    app.addHook('preClose', async () => {
      for (const s of this.streams.keys()) s.end();
      this.streams.clear();
      for (const stop of this.detach.values()) stop();
      this.detach.clear();
    });
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Starts a stream with `first` frames (a replay), or answers 503 when too many are open. `attach` gets
   * a writer to this stream alone (frames from elsewhere, such as other servers) and returns what to stop
   * when the stream ends.
   */
  open(req: FastifyRequest, reply: FastifyReply, filter: F, first: string[] = [], attach?: (write: (text: string) => void) => () => void): FastifyReply | undefined {
    if (this.streams.size >= this.max) return reply.code(503).send({ error: 'busy', message: `${this.max} streams are open; try again later` });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    for (const f of first) res.write(f);
    this.streams.set(res, filter);
    if (attach) {
      this.detach.set(
        res,
        attach((text) => {
          if (this.streams.has(res)) res.write(text);
        }),
      );
    }
    const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    beat.unref();
    req.raw.on('close', () => {
      clearInterval(beat);
      this.streams.delete(res);
      this.detach.get(res)?.();
      this.detach.delete(res);
    });
    return undefined;
  }

  /** Writes `frame(filter)` to every stream; a null frame skips that stream. */
  send(frame: (filter: F) => string | null): void {
    for (const [res, f] of this.streams) {
      const text = frame(f);
      if (text !== null) res.write(text);
    }
  }
}
