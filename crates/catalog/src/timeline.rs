//! The timeline: month buckets with counts, and the assets of one month.

use std::sync::Barrier;

use crate::rusqlite::{Connection, Row, params};
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

    /// Partners' photos join only the main timeline, not trash, archive or
    /// favourites.
    fn partners_join(&self) -> bool {
        self.with_partners && !self.trashed && self.visibility.is_none() && self.favorite.is_none()
    }

    /// Whose assets, `?1` being the user. A plain equality when alone keeps
    /// SQLite on the owner index.
    fn owners(&self) -> &'static str {
        if self.partners_join() {
            "owner_id IN (SELECT ?1 UNION SELECT shared_by_id FROM partners WHERE shared_with_id = ?1 AND in_timeline)"
        } else {
            "owner_id = ?1"
        }
    }
}

/// One asset as the timeline grid needs it, borrowed from the row being
/// read: a month of a large library is thousands of assets, handed on one
/// at a time instead of copied.
#[derive(Debug, Clone, Copy)]
pub struct TimelineAsset<'r> {
    pub id: &'r str,
    pub owner_id: &'r str,
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
    pub live_photo_video_id: Option<&'r str>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub city: Option<&'r str>,
    pub country: Option<&'r str>,
}

/// What a month's filter decides for all its assets, so that no row is
/// asked for it: each column read costs SQLite about as much as stepping
/// to the next row.
struct Fixed<'f> {
    owner_id: Option<&'f str>,
    visibility: Option<Visibility>,
    trashed: bool,
    /// Whether the caller wants coordinates, which only a map needs.
    coordinates: bool,
}

impl<'f> Fixed<'f> {
    fn new(owner_id: &'f str, filter: &TimelineFilter, coordinates: bool) -> Self {
        let own = filter.album_id.is_none();
        Fixed {
            owner_id: (own && !filter.partners_join()).then_some(owner_id),
            visibility: (own && !filter.trashed).then(|| filter.visibility.unwrap_or(Visibility::Timeline)),
            trashed: filter.trashed,
            coordinates,
        }
    }

    /// The columns to select: [`COLUMNS`], then the owner, visibility and
    /// coordinates, `NULL` where not read.
    fn columns(&self) -> String {
        let owner = if self.owner_id.is_some() { "NULL" } else { "a.owner_id" };
        let visibility = if self.visibility.is_some() { "NULL" } else { "a.visibility" };
        let coordinates = if self.coordinates {
            "a.place_latitude, a.place_longitude"
        } else {
            "NULL, NULL"
        };
        format!("{COLUMNS}, {owner}, {visibility}, {coordinates}")
    }

    fn asset<'r>(&self, r: &'r Row) -> crate::rusqlite::Result<TimelineAsset<'r>>
    where
        'f: 'r,
    {
        Ok(TimelineAsset {
            id: r.get_ref(0)?.as_str()?,
            is_image: r.get_ref(1)?.as_str()? == "IMAGE",
            is_favorite: r.get(2)?,
            taken_at: r.get(3)?,
            local_taken_at: r.get(4)?,
            created_at: r.get(5)?,
            width: r.get(6)?,
            height: r.get(7)?,
            duration_ms: r.get(8)?,
            live_photo_video_id: r.get_ref(9)?.as_str_or_null()?,
            city: r.get_ref(10)?.as_str_or_null()?,
            country: r.get_ref(11)?.as_str_or_null()?,
            owner_id: match self.owner_id {
                Some(owner) => owner,
                None => r.get_ref(12)?.as_str()?,
            },
            visibility: match self.visibility {
                Some(visibility) => visibility,
                None => r.get(13)?,
            },
            is_trashed: self.trashed,
            latitude: if self.coordinates { r.get(14)? } else { None },
            longitude: if self.coordinates { r.get(15)? } else { None },
        })
    }
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

    /// Reads the assets captured (wall clock) in `[from, to)`, newest
    /// first, with their coordinates if asked for. The month is read in up
    /// to `parts.len()` consecutive spans of time at once, each on its own
    /// connection and thread; `each` gets every asset with its span's part,
    /// the first part the newest span. All spans see one snapshot of the
    /// catalog. While a writer is at work, or connections are short, the
    /// first part gets the whole month.
    pub fn timeline_bucket<P: Send>(
        &self,
        owner_id: &str,
        filter: &TimelineFilter,
        (from, to): (Millis, Millis),
        coordinates: bool,
        mut parts: Vec<P>,
        each: impl Fn(&mut P, &TimelineAsset<'_>) + Sync,
    ) -> Result<Vec<P>> {
        let fixed = Fixed::new(owner_id, filter, coordinates);
        let month = MonthRead {
            sql: match filter.album_id {
                Some(_) => album_month_sql(&fixed),
                None => month_sql(filter, &fixed),
            },
            key: filter.album_id.as_deref().unwrap_or(owner_id),
            filter,
            fixed,
        };
        let first = self.conn()?;
        let held = if parts.len() > 1 { self.hold_writers()? } else { None };
        if held.is_none() {
            let part = parts.first_mut().expect("at least one part");
            month.span(&first, (from, to), part, &each, Arrival(None))?;
            return Ok(parts);
        }
        let mut conns = vec![first];
        conns.extend(std::iter::from_fn(|| self.idle_conn()).take(parts.len() - 1));
        let ready = Barrier::new(conns.len() + 1);
        let spans = spans(from, to, conns.len());
        std::thread::scope(|s| {
            let readers: Vec<_> = conns
                .into_iter()
                .zip(spans)
                .zip(&mut parts)
                .map(|((conn, span), part)| {
                    let (month, each, ready) = (&month, &each, &ready);
                    s.spawn(move || month.span(&conn, span, part, each, Arrival(Some(ready))))
                })
                .collect();
            Arrival(Some(&ready)).now();
            drop(held);
            readers
                .into_iter()
                .try_for_each(|r| r.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })?;
        Ok(parts)
    }
}

/// One month being read: its statement, what it is bound to and what its
/// filter fixes, shared by the spans read at once.
struct MonthRead<'a> {
    sql: String,
    /// The owner, or the album.
    key: &'a str,
    filter: &'a TimelineFilter,
    fixed: Fixed<'a>,
}

impl MonthRead<'_> {
    /// Reads `[from, to)` into `part`. Its first step pins the snapshot of
    /// the catalog the span sees; only then does it arrive.
    fn span<P>(
        &self,
        conn: &Connection,
        (from, to): (Millis, Millis),
        part: &mut P,
        each: &impl Fn(&mut P, &TimelineAsset<'_>),
        mut arrival: Arrival,
    ) -> Result<()> {
        let f = self.filter;
        let mut stmt = conn.prepare_cached(&self.sql)?;
        let mut rows = stmt.query(params![self.key, f.trashed, f.visibility(), from, to, f.favorite])?;
        let first = rows.next();
        arrival.now();
        let Some(row) = first? else {
            return Ok(());
        };
        each(part, &self.fixed.asset(row)?);
        while let Some(row) = rows.next()? {
            each(part, &self.fixed.asset(row)?);
        }
        Ok(())
    }
}

/// A span's arrival where every span has its snapshot, made on every path,
/// errors and panics included, so that no span waits for ever.
struct Arrival<'b>(Option<&'b Barrier>);

impl Arrival<'_> {
    fn now(&mut self) {
        if let Some(barrier) = self.0.take() {
            barrier.wait();
        }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.now();
    }
}

/// `[from, to)` cut into `n` consecutive spans of about equal length,
/// newest first.
fn spans(from: Millis, to: Millis, n: usize) -> impl Iterator<Item = (Millis, Millis)> {
    let n = n as i64;
    let at = move |k: i64| from + (to - from) * k / n;
    (0..n).rev().map(move |k| (at(k), at(k + 1)))
}

/// The columns a timeline month shows, but for those its filter may fix
/// ([`Fixed`]): all of them are in the covering index `assets_timeline`
/// (migration 19), the place being the asset row's copy of its EXIF's.
const COLUMNS: &str = "a.id, a.kind, a.is_favorite, a.taken_at, a.local_taken_at, a.created_at, a.width, a.height, \
    a.duration_ms, a.live_photo_video_id, a.place_city, a.place_country";

/// Every month's statement is bound to the same parameters: ?1 the owner
/// (or the album), ?2 trashed, ?3 visibility, ?4..?5 the span, ?6
/// favourites only.
///
/// One month of the user's own timeline. Spelled so SQLite walks the
/// (owner, deleted_at, visibility, local_taken_at) index straight to the
/// month and reads every column from it: one index range, never a table.
fn month_sql(filter: &TimelineFilter, fixed: &Fixed) -> String {
    let state = if filter.trashed {
        "a.deleted_at IS NOT NULL"
    } else {
        "a.deleted_at IS NULL AND a.visibility = ?3"
    };
    format!(
        "SELECT {columns} FROM assets a
         WHERE a.{owners} AND {state} AND a.local_taken_at >= ?4 AND a.local_taken_at < ?5
           AND (?6 IS NULL OR a.is_favorite = ?6)
         ORDER BY a.local_taken_at DESC, a.id",
        columns = fixed.columns(),
        owners = filter.owners()
    )
}

/// One month of an album, bound as [`month_sql`] is.
fn album_month_sql(fixed: &Fixed) -> String {
    format!(
        "SELECT {} FROM album_assets aa JOIN assets a ON a.id = aa.asset_id
         WHERE aa.album_id = ?1 AND (a.deleted_at IS NOT NULL) = ?2 AND (?6 IS NULL OR a.is_favorite = ?6)
           AND a.local_taken_at >= ?4 AND a.local_taken_at < ?5
         ORDER BY a.local_taken_at DESC, a.id",
        fixed.columns()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AssetUpdate;
    use crate::assets::tests::{new_asset, user};

    const DAY: i64 = 86_400_000;

    /// January 1970 of `owner`'s timeline read in `parts` spans: what
    /// `row` makes of each asset, in order.
    fn january<T: Send>(
        cat: &Catalog,
        owner: &str,
        filter: &TimelineFilter,
        parts: usize,
        coordinates: bool,
        row: impl Fn(&TimelineAsset) -> T + Sync,
    ) -> Vec<T> {
        let parts = (0..parts).map(|_| Vec::new()).collect();
        cat.timeline_bucket(owner, filter, (0, 31 * DAY), coordinates, parts, |part, t| part.push(row(t)))
            .unwrap()
            .into_iter()
            .flatten()
            .collect()
    }

    #[test]
    fn a_month_is_one_range_of_the_covering_index() {
        let (_d, cat) = crate::test_catalog();
        let conn = cat.conn().unwrap();
        let main = TimelineFilter::default();
        let sql = format!("EXPLAIN QUERY PLAN {}", month_sql(&main, &Fixed::new("owner", &main, true)));
        let plan: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map(params!["owner", false, "timeline", 0, 1, None::<bool>], |r| r.get(3))
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
            let month = january(cat, &a, &TimelineFilter::default(), 1, true, |t| {
                (t.latitude, t.longitude, t.city.map(String::from), t.country.map(String::from))
            });
            month.into_iter().next().expect("the asset is in January 1970")
        };
        assert_eq!(place(&cat), (None, None, None, None));

        let exif = crate::Exif {
            latitude: Some(48.85),
            longitude: Some(2.35),
            ..Default::default()
        };
        cat.set_metadata(&id, &exif, None, None).unwrap();
        assert_eq!(place(&cat), (Some(48.85), Some(2.35), None, None));
        let without = january(&cat, &a, &TimelineFilter::default(), 1, false, |t| (t.latitude, t.longitude));
        assert_eq!(without, [(None, None)], "coordinates only when asked for");

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
        let jan = january(&cat, &a, &TimelineFilter::default(), 1, false, |t| {
            (t.local_taken_at, t.owner_id.to_string())
        });
        assert_eq!(jan, [3 * DAY, 2 * DAY, DAY].map(|t| (t, a.clone())));
    }

    #[test]
    fn each_asset_says_its_own_owner_visibility_and_trash_where_the_filter_fixes_them() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let add = |owner: &str, seed: &[u8]| cat.commit_asset(&new_asset(owner, seed)).unwrap().unwrap().id;
        let (mine, archived, binned, partners) = (add(&a, b"1"), add(&a, b"2"), add(&a, b"3"), add(&b, b"4"));
        let archive = AssetUpdate {
            visibility: Some(Visibility::Archive),
            ..Default::default()
        };
        cat.update_asset(&a, &archived, &archive).unwrap();
        cat.update_asset(&a, &binned, &archive).unwrap();
        cat.trash_assets(&a, std::slice::from_ref(&binned)).unwrap();
        cat.create_partner(&b, &a).unwrap();
        cat.set_partner_in_timeline(&a, &b, true).unwrap();
        let album = cat.create_album(&a, "A", "", &[mine.clone(), archived.clone()]).unwrap();

        let month = |filter: TimelineFilter| {
            let mut seen = january(&cat, &a, &filter, 1, false, |t| {
                (t.id.to_string(), t.owner_id.to_string(), t.visibility, t.is_trashed)
            });
            seen.sort_by(|x, y| x.0.cmp(&y.0));
            seen
        };
        let expect = |mut rows: Vec<(&String, &String, Visibility, bool)>| {
            rows.sort_by(|x, y| x.0.cmp(y.0));
            rows.into_iter()
                .map(|(id, owner, v, t)| (id.clone(), owner.clone(), v, t))
                .collect::<Vec<_>>()
        };
        let timeline = (&mine, &a, Visibility::Timeline, false);
        assert_eq!(month(TimelineFilter::default()), expect(vec![timeline]));
        assert_eq!(
            month(TimelineFilter {
                with_partners: true,
                ..Default::default()
            }),
            expect(vec![timeline, (&partners, &b, Visibility::Timeline, false)])
        );
        assert_eq!(
            month(TimelineFilter {
                trashed: true,
                ..Default::default()
            }),
            expect(vec![(&binned, &a, Visibility::Archive, true)])
        );
        assert_eq!(
            month(TimelineFilter {
                visibility: Some(Visibility::Archive),
                ..Default::default()
            }),
            expect(vec![(&archived, &a, Visibility::Archive, false)])
        );
        assert_eq!(
            month(TimelineFilter {
                album_id: Some(album.id),
                ..Default::default()
            }),
            expect(vec![timeline, (&archived, &a, Visibility::Archive, false)])
        );
    }

    /// `owner`'s assets taken on each of `days` of January 1970.
    fn taken_on(cat: &Catalog, owner: &str, days: impl IntoIterator<Item = i64>) -> Vec<String> {
        days.into_iter()
            .enumerate()
            .map(|(i, day)| {
                let mut new = new_asset(owner, format!("{owner}{i}").as_bytes());
                new.file_created_at = day * DAY;
                cat.commit_asset(&new).unwrap().unwrap().id
            })
            .collect()
    }

    #[test]
    fn a_month_read_in_spans_at_once_is_the_month_read_whole() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        taken_on(&cat, &a, (0..31).chain([3, 3, 17, 30]));
        let main = TimelineFilter::default();
        let whole = january(&cat, &a, &main, 1, false, |t| t.id.to_string());
        assert_eq!(whole.len(), 35);
        for parts in [2, 3, 4] {
            assert_eq!(january(&cat, &a, &main, parts, false, |t| t.id.to_string()), whole, "{parts} parts");
        }
        let parts = cat
            .timeline_bucket(&a, &main, (0, 31 * DAY), false, vec![0; 3], |n, _| *n += 1)
            .unwrap();
        assert!(parts.iter().all(|n| *n > 0), "each span read its part: {parts:?}");
    }

    #[test]
    fn a_month_is_read_whole_by_one_connection_while_a_writer_is_at_work() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        taken_on(&cat, &a, [1, 10, 20, 30]);
        let writer = cat.conn().unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let parts = cat
            .timeline_bucket(&a, &TimelineFilter::default(), (0, 31 * DAY), false, vec![0; 3], |n, _| *n += 1)
            .unwrap();
        writer.execute_batch("ROLLBACK").unwrap();
        assert_eq!(parts, [4, 0, 0]);
    }

    #[test]
    fn spans_read_at_once_see_one_snapshot_while_assets_move_between_them() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const MOVES: usize = 300;
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let ids = taken_on(&cat, &a, [2, 8, 22, 28]);
        let mut expected = ids.clone();
        expected.sort();
        let moves = AtomicUsize::new(0);
        std::thread::scope(|s| {
            // Each commit moves an asset across the middle of the month,
            // from one span to the other, and another back.
            s.spawn(|| {
                for day in [5, 25].into_iter().cycle().take(MOVES) {
                    let (when, other) = (day * DAY, (30 - day) * DAY);
                    cat.set_metadata(&ids[0], &Default::default(), Some((when, when)), None).unwrap();
                    cat.set_metadata(&ids[3], &Default::default(), Some((other, other)), None).unwrap();
                    moves.fetch_add(1, Ordering::Relaxed);
                }
            });
            let mut reads = 0;
            while moves.load(Ordering::Relaxed) < MOVES {
                let mut seen = january(&cat, &a, &TimelineFilter::default(), 2, false, |t| t.id.to_string());
                seen.sort();
                assert_eq!(seen, expected, "read {reads}, after {} moves", moves.load(Ordering::Relaxed));
                reads += 1;
            }
        });
    }
}
