import { SvelteSet } from 'svelte/reactivity';
import type { Disk, PoolPlan, PoolProfile } from './types';

/** A plan with the choice it was made for: the creation must send that same choice. */
export interface PlannedPool extends PoolPlan {
  disks: string[];
  profile: PoolProfile;
}

/** The system disk is never offered, and a pool member is taken already. */
export const canPool = (disk: Disk) => !disk.system && !disk.inPool;

/**
 * The disks chosen for a new pool and how they are used: one disk is
 * always `single`; two or more are mirrored unless the person picks single.
 */
export class PoolChoice {
  readonly #picked = new SvelteSet<string>();
  /** The person's pick between mirrored and single, asked once two disks are chosen. */
  wanted = $state<PoolProfile>('raid1');

  constructor(readonly disks: Disk[]) {}

  /** In the listing's order whatever the order of clicks: btrfs numbers the pool's disks in this order. */
  readonly chosen = $derived.by(() => this.disks.filter((d) => this.#picked.has(d.path)));
  readonly profile = $derived<PoolProfile>(this.chosen.length >= 2 ? this.wanted : 'single');
  readonly usableBytes = $derived(usableBytes(this.chosen.map((d) => d.sizeBytes), this.profile));
  readonly offered = $derived.by(() => this.disks.filter(canPool));

  has(path: string): boolean {
    return this.#picked.has(path);
  }

  set(path: string, chosen: boolean): void {
    if (chosen) this.#picked.add(path);
    else this.#picked.delete(path);
  }
}

/**
 * About what the pool holds, before file system overhead. RAID1 keeps each
 * block on two different disks: half the total, or less when one disk is
 * larger than all the others together (its excess has no partner).
 */
export function usableBytes(sizes: number[], profile: PoolProfile): number {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (profile === 'single' || sizes.length < 2) return total;
  return Math.min(total / 2, total - Math.max(...sizes));
}
