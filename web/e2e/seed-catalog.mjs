// Fills a stopped server's catalog with N photos spread over twenty years
// (or as many as given), the way the Rust benchmark
// (crates/bench/src/timeline.rs) does, so the browser can be tried on a
// large library without uploading one.
// Runs on Node >= 22.13 (node:sqlite): ci/install-test-deps.sh puts one in
// target/tools/bin/node.
//
//   node seed-catalog.mjs <data dir> <owner id> <count> [years]
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const [dataDir, owner, countArg, yearsArg = '20'] = process.argv.slice(2);
const count = Number(countArg);
const years = Number(yearsArg);
if (!dataDir || !owner || !(count > 0) || !(years > 0)) {
  console.error('usage: seed-catalog.mjs <data dir> <owner id> <count> [years]');
  process.exit(2);
}

const YEAR_MS = 365 * 86_400_000;
const NOW = Date.UTC(2025, 5, 15);
// Landscape, portrait and square, so rows are justified for real.
const SIZES = [
  [4000, 3000],
  [3000, 4000],
  [4000, 2250],
  [3000, 3000],
];

const db = new DatabaseSync(join(dataDir, 'db/shoebox.db'));
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; BEGIN');
// No thumbnail paths: the server answers with its grey placeholder.
const insert = db.prepare(
  `INSERT INTO assets (id, owner_id, checksum, kind, original_path, original_file_name, mime_type, file_size,
     file_created_at, file_modified_at, taken_at, local_taken_at, width, height, has_metadata, created_at, updated_at)
   VALUES (?, ?, ?, 'IMAGE', ?, ?, 'image/jpeg', 3000000, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
);
for (let i = 0; i < count; i++) {
  const id = randomUUID();
  // Deterministic spread: the same library on every run.
  const taken = NOW - Math.floor(((i * 7919) % count) * ((years * YEAR_MS) / count));
  const checksum = Buffer.alloc(8);
  checksum.writeBigUInt64BE(BigInt(i));
  const [w, h] = SIZES[i % SIZES.length];
  insert.run(id, owner, checksum, `library/${owner}/${id.slice(0, 2)}/${id}.jpg`, `IMG_${String(i).padStart(7, '0')}.jpg`, taken, taken, taken, taken, w, h, NOW, NOW);
}
db.exec('COMMIT');
db.close();
