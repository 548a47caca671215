// The real storage service for end-to-end tests: a private dbus-daemon
// with the project's bus policy, shoebox-storaged on it, and loop devices
// as its disks. All of it needs root; `needsRoot` is the skip reason.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { artifacts, repo } from './harness.mjs';

export const run = promisify(execFile);

/** `false` as root, otherwise why the tests of the real service are skipped. */
export const needsRoot =
  process.getuid?.() === 0 ? false : 'needs root (loop devices, mkfs.btrfs, mount, owning org.shoebox.Storage1 on the bus)';

/** Runs a tool; whether it succeeded (its failure is the answer, not an error). */
export async function succeeds(command, args) {
  try {
    await run(command, args);
    return true;
  } catch {
    return false;
  }
}

/** The first line of `child`'s output that `wanted` accepts; fails if it exits first. */
function lineFrom(child, stream, wanted, what) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    let found = false;
    lines.on('line', (line) => {
      if (!found && wanted(line)) {
        found = true;
        resolve(line);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!found) reject(new Error(`${what} exited before it was ready: code ${code}, signal ${signal}`));
    });
  });
}

/** Stops a child with SIGTERM and waits for it to exit. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * A storage service of a test's own, in a fresh temporary `dir`: a private
 * bus (`address`), shoebox-storaged on it with its pool to be mounted on
 * `dataDir` (not made here: storaged or shoeboxd makes it), and loop disks
 * attached by `attachDisk(file)`. `stop()` undoes all of it, each step
 * whatever the others did, so a failed test leaves nothing mounted or
 * attached; a start that fails midway is undone the same way.
 */
export async function startStorageService(name) {
  const dir = await mkdtemp(join(tmpdir(), `shoebox-web-e2e-${name}-`));
  const disks = [];
  let bus;
  let storaged;
  const service = {
    dir,
    dataDir: join(dir, 'data'),
    address: undefined,
    async attachDisk(file) {
      const disk = await attachLoopDisk(join(dir, file));
      disks.push(disk);
      return disk;
    },
    async stop() {
      await storaged?.stop();
      await releaseDisks(dir, disks);
      await bus?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    bus = await startBus(join(dir, 'bus'), name);
    service.address = bus.address;
    storaged = await startStoraged(
      bus.address,
      join(dir, 'cache'),
      ['--pool-mount', service.dataDir, '--state-dir', join(dir, 'state'), '--include-loop-devices', '--backup-disks-dir', join(dir, 'backup-disks')],
      name,
    );
  } catch (e) {
    await service.stop();
    throw e;
  }
  return service;
}

/**
 * A private dbus-daemon with the project's bus policy on top of a
 * permissive default, as crates/storaged/src/private_bus.rs starts it.
 * Its log goes to target/web-e2e/<name>-dbus.log.
 */
async function startBus(dir, name) {
  const policyDir = join(dir, 'system.d');
  await mkdir(policyDir, { recursive: true });
  await copyFile(join(repo, 'rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf'), join(policyDir, 'org.shoebox.Storage1.conf'));
  const config = join(dir, 'bus.conf');
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=${dir}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  <includedir>${policyDir}</includedir>
</busconfig>
`,
  );
  const daemon = spawn('dbus-daemon', ['--nofork', '--nosyslog', '--print-address', `--config-file=${config}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemon.stderr.pipe(createWriteStream(join(artifacts, `${name}-dbus.log`)));
  const address = (await lineFrom(daemon, daemon.stdout, (line) => line.trim() !== '', 'dbus-daemon (install the dbus package)')).trim();
  return { address, stop: () => stop(daemon) };
}

/**
 * shoebox-storaged on the bus, once it serves; its log goes to
 * target/web-e2e/<name>-storaged.log. The backup library keeps a cache
 * per repository under XDG_CACHE_HOME: `cacheDir`, so none is left behind.
 */
async function startStoraged(address, cacheDir, args, name) {
  const bin = process.env.STORAGED_BIN ?? join(repo, 'target/debug/shoebox-storaged');
  const child = spawn(bin, ['--bus-address', address, ...args], {
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info', XDG_CACHE_HOME: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(artifacts, `${name}-storaged.log`));
  child.stderr.pipe(log, { end: false });
  const serving = lineFrom(child, child.stdout, (line) => line.includes('serving'), `shoebox-storaged (${bin})`);
  child.stdout.on('data', (chunk) => log.write(chunk));
  await serving;
  return { stop: () => stop(child).then(() => log.end()) };
}

/** A 320 MiB sparse image file on a free loop device; its path (/dev/loopN). */
async function attachLoopDisk(image) {
  await writeFile(image, '');
  await truncate(image, 320 << 20);
  const { stdout } = await run('losetup', ['--find', '--show', image]);
  return stdout.trim();
}

/**
 * Unmounts everything mounted under `dir` (the pool on the data folder,
 * possibly more than once after a retry, storaged's staging mount if it
 * was stopped halfway through making the pool, and backup disks), deepest first, until
 * nothing is; then has btrfs forget the loop devices and detaches them.
 * Each step runs whatever the others did, so a failed test leaves nothing
 * behind.
 */
async function releaseDisks(dir, disks) {
  for (;;) {
    const mounted = (await mountsUnder(dir)).sort((a, b) => b.length - a.length);
    let unmounted = false;
    for (const target of mounted) unmounted = (await succeeds('umount', [target])) || unmounted;
    if (!unmounted) break;
  }
  for (const disk of disks.filter(Boolean)) {
    await succeeds('btrfs', ['device', 'scan', '--forget', disk]);
    await succeeds('losetup', ['--detach', disk]);
  }
}

/** Mount points at or below `dir`, from this process's mount table. */
async function mountsUnder(dir) {
  if (!dir) return [];
  const table = await readFile('/proc/self/mountinfo', 'utf8');
  // The fifth field is the mount point, with spaces and the like as octal escapes.
  const targets = table.split('\n').map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))));
  return targets.filter((target) => target && (target === dir || target.startsWith(`${dir}/`)));
}

/** A call to the service as the appliance's timers make them. */
export async function busctl(address, method, signature, ...args) {
  await run('busctl', [`--address=${address}`, '--timeout=2min', 'call', 'org.shoebox.Storage1', '/org/shoebox/Storage1', 'org.shoebox.Storage1', method, signature, ...args]);
}
