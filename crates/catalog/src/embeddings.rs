//! Assets' CLIP embeddings, for search by content. Search itself ranks in
//! memory; this is where the vectors last and where an index catches up.

use crate::rusqlite::{OptionalExtension, params};
use crate::{Catalog, Result, now_millis};

/// An embedding as stored, with what an index needs beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEmbedding {
    /// Grows with every write: pass the largest seen to
    /// [`Catalog::embeddings_since`] to get only what came after.
    pub seq: i64,
    pub asset_id: String,
    pub owner_id: String,
    pub vector: Vec<f32>,
}

impl Catalog {
    /// Stores an asset's embedding by `model`, replacing any it had, and
    /// records that it was embedded.
    pub fn set_embedding(&self, asset_id: &str, model: &str, vector: &[f32]) -> Result<()> {
        let bytes = blob(vector);
        self.write(|tx| {
            let updated = tx.execute(
                // A new vector is compared with the others again.
                "UPDATE assets SET smart_search_at = ?2, duplicates_at = NULL WHERE id = ?1",
                params![asset_id, now_millis()],
            )?;
            if updated == 0 {
                return Err(crate::Error::NotFound("asset"));
            }
            // REPLACE deletes and inserts, so the row gets a new seq.
            tx.execute(
                "INSERT OR REPLACE INTO asset_embeddings (asset_id, model, embedding) VALUES (?1, ?2, ?3)",
                params![asset_id, model, bytes],
            )?;
            Ok(())
        })
    }

    /// An asset's embedding by `model`, if it has one.
    pub fn embedding(&self, asset_id: &str, model: &str) -> Result<Option<Vec<f32>>> {
        let conn = self.conn()?;
        let bytes: Option<Vec<u8>> = conn
            .query_row(
                "SELECT embedding FROM asset_embeddings WHERE asset_id = ?1 AND model = ?2",
                [asset_id, model],
                |r| r.get(0),
            )
            .optional()?;
        Ok(bytes.map(|b| floats(&b)))
    }

    /// Up to `limit` embeddings by `model` written after `seq`, oldest first.
    pub fn embeddings_since(&self, model: &str, seq: i64, limit: usize) -> Result<Vec<StoredEmbedding>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT m.seq, m.asset_id, a.owner_id, m.embedding FROM asset_embeddings m JOIN assets a ON a.id = m.asset_id
             WHERE m.model = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![model, seq, limit as i64], |r| {
            Ok(StoredEmbedding {
                seq: r.get(0)?,
                asset_id: r.get(1)?,
                owner_id: r.get(2)?,
                vector: floats(&r.get::<_, Vec<u8>>(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets the embeddings another model made, so their assets are
    /// embedded again by `model`; how many were forgotten.
    pub fn drop_embeddings_except(&self, model: &str) -> Result<usize> {
        self.write(|tx| {
            tx.execute(
                "UPDATE assets SET smart_search_at = NULL
                 WHERE smart_search_at IS NOT NULL
                   AND id NOT IN (SELECT asset_id FROM asset_embeddings WHERE model = ?1)",
                [model],
            )?;
            Ok(tx.execute("DELETE FROM asset_embeddings WHERE model != ?1", [model])?)
        })
    }
}

/// A vector as stored: little-endian `f32`s.
pub(crate) fn blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::JobKind;
    use crate::assets::tests::{new_asset, user};

    #[test]
    fn an_index_catches_up_with_new_and_replaced_embeddings() {
        let (_d, cat) = crate::test_catalog();
        let owner = user(&cat, "a@x");
        let first = cat.commit_asset(&new_asset(&owner, b"1")).unwrap().unwrap();
        let second = cat.commit_asset(&new_asset(&owner, b"2")).unwrap().unwrap();
        cat.set_embedding(&first.id, "clip", &[1.0, -0.5]).unwrap();
        cat.set_embedding(&second.id, "clip", &[0.25, 2.0]).unwrap();
        let all = cat.embeddings_since("clip", 0, 10).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(cat.embeddings_since("clip", 0, 1).unwrap(), all[..1], "a batch at a time");
        assert_eq!(
            (all[0].asset_id.as_str(), all[0].owner_id.as_str()),
            (first.id.as_str(), owner.as_str())
        );
        assert_eq!(all[0].vector, [1.0, -0.5]);
        let seen = all[1].seq;
        assert!(cat.embeddings_since("clip", seen, 10).unwrap().is_empty());

        // The newest row replaced: a reused seq would hide it from the index.
        cat.set_embedding(&second.id, "clip", &[3.0, 0.0]).unwrap();
        let changed = cat.embeddings_since("clip", seen, 10).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].vector, [3.0, 0.0]);
        assert_eq!(cat.embedding(&second.id, "clip").unwrap(), Some(vec![3.0, 0.0]));
        assert_eq!(cat.embedding(&second.id, "other").unwrap(), None);
        assert!(cat.set_embedding("missing", "clip", &[1.0]).is_err());
    }

    #[test]
    fn another_models_embeddings_are_dropped_and_their_assets_queued_again() {
        let (_d, cat) = crate::test_catalog();
        let owner = user(&cat, "a@x");
        let asset = cat.commit_asset(&new_asset(&owner, b"1")).unwrap().unwrap();
        cat.write(|tx| Ok(tx.execute("UPDATE assets SET preview_path = 'p.jpg'", [])?))
            .unwrap();
        cat.set_embedding(&asset.id, "old", &[1.0]).unwrap();
        assert_eq!(cat.queue_unprocessed(JobKind::SmartSearch, false).unwrap(), 0);
        assert_eq!(cat.drop_embeddings_except("old").unwrap(), 0);
        assert_eq!(cat.drop_embeddings_except("new").unwrap(), 1);
        assert!(cat.embeddings_since("old", 0, 10).unwrap().is_empty());
        assert_eq!(cat.queue_unprocessed(JobKind::SmartSearch, false).unwrap(), 1);
    }
}
