import { type DeliveryOutcome, classifyHttp, deadline, errorMessage } from '../../core/index.ts';

/**
 * One POST to an HTTP target, answered with the outcome set of every output (`core/delivery`): 2xx
 * ok; 408, 429 and 5xx (with `Retry-After`), timeouts and refused connections retried; 401, 403, 404
 * the target's configuration; any other 4xx a refusal for good. One event cannot be halved, so 413 is
 * a refusal too.
 */
export async function postOnce(url: string, init: { headers: Record<string, string>; body: string }, o: { timeoutMs: number; signal: AbortSignal; now: () => number; /** Name the answer's first bytes in the error (the webhook's errors never did). */ reason?: boolean }): Promise<DeliveryOutcome> {
  const limit = deadline(o.signal, o.timeoutMs);
  try {
    const res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, redirect: 'error', signal: limit.signal });
    const text = await head(res.body, o.reason === true ? 4096 : 0);
    const outcome = classifyHttp(res.status, text || undefined, res.headers.get('retry-after'), o.now());
    return outcome.kind === 'split' ? { kind: 'drop', reason: outcome.reason } : outcome;
  } catch (err) {
    const e = err as Error;
    return { kind: 'retry', reason: e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : errorMessage(e.cause ?? e) };
  } finally {
    limit.clear();
  }
}

/** The first `max` bytes of a body, the rest left unread: a target's answer is read for its reason only. */
async function head(body: ReadableStream<Uint8Array> | null, max: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.length;
    }
  } catch {
    // A body cut short still leaves the status to classify.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(n, max));
}
