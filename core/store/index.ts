export * from './sql.ts';
export * from './sqlite.ts';
export * from './postgres.ts';
export * from './migrate.ts';
export * from './open.ts';
export * from './single-runner.ts';
