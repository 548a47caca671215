//! Search by content: every owner's CLIP embeddings ranked in memory, the
//! catalog's filters applied to the ranking, a page at a time.
//!
//! Jobs write embeddings to the catalog; the index reads what is new before
//! each search, so nothing has to tell it. Deleted assets may linger in the
//! index until a restart, and the catalog's filters leave them out.

use std::collections::HashMap;
use std::sync::RwLock;

use shoebox_catalog::{Asset, AssetSearch, Catalog};
use shoebox_jobs::Neighbours;
use shoebox_ml::vectors::VectorIndex;

/// The best candidates, checked against the filters by id. When the filters
/// leave too few of them, the owner's whole matching set is read instead:
/// one query either way.
const CANDIDATES: usize = 1000;

/// Embeddings read from the catalog at a time.
const BATCH: usize = 2000;

pub struct SmartIndex {
    /// The model whose embeddings these are; others are not comparable.
    model: String,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// The last catalog write read.
    seq: i64,
    /// Per owner: a search never scores someone else's photos.
    owners: HashMap<String, VectorIndex>,
}

impl SmartIndex {
    pub fn new(model: &str) -> SmartIndex {
        SmartIndex {
            model: model.to_owned(),
            state: RwLock::default(),
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Reads the embeddings written since the last call, a batch at a
    /// time: read at once, a large library's `f32` vectors would take
    /// four times the index's memory on the way in. Blocking.
    pub fn catch_up(&self, catalog: &Catalog) -> shoebox_catalog::Result<()> {
        loop {
            let seq = self.read().seq;
            let new = catalog.embeddings_since(&self.model, seq, BATCH)?;
            if new.is_empty() {
                return Ok(());
            }
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            // Another search may have caught up meanwhile.
            let seen = state.seq;
            for stored in new.into_iter().filter(|e| e.seq > seen) {
                let dim = stored.vector.len();
                let index = state.owners.entry(stored.owner_id).or_insert_with(|| VectorIndex::new(dim));
                if !index.insert(&stored.asset_id, &stored.vector) {
                    tracing::warn!(
                        asset = stored.asset_id,
                        "embedding of another length than the rest; left out of search"
                    );
                }
                state.seq = stored.seq;
            }
        }
    }

    /// One page of the owner's assets that match `filters`, most similar to
    /// `query` first, and whether another page follows. Blocking.
    pub fn search(
        &self,
        catalog: &Catalog,
        owner_id: &str,
        query: &[f32],
        filters: &AssetSearch,
    ) -> shoebox_catalog::Result<(Vec<Asset>, bool)> {
        self.catch_up(catalog)?;
        let size = filters.size.clamp(1, 1000) as usize;
        let skip = (filters.page.max(1) as usize - 1) * size;
        // One past the page tells whether another follows.
        let wanted = skip + size + 1;
        let mut found = Vec::with_capacity(wanted);
        {
            let state = self.read();
            let Some(index) = state.owners.get(owner_id) else {
                return Ok((Vec::new(), false));
            };
            let ranked: Vec<&str> = index.ranked(query).into_iter().map(|(id, _)| id).collect();
            let best = &ranked[..ranked.len().min(CANDIDATES)];
            // A deep page goes straight to the whole set.
            let by_id = wanted <= CANDIDATES;
            let mut matching = catalog.matching_assets(owner_id, filters, by_id.then_some(best))?;
            if by_id && matching.len() < wanted && best.len() < ranked.len() {
                matching = catalog.matching_assets(owner_id, filters, None)?;
            }
            found.extend(
                ranked
                    .into_iter()
                    .filter(|id| matching.contains(*id))
                    .take(wanted)
                    .map(str::to_owned),
            );
        }
        let more = found.len() > skip + size;
        let page = found
            .iter()
            .skip(skip)
            .take(size)
            .map(|id| catalog.asset(id))
            .collect::<Result<_, _>>()?;
        Ok((page, more))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Near-identical photos: the same index, searched by a photo's own vector.
impl Neighbours for SmartIndex {
    fn near(&self, catalog: &Catalog, asset_id: &str, max_distance: f32) -> shoebox_catalog::Result<Option<Vec<String>>> {
        self.catch_up(catalog)?;
        let owner = catalog.asset(asset_id)?.owner_id;
        let state = self.read();
        let Some(index) = state.owners.get(&owner) else {
            return Ok(None);
        };
        let Some(vector) = index.get(asset_id) else {
            return Ok(None);
        };
        let near = index.within(&vector, 1.0 - max_distance);
        Ok(Some(
            near.into_iter()
                .filter(|&(id, _)| id != asset_id)
                .map(|(id, _)| id.to_owned())
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoebox_catalog::{AssetKind, AssetUpdate, NewAsset, NewUser, Visibility};

    /// A library of `n` photos whose embeddings turn away from [1, 0] one
    /// step at a time, and their ids in the order a query of [1, 0] ranks
    /// them (8-bit codes tie some neighbours, so the order is the index's).
    fn library(n: usize) -> (tempfile::TempDir, Catalog, String, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("test.db")).unwrap();
        let owner = catalog
            .create_user(&NewUser {
                email: "a@x",
                name: "A",
                password_hash: "-",
                is_admin: false,
                should_change_password: false,
                quota_bytes: None,
            })
            .unwrap()
            .id;
        let mut ranking = VectorIndex::new(2);
        for i in 0..n {
            let asset = catalog
                .commit_asset(&NewAsset {
                    id: format!("asset-{i:05}"),
                    owner_id: owner.clone(),
                    checksum: i.to_be_bytes().to_vec(),
                    kind: AssetKind::Image,
                    original_path: format!("library/{i}.jpg"),
                    original_file_name: format!("{i}.jpg"),
                    mime_type: "image/jpeg".into(),
                    file_size: 1,
                    device_asset_id: String::new(),
                    device_id: String::new(),
                    file_created_at: 0,
                    file_modified_at: 0,
                    duration_ms: None,
                    is_favorite: false,
                    visibility: Visibility::Timeline,
                    live_photo_video_id: None,
                    sidecar_path: None,
                })
                .unwrap()
                .unwrap();
            let angle = i as f32 / n as f32;
            let vector = [angle.cos(), angle.sin()];
            catalog.set_embedding(&asset.id, "clip", &vector).unwrap();
            ranking.insert(&asset.id, &vector);
        }
        let ids = ranking.ranked(&[1.0, 0.0]).into_iter().map(|(id, _)| id.to_owned()).collect();
        (dir, catalog, owner, ids)
    }

    fn page(index: &SmartIndex, catalog: &Catalog, owner: &str, filters: AssetSearch) -> (Vec<String>, bool) {
        let (assets, more) = index.search(catalog, owner, &[1.0, 0.0], &filters).unwrap();
        (assets.into_iter().map(|a| a.id).collect(), more)
    }

    #[test]
    fn filters_reach_past_the_best_candidates_and_deep_pages_follow_the_ranking() {
        let n = CANDIDATES + 200;
        let (_dir, catalog, owner, ids) = library(n);
        let index = SmartIndex::new("clip");
        let filters = |page, size| AssetSearch {
            page,
            size,
            ..AssetSearch::default()
        };
        assert_eq!(page(&index, &catalog, &owner, filters(1, 3)), (ids[..3].to_vec(), true));

        // The only favourite ranks last, far past the candidates checked by id.
        let last = ids.last().unwrap();
        let favourite = AssetUpdate {
            is_favorite: Some(true),
            ..AssetUpdate::default()
        };
        catalog.update_asset(&owner, last, &favourite).unwrap();
        let favourites = AssetSearch {
            favorite: Some(true),
            ..filters(1, 10)
        };
        assert_eq!(page(&index, &catalog, &owner, favourites), (vec![last.clone()], false));

        // A page beyond the candidates reads the whole set, in rank order.
        let size = (CANDIDATES / 2 + 50) as u32;
        let (second, more) = page(&index, &catalog, &owner, filters(3, size));
        assert_eq!((second, more), (ids[2 * size as usize..].to_vec(), false));

        // What jobs write later is found on the next search.
        catalog.set_embedding(last, "clip", &[1.0, 0.0]).unwrap();
        assert_eq!(page(&index, &catalog, &owner, filters(1, 1)).0, std::slice::from_ref(last));
        assert_eq!(page(&index, &catalog, "someone else", filters(1, 10)), (vec![], false));
    }
}
