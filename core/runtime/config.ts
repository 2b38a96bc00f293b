import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

// Keys whose values are credentials. They must be `${VAR}` references so that secrets live in the
// environment (or a secret store that fills it), never in a file that is copied, versioned and shared.
const SECRET_KEY = /^(password|token|secret|apiToken)$/i;
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Reads a YAML config file, fills `${VAR}` and `${VAR:-default}` from `env`, and validates it against
 * `schema`. Every problem is reported with its path in one ConfigError, so a start-up shows them all
 * at once instead of one per attempt.
 */
export function loadConfigFile<S extends z.ZodType>(schema: S, file: string, env: Env): z.infer<S> {
  return parseConfigText(schema, readConfigText(file), env, file);
}

/** A config-like file's text (config, ruleset, scenario); a file that cannot be read is a ConfigError naming it. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
}

export function parseConfigText<S extends z.ZodType>(schema: S, text: string, env: Env, source = 'config'): z.infer<S> {
  // logLevel error: a hostile file must not print warnings to the process's stderr (complex keys).
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}` })));
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // Not in doc.errors: an alias to an anchor that comes later, or an alias bomb past maxAliasCount.
    throw new ConfigError(source, [{ path: '', message: `YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  return parseConfig(schema, raw ?? {}, env, source);
}

export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, env: Env, source = 'config'): z.infer<S> {
  const envIssues: ConfigIssue[] = [];
  const resolved = interpolate(raw, [], env, envIssues);
  const result = schema.safeParse(resolved);
  const issues: ConfigIssue[] = [];
  const unknownKeys = new Set<string>();
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') for (const k of issue.keys) unknownKeys.add(path ? `${path}.${k}` : k);
      issues.push({ path, message: issue.message });
    }
  }
  // A misspelt key is the problem to report, not the environment variable its value names: a
  // `pasword: ${UPLINK_PASSWORD}` would otherwise read as "UPLINK_PASSWORD is not set".
  const underUnknownKey = (path: string) => [...unknownKeys].some((k) => path === k || path.startsWith(`${k}.`));
  const relevant = envIssues.filter((i) => !(i.message.startsWith('environment variable') && underUnknownKey(i.path)));
  issues.unshift(...relevant);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return deepFreeze(result.data) as z.infer<S>;
}

// A YAML alias can make a document refer to itself (`a: &a [*a]`); deeper than this is such a loop
// or a hostile file, and is refused with its path rather than overflowing the stack.
const MAX_DEPTH = 64;

function interpolate(value: unknown, path: (string | number)[], env: Env, issues: ConfigIssue[]): unknown {
  if (path.length > MAX_DEPTH) {
    if (!issues.some((i) => i.message.startsWith('nested too deep'))) issues.push({ path: path.slice(0, 8).join('.'), message: `nested too deep (over ${MAX_DEPTH} levels): a recursive YAML alias?` });
    return undefined;
  }
  if (typeof value === 'string') {
    const key = path[path.length - 1];
    if (typeof key === 'string' && SECRET_KEY.test(key) && !/^\$\{[^}]+\}$/.test(value)) {
      issues.push({ path: path.join('.'), message: 'secrets must come from the environment: write ${SOME_VAR} here' });
      return value;
    }
    return value.replace(REFERENCE, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      issues.push({ path: path.join('.'), message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, [...path, i], env, issues));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, [...path, k], env, issues);
    return out;
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A number with a unit, or a bare 0; the one definition the parser and the JSON Schema share. */
const DURATION_PATTERN = /^\s*(?:0|(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w))\s*$/;
const UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 } as const;

/** Parses durations such as `500ms`, `30s`, `5m`, `2h`, `7d`; the unit is required (only 0 goes without). */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  if (!m) return undefined;
  return m[1] === undefined ? 0 : Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

const DURATION_HINT = 'use e.g. 500ms, 30s, 5m, 2h, 7d';

/**
 * A duration in config: a string with a unit such as `30s`, `5m`, `7d`; parsed to ms.
 * A bare number is refused because `pollInterval: 1` reads as one second to a person and
 * one millisecond to a parser; making the unit mandatory removes the guess. Zero needs none.
 */
const DurationText = z
  .string({
    error: (issue) =>
      typeof issue.input === 'number'
        ? `a duration needs a unit: ${issue.input} is a bare number; write "${issue.input}s" or "${issue.input}ms" (${DURATION_HINT})`
        : `not a duration: ${JSON.stringify(issue.input)} (${DURATION_HINT})`,
  })
  .regex(DURATION_PATTERN, { error: (issue) => `not a duration: ${JSON.stringify(issue.input)} (${DURATION_HINT})` })
  .transform((v) => parseDuration(v) ?? 0);

export const DurationSchema = z.preprocess((v) => (v === 0 ? '0' : v), DurationText);

const ENV_REFERENCE = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}', description: 'an environment variable, ${NAME} or ${NAME:-default}' };

/**
 * A config format as JSON Schema (draft 2020-12, input side: what a person writes), for editors to
 * validate and complete files. `${VAR}` references are strings, so they fit any string field.
 */
export function configJsonSchema(schema: z.ZodType, title: string): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const js = ctx.jsonSchema as Record<string, unknown>;
      const replace = (next: Record<string, unknown>) => {
        for (const key of Object.keys(js)) delete js[key];
        Object.assign(js, next);
      };
      if (ctx.zodSchema === DurationText) {
        replace({ anyOf: [{ ...js }, { const: 0 }], description: `A duration with a unit (${DURATION_HINT}), or 0.` });
      } else if (js.type === 'string' && ['minLength', 'maxLength', 'pattern', 'format', 'enum'].some((k) => k in js)) {
        // A `${VAR}` reference is replaced before validation, so the literal text need not fit.
        const { default: d, description, ...rest } = js;
        replace({ anyOf: [rest, ENV_REFERENCE], ...(d !== undefined ? { default: d } : {}), ...(description ? { description } : {}) });
      }
    },
  }) as Record<string, unknown>;
  return { ...out, title };
}

/** A TCP port; 0 asks the OS for a free one (tests). */
export const PortSchema = z.number().int().min(0).max(65535);

/**
 * Checks across fields (duplicate ids, references between sections) run even when a field failed,
 * so a config reports every problem in one round instead of revealing the cross-checks only after
 * the field errors are fixed: `.superRefine(crossCheck((c, ctx) => ...), CROSS_CHECK)`.
 * On a config that already has problems the value is half-parsed; a check that trips over it (a
 * TypeError) is skipped there, since the field errors already refuse the config.
 */
const halfParsed = new WeakSet<object>();

export const CROSS_CHECK = {
  when: (payload: { value: unknown; issues: readonly unknown[] }): boolean => {
    if (typeof payload.value !== 'object' || payload.value === null) return false;
    if (payload.issues.length > 0) halfParsed.add(payload.value);
    return true;
  },
};

export function crossCheck<T>(check: (value: T, ctx: z.RefinementCtx) => void): (value: T, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    try {
      check(value, ctx);
    } catch (err) {
      if (!(err instanceof TypeError && typeof value === 'object' && value !== null && halfParsed.has(value))) throw err;
    }
  };
}
