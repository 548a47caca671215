import { api, type TimelineFilter } from './api';
import { justify, nearestInNextRow, rowHeightFor } from './layout';
import { dayLabel, localDay } from './format';
import type { BucketAssets } from './types';

export const MONTH_HEADER = 56;
export const DAY_HEADER = 36;
export const GAP = 4;
const SECTION_GAP = 16;

export interface Tile {
  id: string;
  /** Position within its month section. */
  left: number;
  top: number;
  width: number;
  height: number;
  isImage: boolean;
  isFavorite: boolean;
  /** Whose photo; a partner's in a timeline that mixes theirs in. */
  ownerId: string;
  duration: number | null;
  /** Wall-clock day where it was taken, for labels. */
  day: string;
}

export interface DayHeader {
  label: string;
  top: number;
}

export interface Section {
  key: string;
  count: number;
  top: number;
  height: number;
  /** Null until the month's assets are fetched; the height is an estimate until then. */
  tiles: Tile[] | null;
  days: DayHeader[];
}

interface Raw {
  ids: string[];
  fileCreatedAt: string[];
  offsets: number[];
  ratios: number[];
  isImage: boolean[];
  isFavorite: boolean[];
  ownerIds: string[];
  duration: (string | number | null)[];
}

function toRaw(b: BucketAssets): Raw {
  return {
    ids: b.id,
    fileCreatedAt: b.fileCreatedAt,
    offsets: b.localOffsetHours,
    ratios: b.ratio,
    isImage: b.isImage,
    isFavorite: b.isFavorite,
    ownerIds: b.ownerId,
    duration: b.duration,
  };
}

function durationMs(d: string | number | null | undefined): number | null {
  if (typeof d === 'number') return d;
  if (typeof d !== 'string') return null;
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(d);
  return m ? (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 : null;
}

/**
 * A timeline of month sections laid out for one container width. Months
 * are fetched only when they come near the viewport; until then their
 * height is estimated from their count, so the scroll bar and the date
 * scrubber are right from the start, even at a hundred thousand photos.
 */
export class Timeline {
  sections: Section[] = $state.raw([]);
  totalHeight = $state(0);
  /** Bumped whenever tiles change, so thumbnails that were placeholders get fetched again. */
  generation = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);

  private width = 0;
  private raw = new Map<string, Raw>();
  private inflight = new Map<string, Promise<void>>();

  constructor(readonly filter: TimelineFilter) {}

  async load(): Promise<void> {
    try {
      const buckets = await api.buckets(this.filter);
      this.raw.clear();
      this.inflight.clear();
      this.sections = buckets.map((b) => ({ key: b.timeBucket, count: b.count, top: 0, height: 0, tiles: null, days: [] }));
      this.relayout();
      this.error = null;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.loaded = true;
    }
  }

  /**
   * Re-reads the month list and the months already fetched, then swaps
   * them in at once, so the grid does not flash placeholders after every
   * change.
   */
  async refresh(): Promise<void> {
    try {
      const buckets = await api.buckets(this.filter);
      const keys = new Set(buckets.map((b) => b.timeBucket));
      const months = await Promise.all(
        [...this.raw.keys()].filter((k) => keys.has(k)).map(async (k) => [k, toRaw(await api.bucket(this.filter, k))] as const),
      );
      this.raw = new Map(months);
      this.inflight.clear();
      this.sections = buckets.map((b) => ({ key: b.timeBucket, count: b.count, top: 0, height: 0, tiles: null, days: [] }));
      this.relayout();
      this.error = null;
      this.generation++;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  setWidth(width: number): void {
    if (width > 0 && Math.abs(width - this.width) >= 1) {
      this.width = width;
      this.relayout();
    }
  }

  /** Fetches a month once; concurrent callers share the request. */
  ensure(key: string): Promise<void> {
    if (this.raw.has(key)) return Promise.resolve();
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = api
        .bucket(this.filter, key)
        .then((b) => {
          this.raw.set(key, toRaw(b));
          this.relayout();
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Sections overlapping [from, to) in content pixels. */
  visible(from: number, to: number): Section[] {
    const out: Section[] = [];
    for (const s of this.sections) {
      if (s.top > to) break;
      if (s.top + s.height >= from) out.push(s);
    }
    return out;
  }

  /** Every loaded asset id in display order (for range selection and the viewer). */
  orderedIds(): string[] {
    return this.sections.flatMap((s) => (s.tiles ?? []).map((t) => t.id));
  }

  /** Where a loaded asset is laid out: its month (and that month's index) and its tile. */
  locate(id: string): { index: number; section: Section; tile: Tile } | null {
    for (const [index, section] of this.sections.entries()) {
      const tile = section.tiles?.find((t) => t.id === id);
      if (tile) return { index, section, tile };
    }
    return null;
  }

  /** The asset before or after `id`, fetching the neighbouring month when needed. */
  async neighbour(id: string, step: 1 | -1): Promise<string | null> {
    const here = this.locate(id);
    if (!here) return null;
    const tiles = here.section.tiles ?? [];
    const at = tiles.indexOf(here.tile) + step;
    if (at >= 0 && at < tiles.length) return tiles[at]?.id ?? null;
    const loaded = await this.tilesOf(this.sections[here.index + step]);
    return (step === 1 ? loaded[0] : loaded[loaded.length - 1])?.id ?? null;
  }

  /**
   * The asset in the row above (-1) or below (1) `id` whose middle is
   * nearest to its middle, fetching the neighbouring month when that row
   * is in it.
   */
  async rowNeighbour(id: string, step: 1 | -1): Promise<string | null> {
    const here = this.locate(id);
    if (!here) return null;
    const { top, left, width } = here.tile;
    let candidates = (here.section.tiles ?? []).filter((t) => (step === 1 ? t.top > top : t.top < top));
    if (candidates.length === 0) candidates = await this.tilesOf(this.sections[here.index + step]);
    return nearestInNextRow(candidates, left + width / 2, step)?.id ?? null;
  }

  /** The first (-1) or last (1) asset of the whole timeline, fetching its month. */
  async end(step: 1 | -1): Promise<string | null> {
    const tiles = await this.tilesOf(this.sections[step === 1 ? this.sections.length - 1 : 0]);
    return (step === 1 ? tiles[tiles.length - 1] : tiles[0])?.id ?? null;
  }

  /** A month's tiles, fetching it first if needed; none for no month. */
  private async tilesOf(section: Section | undefined): Promise<Tile[]> {
    if (!section) return [];
    await this.ensure(section.key);
    // Fetching lays every month out again: read the month anew.
    return this.sections.find((s) => s.key === section.key)?.tiles ?? [];
  }

  private estimate(count: number, rowHeight: number): number {
    const perRow = Math.max(1, Math.floor(this.width / (rowHeight * 1.4 + GAP)));
    const rows = Math.ceil(count / perRow);
    // Roughly one day heading per few rows; corrected once the month loads.
    return MONTH_HEADER + rows * (rowHeight + GAP) + Math.min(rows, 6) * DAY_HEADER;
  }

  private layoutMonth(raw: Raw, rowHeight: number): { tiles: Tile[]; days: DayHeader[]; height: number } {
    const tiles: Tile[] = [];
    const days: DayHeader[] = [];
    let top = MONTH_HEADER;
    let start = 0;
    while (start < raw.ids.length) {
      const day = localDay(raw.fileCreatedAt[start] ?? '', raw.offsets[start] ?? 0);
      let end = start + 1;
      while (end < raw.ids.length && localDay(raw.fileCreatedAt[end] ?? '', raw.offsets[end] ?? 0) === day) end++;
      const label = dayLabel(day);
      days.push({ label, top });
      top += DAY_HEADER;
      const { boxes, height } = justify(raw.ratios.slice(start, end), this.width, rowHeight, GAP);
      boxes.forEach((box, i) => {
        const n = start + i;
        tiles.push({
          id: raw.ids[n] ?? '',
          left: box.left,
          top: top + box.top,
          width: box.width,
          height: box.height,
          isImage: raw.isImage[n] ?? true,
          isFavorite: raw.isFavorite[n] ?? false,
          ownerId: raw.ownerIds[n] ?? '',
          duration: durationMs(raw.duration[n]),
          day: label,
        });
      });
      top += height + GAP;
      start = end;
    }
    return { tiles, days, height: top };
  }

  private relayout(): void {
    if (this.width <= 0) return;
    const rowHeight = rowHeightFor(this.width);
    let top = 0;
    this.sections = this.sections.map((s) => {
      const raw = this.raw.get(s.key);
      const section: Section = raw
        ? { ...s, top, ...this.layoutMonth(raw, rowHeight) }
        : { ...s, top, tiles: null, days: [], height: this.estimate(s.count, rowHeight) };
      top += section.height + SECTION_GAP;
      return section;
    });
    this.totalHeight = Math.max(0, top - SECTION_GAP);
  }
}
