// Benchmark (not a test): the timeline of a seeded library in headless
// Chromium. Prints the time from opening the page to the first thumbnail
// drawn, frame times while scrolling fast, and the size of the JavaScript
// the browser loads. Needs a built shoeboxd and web/dist (ci/web-test.sh
// makes both).
//
//   node web/bench/timeline.mjs [assets=100000] [rounds=5]
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchBrowser, newPage, repo, scrollFrames, startSeededServer } from '../e2e/harness.mjs';

const assets = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 5);
const ADMIN = { name: 'Admin', email: 'admin@example.com', password: 'correct horse battery' };

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
const ms = (v) => `${v.toFixed(1)} ms`;

const server = await startSeededServer('bench-timeline', ADMIN, assets);
const browser = await launchBrowser();
try {
  const firstThumbnail = [];
  const frames = [];
  for (let round = 0; round < rounds; round++) {
    const page = await newPage(browser, server);
    await page.request.post('/api/auth/login', { data: { email: ADMIN.email, password: ADMIN.password } });
    const opened = performance.now();
    await page.goto('/');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="tile"] img')].some((img) => img.complete && img.naturalWidth > 0));
    firstThumbnail.push(performance.now() - opened);
    frames.push(...(await scrollFrames(page)).frames);
    await page.context().close();
  }
  firstThumbnail.sort((a, b) => a - b);
  frames.sort((a, b) => a - b);

  const dist = join(repo, 'web/dist/assets');
  const scripts = (await readdir(dist)).filter((f) => f.endsWith('.js'));
  let raw = 0;
  let gzip = 0;
  for (const f of scripts) {
    const bytes = await readFile(join(dist, f));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }

  console.log(`timeline of ${assets.toLocaleString('en')} photos, ${rounds} rounds`);
  console.log(`first thumbnail after opening: median ${ms(quantile(firstThumbnail, 0.5))}, worst ${ms(firstThumbnail.at(-1))}`);
  console.log(
    `scrolling 350 px a frame (${frames.length} frames): p50 ${ms(quantile(frames, 0.5))}, p95 ${ms(quantile(frames, 0.95))}, worst ${ms(frames.at(-1))}`,
  );
  console.log(`JavaScript: ${scripts.length} files, ${(raw / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzipped`);
} finally {
  await browser.close();
  await server.stop();
}
