//! Partner sharing: a user shows their whole library to another user, who
//! may also show those photos in their own timeline.

use crate::rusqlite::params;
use crate::users::{COLUMNS as USER_COLUMNS, from_row as user_from_row};
use crate::{Catalog, Error, Result, User, now_millis};

/// Which side of the partnerships to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerDirection {
    /// Users I share my library with.
    SharedBy,
    /// Users who share their library with me.
    SharedWith,
}

/// Users whose libraries `?1` sees.
pub(crate) const PARTNERS_OF: &str = "SELECT shared_by_id FROM partners WHERE shared_with_id = ?1";

impl Catalog {
    /// `shared_by` starts sharing their library with `shared_with`.
    pub fn create_partner(&self, shared_by: &str, shared_with: &str) -> Result<()> {
        if shared_by == shared_with {
            return Err(Error::Conflict("You cannot be your own partner".into()));
        }
        self.write(|tx| {
            let exists: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)", [shared_with], |r| r.get(0))?;
            if !exists {
                return Err(Error::NotFound("user"));
            }
            let added = tx.execute(
                "INSERT OR IGNORE INTO partners (shared_by_id, shared_with_id, created_at) VALUES (?1, ?2, ?3)",
                params![shared_by, shared_with, now_millis()],
            )?;
            match added {
                0 => Err(Error::Conflict("You already share your library with that user".into())),
                _ => Ok(()),
            }
        })
    }

    /// The other users of `user_id`'s partnerships in one direction, with
    /// whether the partnership shows in the receiving user's timeline.
    pub fn partners(&self, user_id: &str, direction: PartnerDirection) -> Result<Vec<(User, bool)>> {
        let (me, other) = match direction {
            PartnerDirection::SharedBy => ("shared_by_id", "shared_with_id"),
            PartnerDirection::SharedWith => ("shared_with_id", "shared_by_id"),
        };
        let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {columns}, p.in_timeline FROM partners p JOIN users u ON u.id = p.{other} WHERE p.{me} = ?1 ORDER BY p.created_at"
        ))?;
        let rows = stmt.query_map([user_id], |r| Ok((user_from_row(r)?, r.get("in_timeline")?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The receiving user shows (or hides) a partner's photos in their timeline.
    pub fn set_partner_in_timeline(&self, shared_with: &str, shared_by: &str, in_timeline: bool) -> Result<()> {
        self.write(|tx| {
            match tx.execute(
                "UPDATE partners SET in_timeline = ?3 WHERE shared_by_id = ?1 AND shared_with_id = ?2",
                params![shared_by, shared_with, in_timeline],
            )? {
                0 => Err(Error::NotFound("partner")),
                _ => Ok(()),
            }
        })
    }

    /// `shared_by` stops sharing with `shared_with`.
    pub fn remove_partner(&self, shared_by: &str, shared_with: &str) -> Result<()> {
        self.write(|tx| {
            match tx.execute(
                "DELETE FROM partners WHERE shared_by_id = ?1 AND shared_with_id = ?2",
                [shared_by, shared_with],
            )? {
                0 => Err(Error::NotFound("partner")),
                _ => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};

    #[test]
    fn a_partner_sees_the_sharers_library_and_nobody_elses() {
        let (_d, cat) = crate::test_catalog();
        let (a, b, c) = (user(&cat, "a@x"), user(&cat, "b@x"), user(&cat, "c@x"));
        let photo = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        assert!(cat.viewable_asset(&b, &photo.id).is_err());
        cat.create_partner(&a, &b).unwrap();
        assert!(matches!(cat.create_partner(&a, &b), Err(Error::Conflict(_))));
        assert_eq!(cat.viewable_asset(&b, &photo.id).unwrap().id, photo.id);
        assert!(cat.viewable_asset(&c, &photo.id).is_err(), "only the partner");
        assert_eq!(cat.partners(&b, PartnerDirection::SharedWith).unwrap()[0].0.id, a);
        assert!(
            cat.partners(&a, PartnerDirection::SharedWith).unwrap().is_empty(),
            "sharing is one way"
        );
        cat.set_partner_in_timeline(&b, &a, true).unwrap();
        assert!(cat.partners(&a, PartnerDirection::SharedBy).unwrap()[0].1);
        cat.remove_partner(&a, &b).unwrap();
        assert!(cat.viewable_asset(&b, &photo.id).is_err());
    }
}
