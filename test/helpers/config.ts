import { ConfigError } from '../../core/index.ts';

/**
 * Every problem a config parse reports, as `path: message` lines (empty when it parses). Anything
 * other than a ConfigError is a defect, not a refusal, and is thrown on.
 */
export function configProblems(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}
