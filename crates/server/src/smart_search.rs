//! Search by content: every owner's CLIP embeddings ranked in memory, the
//! catalog's filters applied to the ranking, a page at a time.
//!
//! Jobs write embeddings to the catalog; the index reads what is new before
//! each search, so nothing has to tell it. Deleted assets may linger in the
//! index until a restart, and the catalog's filters leave them out.

use std::collections::HashMap;
use std::sync::RwLock;

use shoebox_catalog::{Asset, AssetSearch, Catalog};
use shoebox_ml::vectors::VectorIndex;

/// Ranked candidates checked against the filters per query of the catalog.
const CHUNK: usize = 500;

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

    /// Reads the embeddings written since the last call. Blocking.
    pub fn catch_up(&self, catalog: &Catalog) -> shoebox_catalog::Result<()> {
        let seq = self.read().seq;
        let new = catalog.embeddings_since(&self.model, seq)?;
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
                tracing::warn!(asset = stored.asset_id, "embedding of another length than the rest; left out of search");
            }
            state.seq = stored.seq;
        }
        Ok(())
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
            for chunk in index.ranked(query).chunks(CHUNK) {
                let ids: Vec<&str> = chunk.iter().map(|&(id, _)| id).collect();
                let matching = catalog.matching_assets(owner_id, filters, &ids)?;
                found.extend(ids.into_iter().filter(|id| matching.contains(*id)).map(str::to_owned));
                if found.len() >= wanted {
                    break;
                }
            }
        }
        let more = found.len() > skip + size;
        let page = found.iter().skip(skip).take(size).map(|id| catalog.asset(id)).collect::<Result<_, _>>()?;
        Ok((page, more))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }
}
