/**
 * A signal that aborts when `outer` does or after `ms`, whichever is first, with a TimeoutError for the
 * latter. Not `AbortSignal.any([outer, AbortSignal.timeout(ms)])`: on Node 20 the timeout signal held
 * only by `any` can be garbage-collected before it fires, and a request to a target that never answers
 * then waits for ever. Call `clear()` once the attempt is over.
 */
export function deadline(outer: AbortSignal, ms: number): { signal: AbortSignal; clear(): void } {
  const c = new AbortController();
  const onAbort = () => c.abort(outer.reason);
  if (outer.aborted) c.abort(outer.reason);
  else outer.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => c.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  return {
    signal: c.signal,
    clear() {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    },
  };
}
