// The timeline and its dialogs from the keyboard alone: arrows move the
// focus by the layout (into rows and months not drawn or fetched yet), Space
// selects, Enter opens the viewer, Tab stays inside the viewer and dialogs,
// and Escape gives the focus back to where it was.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, launchBrowser, newPage, pageErrors, screenshot, startSeededServer, stepsWithScreenshots } from './harness.mjs';

const ADMIN = { name: 'Kim Keys', email: 'kim@example.com', password: 'correct horse battery' };
// A year of photos, a few a day: rows of several tiles, a dozen months of
// which only the first ones are fetched when the page opens. Not a multiple
// of four, so the seed's four shapes do not repeat in the same order on
// every row (the nearest tile across is then not always the same one).
const ASSETS = 1501;

let server;
let browser;
let page;
/** The months as the server lists them, newest first. */
let buckets;
/** The first month's asset ids, in the timeline's order. */
let newest;

before(async () => {
  server = await startSeededServer('keyboard', ADMIN, ASSETS, { years: 1 });
  browser = await launchBrowser();
  page = await newPage(browser, server);
  await call(page, 'POST', '/api/auth/login', { email: ADMIN.email, password: ADMIN.password });
  buckets = await call(page, 'GET', '/api/timeline/buckets');
  newest = (await monthIds(buckets[0].timeBucket)).slice(0, 10);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
});

/** Each step leaves a screenshot of the page it was on when it fails. */
const step = stepsWithScreenshots(() => page);

async function monthIds(timeBucket) {
  return (await call(page, 'GET', `/api/timeline/bucket?timeBucket=${encodeURIComponent(timeBucket)}`)).id;
}

/** The timeline's tiles; the plain grid of search results has its own. */
const TIMELINE = '[data-testid="tile"]';
const GRID = '[data-testid="grid-tile"]';

const tile = (id) => page.locator(`${TIMELINE}[data-asset-id="${id}"]`);

/** Waits for the focus to be on a tile other than `previous` and answers its asset id. */
async function focusLeft(previous, tiles = TIMELINE) {
  const moved = await page.waitForFunction(
    ([from, tiles]) => {
      const id = document.activeElement?.closest(tiles)?.getAttribute('data-asset-id');
      return id && id !== from ? id : null;
    },
    [previous, tiles],
  );
  return moved.jsonValue();
}

/** Presses `key` on the focused tile `from` and answers the asset the focus moved to. */
async function press(key, from, tiles = TIMELINE) {
  await page.keyboard.press(key);
  return focusLeft(from, tiles);
}

/**
 * What the screen shows as the tile in the row just above (-1) or below (1)
 * `id`'s whose middle is nearest its middle, from the tiles' boxes.
 */
function rowNeighbourOnScreen(id, step, tiles = TIMELINE) {
  return page.evaluate(
    ([id, step, tiles]) => {
      const boxes = [...document.querySelectorAll(tiles)].map((t) => ({ id: t.getAttribute('data-asset-id'), box: t.getBoundingClientRect() }));
      const from = boxes.find((b) => b.id === id)?.box;
      if (!from) return `${id} is not drawn`;
      const beyond = boxes.filter((b) => (step === 1 ? b.box.top > from.top + 1 : b.box.top < from.top - 1));
      const rowTop = beyond.reduce((row, b) => (step === 1 ? Math.min(row, b.box.top) : Math.max(row, b.box.top)), step * Infinity);
      const middle = (r) => r.left + r.width / 2;
      const row = beyond.filter((b) => Math.abs(b.box.top - rowTop) < 1);
      row.sort((a, b) => Math.abs(middle(a.box) - middle(from)) - Math.abs(middle(b.box) - middle(from)));
      return row[0]?.id ?? null;
    },
    [id, step, tiles],
  );
}

/** Whether the tile is wholly inside the timeline's scrolling area. */
function inView(id) {
  return tile(id).evaluate((el) => {
    const box = el.getBoundingClientRect();
    const area = el.closest('.scroller').getBoundingClientRect();
    return box.top >= area.top - 1 && box.bottom <= area.bottom + 1;
  });
}

/** Checks Down (or Up) landed on the row just beyond `from`, nearest across, in view; answers where. */
async function verticalStep(key, from) {
  const to = await press(key, from);
  assert.equal(to, await rowNeighbourOnScreen(from, key === 'ArrowDown' ? 1 : -1), `${key} from ${from}`);
  assert.ok(await inView(to), `${to} scrolled into view`);
  return to;
}

/**
 * Presses `key` (Tab or Shift+Tab) once more than `container` has controls
 * to reach: after every press the focus must be inside it, every control
 * must have had it once, and the last press must be back on the first.
 */
async function tabAround(container, key) {
  const stops = await container.evaluate(
    (el) =>
      [...el.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')].filter(
        (c) => c.tabIndex >= 0 && !c.matches(':disabled') && c.checkVisibility(),
      ).length,
  );
  assert.ok(stops >= 2, `${stops} controls to go round`);
  const visited = [];
  for (let i = 0; i <= stops; i++) {
    await page.keyboard.press(key);
    // Its place among the container's elements; -1 when the focus left it.
    visited.push(await container.evaluate((el) => [...el.querySelectorAll('*')].indexOf(document.activeElement)));
  }
  assert.ok(
    visited.every((at) => at >= 0),
    `${key} ×${stops + 1} stays inside: ${visited}`,
  );
  assert.equal(new Set(visited.slice(0, stops)).size, stops, `${key} reaches each of the ${stops} controls once: ${visited}`);
  assert.equal(visited[stops], visited[0], `${key} goes round: ${visited}`);
}

step('arrow keys move the focus by the layout, and the grid is a single Tab stop', async () => {
  await page.goto('/');
  await page.getByTestId('asset-count').filter({ hasText: `${ASSETS.toLocaleString('en')} items` }).waitFor();
  await tile(newest[0]).waitFor();

  // One Tab stop, on the first photo; the tick boxes are reached with Space.
  const stop = page.locator('[data-testid="tile"] button.open[tabindex="0"]');
  assert.equal(await stop.count(), 1);
  assert.equal(await stop.locator('xpath=..').getAttribute('data-asset-id'), newest[0]);
  assert.equal(await page.locator('[data-testid="tile"] .check:not([tabindex="-1"])').count(), 0);
  await stop.focus();

  assert.equal(await press('ArrowRight', newest[0]), newest[1]);
  assert.equal(await press('ArrowRight', newest[1]), newest[2]);
  assert.equal(await press('ArrowLeft', newest[2]), newest[1]);
  const firstRow = await page.evaluate(() => document.activeElement?.getBoundingClientRect().top);
  let at = await verticalStep('ArrowDown', newest[1]);
  assert.ok((await tile(at).evaluate((el) => el.getBoundingClientRect().top)) > firstRow + 1, 'Down went down');
  at = await verticalStep('ArrowUp', at);

  // Tab leaves the grid at once (not to the next tile or a tick box); Shift+Tab comes back to the same photo.
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => !document.activeElement?.closest('[data-testid="tile"]'));
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focusLeft(null), at);

  // Down from the middle of a row, row after row, past what was drawn and into months not fetched when the page opened.
  at = await press('ArrowRight', at);
  at = await press('ArrowRight', at);
  const startMonth = await tile(at).evaluate((el) => el.closest('.month').dataset.month);
  for (let i = 0; i < 45; i++) at = await verticalStep('ArrowDown', at);
  assert.notEqual(await tile(at).evaluate((el) => el.closest('.month').dataset.month), startMonth, 'crossed into another month');

  // A ring in the theme's focus colour, in both themes.
  const ring = () => tile(at).evaluate((el) => getComputedStyle(el, '::after').borderTopColor);
  assert.equal(await ring(), 'rgb(26, 95, 180)');
  await screenshot(page, '60-keyboard-focus');
  await page.evaluate(() => (document.documentElement.dataset.theme = 'dark'));
  assert.equal(await ring(), 'rgb(138, 180, 248)');
  await screenshot(page, '61-keyboard-focus-dark');
  await page.evaluate(() => (document.documentElement.dataset.theme = 'light'));
});

step('End and Home reach photos in months not drawn or fetched yet', async () => {
  const oldestMonth = buckets[buckets.length - 1].timeBucket;
  assert.equal(await page.locator(`.month[data-month="${oldestMonth}"]`).count(), 0, 'the oldest month is not drawn');
  const oldest = await monthIds(oldestMonth);
  const from = await focusLeft(null);

  const last = await press('End', from);
  assert.equal(last, oldest[oldest.length - 1]);
  assert.ok(await inView(last));
  assert.equal(await press('ArrowLeft', last), oldest[oldest.length - 2]);
  assert.equal(await press('ArrowRight', oldest[oldest.length - 2]), last);
  await verticalStep('ArrowUp', last);

  const first = await press('Home', await focusLeft(null));
  assert.equal(first, newest[0]);
  assert.ok(await inView(first));
});

step('Space selects, Shift+arrows extend, Enter opens the viewer and Escape returns to the photo', async () => {
  const selected = (n) => page.getByTestId('selection-count').filter({ hasText: `${n} selected` });
  const checked = (id) => tile(id).getByRole('checkbox').getAttribute('aria-checked');

  await page.keyboard.press('Space');
  await selected(1).waitFor();
  assert.equal(await checked(newest[0]), 'true');
  assert.equal(await press('Shift+ArrowRight', newest[0]), newest[1]);
  assert.equal(await press('Shift+ArrowRight', newest[1]), newest[2]);
  await selected(3).waitFor();
  assert.deepEqual(await Promise.all(newest.slice(0, 4).map(checked)), ['true', 'true', 'true', 'false']);
  await page.keyboard.press('Space');
  await selected(2).waitFor();
  assert.equal(await checked(newest[2]), 'false');
  await page.keyboard.press('Escape');
  await page.getByTestId('selection-count').waitFor({ state: 'detached' });

  // Enter opens, even though a click on a tile selects while a selection is being made.
  const [opened, next] = await Promise.all(newest.slice(2, 4).map((id) => call(page, 'GET', `/api/assets/${id}`)));
  await page.keyboard.press('Enter');
  const viewer = page.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByText(opened.originalFileName, { exact: true }).waitFor();
  assert.ok(await viewer.evaluate((el) => el.contains(document.activeElement)), 'the focus moved into the viewer');
  await tabAround(viewer, 'Tab');
  await tabAround(viewer, 'Shift+Tab');
  await screenshot(page, '62-keyboard-viewer');

  // Walking on in the viewer, and a favourite that redraws the grid behind
  // it (the tile that had the focus is gone), then Escape: back on the photo
  // it was opened on.
  const opener = await tile(opened.id).locator('button.open').elementHandle();
  await page.keyboard.press('ArrowRight');
  await viewer.getByText(next.originalFileName, { exact: true }).waitFor();
  await viewer.getByRole('button', { name: 'Add to favourites' }).click();
  await viewer.getByRole('button', { name: 'Remove from favourites' }).waitFor();
  await page.waitForFunction((el) => !el.isConnected, opener);
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  assert.equal(await focusLeft(null), opened.id);
});

step('a dialog keeps Tab inside, and Escape closes it and gives the focus back', async () => {
  await page.reload();
  await tile(newest[0]).locator('button.open').focus();
  await page.keyboard.press('Space');
  await page.getByTestId('selection-count').filter({ hasText: '1 selected' }).waitFor();
  const add = page.getByRole('button', { name: 'Add to album' });
  await add.focus();
  await page.keyboard.press('Enter');

  const dialog = page.getByRole('dialog', { name: 'Add 1 to an album' });
  await dialog.waitFor();
  assert.ok(await dialog.evaluate((el) => el.contains(document.activeElement)), 'the focus moved into the dialog');
  await tabAround(dialog, 'Tab');
  await tabAround(dialog, 'Shift+Tab');

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  // Escape was the dialog's: the selection behind it stays.
  assert.equal(await page.getByTestId('selection-count').filter({ hasText: '1 selected' }).count(), 1, 'still 1 selected');
  assert.ok(await add.evaluate((el) => el === document.activeElement), 'the focus is back on the button that opened it');
});

step('search results are one Tab stop too, and the arrows move by their layout', async () => {
  // IMG_0000100 to IMG_0000199: rows of a justified grid.
  const wanted = (await call(page, 'POST', '/api/search/metadata', { originalFileName: 'IMG_00001', size: 1000 })).assets.items;
  assert.equal(wanted.length, 100);
  await page.goto('/#/search?q=IMG_00001');
  await page.getByText('100 results').waitFor();
  const grid = (id) => page.locator(`${GRID}[data-asset-id="${id}"]`);
  const stop = page.locator(`${GRID}[tabindex="0"]`);
  assert.equal(await stop.count(), 1, 'one Tab stop');
  const order = await page.locator(GRID).evaluateAll((tiles) => tiles.map((t) => t.getAttribute('data-asset-id')));
  assert.equal(await stop.getAttribute('data-asset-id'), order[0]);
  await stop.focus();

  assert.equal(await press('ArrowRight', order[0], GRID), order[1]);
  const down = await press('ArrowDown', order[1], GRID);
  assert.equal(down, await rowNeighbourOnScreen(order[1], 1, GRID), 'Down: the nearest tile in the row below');
  assert.equal(await press('ArrowUp', down, GRID), await rowNeighbourOnScreen(down, -1, GRID));
  const last = await press('End', await focusLeft(null, GRID), GRID);
  assert.equal(last, order[order.length - 1]);
  assert.equal(await press('Home', last, GRID), order[0]);
  assert.equal(await grid(order[0]).getAttribute('tabindex'), '0');
  assert.equal(await page.locator(`${GRID}[tabindex="0"]`).count(), 1, 'still one Tab stop');

  // Enter opens the photo; Escape comes back to it.
  const first = await call(page, 'GET', `/api/assets/${order[0]}`);
  await page.keyboard.press('Enter');
  const viewer = page.getByRole('dialog', { name: 'Photo viewer' });
  await viewer.getByText(first.originalFileName, { exact: true }).waitFor();
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  assert.equal(await focusLeft(null, GRID), order[0]);
  await screenshot(page, '63-keyboard-search-grid');
});
