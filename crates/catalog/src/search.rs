//! Metadata search: an owner's assets filtered by dates, camera, file name,
//! text in the photo, type, flags and albums, a page at a time.

use std::collections::HashSet;

use crate::assets::COLUMNS as ASSET_COLUMNS;
use crate::rusqlite::params_from_iter;
use crate::rusqlite::types::Value as Sql;
use crate::{Asset, AssetKind, Catalog, Millis, Result, Visibility};

#[derive(Debug, Clone, Default)]
pub struct AssetSearch {
    pub taken_after: Option<Millis>,
    pub taken_before: Option<Millis>,
    pub created_after: Option<Millis>,
    pub created_before: Option<Millis>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens_model: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    /// Part of the original file name, any case.
    pub file_name: Option<String>,
    /// Part of the description, any case.
    pub description: Option<String>,
    /// Words found in the photo by text recognition, each anywhere, any case.
    pub ocr: Option<String>,
    pub kind: Option<AssetKind>,
    pub favorite: Option<bool>,
    pub rating: Option<i64>,
    /// `None`: everything but hidden and locked assets.
    pub visibility: Option<Visibility>,
    pub with_deleted: bool,
    /// Assets in any of these albums (the caller checked access).
    pub album_ids: Vec<String>,
    pub not_in_album: bool,
    /// Assets showing every one of these people.
    pub person_ids: Vec<String>,
    pub checksum: Option<Vec<u8>>,
    pub id: Option<String>,
    pub oldest_first: bool,
    /// 1-based page of `size` assets.
    pub page: u32,
    pub size: u32,
}

impl AssetSearch {
    /// The SQL conditions on `assets a LEFT JOIN exif e` and their values.
    fn conditions(&self, owner_id: &str) -> (Vec<String>, Vec<Sql>) {
        let q = self;
        let mut clauses = vec!["a.owner_id = ?".to_string()];
        let mut args: Vec<Sql> = vec![Sql::Text(owner_id.to_string())];
        let mut add = |clause: &str, value: Sql| {
            clauses.push(clause.to_string());
            args.push(value);
        };
        let text = |s: &str| Sql::Text(s.to_string());
        if let Some(t) = q.taken_after {
            add("a.taken_at >= ?", Sql::Integer(t))
        }
        if let Some(t) = q.taken_before {
            add("a.taken_at <= ?", Sql::Integer(t))
        }
        if let Some(t) = q.created_after {
            add("a.created_at >= ?", Sql::Integer(t))
        }
        if let Some(t) = q.created_before {
            add("a.created_at <= ?", Sql::Integer(t))
        }
        if let Some(v) = &q.make {
            add("e.make = ?", text(v))
        }
        if let Some(v) = &q.model {
            add("e.model = ?", text(v))
        }
        if let Some(v) = &q.city {
            add("e.city = ?", text(v))
        }
        if let Some(v) = &q.state {
            add("e.state = ?", text(v))
        }
        if let Some(v) = &q.country {
            add("e.country = ?", text(v))
        }
        if let Some(v) = &q.lens_model {
            add("e.lens_model = ?", text(v))
        }
        // instr, not LIKE: a name with % or _ in it means just that.
        if let Some(v) = &q.file_name {
            add("instr(lower(a.original_file_name), lower(?)) > 0", text(v))
        }
        if let Some(v) = &q.description {
            add("instr(lower(coalesce(e.description, '')), lower(?)) > 0", text(v))
        }
        for word in q.ocr.iter().flat_map(|v| v.split_whitespace()) {
            add(
                "EXISTS (SELECT 1 FROM asset_ocr o WHERE o.asset_id = a.id AND instr(lower(o.text), lower(?)) > 0)",
                text(word),
            )
        }
        if let Some(k) = q.kind {
            add("a.kind = ?", text(k.as_str()))
        }
        if let Some(f) = q.favorite {
            add("a.is_favorite = ?", Sql::Integer(f.into()))
        }
        if let Some(r) = q.rating {
            add("e.rating = ?", Sql::Integer(r))
        }
        if let Some(sum) = &q.checksum {
            add("a.checksum = ?", Sql::Blob(sum.clone()))
        }
        if let Some(id) = &q.id {
            add("a.id = ?", text(id))
        }
        match q.visibility {
            Some(v) => add("a.visibility = ?", text(v.as_str())),
            None => clauses.push("a.visibility IN ('timeline', 'archive')".into()),
        }
        if !q.with_deleted {
            clauses.push("a.deleted_at IS NULL".into());
        }
        if !q.album_ids.is_empty() {
            let marks = vec!["?"; q.album_ids.len()].join(", ");
            clauses.push(format!("a.id IN (SELECT asset_id FROM album_assets WHERE album_id IN ({marks}))"));
            args.extend(q.album_ids.iter().map(|id| text(id)));
        }
        for person in &q.person_ids {
            clauses.push("a.id IN (SELECT asset_id FROM asset_faces WHERE person_id = ?)".into());
            args.push(text(person));
        }
        if q.not_in_album {
            clauses.push("NOT EXISTS (SELECT 1 FROM album_assets aa WHERE aa.asset_id = a.id)".into());
        }
        (clauses, args)
    }
}

impl Catalog {
    /// One page of matches, and whether another page follows.
    pub fn search_assets(&self, owner_id: &str, q: &AssetSearch) -> Result<(Vec<Asset>, bool)> {
        let (clauses, args) = q.conditions(owner_id);
        let size = q.size.clamp(1, 1000);
        let offset = i64::from(q.page.max(1) - 1) * i64::from(size);
        let order = if q.oldest_first { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT a.id FROM assets a LEFT JOIN exif e ON e.asset_id = a.id WHERE {} ORDER BY a.taken_at {order}, a.id LIMIT {} OFFSET {offset}",
            clauses.join(" AND "),
            i64::from(size) + 1
        );
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&sql)?;
        let mut ids: Vec<String> = stmt.query_map(params_from_iter(args), |r| r.get(0))?.collect::<Result<_, _>>()?;
        let more = ids.len() > size as usize;
        ids.truncate(size as usize);
        drop(stmt);
        drop(conn);
        let assets = ids.iter().map(|id| self.asset(id)).collect::<Result<_>>()?;
        Ok((assets, more))
    }

    /// Which assets match the search's filters (its order and page aside),
    /// among `among` or all the owner's, for ranking done elsewhere.
    pub fn matching_assets(&self, owner_id: &str, q: &AssetSearch, among: Option<&[&str]>) -> Result<HashSet<String>> {
        let (clauses, mut args) = q.conditions(owner_id);
        // Candidates come as one JSON array, looked up by id one by one
        // (CROSS JOIN keeps that order): with `id IN (...)` SQLite walks the
        // owner's index instead, every asset of a large library per query.
        let from = match among {
            Some(ids) => {
                args.insert(0, Sql::Text(crate::json_list(ids)));
                "json_each(?) j CROSS JOIN assets a ON a.id = j.value"
            }
            None => "assets a",
        };
        let sql = format!(
            "SELECT a.id FROM {from} LEFT JOIN exif e ON e.asset_id = a.id WHERE {}",
            clauses.join(" AND ")
        );
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&sql)?;
        let found = stmt.query_map(params_from_iter(args), |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(found)
    }
}

/// Which geotagged assets a map shows.
#[derive(Debug, Clone, Default)]
pub struct MapFilter {
    /// Archived assets too, not only the timeline's.
    pub with_archived: bool,
    pub favorite: Option<bool>,
    pub taken_after: Option<Millis>,
    pub taken_before: Option<Millis>,
    /// Also the assets of partners who share with the user and chose to be
    /// in the user's timeline.
    pub with_partners: bool,
    /// Also every asset of the albums the user owns or was shared.
    pub with_shared_albums: bool,
}

/// A geotagged asset and its place name.
#[derive(Debug, Clone, PartialEq)]
pub struct MapMarker {
    pub id: String,
    pub latitude: f64,
    pub longitude: f64,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

impl Catalog {
    /// The user's geotagged assets outside the trash (and partners' and
    /// shared albums' when asked), newest first.
    pub fn map_markers(&self, user_id: &str, f: &MapFilter) -> Result<Vec<MapMarker>> {
        let visibility = if f.with_archived {
            "('timeline', 'archive')"
        } else {
            "('timeline')"
        };
        let sql = format!(
            "SELECT a.id, e.latitude, e.longitude, e.city, e.state, e.country FROM assets a JOIN exif e ON e.asset_id = a.id
             WHERE (a.owner_id = ?1
                    OR (?5 AND a.owner_id IN (SELECT shared_by_id FROM partners WHERE shared_with_id = ?1 AND in_timeline))
                    OR (?6 AND a.id IN (SELECT aa.asset_id FROM album_assets aa JOIN albums al ON al.id = aa.album_id
                                        WHERE al.owner_id = ?1 OR al.id IN (SELECT album_id FROM album_users WHERE user_id = ?1))))
               AND a.deleted_at IS NULL AND a.visibility IN {visibility}
               AND e.latitude IS NOT NULL AND e.longitude IS NOT NULL
               AND (?2 IS NULL OR a.is_favorite = ?2) AND (?3 IS NULL OR a.taken_at >= ?3) AND (?4 IS NULL OR a.taken_at <= ?4)
             ORDER BY a.taken_at DESC"
        );
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&sql)?;
        let args = crate::rusqlite::params![
            user_id,
            f.favorite,
            f.taken_after,
            f.taken_before,
            f.with_partners,
            f.with_shared_albums
        ];
        let rows = stmt.query_map(args, |r| {
            Ok(MapMarker {
                id: r.get(0)?,
                latitude: r.get(1)?,
                longitude: r.get(2)?,
                city: r.get(3)?,
                state: r.get(4)?,
                country: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The distinct values of a place or camera field among the owner's
    /// assets, narrowed by the fields already chosen, sorted: what the
    /// apps offer when the user fills in a search.
    pub fn suggestions(&self, owner_id: &str, field: SuggestionField, within: &SuggestionFilter) -> Result<Vec<String>> {
        let column = field.column();
        let sql = format!(
            "SELECT DISTINCT e.{column} FROM exif e JOIN assets a ON a.id = e.asset_id
             WHERE a.owner_id = ?1 AND a.deleted_at IS NULL AND e.{column} IS NOT NULL AND e.{column} != ''
               AND (?2 IS NULL OR e.country = ?2) AND (?3 IS NULL OR e.state = ?3)
               AND (?4 IS NULL OR e.make = ?4) AND (?5 IS NULL OR e.model = ?5)
             ORDER BY e.{column} LIMIT 1000"
        );
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&sql)?;
        let w = within;
        let rows = stmt.query_map(crate::rusqlite::params![owner_id, w.country, w.state, w.make, w.model], |r| {
            r.get(0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One asset per city among the owner's timeline photos, the newest
    /// of each, cities in name order: the apps' "Places".
    pub fn city_assets(&self, owner_id: &str) -> Result<Vec<Asset>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {ASSET_COLUMNS} FROM (
                 SELECT a.*, e.city, row_number() OVER (PARTITION BY e.city ORDER BY a.taken_at DESC) AS newest
                 FROM assets a JOIN exif e ON e.asset_id = a.id
                 WHERE a.owner_id = ?1 AND a.deleted_at IS NULL AND a.visibility = 'timeline' AND e.city IS NOT NULL
             ) WHERE newest = 1 ORDER BY city LIMIT 1000"
        ))?;
        let rows = stmt.query_map([owner_id], crate::assets::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A field [`Catalog::suggestions`] lists the values of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestionField {
    Country,
    State,
    City,
    CameraMake,
    CameraModel,
    CameraLensModel,
}

impl SuggestionField {
    fn column(self) -> &'static str {
        match self {
            SuggestionField::Country => "country",
            SuggestionField::State => "state",
            SuggestionField::City => "city",
            SuggestionField::CameraMake => "make",
            SuggestionField::CameraModel => "model",
            SuggestionField::CameraLensModel => "lens_model",
        }
    }
}

/// The fields already chosen when asking for suggestions.
#[derive(Debug, Clone, Default)]
pub struct SuggestionFilter {
    pub country: Option<String>,
    pub state: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exif;
    use crate::assets::tests::{new_asset, user};

    #[test]
    fn matching_keeps_the_candidates_the_filters_allow() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let favourite = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let plain = cat.commit_asset(&new_asset(&a, b"2")).unwrap().unwrap();
        let theirs = cat.commit_asset(&new_asset(&b, b"3")).unwrap().unwrap();
        cat.write(|tx| Ok(tx.execute("UPDATE assets SET is_favorite = 1 WHERE id = ?1", [&favourite.id])?))
            .unwrap();
        let ids = [favourite.id.as_str(), plain.id.as_str(), theirs.id.as_str(), "gone"];
        let mine = cat.matching_assets(&a, &AssetSearch::default(), Some(&ids)).unwrap();
        assert_eq!(mine, HashSet::from([favourite.id.clone(), plain.id.clone()]));
        assert_eq!(cat.matching_assets(&a, &AssetSearch::default(), None).unwrap(), mine);
        let favourites = AssetSearch {
            favorite: Some(true),
            ..Default::default()
        };
        assert_eq!(cat.matching_assets(&a, &favourites, Some(&ids[1..])).unwrap(), HashSet::new());
        assert_eq!(
            cat.matching_assets(&a, &favourites, Some(&ids)).unwrap(),
            HashSet::from([favourite.id])
        );
    }

    #[test]
    fn filters_combine_and_pages_follow_each_other() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let mut ids = Vec::new();
        for i in 0..5i64 {
            let mut new = new_asset(&a, format!("{i}").as_bytes());
            new.original_file_name = format!("IMG_{i}%.JPG");
            new.file_created_at = i * 1000;
            let asset = cat.commit_asset(&new).unwrap().unwrap();
            let make = if i % 2 == 0 { "Canon" } else { "Nikon" };
            cat.set_metadata(
                &asset.id,
                &Exif {
                    make: Some(make.into()),
                    ..Default::default()
                },
                None,
                None,
            )
            .unwrap();
            ids.push(asset.id);
        }
        cat.commit_asset(&new_asset(&b, b"theirs")).unwrap().unwrap();
        let canon = AssetSearch {
            make: Some("Canon".into()),
            page: 1,
            size: 2,
            ..Default::default()
        };
        let (first, more) = cat.search_assets(&a, &canon).unwrap();
        assert_eq!(
            first.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
            vec![ids[4].clone(), ids[2].clone()]
        );
        assert!(more);
        let (second, more) = cat.search_assets(&a, &AssetSearch { page: 2, ..canon.clone() }).unwrap();
        assert_eq!((second.len(), more), (1, false));
        let name = AssetSearch {
            file_name: Some("img_3%".into()),
            page: 1,
            size: 10,
            ..Default::default()
        };
        assert_eq!(cat.search_assets(&a, &name).unwrap().0.len(), 1, "% is a plain character");
        let range = AssetSearch {
            taken_after: Some(1000),
            taken_before: Some(2000),
            page: 1,
            size: 10,
            ..Default::default()
        };
        assert_eq!(cat.search_assets(&a, &range).unwrap().0.len(), 2);
        cat.trash_assets(&a, std::slice::from_ref(&ids[0])).unwrap();
        let all = AssetSearch {
            page: 1,
            size: 10,
            ..Default::default()
        };
        assert_eq!(
            cat.search_assets(&a, &all).unwrap().0.len(),
            4,
            "trash is left out unless asked for"
        );
        assert_eq!(
            cat.search_assets(&a, &AssetSearch { with_deleted: true, ..all }).unwrap().0.len(),
            5
        );
    }

    #[test]
    fn the_map_shows_only_my_geotagged_assets_outside_the_trash() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let place = |owner: &str, sum: &[u8], lat: Option<f64>| {
            let asset = cat.commit_asset(&new_asset(owner, sum)).unwrap().unwrap();
            let exif = Exif {
                latitude: lat,
                longitude: lat.map(|l| l / 2.0),
                ..Default::default()
            };
            cat.set_metadata(&asset.id, &exif, None, None).unwrap();
            asset.id
        };
        let paris = place(&a, b"1", Some(48.85));
        place(&a, b"2", None);
        let trashed = place(&a, b"3", Some(10.0));
        cat.trash_assets(&a, &[trashed]).unwrap();
        place(&b, b"4", Some(20.0));
        let markers = cat.map_markers(&a, &MapFilter::default()).unwrap();
        assert_eq!(
            markers.iter().map(|m| (m.id.as_str(), m.latitude, m.longitude)).collect::<Vec<_>>(),
            vec![(paris.as_str(), 48.85, 24.425)]
        );
    }
}
