// Builds the operator console (dashboards/console/web → dashboards/console/dist) with esbuild. Runs at
// `npm ci` (the prepare script) and with `npm run build`; the server serves the result, no CDN. The
// source map stays on disk for developers (no sourceMappingURL, and the server does not serve it).
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const web = fileURLToPath(new URL('../dashboards/console/web/', import.meta.url));
const dist = fileURLToPath(new URL('../dashboards/console/dist/', import.meta.url));
const uplotCss = fileURLToPath(new URL('../node_modules/uplot/dist/uPlot.min.css', import.meta.url));
mkdirSync(dist, { recursive: true });
const started = Date.now();
await build({ entryPoints: [`${web}main.ts`], bundle: true, format: 'esm', target: 'es2020', minify: true, sourcemap: 'external', outfile: `${dist}app.js`, logLevel: 'warning' });
writeFileSync(`${dist}app.css`, `${readFileSync(uplotCss, 'utf8')}\n${readFileSync(`${web}style.css`, 'utf8')}`);
copyFileSync(`${web}index.html`, `${dist}index.html`);
console.log(`console built in ${Date.now() - started} ms → dashboards/console/dist`);
