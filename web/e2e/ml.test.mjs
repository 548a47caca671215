// Text recognition, face detection and search by content as a user meets
// them: photos are read in the background after upload, the viewer's
// details list the text and outline the faces, the search box finds photos
// by their text and by what they show (test-clip: CLIP's tokenizer with
// generated networks that see colours), and the
// admin pages say whether machine learning runs and start it by hand. The
// ONNX Runtime, models and sample photos are the ones ci/fetch-ml.sh puts
// in target/ml.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { call, launchBrowser, mlConfig, newPage, pageErrors, repo, screenshot, startServer, stepsWithScreenshots, signInNewAdmin } from './harness.mjs';

const ADMIN = { name: 'Mona Model', email: 'mona@example.com', password: 'correct horse battery' };
const ML = join(repo, 'target/ml');
// A portrait with one face, and a diagram with text and no people.
const PORTRAIT = 'franz-kafka.jpg';
const DIAGRAM = 'CLIP.png';
// Where the portrait's face is, as fractions of the 450 × 655 image: left, top, right, bottom.
const FACE = [0.41, 0.11, 0.62, 0.29];

let configDir;
let server;
let browser;
let page;
/** Asset ids by file name. */
const ids = {};
/** What the page logged as errors: a photo with nothing found in it must not cause any. */
const consoleErrors = [];
/** The page's requests for what was found in a photo. */
const recognitionRequests = [];

/** A page signed in as the admin of a fresh server whose setup is complete. */
async function adminPage(on) {
  const p = await newPage(browser, on);
  await signInNewAdmin(p, ADMIN);
  return p;
}

before(async () => {
  if (!existsSync(join(ML, 'runtime/libonnxruntime.so'))) throw new Error(`${ML} missing: run ci/fetch-ml.sh`);
  configDir = await mkdtemp(join(tmpdir(), 'shoebox-ml-e2e-'));
  const config = await mlConfig(
    configDir,
    { clip: 'test-clip', ocr: 'PP-OCRv6_small', face: 'mtcnn' },
    // Kept loaded for the whole test, however slow: the status page says whether they are.
    'idle_unload_seconds = 3600\n',
  );
  server = await startServer('ml', { args: ['--config', config] });
  browser = await launchBrowser();
  page = await adminPage(server);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('request', (r) => {
    if (/\/api\/(assets\/[^/]+\/ocr|faces\?)/.test(r.url())) recognitionRequests.push(r.url());
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await rm(configDir, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  assert.deepEqual(consoleErrors, [], 'errors in the console');
});

/** Each step leaves a screenshot of the page it was on when it fails. */
const step = stepsWithScreenshots(() => page);

const viewer = () => page.getByRole('dialog', { name: 'Photo viewer' });

/** Opens the viewer on a photo from the timeline, with its details shown. */
async function openWithDetails(name) {
  recognitionRequests.length = 0;
  await page.locator(`[data-asset-id="${ids[name]}"] button.open`).click();
  await viewer().getByRole('img', { name, exact: true }).waitFor();
  assert.deepEqual(recognitionRequests, [], 'text and faces are fetched only for the details');
  await viewer().getByRole('button', { name: 'Info' }).click();
  return viewer().getByTestId('info-panel');
}

async function closeViewer() {
  await page.keyboard.press('Escape');
  await viewer().waitFor({ state: 'detached' });
}

/** Where the photo is drawn: the part of its <img> that `object-fit: contain` fills. */
function shownPhoto(name) {
  return viewer()
    .getByRole('img', { name, exact: true })
    .evaluate((img) => {
      const box = img.getBoundingClientRect();
      const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
      const [width, height] = [img.naturalWidth * scale, img.naturalHeight * scale];
      return { x: box.x + (box.width - width) / 2, y: box.y + (box.height - height) / 2, width, height };
    });
}

/** A box's left, top, right and bottom as fractions of the photo's. */
const relative = (box, photo) => [
  (box.x - photo.x) / photo.width,
  (box.y - photo.y) / photo.height,
  (box.x + box.width - photo.x) / photo.width,
  (box.y + box.height - photo.y) / photo.height,
];

const near = (actual, expected, tolerance, what) =>
  assert.ok(
    actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance),
    `${what}: ${actual.map((v) => v.toFixed(3))} is not within ${tolerance} of ${expected}`,
  );

step('uploaded photos are read and their faces found in the background', async () => {
  await page.goto('/');
  await page.getByText('No photos yet').waitFor();
  await page.getByTestId('upload-input').setInputFiles([PORTRAIT, DIAGRAM].map((f) => join(ML, 'samples', f)));
  await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 2' }).waitFor();
  await page.getByRole('button', { name: 'Close uploads' }).click();
  assert.equal((await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=300')).idle, true, 'the jobs finished');
  for (const name of [PORTRAIT, DIAGRAM]) {
    const found = await call(page, 'POST', '/api/search/metadata', { originalFileName: name });
    ids[name] = found.assets.items[0].id;
  }
  assert.equal((await call(page, 'GET', `/api/faces?id=${ids[PORTRAIT]}`)).length, 1, 'one face in the portrait');
  assert.ok((await call(page, 'GET', `/api/assets/${ids[DIAGRAM]}/ocr`)).length > 0, 'text in the diagram');
});

step("the viewer's details list the text read from a photo and outline a line on it", async () => {
  const lines = await call(page, 'GET', `/api/assets/${ids[DIAGRAM]}/ocr`);
  const panel = await openWithDetails(DIAGRAM);
  const list = panel.getByRole('list', { name: 'Text in photo' });
  await list.waitFor();
  assert.deepEqual(await list.getByRole('listitem').allTextContents(), lines.map((l) => l.text));
  assert.ok(lines.some((l) => l.text === 'aussie pup'), `"aussie pup" read: ${lines.map((l) => l.text)}`);
  assert.equal(await panel.getByTestId('face-count').textContent(), 'No faces found.');
  assert.equal(await viewer().getByRole('img', { name: /^Face \d+$/ }).count(), 0);

  // The pointer on a line marks where it is in the photo.
  const line = lines.find((l) => l.text === 'aussie pup');
  await list.getByText('aussie pup', { exact: true }).hover();
  const mark = viewer().locator('svg polygon');
  await mark.waitFor();
  near(relative(await mark.boundingBox(), await shownPhoto(DIAGRAM)), [line.x1, line.y1, line.x3, line.y3], 0.02, 'the marked line');
  await page.mouse.move(0, 0);
  await mark.waitFor({ state: 'detached' });
  await closeViewer();
});

step('the viewer outlines the one face in a portrait, over the face', async () => {
  const panel = await openWithDetails(PORTRAIT);
  await panel.getByTestId('face-count').filter({ hasText: '1 face' }).waitFor();
  await panel.getByText('No text found.').waitFor();
  const face = viewer().getByRole('img', { name: /^Face \d+$/ });
  await face.waitFor();
  assert.equal(await face.count(), 1, 'exactly one face box');
  assert.equal(await face.getAttribute('aria-label'), 'Face 1');
  const box = relative(await face.boundingBox(), await shownPhoto(PORTRAIT));
  assert.ok(box[0] >= 0 && box[1] >= 0 && box[2] <= 1 && box[3] <= 1, `the face box is inside the photo: ${box}`);
  near(box, FACE, 0.04, 'the face box');
  await screenshot(page, '80-ml-viewer-faces');

  // Closing the details takes the outline away.
  await viewer().getByRole('button', { name: 'Info' }).click();
  await face.waitFor({ state: 'detached' });
  await closeViewer();
});

/** A PNG of one colour, drawn by the browser. */
async function plainPng(colour) {
  const base64 = await page.evaluate(async (fill) => {
    const canvas = new OffscreenCanvas(120, 80);
    const context = canvas.getContext('2d');
    context.fillStyle = fill;
    context.fillRect(0, 0, 120, 80);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    return btoa(String.fromCharCode(...bytes));
  }, colour);
  return Buffer.from(base64, 'base64');
}

step('the search box finds photos by what they show, best match first', async () => {
  const files = [
    { name: 'red-car.png', mimeType: 'image/png', buffer: await plainPng('rgb(220, 30, 30)') },
    { name: 'blue-sea.png', mimeType: 'image/png', buffer: await plainPng('rgb(30, 40, 220)') },
  ];
  await page.goto('/');
  await page.getByTestId('upload-input').setInputFiles(files);
  await page.getByTestId('upload-panel').getByRole('heading', { name: 'Uploaded 2' }).waitFor();
  await page.getByRole('button', { name: 'Close uploads' }).click();
  assert.equal((await call(page, 'GET', '/api/shoebox/jobs/wait-idle?timeoutSeconds=300')).idle, true, 'the jobs finished');

  const searchIn = page.getByRole('combobox', { name: 'Search in' });
  // The server runs it, so it is the box's first choice.
  assert.equal(await searchIn.inputValue(), 'smart');
  const box = page.getByRole('searchbox', { name: 'Search photos' });
  const results = page.locator('.grid [data-asset-id]');
  const ranked = () => results.evaluateAll((tiles) => tiles.map((t) => t.getAttribute('aria-label')));
  for (const [query, best] of [
    ['a blue sea', 'blue-sea.png'],
    ['a RED car', 'red-car.png'],
  ]) {
    await box.fill(query);
    await box.press('Enter');
    await page.getByRole('heading', { name: `Search: “${query}”` }).waitFor();
    await results.first().waitFor();
    // Every photo is ranked; the one the query describes comes first,
    // whatever its date.
    const order = await ranked();
    assert.equal(order[0], best, `${query}: ${order}`);
    assert.equal(order.length, 4, `${query}: ${order}`);
  }
  await page.waitForFunction(() => [...document.querySelectorAll('.grid img')].every((img) => img.complete && img.naturalWidth > 0));
  await screenshot(page, '80-ml-smart-search');
});

step('the search box finds photos by the text in them', async () => {
  const box = page.getByRole('searchbox', { name: 'Search photos' });
  const searchIn = page.getByRole('combobox', { name: 'Search in' });
  const results = page.locator('.grid [data-asset-id]');
  // Any case, every word, wherever it is in the photo.
  await box.fill('AUSSIE pup');
  await searchIn.selectOption({ label: 'Text in photo' });
  await page.getByRole('heading', { name: 'Search: “AUSSIE pup”' }).waitFor();
  await page.getByRole('button', { name: DIAGRAM }).waitFor();
  assert.deepEqual(await results.evaluateAll((tiles) => tiles.map((t) => t.dataset.assetId)), [ids[DIAGRAM]]);
  await page.waitForFunction(() => [...document.querySelectorAll('.grid img')].every((img) => img.complete && img.naturalWidth > 0));
  await screenshot(page, '81-ml-search');

  // The portrait's file name is not text in it; the default search finds it by name.
  await box.fill('kafka');
  await box.press('Enter');
  await page.getByText('No photo has all these words in it.').waitFor();
  await searchIn.selectOption({ label: 'File name or camera' });
  await page.getByRole('button', { name: PORTRAIT }).waitFor();
  assert.deepEqual(await results.evaluateAll((tiles) => tiles.map((t) => t.dataset.assetId)), [ids[PORTRAIT]]);
});

step('the admin pages show machine learning running, and start it by hand', async () => {
  await page.getByRole('link', { name: 'Server status' }).click();
  const section = page.getByRole('region', { name: 'Machine learning' });
  await section.waitFor();
  assert.match(await section.getByTestId('ml-runtime').textContent(), /libonnxruntime\.so.*loaded/s);
  assert.match(await section.getByTestId('ml-npu').textContent(), /None found: models run on the CPU/);
  const task = (name) => section.getByRole('row', { name: new RegExp(`^${name}`) }).getByRole('cell').allTextContents();
  // Model, installed, enabled, loaded (both ran on the uploads), runs on.
  assert.deepEqual(await task('Text recognition'), ['PP-OCRv6_small', 'Yes', 'Yes', 'Yes', 'CPU']);
  assert.deepEqual(await task('Face detection'), ['mtcnn', 'Yes', 'Yes', 'Yes', 'CPU']);
  assert.deepEqual(await task('Search by content'), ['test-clip', 'Yes', 'Yes', 'Yes', 'CPU']);
  await section.scrollIntoViewIfNeeded();
  await screenshot(page, '82-ml-status');

  await page.getByRole('link', { name: 'Jobs' }).click();
  const queue = (name) => page.getByRole('table', { name: 'Queues' }).getByRole('row', { name: new RegExp(`^${name}`) });
  await queue('Face detection').waitFor();
  await queue('Text recognition').getByRole('button', { name: 'Run on all photos not processed yet' }).click();
  await page.getByRole('status').filter({ hasText: 'Text recognition queued for the photos not processed yet' }).waitFor();
  assert.equal(await page.getByRole('alert').count(), 0);
});

step('without ONNX Runtime the admin pages say what to install, and the tasks do not start', async () => {
  // A runtime that is not there: the server would otherwise find the one
  // ci/fetch-ml.sh put next to target/*/shoeboxd.
  const config = join(configDir, 'off.toml');
  // Its model repository is a loopback port where nothing listens: no request leaves the machine.
  await writeFile(config, `[ml]\nruntime = "${configDir}/nowhere/libonnxruntime.so"\nmodel_hub = "http://127.0.0.1:9/immich-app"\n`);
  const off = await startServer('ml-off', { args: ['--config', config] });
  const admin = await adminPage(off);
  try {
    await admin.goto('/#/admin/status');
    const section = admin.getByRole('region', { name: 'Machine learning' });
    assert.match(await section.getByTestId('ml-runtime').textContent(), /libonnxruntime\.so\) was not found .*install it/);
    const enabled = await section.getByRole('row', { name: /^Face detection/ }).getByRole('cell').nth(2).textContent();
    assert.equal(enabled, 'No');

    // Its models folder is empty: a model is offered for download, and a repository out of reach says what to do.
    await section.getByRole('row', { name: /^Search by content/ }).getByRole('button', { name: 'Download' }).click();
    await section.getByRole('alert').filter({ hasText: 'cannot be read' }).filter({ hasText: "copy the model's folder into the models folder" }).waitFor();

    // A model on a USB disk (the list stood in: this server has no storage service) is imported by its folder.
    const folder = '/media/shoebox/64B1-0F3A/immich-cache/clip/ViT-B-32__openai';
    const imports = [];
    await admin.route('**/api/shoebox/ml/models/found', (route) =>
      route.fulfill({ json: [{ name: 'ViT-B-32__openai', path: folder, disk: 'MODELS' }] }),
    );
    await admin.route('**/api/shoebox/ml/models/import', (route) => {
      imports.push(route.request().postDataJSON());
      return route.fulfill({ status: 202, json: { state: 'copying', name: 'ViT-B-32__openai', received: 10, total: 40, error: '' } });
    });
    await admin.reload();
    const found = admin.getByRole('listitem').filter({ hasText: 'ViT-B-32__openai on MODELS' });
    await found.getByRole('button', { name: 'Import' }).click();
    await admin.getByRole('status').filter({ hasText: 'Copying ViT-B-32__openai' }).waitFor();
    assert.deepEqual(imports, [{ path: folder }]);

    await admin.getByRole('link', { name: 'Jobs' }).click();
    const row = admin.getByRole('table', { name: 'Queues' }).getByRole('row', { name: /^Face detection/ });
    await row.getByRole('button', { name: 'Run on all photos not processed yet' }).click();
    await admin.getByRole('alert').filter({ hasText: 'The faceDetection queue is off: install ONNX Runtime' }).waitFor();
  } finally {
    await admin.context().close();
    await off.stop();
  }
});
