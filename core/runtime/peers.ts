import type { FastifyRequest } from 'fastify';

/** Set on a question one server asks another, so the answer is that server's own, never asked on. */
export const FORWARDED_HEADER = 'x-vigil-forwarded';

/** The other live servers of a cluster, asked the same question with the caller's credentials. */
export interface Peers {
  /** Each answer that came back 200 (JSON, not yet checked). */
  get(pathAndQuery: string, authorization: string | undefined): Promise<unknown[]>;
  /**
   * Follows the same event stream on every other live server (and on servers that join while it runs),
   * calling `onEvent` with each event's name and data (text, not yet checked); returns the function that
   * stops following.
   */
  follow(pathAndQuery: string, authorization: string | undefined, onEvent: (event: string, data: string) => void): () => void;
}

/**
 * Several servers sharing the shards, as a part's API sees them: which sites' devices this server holds
 * (the others' live state is theirs), and how to ask the others.
 */
export interface ClusterScope {
  owns(site: string): boolean;
  peers: Peers;
}

/**
 * The cluster to ask for this request: none when the request was itself forwarded by another server
 * (its answer is this server's own, so questions never travel in circles).
 */
export function askingCluster(req: FastifyRequest, cluster: ClusterScope | undefined): ClusterScope | undefined {
  return req.headers[FORWARDED_HEADER] === undefined ? cluster : undefined;
}

/** The caller's credentials to pass on: the bearer header, or the stream's `?access_token=` as one. */
export function callerAuthorization(req: FastifyRequest): string | undefined {
  if (req.headers.authorization) return req.headers.authorization;
  const token = (req.query as Record<string, unknown> | undefined)?.access_token;
  return typeof token === 'string' ? `Bearer ${token}` : undefined;
}

/**
 * Splits Server-Sent Events text as it arrives into events (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * `push` takes each chunk and calls `onEvent` for every complete event; comments and `retry:` are skipped.
 */
export function sseParser(onEvent: (event: string, data: string) => void): { push(chunk: string): void } {
  let buffer = '';
  return {
    push(chunk) {
      // Vigil's servers end lines with LF only.
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
        }
        if (data.length > 0) onEvent(event, data.join('\n'));
      }
      // A peer that never ends an event must not grow this without bound.
      if (buffer.length > 4_000_000) buffer = '';
    },
  };
}

/**
 * How deep a page merged across servers may reach: each server is asked for its first `offset + limit`
 * rows, and no server answers more than this in one page.
 */
export const CLUSTER_PAGE_REACH = 5000;

/** The message of a 400 for a merged page that reaches past {@link CLUSTER_PAGE_REACH}. */
export function pageReachError(offset: number, limit: number): string | undefined {
  return offset + limit > CLUSTER_PAGE_REACH
    ? `offset + limit: at most ${CLUSTER_PAGE_REACH} when several servers share the fleet (got ${offset + limit}); narrow the list with ?site= or ?q=`
    : undefined;
}
