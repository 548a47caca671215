//! Machine learning inside shoeboxd, without a separate service.
//!
//! ONNX Runtime is loaded from `libonnxruntime.so` at run time
//! ([`Runtime`]): a box without it still serves photos, and its ML jobs wait.
//! Models sit in Immich's layout ([`ModelStore`]), so a folder people
//! already use with Immich works here. Each model loads on first use and
//! unloads after an idle time ([`Model`]), which keeps an idle box small.
//!
//! Tasks: text recognition ([`ocr`]), face detection ([`faces`]), and
//! search by content ([`clip`] embeddings, ranked by [`vectors`]).

pub mod clip;
mod error;
pub mod faces;
mod model;
pub mod npu;
pub mod ocr;
mod runtime;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vectors;

pub use error::{Error, Result};
pub use model::{Backend, Model, ModelPart, ModelStore};
pub use runtime::Runtime;
