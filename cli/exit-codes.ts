/**
 * The exit codes of every `vigil` command (the sysexits.h values where one fits), documented in the
 * README: a script can tell a usage slip from bad data from a bad config.
 */
export const EXIT = {
  ok: 0,
  /** The command ran into a failure at run time (a device unreachable, a value refused). */
  failure: 1,
  /** Wrong arguments: the command's help says how. */
  usage: 2,
  /** EX_DATAERR: the input data is malformed (a CSV that cannot be read as readings). */
  dataErr: 65,
  /** EX_NOINPUT: an input file does not exist or cannot be read. */
  noInput: 66,
  /** EX_CONFIG: a configuration (or ruleset, profile, scenario) is refused. */
  config: 78,
} as const;
