const monthFormat = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

// Capture times are shown in the wall-clock time of where they were taken:
// the server gives UTC plus an offset, so dates are formatted as UTC after
// adding that offset.
export const monthLabel = (bucket: string) => monthFormat.format(new Date(`${bucket.slice(0, 10)}T00:00:00Z`));
export const dayLabel = (localDay: string) => dayFormat.format(new Date(`${localDay}T00:00:00Z`));
export const localDateTimeLabel = (iso: string) => dateTimeFormat.format(new Date(iso));

/** `YYYY-MM-DD` of an instant shifted by its capture offset. */
export function localDay(utcIso: string, offsetHours: number): string {
  return new Date(Date.parse(utcIso) + offsetHours * 3_600_000).toISOString().slice(0, 10);
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

const QUEUE_LABELS: Record<string, string> = {
  metadataExtraction: 'Reading metadata',
  thumbnailGeneration: 'Thumbnails',
  videoConversion: 'Video conversion',
  ocr: 'Text recognition',
  faceDetection: 'Face detection',
  smartSearch: 'Search by content',
  duplicateDetection: 'Duplicate detection',
  facialRecognition: 'Face recognition',
};

/** A background queue (or machine-learning task) as people call it; one not known here as the server names it. */
export const queueLabel = (name: string) => QUEUE_LABELS[name] ?? name;
