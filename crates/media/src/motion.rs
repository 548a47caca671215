//! Android motion photos: a JPEG or HEIC still with its short video
//! appended, announced in the still's XMP (Google's `MotionPhoto` container
//! item, or the older `MicroVideo` offset). The video is split off at
//! ingest into a hidden asset of its own, as an iPhone's live photo is.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::metadata::{xmp_packet, xmp_property};
use crate::{Error, Result};

/// Where the XMP of a still is found: in its first few megabytes.
const XMP_SCAN_LIMIT: u64 = 4 << 20;

/// Where the embedded video starts, if the file is a motion photo whose
/// video is really there (an MP4 `ftyp` box at the announced place).
pub fn embedded_video(path: &Path) -> Result<Option<u64>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = Vec::new();
    (&mut file)
        .take(XMP_SCAN_LIMIT)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let Some(length) = xmp_packet(&head).and_then(video_length) else {
        return Ok(None);
    };
    let Some(offset) = size.checked_sub(length).filter(|&o| o > 0 && length >= 8) else {
        return Ok(None);
    };
    let mut box_head = [0u8; 8];
    file.seek(SeekFrom::Start(offset)).map_err(|e| Error::io(path, e))?;
    file.read_exact(&mut box_head).map_err(|e| Error::io(path, e))?;
    Ok((&box_head[4..8] == b"ftyp").then_some(offset))
}

/// The appended video's length in bytes, from the container directory's
/// `MotionPhoto` item or the older `MicroVideoOffset`.
fn video_length(xmp: &str) -> Option<u64> {
    let motion = xmp_property(xmp, "GCamera:MotionPhoto") == Some("1") || xmp_property(xmp, "GCamera:MicroVideo") == Some("1");
    if !motion {
        return None;
    }
    let item = xmp
        .split("<Container:Item")
        .skip(1)
        .map(|rest| rest.split("/>").next().unwrap_or(rest))
        .find(|item| item.contains("Item:Semantic=\"MotionPhoto\""));
    item.and_then(|i| xmp_property(i, "Item:Length"))
        .or_else(|| xmp_property(xmp, "GCamera:MicroVideoOffset"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn motion_photo(xmp: &str, video: &[u8]) -> tempfile::NamedTempFile {
        let mut bytes = b"\xFF\xD8\xFF\xE1".to_vec();
        bytes.extend_from_slice(xmp.as_bytes());
        bytes.extend_from_slice(b"\xFF\xD9");
        bytes.extend_from_slice(video);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    const VIDEO: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom rest of the video";

    #[test]
    fn the_container_item_or_the_old_offset_finds_the_video() {
        let xmp = format!(
            r#"<x:xmpmeta><rdf:Description GCamera:MotionPhoto="1"><Container:Directory><rdf:Seq>
               <rdf:li><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0"/></rdf:li>
               <rdf:li><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="{}"/></rdf:li>
               </rdf:Seq></Container:Directory></rdf:Description></x:xmpmeta>"#,
            VIDEO.len()
        );
        let file = motion_photo(&xmp, VIDEO);
        let size = std::fs::metadata(file.path()).unwrap().len();
        assert_eq!(embedded_video(file.path()).unwrap(), Some(size - VIDEO.len() as u64));
        let old = format!(
            r#"<x:xmpmeta GCamera:MicroVideo="1" GCamera:MicroVideoOffset="{}"></x:xmpmeta>"#,
            VIDEO.len()
        );
        assert!(embedded_video(motion_photo(&old, VIDEO).path()).unwrap().is_some());
    }

    #[test]
    fn a_claim_without_a_video_behind_it_is_ignored() {
        let lying = r#"<x:xmpmeta GCamera:MicroVideo="1" GCamera:MicroVideoOffset="30"></x:xmpmeta>"#;
        assert_eq!(embedded_video(motion_photo(lying, &[7u8; 30]).path()).unwrap(), None);
        let too_long = r#"<x:xmpmeta GCamera:MicroVideo="1" GCamera:MicroVideoOffset="999999"></x:xmpmeta>"#;
        assert_eq!(embedded_video(motion_photo(too_long, VIDEO).path()).unwrap(), None);
        let plain = "<x:xmpmeta></x:xmpmeta>";
        assert_eq!(embedded_video(motion_photo(plain, VIDEO).path()).unwrap(), None);
    }
}
