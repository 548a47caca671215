//! Text found in an asset's preview, line by line.

use crate::rusqlite::params;
use crate::{Catalog, OptionalExt, Result, new_id, now_millis};

/// One line of text and where it is, as fractions of the image's size.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrText {
    pub id: String,
    /// Corners clockwise from the top left, as (x, y).
    pub corners: [[f64; 2]; 4],
    pub box_score: f64,
    pub text: String,
    pub text_score: f64,
}

impl Catalog {
    /// Replaces what was read from an asset (possibly with nothing) and
    /// records that it was read.
    pub fn set_ocr(&self, asset_id: &str, lines: &[OcrText]) -> Result<()> {
        self.write(|tx| {
            let updated = tx.execute("UPDATE assets SET ocr_at = ?2 WHERE id = ?1", params![asset_id, now_millis()])?;
            if updated == 0 {
                return Err(crate::Error::NotFound("asset"));
            }
            tx.execute("DELETE FROM asset_ocr WHERE asset_id = ?1", [asset_id])?;
            let mut insert = tx.prepare(
                "INSERT INTO asset_ocr (id, asset_id, x1, y1, x2, y2, x3, y3, x4, y4, box_score, text_score, text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for line in lines {
                let [[x1, y1], [x2, y2], [x3, y3], [x4, y4]] = line.corners;
                insert.execute(params![
                    new_id(),
                    asset_id,
                    x1,
                    y1,
                    x2,
                    y2,
                    x3,
                    y3,
                    x4,
                    y4,
                    line.box_score,
                    line.text_score,
                    line.text
                ])?;
            }
            Ok(())
        })
    }

    /// The lines read from an asset, top to bottom.
    pub fn ocr(&self, asset_id: &str) -> Result<Vec<OcrText>> {
        let conn = self.conn()?;
        conn.query_row("SELECT 1 FROM assets WHERE id = ?1", [asset_id], |_| Ok(()))
            .found("asset")?;
        let mut stmt = conn.prepare(
            "SELECT id, x1, y1, x2, y2, x3, y3, x4, y4, box_score, text_score, text
             FROM asset_ocr WHERE asset_id = ?1 ORDER BY y1, x1",
        )?;
        let rows = stmt.query_map([asset_id], |r| {
            Ok(OcrText {
                id: r.get(0)?,
                corners: [
                    [r.get(1)?, r.get(2)?],
                    [r.get(3)?, r.get(4)?],
                    [r.get(5)?, r.get(6)?],
                    [r.get(7)?, r.get(8)?],
                ],
                box_score: r.get(9)?,
                text_score: r.get(10)?,
                text: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};
    use crate::{AssetSearch, JobKind, test_catalog};

    fn line(text: &str, top: f64) -> OcrText {
        OcrText {
            id: String::new(),
            corners: [[0.1, top], [0.5, top], [0.5, top + 0.1], [0.1, top + 0.1]],
            box_score: 0.9,
            text: text.into(),
            text_score: 0.95,
        }
    }

    #[test]
    fn text_is_replaced_on_a_new_reading_and_found_by_every_word_in_any_case() {
        let (_d, cat) = test_catalog();
        let a = user(&cat, "a@x");
        let sign = cat.commit_asset(&new_asset(&a, b"sign")).unwrap().unwrap();
        let other = cat.commit_asset(&new_asset(&a, b"other")).unwrap().unwrap();
        cat.set_ocr(&sign.id, &[line("old", 0.1)]).unwrap();
        cat.set_ocr(&sign.id, &[line("Holiday 2026", 0.5), line("SHOEBOX", 0.1)]).unwrap();
        cat.set_ocr(&other.id, &[]).unwrap();
        let read = cat.ocr(&sign.id).unwrap();
        assert_eq!(
            read.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["SHOEBOX", "Holiday 2026"]
        );
        assert!(cat.ocr(&other.id).unwrap().is_empty());

        let search = |words: &str| {
            let q = AssetSearch {
                ocr: Some(words.into()),
                page: 1,
                size: 10,
                ..Default::default()
            };
            cat.search_assets(&a, &q).unwrap().0.into_iter().map(|x| x.id).collect::<Vec<_>>()
        };
        assert_eq!(search("shoebox"), [sign.id.as_str()]);
        assert_eq!(search("holiday shoe"), [sign.id.as_str()], "words may sit on different lines");
        assert!(search("holiday beach").is_empty(), "every word must be there");
        assert!(search("old").is_empty(), "the first reading was replaced");
        assert!(matches!(cat.set_ocr("nope", &[]), Err(crate::Error::NotFound(_))));
    }

    #[test]
    fn queueing_picks_assets_with_a_preview_not_read_yet() {
        let (_d, cat) = test_catalog();
        let a = user(&cat, "a@x");
        let read = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let unread = cat.commit_asset(&new_asset(&a, b"2")).unwrap().unwrap();
        cat.commit_asset(&new_asset(&a, b"3")).unwrap().unwrap();
        for id in [&read.id, &unread.id] {
            cat.set_derivatives(id, "t", "p", 10, 10).unwrap();
        }
        cat.set_ocr(&read.id, &[]).unwrap();
        assert_eq!(cat.queue_unprocessed(JobKind::Ocr, false).unwrap(), 1);
        assert_eq!(
            cat.queue_unprocessed(JobKind::Ocr, true).unwrap(),
            1,
            "the one already queued is not queued twice"
        );
    }
}
