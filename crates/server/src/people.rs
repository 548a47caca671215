//! Faces into people: every owner's face embeddings in memory with who
//! each face is, so each new photo's faces are placed as Immich places
//! them ([`FaceClusters`]). Read from the catalog on first use; changes the
//! owner makes (merges, reassignments) drop it, and it is read again.
//!
//! A face with too few close faces to start a person waits: it joins the
//! first person later placed near it, so the result does not depend on
//! which photo came first.

use std::collections::HashMap;
use std::sync::Mutex;

use shoebox_catalog::Catalog;
use shoebox_jobs::FaceRecognition;
use shoebox_ml::faces::cluster::{ClusterSettings, Decision, FaceClusters};

pub struct PeopleIndex {
    settings: ClusterSettings,
    /// `None` until read, and again after the owner changed people.
    state: Mutex<Option<State>>,
}

struct State {
    owners: HashMap<String, Owner>,
}

struct Owner {
    clusters: FaceClusters,
    /// Faces that found no person yet, looked at again as people form.
    waiting: Vec<String>,
}

impl Owner {
    fn new(dim: usize, settings: ClusterSettings) -> Owner {
        Owner {
            clusters: FaceClusters::new(dim, settings),
            waiting: Vec::new(),
        }
    }
}

impl PeopleIndex {
    pub fn new(settings: ClusterSettings) -> PeopleIndex {
        PeopleIndex {
            settings,
            state: Mutex::new(None),
        }
    }

    /// Forgets what it read: the owner changed who is who.
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<State>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, catalog: &Catalog) -> shoebox_catalog::Result<State> {
        let mut owners: HashMap<String, Owner> = HashMap::new();
        for face in catalog.face_embeddings()? {
            let owner = owners
                .entry(face.owner_id)
                .or_insert_with(|| Owner::new(face.embedding.len(), self.settings));
            owner.clusters.add(&face.face_id, &face.embedding, face.person_id.as_deref());
            if face.person_id.is_none() {
                owner.waiting.push(face.face_id);
            }
        }
        Ok(State { owners })
    }
}

impl FaceRecognition for PeopleIndex {
    fn recognize(&self, catalog: &Catalog, asset_id: &str) -> shoebox_catalog::Result<()> {
        let mut slot = self.lock();
        match self.place_faces(catalog, &mut slot, asset_id) {
            // Faces found again or photos deleted since the index was read:
            // it named a person who is gone. Read it again, once.
            Err(shoebox_catalog::Error::NotFound("person")) => {
                *slot = None;
                self.place_faces(catalog, &mut slot, asset_id)
            }
            other => other,
        }
    }
}

impl PeopleIndex {
    fn place_faces(&self, catalog: &Catalog, slot: &mut Option<State>, asset_id: &str) -> shoebox_catalog::Result<()> {
        let asset = catalog.asset(asset_id)?;
        let faces = catalog.faces(asset_id)?;
        if slot.is_none() {
            *slot = Some(self.read(catalog)?);
        }
        let state = slot.as_mut().expect("read above");
        let Some(first) = faces.iter().find_map(|f| f.embedding.as_ref()) else {
            return Ok(());
        };
        let owner = state
            .owners
            .entry(asset.owner_id.clone())
            .or_insert_with(|| Owner::new(first.len(), self.settings));
        for face in &faces {
            if let Some(embedding) = &face.embedding {
                owner.clusters.add(&face.id, embedding, face.person_id.as_deref());
            }
        }
        for face in faces.iter().filter(|f| f.embedding.is_some() && f.person_id.is_none()) {
            place(catalog, &asset.owner_id, owner, &face.id)?;
        }
        Ok(())
    }
}

/// Decides one face and records the decision; a face placed in a person
/// gives the waiting faces another look. Immich defers a face with few
/// neighbours to a second pass after the rest; here it is decided as in
/// that pass at once, and waits only if no person is near it yet.
fn place(catalog: &Catalog, owner_id: &str, owner: &mut Owner, face_id: &str) -> shoebox_catalog::Result<()> {
    let person = match owner.clusters.decide(face_id, true) {
        Decision::Join(person) => {
            catalog.assign_faces(owner_id, &[face_id.to_owned()], &person)?;
            person
        }
        Decision::NewPerson => catalog.create_person(face_id)?.id,
        Decision::Defer | Decision::Unassigned => {
            if !owner.waiting.iter().any(|w| w == face_id) {
                owner.waiting.push(face_id.to_owned());
            }
            return Ok(());
        }
    };
    owner.clusters.assign(face_id, &person);
    owner.waiting.retain(|w| w != face_id);
    for waiting in std::mem::take(&mut owner.waiting) {
        if owner.clusters.decide(&waiting, true) == Decision::Join(person.clone()) {
            catalog.assign_faces(owner_id, std::slice::from_ref(&waiting), &person)?;
            owner.clusters.assign(&waiting, &person);
        } else {
            owner.waiting.push(waiting);
        }
    }
    Ok(())
}
