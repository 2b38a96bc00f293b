// The console's only way to the server: the REST API with the signed-in token.
const KEY = 'vigil.token';

export interface Me {
  name: string;
  role: 'viewer' | 'operator' | 'service_desk' | 'admin';
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: { message?: string; issues?: { path: string; message: string }[] } = {},
  ) {
    super(message);
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (t: string) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export async function api<T = any>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token.get() ?? ''}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  const body = text ? JSON.parse(text) : {};
  if (!res.ok) throw new ApiError(res.status, body.message ?? (body.issues ? body.issues.map((i: { path: string; message: string }) => `${i.path}: ${i.message}`).join('; ') : `HTTP ${res.status}`), body);
  return body as T;
}

export interface LiveReading {
  deviceId: string;
  site: string;
  metric: string;
  value: number;
  ts: number;
}

/** The live tail: the latest readings each second (of one device, or all), until closed. */
export function liveReadings(device: string | undefined, onItems: (items: LiveReading[]) => void): EventSource {
  const q = new URLSearchParams({ access_token: token.get() ?? '', ...(device ? { device } : {}) });
  const es = new EventSource(`/api/v1/readings/stream?${q}`);
  es.addEventListener('readings', (e) => onItems(JSON.parse((e as MessageEvent<string>).data) as LiveReading[]));
  return es;
}

/** What a role may do; the console does not offer what the server would refuse. */
export const can = {
  workTickets: (me: Me) => me.role === 'service_desk' || me.role === 'admin',
  comment: (me: Me) => me.role !== 'viewer',
  editRules: (me: Me) => me.role === 'operator' || me.role === 'admin',
};

/** Fetches a CSV export with the signed-in token and hands it to the browser as a download. */
export async function downloadCsv(path: string, filename: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token.get() ?? ''}` } });
  if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  URL.revokeObjectURL(url);
}
