// The timeline of a large library (100,000 photos) and of a sparse one
// (5,000 over the same 20 years, so each month's real height is well above
// its estimate until it loads); E2E_SCALE_ASSETS picks one size instead.
// Each keeps the DOM small while scrolling, the date scrubber lands on the
// month it shows, and End reaches the oldest month. How fast it draws is
// web/bench/timeline.mjs's to say.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, newPage, pageErrors, screenshot, scrollFrames, startSeededServer } from './harness.mjs';

const SIZES = process.env.E2E_SCALE_ASSETS ? [Number(process.env.E2E_SCALE_ASSETS)] : [100_000, 5_000];
const ADMIN = { name: 'Admin', email: 'admin@example.com', password: 'correct horse battery' };

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

for (const assets of SIZES) {
  test(`the timeline of ${assets.toLocaleString('en')} photos opens, scrolls and scrubs`, async () => {
    const server = await startSeededServer(`scale-${assets}`, ADMIN, assets);
    try {
      const page = await newPage(browser, server);
      const login = await page.request.post('/api/auth/login', { data: { email: ADMIN.email, password: ADMIN.password } });
      assert.equal(login.status(), 201);
      await checkTimeline(page, assets);
    } finally {
      await server.stop();
    }
  });
}

async function checkTimeline(page, assets) {
  const tiles = () => page.getByTestId('tile');
  await page.goto('/');
  await page.getByTestId('asset-count').filter({ hasText: `${assets.toLocaleString()} items` }).waitFor();
  await tiles().first().waitFor();

  // Only what is near the viewport is in the DOM, at the top and while scrolling fast.
  const rendered = await tiles().count();
  assert.ok(rendered > 0 && rendered < 400, `${rendered} tiles in the DOM at the top`);
  const stats = await scrollFrames(page);
  assert.ok(stats.scrollTop > 30_000, 'the page really scrolled');
  assert.ok(stats.maxTiles < 600, `at most ${stats.maxTiles} tiles while scrolling`);

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
  await screenshot(page, `20-scale-${assets}-scrubbed`);

  // The very end is the oldest month, with its photos, even after the
  // months on the way grew past their estimates.
  const buckets = await (await page.request.get('/api/timeline/buckets')).json();
  const oldest = buckets[buckets.length - 1].timeBucket;
  await scrubber.focus();
  await page.keyboard.press('End');
  await page.locator(`.month[data-month="${oldest}"] [data-testid="tile"]`).first().waitFor();
  await screenshot(page, `21-scale-${assets}-oldest`);
}
