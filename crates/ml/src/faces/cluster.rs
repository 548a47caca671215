//! Faces into people, one face at a time, as Immich's facial recognition
//! decides: a face with enough close neighbours is a "core" face and starts
//! a person if none of them has one; a face with too few waits until the
//! core faces are placed, then joins the nearest person or stays unnamed.
//! The result does not depend on which face of a person came first.

use std::collections::HashMap;

use crate::vectors::VectorIndex;

/// Immich's facial recognition settings and defaults.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSettings {
    /// Faces closer than this (cosine distance) may be the same person.
    pub max_distance: f32,
    /// Close faces (itself included) a face needs to start a person.
    pub min_faces: usize,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            max_distance: 0.5,
            min_faces: 3,
        }
    }
}

/// What to do with one face.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It is this person.
    Join(String),
    /// It is a core face near no person: a new person starts with it.
    NewPerson,
    /// Too few close faces to start a person, and no person near: look
    /// again once the core faces are placed.
    Defer,
    /// Looked at again, still no person near: it stays unnamed.
    Unassigned,
}

/// One owner's face embeddings and who each face is, kept together so a
/// decision sees every face placed before it.
#[derive(Debug)]
pub struct FaceClusters {
    faces: VectorIndex,
    people: HashMap<String, String>,
    settings: ClusterSettings,
}

impl FaceClusters {
    pub fn new(dim: usize, settings: ClusterSettings) -> Self {
        FaceClusters {
            faces: VectorIndex::new(dim),
            people: HashMap::new(),
            settings,
        }
    }

    /// A face as it is stored: its embedding, and its person if it has one.
    pub fn add(&mut self, face_id: &str, embedding: &[f32], person: Option<&str>) -> bool {
        match person {
            Some(person) => self.people.insert(face_id.to_owned(), person.to_owned()),
            None => self.people.remove(face_id),
        };
        self.faces.insert(face_id, embedding)
    }

    pub fn person_of(&self, face_id: &str) -> Option<&str> {
        self.people.get(face_id).map(String::as_str)
    }

    /// Records `face_id` as `person`'s (merges and reassignments too).
    pub fn assign(&mut self, face_id: &str, person: &str) {
        self.people.insert(face_id.to_owned(), person.to_owned());
    }

    /// What to do with `face_id` (added already); `deferred` when it is
    /// looked at the second time.
    pub fn decide(&self, face_id: &str, deferred: bool) -> Decision {
        let Some(embedding) = self.faces.get(face_id) else {
            return Decision::Unassigned;
        };
        if let Some(person) = self.person_of(face_id) {
            return Decision::Join(person.to_owned());
        }
        // Most similar first, the face itself among them.
        let near = self.faces.within(&embedding, 1.0 - self.settings.max_distance);
        let is_core = near.len() >= self.settings.min_faces;
        if !is_core && !deferred {
            return Decision::Defer;
        }
        let nearest_person = near.iter().find_map(|(id, _)| self.person_of(id));
        match (nearest_person, is_core) {
            (Some(person), _) => Decision::Join(person.to_owned()),
            (None, true) => Decision::NewPerson,
            (None, false) => Decision::Unassigned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` faces of each of `people` identities: a centre per identity
    /// (orthogonal axes) plus a little noise, like one person's faces in
    /// different photos.
    fn faces(people: usize, per: usize) -> Vec<(String, usize, Vec<f32>)> {
        let dim = 64;
        let mut state = 11u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.3
        };
        let mut all = Vec::new();
        for i in 0..per {
            for who in 0..people {
                let mut v: Vec<f32> = (0..dim).map(|_| noise()).collect();
                v[who] += 1.0;
                all.push((format!("face-{who}-{i}"), who, v));
            }
        }
        all
    }

    /// Immich's order: every face once, then the deferred ones again.
    fn cluster(clusters: &mut FaceClusters, ids: &[String]) -> usize {
        let mut created = 0;
        let mut deferred = Vec::new();
        for id in ids {
            place(clusters, id, false, &mut created, &mut deferred);
        }
        for id in std::mem::take(&mut deferred) {
            place(clusters, &id, true, &mut created, &mut Vec::new());
        }
        created
    }

    fn place(clusters: &mut FaceClusters, id: &str, again: bool, created: &mut usize, deferred: &mut Vec<String>) {
        match clusters.decide(id, again) {
            Decision::Join(person) => clusters.assign(id, &person),
            Decision::NewPerson => {
                *created += 1;
                clusters.assign(id, &format!("person-{created}"));
            }
            Decision::Defer => deferred.push(id.to_owned()),
            Decision::Unassigned => {}
        }
    }

    #[test]
    fn known_groups_become_one_person_each_and_a_new_photo_joins_its_person() {
        let all = faces(3, 5);
        let mut clusters = FaceClusters::new(64, ClusterSettings::default());
        for (id, _, v) in &all {
            assert!(clusters.add(id, v, None));
        }
        let ids: Vec<String> = all.iter().map(|(id, _, _)| id.clone()).collect();
        assert_eq!(cluster(&mut clusters, &ids), 3, "one person per identity");
        // Every face of an identity has that identity's person, and only it.
        let mut people: HashMap<usize, String> = HashMap::new();
        for (id, who, _) in &all {
            let person = clusters.person_of(id).unwrap_or_else(|| panic!("{id} has no person")).to_owned();
            assert_eq!(people.entry(*who).or_insert_with(|| person.clone()), &person, "{id}");
        }
        assert_eq!(people.values().collect::<std::collections::HashSet<_>>().len(), 3);

        let mut newcomer = vec![0.0; 64];
        newcomer[1] = 1.0;
        clusters.add("new", &newcomer, None);
        assert_eq!(clusters.decide("new", false), Decision::Join(people[&1].clone()));
    }

    #[test]
    fn a_lone_face_waits_and_then_stays_unnamed_and_a_close_pair_is_not_a_person() {
        let mut clusters = FaceClusters::new(3, ClusterSettings::default());
        clusters.add("alone", &[1.0, 0.0, 0.0], None);
        clusters.add("pair-a", &[0.0, 1.0, 0.0], None);
        clusters.add("pair-b", &[0.0, 1.0, 0.1], None);
        assert_eq!(clusters.decide("alone", false), Decision::Defer);
        assert_eq!(clusters.decide("alone", true), Decision::Unassigned);
        assert_eq!(
            clusters.decide("pair-a", true),
            Decision::Unassigned,
            "two faces are fewer than min_faces"
        );
        let settings = ClusterSettings {
            min_faces: 2,
            ..ClusterSettings::default()
        };
        let mut clusters = FaceClusters::new(3, settings);
        clusters.add("pair-a", &[0.0, 1.0, 0.0], None);
        clusters.add("pair-b", &[0.0, 1.0, 0.1], Some("p"));
        assert_eq!(clusters.decide("pair-a", false), Decision::Join("p".into()));
    }

    #[test]
    fn reassigned_and_merged_faces_draw_new_faces_to_their_new_person() {
        let all = faces(2, 4);
        let mut clusters = FaceClusters::new(64, ClusterSettings::default());
        for (id, _, v) in &all {
            clusters.add(id, v, None);
        }
        let ids: Vec<String> = all.iter().map(|(id, _, _)| id.clone()).collect();
        cluster(&mut clusters, &ids);
        // The owner merges identity 0's person into a named one.
        for (id, who, _) in all.iter().filter(|(_, who, _)| *who == 0) {
            assert_eq!(*who, 0);
            clusters.assign(id, "Ada");
        }
        let mut newcomer = vec![0.0; 64];
        newcomer[0] = 1.0;
        clusters.add("new", &newcomer, None);
        assert_eq!(clusters.decide("new", false), Decision::Join("Ada".into()));
        assert_eq!(
            clusters.decide(&ids[0], false),
            Decision::Join("Ada".into()),
            "a placed face keeps its person"
        );
    }
}
