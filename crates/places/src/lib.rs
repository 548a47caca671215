//! Place names for GPS positions, found on the box: the nearest of
//! GeoNames' ~145,000 towns of 1,000 people or more (the table the
//! `reverse_geocoder` crate ships), as Immich names a photo's place from
//! the nearest GeoNames town.
//!
//! The table costs about 50 MB and a fraction of a second to load, so it
//! loads on the first lookup and is freed when lookups stop
//! ([`Places::unload_if_idle`]): an idle box keeps nothing of it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reverse_geocoder::ReverseGeocoder;

/// Farther than this from any town, a position gets no place name (open
/// sea, wilderness): Immich's limit too.
const MAX_DISTANCE_KM: f64 = 25.0;
const EARTH_RADIUS_KM: f64 = 6371.0;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub city: String,
    /// The region (state, province, county), when GeoNames names one.
    pub state: Option<String>,
    pub country: String,
}

#[derive(Default)]
pub struct Places {
    loaded: Mutex<Option<Loaded>>,
}

struct Loaded {
    geocoder: Arc<ReverseGeocoder>,
    last_used: Instant,
}

impl Places {
    pub fn new() -> Self {
        Self::default()
    }

    /// The place at a position, or `None` when no town is near or the
    /// position is not one.
    pub fn lookup(&self, latitude: f64, longitude: f64) -> Option<Place> {
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return None;
        }
        let geocoder = self.geocoder();
        let found = geocoder.search((latitude, longitude));
        // The tree measures the squared straight-line distance between
        // points on the unit sphere; this turns it into kilometres along
        // the surface.
        let km = 2.0 * (found.distance.sqrt() / 2.0).min(1.0).asin() * EARTH_RADIUS_KM;
        if km > MAX_DISTANCE_KM {
            return None;
        }
        let record = found.record;
        let country = isocountry::CountryCode::for_alpha2(&record.cc).map_or_else(|_| record.cc.clone(), |c| c.name().to_owned());
        Some(Place {
            city: record.name.clone(),
            state: Some(record.admin1.clone()).filter(|s| !s.is_empty()),
            country,
        })
    }

    /// Frees the table when it has not been used for `idle`; true when it did.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        let mut slot = self.lock();
        if slot.as_ref().is_some_and(|l| l.last_used.elapsed() >= idle) {
            *slot = None;
            tracing::info!("unloaded the place-name table");
            return true;
        }
        false
    }

    pub fn is_loaded(&self) -> bool {
        self.lock().is_some()
    }

    fn geocoder(&self) -> Arc<ReverseGeocoder> {
        let mut slot = self.lock();
        let loaded = slot.get_or_insert_with(|| {
            let started = Instant::now();
            let geocoder = Arc::new(ReverseGeocoder::new());
            tracing::info!(ms = started.elapsed().as_millis() as u64, "loaded the place-name table");
            Loaded {
                geocoder,
                last_used: started,
            }
        });
        loaded.last_used = Instant::now();
        loaded.geocoder.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Loaded>> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_in_a_town_is_named_with_its_region_and_country() {
        let places = Places::new();
        let manhattan = places.lookup(40.7831, -73.9712).unwrap();
        assert_eq!(
            manhattan,
            Place {
                city: "Manhattan".into(),
                state: Some("New York".into()),
                country: "United States of America".into()
            }
        );
        assert_eq!(places.lookup(35.6762, 139.6503).unwrap().country, "Japan");
    }

    #[test]
    fn open_sea_and_impossible_positions_have_no_place() {
        let places = Places::new();
        assert_eq!(places.lookup(0.0, -30.0), None, "mid-Atlantic");
        assert_eq!(places.lookup(91.0, 0.0), None);
        assert_eq!(places.lookup(f64::NAN, 0.0), None);
        assert_eq!(places.lookup(0.0, f64::INFINITY), None);
    }

    #[test]
    fn the_table_loads_on_first_use_and_is_freed_when_idle() {
        let places = Places::new();
        assert!(!places.is_loaded());
        places.lookup(48.8584, 2.2945);
        assert!(places.is_loaded());
        assert!(!places.unload_if_idle(Duration::from_secs(3600)), "just used");
        assert!(places.unload_if_idle(Duration::ZERO));
        assert!(!places.is_loaded());
    }
}
