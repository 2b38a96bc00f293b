/**
 * Every failure Vigil raises says what to do about it: fix the config and restart (config), try again
 * later (transient), give up on this item (permanent), or fix the credentials (auth).
 */
export class VigilError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export interface ConfigIssue {
  /** Dotted path into the config, e.g. `uplink.url` or `drivers.0.topics.1.pattern`. */
  path: string;
  message: string;
}

export class ConfigError extends VigilError {
  readonly issues: readonly ConfigIssue[];
  /** The file (or config) the problems are in. */
  readonly source: string;
  constructor(source: string, issues: readonly ConfigIssue[]) {
    super('E_CONFIG', `${source}: ${issues.length} problem(s)\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.issues = issues;
    this.source = source;
  }
}

export class AuthError extends VigilError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_AUTH', message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
