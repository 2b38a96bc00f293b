import { FORWARDED_HEADER, type Logger, type Peers, sseParser } from '../../core/index.ts';

/**
 * Asks the other live servers of the cluster the same GET, with the caller's credentials (each server
 * decides access itself), marked as forwarded so none of them asks on. A server that does not answer
 * within `timeoutMs` is left out (and logged); the answers are checked by the caller.
 */
export class PeerClient implements Peers {
  constructor(
    private readonly urls: () => Promise<string[]>,
    private readonly log: Logger,
    private readonly timeoutMs = 3000,
    /** How often a followed stream looks for servers that joined, and retries one that ended. */
    private readonly followEveryMs = 5000,
  ) {}

  private headers(accept: string, authorization: string | undefined): Record<string, string> {
    return { accept, [FORWARDED_HEADER]: '1', ...(authorization ? { authorization } : {}) };
  }

  private members(): Promise<string[]> {
    return this.urls().catch((err: unknown) => {
      this.log.warn({ err }, 'cluster members not readable; answering from this server only');
      return [];
    });
  }

  async get(pathAndQuery: string, authorization: string | undefined): Promise<unknown[]> {
    if (!pathAndQuery.startsWith('/api/')) throw new Error(`not an API path: ${pathAndQuery}`);
    const answers = await Promise.all(
      (await this.members()).map(async (base) => {
        try {
          const r = await fetch(new URL(pathAndQuery, base), {
            headers: this.headers('application/json', authorization),
            signal: AbortSignal.timeout(this.timeoutMs),
            redirect: 'error',
          });
          if (r.status !== 200) return undefined;
          return (await r.json()) as unknown;
        } catch (err) {
          this.log.warn({ peer: base, err: (err as Error).message }, 'cluster member did not answer');
          return undefined;
        }
      }),
    );
    return answers.filter((a) => a !== undefined);
  }

  follow(pathAndQuery: string, authorization: string | undefined, onEvent: (event: string, data: string) => void): () => void {
    if (!pathAndQuery.startsWith('/api/')) throw new Error(`not an API path: ${pathAndQuery}`);
    const open = new Map<string, AbortController>();
    let stopped = false;
    const connect = async (base: string, ac: AbortController) => {
      try {
        const r = await fetch(new URL(pathAndQuery, base), { headers: this.headers('text/event-stream', authorization), signal: ac.signal, redirect: 'error' });
        // A refusal (401, 403, 503 when full) is that server's answer for now; the next round asks again.
        if (r.status !== 200 || !r.body) return;
        const parser = sseParser(onEvent);
        const text = new TextDecoder();
        for await (const chunk of r.body) parser.push(text.decode(chunk as Uint8Array, { stream: true }));
      } catch (err) {
        if (!ac.signal.aborted) this.log.debug({ peer: base, err: (err as Error).message }, 'cluster member stream ended');
      } finally {
        if (open.get(base) === ac) open.delete(base);
      }
    };
    const round = async () => {
      const urls = await this.members();
      if (stopped) return;
      for (const [base, ac] of open) {
        if (!urls.includes(base)) {
          ac.abort();
          open.delete(base);
        }
      }
      for (const base of urls) {
        if (open.has(base)) continue;
        const ac = new AbortController();
        open.set(base, ac);
        void connect(base, ac);
      }
    };
    void round();
    const timer = setInterval(() => void round(), this.followEveryMs);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
      for (const ac of open.values()) ac.abort();
      open.clear();
    };
  }
}
