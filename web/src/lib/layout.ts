export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

// Panoramas and slivers would take a whole row or vanish; clamp their share.
const MIN_RATIO = 0.5;
const MAX_RATIO = 3;

/**
 * Justified rows: fill each row with pictures at `targetHeight` until it
 * overflows `width`, then scale the row so it spans the width exactly. The
 * last row keeps the target height rather than blowing up a lone picture.
 */
export function justify(ratios: readonly number[], width: number, targetHeight: number, gap: number): { boxes: Box[]; height: number } {
  const boxes: Box[] = [];
  let top = 0;
  let row: number[] = [];
  let rowWidth = 0;

  const place = (height: number) => {
    let left = 0;
    for (const r of row) {
      const w = r * height;
      boxes.push({ left, top, width: w, height });
      left += w + gap;
    }
    top += height + gap;
    row = [];
    rowWidth = 0;
  };

  for (const raw of ratios) {
    const r = Math.min(MAX_RATIO, Math.max(MIN_RATIO, Number.isFinite(raw) && raw > 0 ? raw : 1));
    row.push(r);
    rowWidth += r * targetHeight + (row.length > 1 ? gap : 0);
    if (rowWidth >= width) {
      const sum = row.reduce((a, b) => a + b, 0);
      place((width - gap * (row.length - 1)) / sum);
    }
  }
  if (row.length > 0) place(Math.min(targetHeight, (width - gap * (row.length - 1)) / row.reduce((a, b) => a + b, 0)));
  return { boxes, height: Math.max(0, top - gap) };
}

/**
 * Of `beyond` (the boxes past one row, below for 1 or above for -1), the
 * one in the nearest row whose middle is nearest `middle`: where the Up and
 * Down keys go. Boxes of one row share their top.
 */
export function nearestInNextRow<T extends Box>(beyond: readonly T[], middle: number, step: 1 | -1): T | null {
  const rowTop = beyond.reduce((row, b) => (step === 1 ? Math.min(row, b.top) : Math.max(row, b.top)), step * Infinity);
  const distance = (b: Box) => Math.abs(b.left + b.width / 2 - middle);
  let nearest: T | null = null;
  for (const b of beyond) if (b.top === rowTop && (!nearest || distance(b) < distance(nearest))) nearest = b;
  return nearest;
}

/** Row height for a container width: bigger pictures on wide screens, at least three across on a phone. */
export function rowHeightFor(width: number): number {
  if (width < 500) return Math.max(90, Math.floor(width / 3.2));
  return width < 1000 ? 160 : 220;
}
