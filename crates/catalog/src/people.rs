//! People: who the faces in an owner's photos belong to, named or not.
//! Recognition assigns faces; the owner names, hides, merges and
//! reassigns. A person whose last face leaves is removed.

use crate::embeddings::floats;
use crate::rusqlite::{OptionalExtension, Row, Transaction, params};
use crate::{Catalog, OptionalExt, Result, new_id, now_millis};

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub is_hidden: bool,
    pub is_favorite: bool,
    /// The face its thumbnail is cut from.
    pub face_id: Option<String>,
    pub updated_at: i64,
    /// Faces assigned to it, in photos outside the trash.
    pub faces: i64,
    pub created_at: i64,
}

/// What the owner changes about a person; `None` leaves it as it is.
#[derive(Debug, Clone, Default)]
pub struct PersonUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears it.
    pub birth_date: Option<Option<String>>,
    pub is_hidden: Option<bool>,
    pub is_favorite: Option<bool>,
}

/// A face as recognition sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceEmbedding {
    pub face_id: String,
    pub owner_id: String,
    pub person_id: Option<String>,
    pub embedding: Vec<f32>,
}

pub(crate) const COLUMNS: &str = "p.id, p.owner_id, p.name, p.birth_date, p.is_hidden, p.is_favorite, p.face_id, p.updated_at,
    (SELECT count(*) FROM asset_faces f JOIN assets a ON a.id = f.asset_id WHERE f.person_id = p.id AND a.deleted_at IS NULL),
    p.created_at";

pub(crate) fn from_row(r: &Row) -> crate::rusqlite::Result<Person> {
    Ok(Person {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        name: r.get(2)?,
        birth_date: r.get(3)?,
        is_hidden: r.get(4)?,
        is_favorite: r.get(5)?,
        face_id: r.get(6)?,
        updated_at: r.get(7)?,
        faces: r.get(8)?,
        created_at: r.get(9)?,
    })
}

impl Catalog {
    /// Records that the asset's faces were placed into people.
    pub fn mark_recognized(&self, asset_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE assets SET recognized_at = ?2 WHERE id = ?1",
                params![asset_id, now_millis()],
            )?;
            Ok(())
        })
    }

    /// Every face with an embedding, the owner's and whose, for
    /// recognition's index.
    pub fn face_embeddings(&self) -> Result<Vec<FaceEmbedding>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT f.id, a.owner_id, f.person_id, f.embedding FROM asset_faces f JOIN assets a ON a.id = f.asset_id
             WHERE f.embedding IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FaceEmbedding {
                face_id: r.get(0)?,
                owner_id: r.get(1)?,
                person_id: r.get(2)?,
                embedding: floats(&r.get::<_, Vec<u8>>(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A new, unnamed person of the face's owner, shown by that face.
    pub fn create_person(&self, face_id: &str) -> Result<Person> {
        let id = self.write(|tx| {
            let owner: String = tx
                .query_row(
                    "SELECT a.owner_id FROM asset_faces f JOIN assets a ON a.id = f.asset_id WHERE f.id = ?1",
                    [face_id],
                    |r| r.get(0),
                )
                .found("face")?;
            let id = new_id();
            let now = now_millis();
            tx.execute(
                "INSERT INTO people (id, owner_id, face_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![id, owner, face_id, now],
            )?;
            tx.execute("UPDATE asset_faces SET person_id = ?2 WHERE id = ?1", params![face_id, id])?;
            Ok(id)
        })?;
        self.person_by_id(&id)
    }

    /// Gives the owner's faces `face_ids` to their person `person_id`;
    /// how many moved. People left without faces are removed.
    pub fn assign_faces(&self, owner_id: &str, face_ids: &[String], person_id: &str) -> Result<usize> {
        let faces = crate::json_list(face_ids);
        self.write(|tx| {
            owned_person(tx, owner_id, person_id)?;
            let moved = tx.execute(
                "UPDATE asset_faces SET person_id = ?2
                 WHERE id IN (SELECT value FROM json_each(?1))
                   AND asset_id IN (SELECT id FROM assets WHERE owner_id = ?3)",
                params![faces, person_id, owner_id],
            )?;
            remove_empty_people(tx)?;
            Ok(moved)
        })
    }

    /// Moves every face of the owner's people `from` to `into` and removes
    /// them; how many were merged (unknown ids and `into` itself are not).
    pub fn merge_people(&self, owner_id: &str, into: &str, from: &[String]) -> Result<usize> {
        self.write(|tx| {
            owned_person(tx, owner_id, into)?;
            let mut merged = 0;
            for source in from.iter().filter(|id| *id != into) {
                if owned_person(tx, owner_id, source).is_err() {
                    continue;
                }
                tx.execute("UPDATE asset_faces SET person_id = ?2 WHERE person_id = ?1", params![source, into])?;
                tx.execute("DELETE FROM people WHERE id = ?1", [source])?;
                merged += 1;
            }
            tx.execute("UPDATE people SET updated_at = ?2 WHERE id = ?1", params![into, now_millis()])?;
            Ok(merged)
        })
    }

    pub fn update_person(&self, owner_id: &str, person_id: &str, update: &PersonUpdate) -> Result<Person> {
        self.write(|tx| {
            owned_person(tx, owner_id, person_id)?;
            tx.execute(
                "UPDATE people SET name = coalesce(?2, name), birth_date = CASE WHEN ?3 THEN ?4 ELSE birth_date END,
                    is_hidden = coalesce(?5, is_hidden), is_favorite = coalesce(?6, is_favorite), updated_at = ?7
                 WHERE id = ?1",
                params![
                    person_id,
                    update.name,
                    update.birth_date.is_some(),
                    update.birth_date.clone().flatten(),
                    update.is_hidden,
                    update.is_favorite,
                    now_millis()
                ],
            )?;
            Ok(())
        })?;
        self.person_by_id(person_id)
    }

    /// The owner's person `person_id`.
    pub fn person(&self, owner_id: &str, person_id: &str) -> Result<Person> {
        let person = self.person_by_id(person_id)?;
        if person.owner_id != owner_id {
            return Err(crate::Error::NotFound("person"));
        }
        Ok(person)
    }

    /// The owner's people with faces in photos outside the trash, named
    /// ones first, then by how many photos they are in.
    pub fn people(&self, owner_id: &str, with_hidden: bool) -> Result<Vec<Person>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM people p WHERE p.owner_id = ?1 AND (?2 OR NOT p.is_hidden)"
        ))?;
        let rows = stmt.query_map(params![owner_id, with_hidden], from_row)?;
        let mut people: Vec<Person> = rows
            .filter(|p| p.as_ref().map_or(true, |p| p.faces > 0))
            .collect::<Result<_, _>>()?;
        people.sort_by(|a, b| (a.name.is_empty(), -a.faces, &a.id).cmp(&(b.name.is_empty(), -b.faces, &b.id)));
        Ok(people)
    }

    /// The owner's assets outside the trash with the person's faces, newest first.
    pub fn person_assets(&self, owner_id: &str, person_id: &str) -> Result<Vec<String>> {
        self.person(owner_id, person_id)?;
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT DISTINCT a.id, a.taken_at FROM asset_faces f JOIN assets a ON a.id = f.asset_id
             WHERE f.person_id = ?1 AND a.deleted_at IS NULL ORDER BY a.taken_at DESC",
        )?;
        let rows = stmt.query_map([person_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The face a person is shown by (or any of theirs), with its photo.
    pub fn person_face(&self, person: &Person) -> Result<Option<(crate::Asset, crate::AssetFace)>> {
        let conn = self.conn()?;
        let found: Option<(String, String)> = conn
            .query_row(
                "SELECT f.id, f.asset_id FROM asset_faces f WHERE f.person_id = ?1 ORDER BY f.id = ?2 DESC, f.score DESC LIMIT 1",
                params![person.id, person.face_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        drop(conn);
        let Some((face_id, asset_id)) = found else {
            return Ok(None);
        };
        let face = self.faces(&asset_id)?.into_iter().find(|f| f.id == face_id);
        match face {
            Some(face) => Ok(Some((self.asset(&asset_id)?, face))),
            None => Ok(None),
        }
    }

    fn person_by_id(&self, person_id: &str) -> Result<Person> {
        let conn = self.conn()?;
        conn.query_row(&format!("SELECT {COLUMNS} FROM people p WHERE p.id = ?1"), [person_id], from_row)
            .found("person")
    }
}

fn owned_person(tx: &Transaction, owner_id: &str, person_id: &str) -> Result<()> {
    tx.query_row(
        "SELECT 1 FROM people WHERE id = ?1 AND owner_id = ?2",
        [person_id, owner_id],
        |_| Ok(()),
    )
    .found("person")
}

/// People are made from faces; one whose faces are all gone goes too.
pub(crate) fn remove_empty_people(tx: &Transaction) -> Result<()> {
    tx.execute(
        "DELETE FROM people WHERE NOT EXISTS (SELECT 1 FROM asset_faces f WHERE f.person_id = people.id)",
        [],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AssetFace;
    use crate::assets::tests::{new_asset, user};

    /// A photo of the owner's with one face; the face's id.
    fn face(cat: &Catalog, owner: &str, seed: u8) -> String {
        let photo = cat.commit_asset(&new_asset(owner, &[seed])).unwrap().unwrap();
        let face = AssetFace {
            id: String::new(),
            image_width: 100,
            image_height: 100,
            bbox: [10, 10, 50, 50],
            score: 0.9,
            landmarks: [[0.0; 2]; 5],
            embedding: Some(vec![f32::from(seed), 1.0]),
            person_id: None,
        };
        cat.set_faces(&photo.id, &[face]).unwrap();
        cat.faces(&photo.id).unwrap()[0].id.clone()
    }

    #[test]
    fn people_are_named_merged_and_reassigned_by_their_owner_only() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let faces: Vec<String> = (0..4).map(|i| face(&cat, &a, i)).collect();
        let theirs = face(&cat, &b, 9);
        let ada = cat.create_person(&faces[0]).unwrap();
        assert_eq!(
            (ada.owner_id.as_str(), ada.faces, ada.face_id.as_deref()),
            (a.as_str(), 1, Some(faces[0].as_str()))
        );
        assert_eq!(cat.assign_faces(&a, &faces[1..2], &ada.id).unwrap(), 1);
        let bob = cat.create_person(&faces[2]).unwrap();
        cat.assign_faces(&a, &faces[3..4], &bob.id).unwrap();
        // Another user's face cannot be given to a's person, nor a's person renamed by them.
        assert_eq!(cat.assign_faces(&a, std::slice::from_ref(&theirs), &ada.id).unwrap(), 0);
        assert!(cat.assign_faces(&b, std::slice::from_ref(&theirs), &ada.id).is_err());
        let rename = PersonUpdate {
            name: Some("Ada".into()),
            birth_date: Some(Some("1815-12-10".into())),
            ..PersonUpdate::default()
        };
        assert!(cat.update_person(&b, &ada.id, &rename).is_err());
        let ada = cat.update_person(&a, &ada.id, &rename).unwrap();
        assert_eq!((ada.name.as_str(), ada.birth_date.as_deref()), ("Ada", Some("1815-12-10")));
        let names = |with_hidden| {
            cat.people(&a, with_hidden)
                .unwrap()
                .into_iter()
                .map(|p| (p.name, p.faces))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(false), [("Ada".to_owned(), 2), (String::new(), 2)]);

        // Reassigning bob's last faces removes him; merging moves every face.
        cat.assign_faces(&a, &faces[2..4], &ada.id).unwrap();
        assert!(matches!(cat.person(&a, &bob.id), Err(crate::Error::NotFound(_))));
        let carol = cat.create_person(&faces[3]).unwrap();
        assert_eq!(
            cat.merge_people(&a, &ada.id, &[carol.id.clone(), ada.id.clone(), "nobody".into()])
                .unwrap(),
            1
        );
        assert_eq!(names(false), [("Ada".to_owned(), 4)]);
        assert!(cat.person(&b, &ada.id).is_err(), "another user's person is not found");

        let hide = PersonUpdate {
            is_hidden: Some(true),
            ..PersonUpdate::default()
        };
        cat.update_person(&a, &ada.id, &hide).unwrap();
        assert!(names(false).is_empty());
        assert_eq!(names(true).len(), 1);

        let stored = cat.face_embeddings().unwrap();
        let mine = stored.iter().find(|f| f.face_id == faces[1]).unwrap();
        assert_eq!(
            (mine.person_id.as_deref(), mine.embedding.as_slice()),
            (Some(ada.id.as_str()), &[1.0, 1.0][..])
        );
        assert_eq!(stored.iter().find(|f| f.face_id == theirs).unwrap().owner_id, b);
    }
}
