//! Faces found in an asset's preview.

use crate::embeddings::{blob, floats};
use crate::rusqlite::{Row, params};
use crate::{Catalog, OptionalExt, Result, new_id, now_millis};

/// A face's box in pixels of the image it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetFace {
    pub id: String,
    pub image_width: i64,
    pub image_height: i64,
    /// Left, top, right, bottom.
    pub bbox: [i64; 4],
    pub score: f64,
    /// Eyes, nose and mouth corners, as (x, y) in the same pixels.
    pub landmarks: [[f64; 2]; 5],
    /// What recognition compares, when a recognition model ran.
    pub embedding: Option<Vec<f32>>,
    /// Whose face it is, once known.
    pub person_id: Option<String>,
}

pub(crate) const FACE_COLUMNS: &str = "id, image_width, image_height, x1, y1, x2, y2, score, landmarks, embedding, person_id";

pub(crate) fn face_from_row(r: &Row) -> crate::rusqlite::Result<AssetFace> {
    let landmarks: String = r.get(8)?;
    Ok(AssetFace {
        id: r.get(0)?,
        image_width: r.get(1)?,
        image_height: r.get(2)?,
        bbox: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
        score: r.get(7)?,
        landmarks: serde_json::from_str(&landmarks).unwrap_or_default(),
        embedding: r.get::<_, Option<Vec<u8>>>(9)?.map(|b| floats(&b)),
        person_id: r.get(10)?,
    })
}

impl Catalog {
    /// Replaces the faces found in an asset (possibly with none) and
    /// records that it was searched.
    pub fn set_faces(&self, asset_id: &str, faces: &[AssetFace]) -> Result<()> {
        self.write(|tx| {
            let updated = tx.execute(
                "UPDATE assets SET faces_at = ?2, recognized_at = NULL WHERE id = ?1",
                params![asset_id, now_millis()],
            )?;
            if updated == 0 {
                return Err(crate::Error::NotFound("asset"));
            }
            tx.execute(
                "DELETE FROM asset_faces WHERE asset_id = ?1 AND source_type = 'machine-learning'",
                [asset_id],
            )?;
            crate::people::remove_empty_people(tx)?;
            let mut insert = tx.prepare(
                "INSERT INTO asset_faces (id, asset_id, image_width, image_height, x1, y1, x2, y2, score, landmarks, embedding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for face in faces {
                let [x1, y1, x2, y2] = face.bbox;
                let landmarks = serde_json::to_string(&face.landmarks).expect("numbers serialise");
                insert.execute(params![
                    new_id(),
                    asset_id,
                    face.image_width,
                    face.image_height,
                    x1,
                    y1,
                    x2,
                    y2,
                    face.score,
                    landmarks,
                    face.embedding.as_deref().map(blob)
                ])?;
            }
            Ok(())
        })
    }

    /// The faces in an asset, left to right.
    pub fn faces(&self, asset_id: &str) -> Result<Vec<AssetFace>> {
        let conn = self.conn()?;
        conn.query_row("SELECT 1 FROM assets WHERE id = ?1", [asset_id], |_| Ok(()))
            .found("asset")?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {FACE_COLUMNS} FROM asset_faces WHERE asset_id = ?1 ORDER BY x1, y1"
        ))?;
        let rows = stmt.query_map([asset_id], face_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};
    use crate::test_catalog;

    fn face(x: i64) -> AssetFace {
        AssetFace {
            id: String::new(),
            image_width: 1440,
            image_height: 1080,
            bbox: [x, 100, x + 90, 210],
            score: 0.99,
            landmarks: [
                [x as f64 + 20.0, 140.0],
                [x as f64 + 60.0, 140.0],
                [x as f64 + 40.0, 160.0],
                [x as f64 + 25.0, 190.0],
                [x as f64 + 55.0, 190.0],
            ],
            embedding: Some(vec![x as f32, 1.0]),
            person_id: None,
        }
    }

    #[test]
    fn faces_are_replaced_on_a_new_search_and_kept_with_their_landmarks() {
        let (_d, cat) = test_catalog();
        let a = user(&cat, "a@x");
        let photo = cat.commit_asset(&new_asset(&a, b"group")).unwrap().unwrap();
        cat.set_faces(&photo.id, &[face(900)]).unwrap();
        cat.set_faces(&photo.id, &[face(500), face(100)]).unwrap();
        let found = cat.faces(&photo.id).unwrap();
        assert_eq!(found.iter().map(|f| f.bbox[0]).collect::<Vec<_>>(), [100, 500]);
        assert_eq!(found[0].landmarks, face(100).landmarks);
        assert_eq!(found[0].embedding, Some(vec![100.0, 1.0]));
        assert!(!found[0].id.is_empty());
        assert!(matches!(cat.faces("nope"), Err(crate::Error::NotFound(_))));
    }
}
