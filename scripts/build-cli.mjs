// Compiles the `vigil` command (cli/main.ts and everything it loads) into dist/ with esbuild: ES
// modules for Node 20, one chunk per command, npm packages left as imports. Runs at `npm ci` (the
// prepare script), `npm run build` and before `npm test`, so bin/vigil.js runs plain JavaScript with
// no TypeScript loader at start. Sources stay the truth: unit tests import them directly.
import { readFile, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = fileURLToPath(new URL('../dist/', import.meta.url));

// A few modules find files beside them (`new URL('./default.yaml', import.meta.url)`). In a bundle
// import.meta.url is the chunk's, so each is pinned to its source file, relative to dist/, which
// keeps the checkout relocatable.
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('node_modules')) return undefined;
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const rel = relative(outdir, args.path).split('\\').join('/');
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

const started = Date.now();
await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: '[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [sourceUrls],
});
console.log(`vigil command built in ${Date.now() - started} ms → dist/`);
