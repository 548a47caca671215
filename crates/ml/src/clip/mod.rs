//! CLIP, for search by what a photo shows: the visual model's input, made
//! as open_clip (and so Immich) makes it.

mod preprocess;

pub use preprocess::Preprocess;
