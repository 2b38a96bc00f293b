import { sseParser } from '../../core/index.ts';

/** An open event stream whose events are collected as they arrive. */
export interface CollectedStream {
  status: number;
  events: { event: string; data: unknown }[];
  close(): void;
}

/** Opens `url` as an EventSource would and collects its events (data parsed as JSON) until `close()`. */
export async function collectStream(url: string, headers: Record<string, string> = {}): Promise<CollectedStream> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const events: { event: string; data: unknown }[] = [];
  if (res.status === 200 && res.body) {
    const parser = sseParser((event, data) => events.push({ event, data: JSON.parse(data) as unknown }));
    const text = new TextDecoder();
    void (async () => {
      try {
        for await (const chunk of res.body!) parser.push(text.decode(chunk as Uint8Array, { stream: true }));
      } catch {
        // aborted by close()
      }
    })();
  }
  return { status: res.status, events, close: () => ac.abort() };
}
