import type { MapMarker } from './types';

// Maps are drawn without tiles (the box may have no internet, and a
// visitor's browser should not tell a tile server where the family's
// photos were taken): an equirectangular plane where x is longitude and y
// is minus latitude, with a graticule and a rough outline of the land.

/** What a map shows, in degrees. */
export interface View {
  west: number;
  south: number;
  east: number;
  north: number;
}

export const WORLD: View = { west: -180, south: -90, east: 180, north: 90 };

/** The view centred on a point, `span` degrees of longitude wide (2:1, like the world). */
export function around(lon: number, lat: number, span: number): View {
  const w = Math.min(360, Math.max(span, 0.02));
  const h = w / 2;
  const cx = Math.min(180 - w / 2, Math.max(-180 + w / 2, lon));
  const cy = Math.min(90 - h / 2, Math.max(-90 + h / 2, lat));
  return { west: cx - w / 2, east: cx + w / 2, south: cy - h / 2, north: cy + h / 2 };
}

/** Where a point falls in the view, in percent from the top-left corner. */
export const place = (v: View, lon: number, lat: number) => ({
  left: ((lon - v.west) / (v.east - v.west)) * 100,
  top: ((v.north - lat) / (v.north - v.south)) * 100,
});

export const inView = (v: View, lon: number, lat: number) => lon >= v.west && lon <= v.east && lat >= v.south && lat <= v.north;

/** Graticule spacing giving a handful of lines across the view. */
export function gridStep(v: View): number {
  const span = v.east - v.west;
  return [30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01].find((s) => span / s <= 14) ?? 0.01;
}

export interface Cluster {
  /** The mean position of its markers. */
  lon: number;
  lat: number;
  ids: string[];
  /** The smallest view holding all of them. */
  bounds: View;
}

/**
 * Markers grouped by a grid of `cells` squares across the view's width, so
 * a thousand photos from one town are one dot with a count until zoomed in.
 */
export function cluster(markers: MapMarker[], v: View, cells = 24): Cluster[] {
  const size = (v.east - v.west) / cells;
  const groups = new Map<string, MapMarker[]>();
  for (const m of markers) {
    if (!inView(v, m.lon, m.lat)) continue;
    const key = `${Math.floor(m.lon / size)}:${Math.floor(m.lat / size)}`;
    const group = groups.get(key);
    if (group) group.push(m);
    else groups.set(key, [m]);
  }
  return [...groups.values()].map((ms) => ({
    lon: ms.reduce((s, m) => s + m.lon, 0) / ms.length,
    lat: ms.reduce((s, m) => s + m.lat, 0) / ms.length,
    ids: ms.map((m) => m.id),
    bounds: {
      west: Math.min(...ms.map((m) => m.lon)),
      east: Math.max(...ms.map((m) => m.lon)),
      south: Math.min(...ms.map((m) => m.lat)),
      north: Math.max(...ms.map((m) => m.lat)),
    },
  }));
}

/** A view a little larger than `b`, to zoom into a cluster. */
export function fit(b: View): View {
  const span = Math.max(b.east - b.west, 2 * (b.north - b.south)) * 1.6;
  return around((b.west + b.east) / 2, (b.south + b.north) / 2, span);
}

// Continents as a few dozen hand-placed [lon, lat] points each: enough to
// tell where on Earth a dot is, small enough to ship in the bundle.
const LAND = [
  '-168,66 -162,70 -140,70 -125,70 -95,72 -80,73 -62,60 -55,52 -66,45 -70,41 -76,35 -81,31 -80,25 -82,28 -84,30 -90,29 -97,27 -97,22 -92,18 -87,21 -88,15 -83,10 -78,8 -80,8 -90,14 -105,20 -110,23 -117,32 -124,40 -124,48 -130,55 -140,60 -150,60 -158,57 -165,60',
  '-78,8 -75,11 -62,11 -50,0 -35,-5 -39,-13 -41,-22 -48,-26 -53,-34 -58,-38 -65,-41 -68,-50 -70,-55 -74,-50 -73,-40 -71,-30 -70,-18 -76,-14 -81,-5 -80,0 -77,4',
  '-10,36 -9,43 -2,44 -4,48 2,51 8,54 10,57 5,62 15,69 28,71 40,67 60,69 70,73 80,73 100,78 115,74 140,72 160,70 180,68 180,62 163,60 156,51 141,47 135,43 129,35 122,31 122,25 110,21 108,16 104,9 100,13 98,8 103,1 98,16 92,22 88,22 80,15 77,8 72,20 67,25 57,25 50,30 48,28 56,24 59,22 52,16 43,13 39,21 34,28 32,31 35,36 27,37 26,40 23,36 20,40 13,45 18,40 15,38 12,42 8,44 3,43 -1,37 -6,36',
  '-17,21 -6,36 10,37 11,33 20,31 32,31 34,28 43,12 51,12 42,-1 40,-11 35,-24 32,-29 20,-35 18,-32 12,-18 14,-10 9,-1 9,4 4,6 -8,4 -13,8 -17,14',
  '113,-22 114,-34 118,-35 130,-32 135,-35 140,-38 147,-39 151,-34 153,-27 146,-19 142,-11 136,-12 130,-12 123,-17',
  '-73,78 -60,82 -30,83 -20,75 -22,70 -42,60 -52,64 -56,72',
  '-5,50 1,51 2,53 -2,56 -3,59 -6,57 -5,54 -3,54 -5,52',
  '130,31 135,34 140,36 142,40 140,42 141,45 145,43 140,35 132,33',
  '44,-25 47,-25 50,-15 49,-12 44,-17',
  '172,-34 178,-38 175,-41 167,-46 171,-44 174,-41',
  '95,5 106,-6 115,-8 120,-9 110,-7 105,-6 98,0',
  '109,2 119,7 119,0 116,-4 110,-3',
  '-180,-85 -180,-78 -60,-72 -60,-63 -55,-64 -70,-70 0,-70 60,-67 120,-66 170,-72 180,-78 180,-85',
];

/** The land outlines as SVG polygon `points` in map coordinates (y = -latitude). */
export const landPolygons = LAND.map((ring) =>
  ring
    .split(' ')
    .map((p) => {
      const [lon, lat] = p.split(',');
      return `${lon},${-Number(lat)}`;
    })
    .join(' '),
);
