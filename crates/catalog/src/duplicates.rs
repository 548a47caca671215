//! Groups of near-identical photos, as duplicate detection finds them from
//! their embeddings. An asset is in at most one group (`duplicate_id`).

use std::collections::BTreeMap;

use crate::rusqlite::{OptionalExtension, params};
use crate::{Asset, Catalog, Result, json_list, new_id, now_millis};

/// Where duplicates are looked for: what the timeline and archive show.
const SHOWN: &str = "deleted_at IS NULL AND visibility IN ('timeline', 'archive')";

impl Catalog {
    /// Records that `asset_id` was compared with its owner's other photos
    /// and found near `near`. Those of the same kind that are shown join
    /// one group with it, merging any groups they were in; with none, the
    /// asset leaves its group.
    pub fn record_duplicates(&self, asset_id: &str, near: &[String]) -> Result<()> {
        let near = json_list(near);
        self.write(|tx| {
            let (owner, kind, group): (String, String, Option<String>) = tx
                .query_row("SELECT owner_id, kind, duplicate_id FROM assets WHERE id = ?1", [asset_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?
                .ok_or(crate::Error::NotFound("asset"))?;
            let mut stmt = tx.prepare(&format!(
                "SELECT a.id, a.duplicate_id FROM json_each(?1) j CROSS JOIN assets a ON a.id = j.value
                 WHERE a.owner_id = ?2 AND a.kind = ?3 AND a.id != ?4 AND {SHOWN}"
            ))?;
            let found: Vec<(String, Option<String>)> = stmt
                .query_map(params![near, owner, kind, asset_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            let target = match found.is_empty() {
                true => None,
                false => Some(
                    group
                        .clone()
                        .or_else(|| found.iter().find_map(|(_, g)| g.clone()))
                        .unwrap_or_else(new_id),
                ),
            };
            tx.execute(
                "UPDATE assets SET duplicate_id = ?2, duplicates_at = ?3 WHERE id = ?1",
                params![asset_id, target, now_millis()],
            )?;
            let Some(target) = target else {
                return Ok(());
            };
            for (id, old) in found {
                tx.execute("UPDATE assets SET duplicate_id = ?2 WHERE id = ?1", params![id, target])?;
                if let Some(old) = old.filter(|old| *old != target) {
                    tx.execute(
                        "UPDATE assets SET duplicate_id = ?3 WHERE owner_id = ?1 AND duplicate_id = ?2",
                        params![owner, old, target],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// The owner's groups of two or more shown photos, oldest photo first
    /// in each.
    pub fn duplicate_groups(&self, owner_id: &str) -> Result<Vec<(String, Vec<Asset>)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT duplicate_id, id FROM assets WHERE owner_id = ?1 AND duplicate_id IS NOT NULL AND {SHOWN}
             ORDER BY taken_at, id"
        ))?;
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in stmt.query_map([owner_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (group, id) = row?;
            groups.entry(group).or_default().push(id);
        }
        drop(stmt);
        drop(conn);
        groups
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(group, ids)| Ok((group, ids.iter().map(|id| self.asset(id)).collect::<Result<_>>()?)))
            .collect()
    }

    /// Takes the owner's photos `ids` out of their groups: they are not
    /// duplicates after all, or are dealt with. How many were in one.
    pub fn dismiss_duplicates(&self, owner_id: &str, ids: &[String]) -> Result<usize> {
        let ids = json_list(ids);
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE assets SET duplicate_id = NULL
                 WHERE owner_id = ?1 AND duplicate_id IS NOT NULL AND id IN (SELECT value FROM json_each(?2))",
                params![owner_id, ids],
            )?)
        })
    }

    /// Dissolves the owner's groups `groups`; how many photos left them.
    pub fn dismiss_duplicate_groups(&self, owner_id: &str, groups: &[String]) -> Result<usize> {
        let groups = json_list(groups);
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE assets SET duplicate_id = NULL
                 WHERE owner_id = ?1 AND duplicate_id IN (SELECT value FROM json_each(?2))",
                params![owner_id, groups],
            )?)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::assets::tests::{new_asset, user};
    use crate::{AssetKind, Catalog};

    fn groups(cat: &Catalog, owner: &str) -> Vec<Vec<String>> {
        let mut groups: Vec<Vec<String>> = cat
            .duplicate_groups(owner)
            .unwrap()
            .into_iter()
            .map(|(_, assets)| {
                let mut ids: Vec<String> = assets.into_iter().map(|a| a.id).collect();
                ids.sort();
                ids
            })
            .collect();
        groups.sort();
        groups
    }

    #[test]
    fn near_photos_form_groups_that_merge_and_dissolve() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let mut ids: Vec<String> = (0..5u8)
            .map(|i| cat.commit_asset(&new_asset(&a, &[i])).unwrap().unwrap().id)
            .collect();
        ids.sort();
        let [p, q, r, s, t] = ids.clone().try_into().unwrap();
        let theirs = cat.commit_asset(&new_asset(&b, b"b")).unwrap().unwrap().id;
        let mut video = new_asset(&a, b"v");
        video.kind = AssetKind::Video;
        let video = cat.commit_asset(&video).unwrap().unwrap().id;

        // Another user's photo and a video are never duplicates of a photo.
        cat.record_duplicates(&p, &[q.clone(), theirs, video]).unwrap();
        cat.record_duplicates(&r, std::slice::from_ref(&s)).unwrap();
        assert_eq!(groups(&cat, &a), [vec![p.clone(), q.clone()], vec![r.clone(), s.clone()]]);
        assert!(cat.duplicate_groups(&b).unwrap().is_empty());

        // A photo near both groups joins them into one.
        cat.record_duplicates(&t, &[q.clone(), s.clone()]).unwrap();
        assert_eq!(groups(&cat, &a), [ids.clone()]);

        // Trashed photos leave the list; a group of one is not a group.
        cat.trash_assets(&a, &[p.clone(), q.clone(), r.clone()]).unwrap();
        assert_eq!(groups(&cat, &a), [vec![s.clone(), t.clone()]]);
        assert_eq!(cat.dismiss_duplicates(&a, std::slice::from_ref(&t)).unwrap(), 1);
        assert!(groups(&cat, &a).is_empty());

        // Compared again and near nothing: the photo leaves its group.
        cat.record_duplicates(&t, std::slice::from_ref(&s)).unwrap();
        let group = cat.duplicate_groups(&a).unwrap()[0].0.clone();
        assert_eq!(
            cat.dismiss_duplicate_groups(&b, std::slice::from_ref(&group)).unwrap(),
            0,
            "only the owner's"
        );
        cat.record_duplicates(&t, &[]).unwrap();
        assert!(groups(&cat, &a).is_empty());
        assert!(cat.record_duplicates("missing", &[]).is_err());
    }
}
