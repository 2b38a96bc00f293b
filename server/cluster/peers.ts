import type { Logger } from '../../core/index.ts';
import { FORWARDED_HEADER, type Peers } from '../../dashboards/console/index.ts';

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
  ) {}

  async get(pathAndQuery: string, authorization: string | undefined): Promise<unknown[]> {
    if (!pathAndQuery.startsWith('/api/')) throw new Error(`not an API path: ${pathAndQuery}`);
    const urls = await this.urls().catch((err: unknown) => {
      this.log.warn({ err }, 'cluster members not readable; answering from this server only');
      return [];
    });
    const answers = await Promise.all(
      urls.map(async (base) => {
        try {
          const r = await fetch(new URL(pathAndQuery, base), {
            headers: { accept: 'application/json', [FORWARDED_HEADER]: '1', ...(authorization ? { authorization } : {}) },
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
}
