// The timeline on a 100,000-photo library: it opens quickly, keeps the DOM
// small, scrolls without long frames, and the date scrubber lands on the
// month it shows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, newPage, pageErrors, screenshot, startSeededServer } from './harness.mjs';

const ASSETS = Number(process.env.E2E_SCALE_ASSETS ?? 100_000);
const ADMIN = { name: 'Admin', email: 'admin@example.com', password: 'correct horse battery' };

let server;
let browser;
let page;

before(async () => {
  server = await startSeededServer('scale', ADMIN, ASSETS);
  browser = await launchBrowser();
  page = await newPage(browser, server);
  const login = await page.request.post('/api/auth/login', { data: { email: ADMIN.email, password: ADMIN.password } });
  assert.equal(login.status(), 201);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

const tiles = () => page.getByTestId('tile');

test(`the timeline of ${ASSETS.toLocaleString('en')} photos opens, scrolls and scrubs`, async () => {
  const opened = Date.now();
  await page.goto('/');
  await page.getByTestId('asset-count').filter({ hasText: `${ASSETS.toLocaleString()} items` }).waitFor();
  await tiles().first().waitFor();
  const firstPaint = Date.now() - opened;

  // Only what is near the viewport is in the DOM.
  const rendered = await tiles().count();
  assert.ok(rendered > 0 && rendered < 400, `${rendered} tiles in the DOM at the top`);

  // Scroll fast for two seconds' worth of frames and time every frame.
  const stats = await page.locator('.scroller').evaluate(
    (el) =>
      new Promise((resolve) => {
        const frames = [];
        let maxTiles = 0;
        let last = performance.now();
        const tick = (now) => {
          frames.push(now - last);
          last = now;
          maxTiles = Math.max(maxTiles, document.querySelectorAll('[data-testid="tile"]').length);
          el.scrollTop += 350;
          if (frames.length < 120) requestAnimationFrame(tick);
          else resolve({ frames: frames.slice(1).sort((a, b) => a - b), maxTiles, scrollTop: el.scrollTop });
        };
        requestAnimationFrame(tick);
      }),
  );
  const p95 = stats.frames[Math.floor(stats.frames.length * 0.95)];
  const worst = stats.frames[stats.frames.length - 1];
  console.log(
    `scale: ${ASSETS} assets, first tiles after ${firstPaint} ms, ${rendered} tiles at the top, ` +
      `scrolling: p95 frame ${p95.toFixed(1)} ms, worst ${worst.toFixed(1)} ms, at most ${stats.maxTiles} tiles`,
  );
  assert.ok(stats.scrollTop > 30_000, 'the page really scrolled');
  assert.ok(stats.maxTiles < 600, `at most ${stats.maxTiles} tiles while scrolling`);
  // Generous for a loaded 2-core machine without a GPU; a timeline that
  // renders every photo takes seconds per frame at this size.
  assert.ok(p95 < 250, `p95 frame time ${p95} ms`);

  // The scrubber: three quarters down is an older month, shown once loaded.
  const scrubber = page.getByRole('slider', { name: 'Jump to a date' });
  const box = await scrubber.boundingBox();
  assert.ok(box);
  await page.mouse.click(box.x + box.width / 2, box.y + box.height * 0.75);
  const label = await scrubber.getAttribute('aria-valuetext');
  await page.waitForFunction(() => !document.querySelector('.month [aria-busy="true"]'));
  const month = page.getByRole('region', { name: label ?? '', exact: true });
  await month.getByTestId('tile').first().waitFor();
  const inView = await month.evaluate((m) => {
    const r = m.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  });
  assert.ok(inView, `the month the scrubber names (${label}) is on screen`);
  await tiles().first().waitFor();
  await screenshot(page, '20-scale-scrubbed');

  // The very end is the oldest month, with its photos.
  const buckets = await (await page.request.get('/api/timeline/buckets')).json();
  const oldest = buckets[buckets.length - 1].timeBucket;
  await scrubber.focus();
  await page.keyboard.press('End');
  await page.locator(`.month[data-month="${oldest}"] [data-testid="tile"]`).first().waitFor();
  await screenshot(page, '21-scale-oldest');
});
