//! The textual model's input: the query cleaned as Immich cleans it, then
//! tokenised by the model's own `tokenizer.json` (Hugging Face's format),
//! padded and cut to the model's context length.

use std::path::Path;

use serde::Deserialize;
use tokenizers::{PaddingParams, PaddingStrategy, TruncationParams};

use super::read_json;
use crate::{Error, Result};

/// Token ids and which of them are padding, as the model takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub ids: Vec<i32>,
    pub attention_mask: Vec<i32>,
}

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    canonicalize: bool,
}

/// What is read from the model's `config.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct TextConfig {
    #[serde(default = "context_length")]
    pub context_length: usize,
    #[serde(default)]
    tokenizer_kwargs: Option<TokenizerKwargs>,
}

#[derive(Debug, Deserialize)]
struct TokenizerKwargs {
    clean: Option<String>,
}

fn context_length() -> usize {
    77
}

#[derive(Deserialize)]
struct TokenizerConfig {
    pad_token: String,
}

impl Tokenizer {
    /// From the `textual` folder's `tokenizer.json` and
    /// `tokenizer_config.json`, with the model's text settings.
    pub(crate) fn load(folder: &Path, text: &TextConfig) -> Result<Tokenizer> {
        let file = folder.join("tokenizer.json");
        let failed = |reason: String| Error::Model {
            path: file.clone(),
            reason,
        };
        let config: TokenizerConfig = read_json(&folder.join("tokenizer_config.json"))?;
        let mut inner = tokenizers::Tokenizer::from_file(&file).map_err(|e| failed(e.to_string()))?;
        let pad_id = inner
            .token_to_id(&config.pad_token)
            .ok_or_else(|| failed(format!("the padding token {:?} is not in the vocabulary", config.pad_token)))?;
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(text.context_length),
            pad_id,
            pad_token: config.pad_token,
            ..Default::default()
        }));
        inner
            .with_truncation(Some(TruncationParams {
                max_length: text.context_length,
                ..Default::default()
            }))
            .map_err(|e| failed(e.to_string()))?;
        let canonicalize = text.tokenizer_kwargs.as_ref().and_then(|k| k.clean.as_deref()) == Some("canonicalize");
        Ok(Tokenizer { inner, canonicalize })
    }

    pub fn encode(&self, text: &str) -> Result<Tokens> {
        let encoding = self.inner.encode(clean(text, self.canonicalize), true).map_err(|e| Error::Model {
            path: "tokenizer.json".into(),
            reason: e.to_string(),
        })?;
        // Vocabularies have well under 2^31 entries.
        let narrow = |values: &[u32]| values.iter().map(|&v| v as i32).collect();
        Ok(Tokens {
            ids: narrow(encoding.get_ids()),
            attention_mask: narrow(encoding.get_attention_mask()),
        })
    }
}

/// Runs of white space become one space; models trained on canonical text
/// also lose ASCII punctuation and case, as Immich's `clean_text` does.
fn clean(text: &str, canonicalize: bool) -> String {
    let spaced = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if canonicalize {
        spaced
            .chars()
            .filter(|c| !c.is_ascii_punctuation())
            .collect::<String>()
            .to_lowercase()
    } else {
        spaced
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn text_is_cleaned_as_immich_cleans_it() {
        assert_eq!(clean("  a\tdog \n on  the beach ", false), "a dog on the beach");
        assert_eq!(clean("Test   Search Query!", true), "test search query");
        assert_eq!(clean("Café, Straße.", true), "café straße");
    }
}
