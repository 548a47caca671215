//! File types Shoebox accepts, by extension, with Immich's lists so the
//! Immich CLI offers the same files it would offer an Immich server.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Sidecar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    pub kind: MediaKind,
    pub mime: &'static str,
    /// Lower-case extension with its dot.
    pub extension: &'static str,
}

const TYPES: &[(&str, MediaKind, &str)] = &[
    (".3fr", MediaKind::Image, "image/x-hasselblad-3fr"),
    (".ari", MediaKind::Image, "image/x-arriflex-ari"),
    (".arw", MediaKind::Image, "image/x-sony-arw"),
    (".avif", MediaKind::Image, "image/avif"),
    (".bmp", MediaKind::Image, "image/bmp"),
    (".cap", MediaKind::Image, "image/x-phaseone-cap"),
    (".cr2", MediaKind::Image, "image/x-canon-cr2"),
    (".cr3", MediaKind::Image, "image/x-canon-cr3"),
    (".crw", MediaKind::Image, "image/x-canon-crw"),
    (".dcr", MediaKind::Image, "image/x-kodak-dcr"),
    (".dng", MediaKind::Image, "image/x-adobe-dng"),
    (".erf", MediaKind::Image, "image/x-epson-erf"),
    (".fff", MediaKind::Image, "image/x-hasselblad-fff"),
    (".gif", MediaKind::Image, "image/gif"),
    (".heic", MediaKind::Image, "image/heic"),
    (".heif", MediaKind::Image, "image/heif"),
    (".hif", MediaKind::Image, "image/hif"),
    (".iiq", MediaKind::Image, "image/x-phaseone-iiq"),
    (".insp", MediaKind::Image, "image/jpeg"),
    (".jp2", MediaKind::Image, "image/jp2"),
    (".jpe", MediaKind::Image, "image/jpeg"),
    (".jpeg", MediaKind::Image, "image/jpeg"),
    (".jpg", MediaKind::Image, "image/jpeg"),
    (".jxl", MediaKind::Image, "image/jxl"),
    (".k25", MediaKind::Image, "image/x-kodak-k25"),
    (".kdc", MediaKind::Image, "image/x-kodak-kdc"),
    (".mrw", MediaKind::Image, "image/x-minolta-mrw"),
    (".nef", MediaKind::Image, "image/x-nikon-nef"),
    (".nrw", MediaKind::Image, "image/x-nikon-nrw"),
    (".orf", MediaKind::Image, "image/x-olympus-orf"),
    (".ori", MediaKind::Image, "image/x-olympus-ori"),
    (".pef", MediaKind::Image, "image/x-pentax-pef"),
    (".png", MediaKind::Image, "image/png"),
    (".psd", MediaKind::Image, "image/vnd.adobe.photoshop"),
    (".raf", MediaKind::Image, "image/x-fuji-raf"),
    (".raw", MediaKind::Image, "image/x-panasonic-raw"),
    (".rw2", MediaKind::Image, "image/x-panasonic-rw2"),
    (".rwl", MediaKind::Image, "image/x-leica-rwl"),
    (".sr2", MediaKind::Image, "image/x-sony-sr2"),
    (".srf", MediaKind::Image, "image/x-sony-srf"),
    (".srw", MediaKind::Image, "image/x-samsung-srw"),
    (".tif", MediaKind::Image, "image/tiff"),
    (".tiff", MediaKind::Image, "image/tiff"),
    (".webp", MediaKind::Image, "image/webp"),
    (".x3f", MediaKind::Image, "image/x-sigma-x3f"),
    (".3gp", MediaKind::Video, "video/3gpp"),
    (".3gpp", MediaKind::Video, "video/3gpp"),
    (".avi", MediaKind::Video, "video/x-msvideo"),
    (".flv", MediaKind::Video, "video/x-flv"),
    (".insv", MediaKind::Video, "video/mp4"),
    (".m2t", MediaKind::Video, "video/mp2t"),
    (".m2ts", MediaKind::Video, "video/mp2t"),
    (".m4v", MediaKind::Video, "video/x-m4v"),
    (".mkv", MediaKind::Video, "video/x-matroska"),
    (".mov", MediaKind::Video, "video/quicktime"),
    (".mp4", MediaKind::Video, "video/mp4"),
    (".mpe", MediaKind::Video, "video/mpeg"),
    (".mpeg", MediaKind::Video, "video/mpeg"),
    (".mpg", MediaKind::Video, "video/mpeg"),
    (".mts", MediaKind::Video, "video/mp2t"),
    (".vob", MediaKind::Video, "video/mpeg"),
    (".webm", MediaKind::Video, "video/webm"),
    (".wmv", MediaKind::Video, "video/x-ms-wmv"),
    (".xmp", MediaKind::Sidecar, "application/xml"),
];

impl MediaType {
    /// The type of a file by the extension of its name; `None` when
    /// Shoebox does not take such files.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let dot = name.rfind('.')?;
        let ext = name[dot..].to_ascii_lowercase();
        TYPES
            .iter()
            .find(|(e, _, _)| *e == ext)
            .map(|&(extension, kind, mime)| MediaType { kind, mime, extension })
    }

    /// All accepted extensions of one kind, with their dots.
    pub fn extensions(kind: MediaKind) -> impl Iterator<Item = &'static str> {
        TYPES.iter().filter(move |t| t.1 == kind).map(|t| t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_matched_case_insensitively_on_the_last_dot() {
        let t = MediaType::from_file_name("IMG_0001.tar.JPG").unwrap();
        assert_eq!((t.kind, t.mime, t.extension), (MediaKind::Image, "image/jpeg", ".jpg"));
        assert_eq!(MediaType::from_file_name("clip.MOV").unwrap().kind, MediaKind::Video);
        assert!(MediaType::from_file_name("notes.txt").is_none());
        assert!(MediaType::from_file_name("no-extension").is_none());
    }
}
