//! The timeline: month buckets with counts, and the assets of one month.

use std::collections::HashSet;
use std::sync::Arc;

use crate::rusqlite::{Row, params};
use crate::{Catalog, Millis, Result, Visibility};

/// Which assets a timeline shows.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    pub trashed: bool,
    /// `None` shows the main timeline (visibility `timeline`).
    pub visibility: Option<Visibility>,
    pub favorite: Option<bool>,
    /// Only this album's assets (the caller has checked access).
    pub album_id: Option<String>,
    /// Also the main timelines of partners the user chose to show in theirs.
    pub with_partners: bool,
}

impl TimelineFilter {
    fn visibility(&self) -> &'static str {
        self.visibility.unwrap_or(Visibility::Timeline).as_str()
    }

    /// Whose assets, `?1` being the user. Partners' photos join only the
    /// main timeline, not trash, archive or favourites. A plain equality
    /// when alone keeps SQLite on the owner index.
    fn owners(&self) -> &'static str {
        if self.with_partners && !self.trashed && self.visibility.is_none() && self.favorite.is_none() {
            "owner_id IN (SELECT ?1 UNION SELECT shared_by_id FROM partners WHERE shared_with_id = ?1 AND in_timeline)"
        } else {
            "owner_id = ?1"
        }
    }
}

/// One asset as the timeline grid needs it. The values a month repeats
/// (its owner, its places) are shared between its assets.
#[derive(Debug, Clone)]
pub struct TimelineAsset {
    pub id: String,
    pub owner_id: Arc<str>,
    pub is_image: bool,
    pub is_favorite: bool,
    pub is_trashed: bool,
    pub visibility: Visibility,
    pub taken_at: Millis,
    pub local_taken_at: Millis,
    pub created_at: Millis,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub live_photo_video_id: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub city: Option<Arc<str>>,
    pub country: Option<Arc<str>>,
}

/// One copy of each text a month's rows repeat.
#[derive(Default)]
struct Shared(HashSet<Arc<str>>);

impl Shared {
    fn text(&mut self, r: &Row, column: usize) -> crate::rusqlite::Result<Arc<str>> {
        let text = r.get_ref(column)?.as_str()?;
        if let Some(shared) = self.0.get(text) {
            return Ok(shared.clone());
        }
        let shared: Arc<str> = text.into();
        self.0.insert(shared.clone());
        Ok(shared)
    }

    fn optional(&mut self, r: &Row, column: usize) -> crate::rusqlite::Result<Option<Arc<str>>> {
        if r.get_ref(column)?.data_type() == crate::rusqlite::types::Type::Null {
            return Ok(None);
        }
        self.text(r, column).map(Some)
    }
}

fn asset_from_row(r: &Row, shared: &mut Shared) -> crate::rusqlite::Result<TimelineAsset> {
    Ok(TimelineAsset {
        id: r.get(0)?,
        owner_id: shared.text(r, 1)?,
        is_image: r.get_ref(2)?.as_str()? == "IMAGE",
        is_favorite: r.get(3)?,
        is_trashed: r.get(4)?,
        visibility: r.get(5)?,
        taken_at: r.get(6)?,
        local_taken_at: r.get(7)?,
        created_at: r.get(8)?,
        width: r.get(9)?,
        height: r.get(10)?,
        duration_ms: r.get(11)?,
        live_photo_video_id: r.get(12)?,
        latitude: r.get(13)?,
        longitude: r.get(14)?,
        city: shared.optional(r, 15)?,
        country: shared.optional(r, 16)?,
    })
}

impl Catalog {
    /// Months ("YYYY-MM-01") that hold assets, newest first, with counts.
    pub fn timeline_buckets(&self, owner_id: &str, filter: &TimelineFilter) -> Result<Vec<(String, i64)>> {
        let conn = self.conn()?;
        let rows = if let Some(album) = &filter.album_id {
            let mut stmt = conn.prepare_cached(
                "SELECT strftime('%Y-%m-01', a.local_taken_at / 1000, 'unixepoch') AS month, count(*)
                 FROM album_assets aa JOIN assets a ON a.id = aa.asset_id
                 WHERE aa.album_id = ?1 AND (a.deleted_at IS NOT NULL) = ?2 AND (?3 IS NULL OR a.is_favorite = ?3)
                 GROUP BY month ORDER BY month DESC",
            )?;
            stmt.query_map(params![album, filter.trashed, filter.favorite], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        } else {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT month, sum(count) AS n FROM timeline_months
                 WHERE {} AND trashed = ?2 AND (?3 OR visibility = ?4) AND (?5 IS NULL OR favorite = ?5)
                 GROUP BY month HAVING n > 0 ORDER BY month DESC",
                filter.owners()
            ))?;
            // Trash shows every visibility; the timeline only its own.
            stmt.query_map(
                params![owner_id, filter.trashed, filter.trashed, filter.visibility(), filter.favorite],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect::<Result<_, _>>()?
        };
        Ok(rows)
    }

    /// The assets captured (wall clock) in `[from, to)`, newest first.
    pub fn timeline_bucket(&self, owner_id: &str, filter: &TimelineFilter, from: Millis, to: Millis) -> Result<Vec<TimelineAsset>> {
        let conn = self.conn()?;
        let rows = if let Some(album) = &filter.album_id {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM album_assets aa JOIN assets a ON a.id = aa.asset_id
                 WHERE aa.album_id = ?1 AND (a.deleted_at IS NOT NULL) = ?2 AND (?3 IS NULL OR a.is_favorite = ?3)
                   AND a.local_taken_at >= ?4 AND a.local_taken_at < ?5
                 ORDER BY a.local_taken_at DESC, a.id"
            ))?;
            let mut shared = Shared::default();
            stmt.query_map(params![album, filter.trashed, filter.favorite, from, to], |r| {
                asset_from_row(r, &mut shared)
            })?
            .collect::<Result<_, _>>()?
        } else {
            let mut stmt = conn.prepare_cached(&month_sql(filter))?;
            let mut shared = Shared::default();
            stmt.query_map(params![owner_id, filter.visibility(), from, to, filter.favorite], |r| {
                asset_from_row(r, &mut shared)
            })?
            .collect::<Result<_, _>>()?
        };
        Ok(rows)
    }
}

/// The columns a timeline month shows: all of them are in the covering
/// index `assets_timeline` (migration 19), the place being the asset row's
/// copy of its EXIF's.
const COLUMNS: &str = "a.id, a.owner_id, a.kind, a.is_favorite, a.deleted_at IS NOT NULL, a.visibility, a.taken_at, \
    a.local_taken_at, a.created_at, a.width, a.height, a.duration_ms, a.live_photo_video_id, \
    a.place_latitude, a.place_longitude, a.place_city, a.place_country";

/// One month of the user's own timeline (?1 owner, ?2 visibility, ?3..?4
/// the month, ?5 favourites only). Spelled so SQLite walks the
/// (owner, deleted_at, visibility, local_taken_at) index straight to the
/// month and reads every column from it: one index range, never a table.
fn month_sql(filter: &TimelineFilter) -> String {
    let state = if filter.trashed {
        "a.deleted_at IS NOT NULL AND ?2 IS NOT NULL"
    } else {
        "a.deleted_at IS NULL AND a.visibility = ?2"
    };
    format!(
        "SELECT {COLUMNS} FROM assets a
         WHERE a.{owners} AND {state} AND a.local_taken_at >= ?3 AND a.local_taken_at < ?4
           AND (?5 IS NULL OR a.is_favorite = ?5)
         ORDER BY a.local_taken_at DESC, a.id",
        owners = filter.owners()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AssetUpdate;
    use crate::assets::tests::{new_asset, user};

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_month_is_one_range_of_the_covering_index() {
        let (_d, cat) = crate::test_catalog();
        let conn = cat.conn().unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {}", month_sql(&TimelineFilter::default()));
        let plan: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map(params!["owner", "timeline", 0, 1, None::<bool>], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("USING COVERING INDEX assets_timeline"), "{plan}");
        assert_eq!(plan.lines().count(), 1, "nothing but the index is read\n{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort: the index is in the grid's order\n{plan}");
    }

    #[test]
    fn month_counts_follow_inserts_edits_trash_and_deletes() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let mut ids = Vec::new();
        for (i, when) in [0, 40 * DAY, 41 * DAY].into_iter().enumerate() {
            let mut new = new_asset(&a, format!("{i}").as_bytes());
            new.file_created_at = when;
            ids.push(cat.commit_asset(&new).unwrap().unwrap().id);
        }
        let main = TimelineFilter::default();
        assert_eq!(
            cat.timeline_buckets(&a, &main).unwrap(),
            vec![("1970-02-01".into(), 2), ("1970-01-01".into(), 1)]
        );

        cat.update_asset(
            &a,
            &ids[1],
            &AssetUpdate {
                is_favorite: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
        let favs = TimelineFilter {
            favorite: Some(true),
            ..Default::default()
        };
        assert_eq!(cat.timeline_buckets(&a, &favs).unwrap(), vec![("1970-02-01".into(), 1)]);

        cat.update_asset(
            &a,
            &ids[2],
            &AssetUpdate {
                visibility: Some(Visibility::Archive),
                ..Default::default()
            },
        )
        .unwrap();
        cat.trash_assets(&a, std::slice::from_ref(&ids[0])).unwrap();
        assert_eq!(cat.timeline_buckets(&a, &main).unwrap(), vec![("1970-02-01".into(), 1)]);
        let trash = TimelineFilter {
            trashed: true,
            ..Default::default()
        };
        assert_eq!(cat.timeline_buckets(&a, &trash).unwrap(), vec![("1970-01-01".into(), 1)]);

        cat.set_metadata(&ids[1], &Default::default(), Some((400 * DAY, 400 * DAY)), None)
            .unwrap();
        let moved = vec![("1971-02-01".to_string(), 1)];
        assert_eq!(
            cat.timeline_buckets(&a, &main).unwrap(),
            moved,
            "the capture date moved it out of February 1970"
        );
        assert_eq!(cat.timeline_buckets(&a, &favs).unwrap(), moved);

        cat.delete_assets(&a, &ids).unwrap();
        assert!(cat.timeline_buckets(&a, &trash).unwrap().is_empty());
        assert!(
            cat.timeline_buckets(
                &a,
                &TimelineFilter {
                    visibility: Some(Visibility::Archive),
                    ..Default::default()
                }
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn a_months_places_follow_the_exif_they_copy() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let id = cat.commit_asset(&new_asset(&a, b"p")).unwrap().unwrap().id;
        let place = |cat: &Catalog| {
            let month = cat.timeline_bucket(&a, &TimelineFilter::default(), 0, 31 * DAY).unwrap();
            let t = &month[0];
            (
                t.latitude,
                t.longitude,
                t.city.as_deref().map(String::from),
                t.country.as_deref().map(String::from),
            )
        };
        assert_eq!(place(&cat), (None, None, None, None));

        let exif = crate::Exif {
            latitude: Some(48.85),
            longitude: Some(2.35),
            ..Default::default()
        };
        cat.set_metadata(&id, &exif, None, None).unwrap();
        assert_eq!(place(&cat), (Some(48.85), Some(2.35), None, None));

        cat.set_settings(&[(crate::assets::PLACES_BACKFILL, Some("pending"))]).unwrap();
        let named = cat
            .name_missing_places(|_, _| Some(("Paris".into(), None, "France".into())))
            .unwrap();
        assert_eq!(named, 1);
        assert_eq!(place(&cat), (Some(48.85), Some(2.35), Some("Paris".into()), Some("France".into())));

        cat.set_metadata(&id, &crate::Exif::default(), None, None).unwrap();
        assert_eq!(place(&cat), (None, None, None, None), "metadata read again without GPS");
    }

    #[test]
    fn a_bucket_lists_its_months_assets_newest_first_for_the_owner_only() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        for (i, when) in [DAY, 3 * DAY, 2 * DAY, 40 * DAY].into_iter().enumerate() {
            let mut new = new_asset(&a, format!("{i}").as_bytes());
            new.file_created_at = when;
            cat.commit_asset(&new).unwrap().unwrap();
        }
        let mut other = new_asset(&b, b"b");
        other.file_created_at = DAY;
        cat.commit_asset(&other).unwrap().unwrap();
        let jan = cat.timeline_bucket(&a, &TimelineFilter::default(), 0, 31 * DAY).unwrap();
        let times: Vec<_> = jan.iter().map(|t| t.local_taken_at).collect();
        assert_eq!(times, vec![3 * DAY, 2 * DAY, DAY]);
        assert!(jan.iter().all(|t| *t.owner_id == *a));
    }
}
