//! Capture metadata from EXIF (JPEG, TIFF and TIFF-based RAW, HEIF, PNG,
//! WebP) and from an embedded XMP packet.
//!
//! Times come back twice: `local` is the wall clock where the photo was
//! taken and `utc` the instant, known only when the file records its offset
//! (or GPS time lets us derive it). Without an offset the wall clock is
//! taken as UTC, as Immich does, so a photo never jumps days.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use exif::{Exif, In, Tag, Value};

use crate::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens_model: Option<String>,
    /// "1/125" or "2" seconds, as Immich shows it.
    pub exposure_time: Option<String>,
    pub f_number: Option<f64>,
    pub iso: Option<i64>,
    pub focal_length: Option<f64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// EXIF orientation 1–8.
    pub orientation: Option<u16>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub taken: Option<CaptureTime>,
    pub modified: Option<CaptureTime>,
    pub description: Option<String>,
    pub rating: Option<i64>,
    /// Apple's content identifier, shared by a live photo's still and its
    /// video, so the two are paired when they arrive separately.
    pub live_photo_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureTime {
    /// Wall-clock time, as milliseconds "as if UTC".
    pub local_millis: i64,
    /// The instant, when the offset is known.
    pub utc_millis: Option<i64>,
    /// Offset from UTC in seconds, when known.
    pub offset_seconds: Option<i32>,
}

impl CaptureTime {
    /// Immich's `timeZone` string for the offset, e.g. "UTC+2" or "UTC-3:30".
    pub fn zone_name(&self) -> Option<String> {
        let off = self.offset_seconds?;
        let sign = if off < 0 { '-' } else { '+' };
        let (h, m) = (off.abs() / 3600, off.abs() % 3600 / 60);
        Some(if m == 0 {
            format!("UTC{sign}{h}")
        } else {
            format!("UTC{sign}{h}:{m:02}")
        })
    }

    /// The instant, taking the wall clock as UTC when the offset is unknown.
    pub fn instant_millis(&self) -> i64 {
        self.utc_millis.unwrap_or(self.local_millis)
    }
}

/// Bytes read from the head of a file when looking for an XMP packet.
const XMP_SCAN_LIMIT: u64 = 4 << 20;

/// Reads what the file says about itself. A file without metadata gives
/// empty metadata; a file whose metadata is damaged gives an error.
pub fn read(path: &Path) -> Result<Metadata> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut meta = match exif::Reader::new().read_from_container(&mut reader) {
        Ok(exif) => from_exif(&exif),
        Err(exif::Error::NotFound(_)) => Metadata::default(),
        Err(exif::Error::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            return Err(Error::io(path, e));
        }
        // Containers kamadak-exif does not open: TIFF under another magic
        // number (Panasonic RW2, Olympus ORF), then ISO-BMFF and the rest
        // (Canon CR3, Fujifilm RAF, Phase One IIQ) through nom-exif.
        Err(exif::Error::InvalidFormat(msg)) if msg == "Unknown image format" => match read_tiff_variant(path)? {
            Some(exif) => from_exif(&exif),
            None => nom_exif::read_exif(path)
                .map(|e| from_nom_exif(&e))
                .map_err(|_| Error::Metadata(msg.to_string()))?,
        },
        Err(e) => return Err(Error::Metadata(e.to_string())),
    };
    reader.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    let mut head = Vec::new();
    reader.take(XMP_SCAN_LIMIT).read_to_end(&mut head).map_err(|e| Error::io(path, e))?;
    if let Some(xmp) = xmp_packet(&head) {
        merge_xmp(&mut meta, xmp);
    }
    Ok(meta)
}

/// RW2 (`IIU\0`) and ORF (`IIRO`, `IIRS`, `MMOR`) are TIFF files with their
/// own magic number; with the standard one they parse as TIFF.
fn read_tiff_variant(path: &Path) -> Result<Option<Exif>> {
    let mut head = [0u8; 4];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    if file.read_exact(&mut head).is_err() {
        return Ok(None);
    }
    let magic = match &head {
        b"IIU\0" | b"IIRO" | b"IIRS" => *b"II*\0",
        b"MMOR" => *b"MM\0*",
        _ => return Ok(None),
    };
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    bytes[..4].copy_from_slice(&magic);
    exif::Reader::new()
        .read_raw(bytes)
        .map(Some)
        .map_err(|e| Error::Metadata(e.to_string()))
}

fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    match &field.value {
        Value::Ascii(parts) => {
            let text = parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).trim_matches(char::from(0)).trim().to_string())
                .find(|s| !s.is_empty())?;
            Some(text)
        }
        _ => None,
    }
}

fn rational(exif: &Exif, tag: Tag, ifd: In) -> Option<f64> {
    match &exif.get_field(tag, ifd)?.value {
        Value::Rational(v) if !v.is_empty() && v[0].denom != 0 => Some(v[0].to_f64()),
        Value::SRational(v) if !v.is_empty() && v[0].denom != 0 => Some(v[0].to_f64()),
        _ => None,
    }
}

fn uint(exif: &Exif, tag: Tag) -> Option<u32> {
    exif.get_field(tag, In::PRIMARY)?.value.get_uint(0)
}

fn from_exif(exif: &Exif) -> Metadata {
    let offset = |tag| ascii(exif, tag).and_then(|s| parse_offset(&s));
    let time = |tag, subsec, off_tag| {
        let local = parse_exif_datetime(&ascii(exif, tag)?, ascii(exif, subsec).as_deref())?;
        Some(capture_time(local, offset(off_tag)))
    };
    let mut taken = time(Tag::DateTimeOriginal, Tag::SubSecTimeOriginal, Tag::OffsetTimeOriginal)
        .or_else(|| time(Tag::DateTimeDigitized, Tag::SubSecTimeDigitized, Tag::OffsetTimeDigitized));
    if let (Some(t), Some(gps_utc)) = (taken.as_mut().filter(|t| t.offset_seconds.is_none()), gps_time(exif)) {
        *t = capture_time(naive(t.local_millis), offset_from_gps(t.local_millis, gps_utc));
    }
    let modified = time(Tag::DateTime, Tag::SubSecTime, Tag::OffsetTime);
    let exposure_time = rational(exif, Tag::ExposureTime, In::PRIMARY)
        .filter(|v| *v > 0.0)
        .map(format_exposure);
    Metadata {
        make: ascii(exif, Tag::Make),
        model: ascii(exif, Tag::Model),
        lens_model: ascii(exif, Tag::LensModel),
        exposure_time,
        f_number: rational(exif, Tag::FNumber, In::PRIMARY),
        iso: uint(exif, Tag::PhotographicSensitivity).map(i64::from),
        focal_length: rational(exif, Tag::FocalLength, In::PRIMARY),
        latitude: gps_coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, 'S', 90.0),
        longitude: gps_coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, 'W', 180.0),
        orientation: uint(exif, Tag::Orientation)
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
        width: uint(exif, Tag::PixelXDimension)
            .or_else(|| uint(exif, Tag::ImageWidth))
            .map(i64::from),
        height: uint(exif, Tag::PixelYDimension)
            .or_else(|| uint(exif, Tag::ImageLength))
            .map(i64::from),
        taken,
        modified,
        description: ascii(exif, Tag::ImageDescription),
        rating: None,
        live_photo_id: exif.get_field(Tag::MakerNote, In::PRIMARY).and_then(|f| match &f.value {
            Value::Undefined(note, _) => apple_content_identifier(note),
            _ => None,
        }),
    }
}

/// The content identifier (tag 0x0011) in an Apple maker note: "Apple iOS\0",
/// a version, "MM", then a big-endian IFD whose offsets count from the
/// note's start. Another maker's note, or a damaged one, has none.
fn apple_content_identifier(note: &[u8]) -> Option<String> {
    const HEADER: usize = 14;
    if !note.starts_with(b"Apple iOS\0") || note.get(12..HEADER)? != b"MM" {
        return None;
    }
    let u16_at = |at: usize| note.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let u32_at = |at: usize| note.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let count = usize::from(u16_at(HEADER)?);
    (0..count).find_map(|i| {
        let entry = HEADER + 2 + 12 * i;
        // Tag 0x0011, type ASCII: its text is longer than four bytes, so it sits at an offset.
        if u16_at(entry)? != 0x0011 || u16_at(entry + 2)? != 2 {
            return None;
        }
        let (len, at) = (u32_at(entry + 4)?, u32_at(entry + 8)?);
        let text = note.get(at..at.checked_add(len)?)?;
        let text = std::str::from_utf8(text).ok()?.trim_end_matches('\0').trim();
        (!text.is_empty()).then(|| text.to_owned())
    })
}

fn from_nom_exif(exif: &nom_exif::Exif) -> Metadata {
    use nom_exif::{ExifDateTime, ExifTag};
    let text = |tag| {
        exif.get(tag)
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let number = |tag| {
        exif.get(tag)
            .and_then(|v| v.as_urational().and_then(|r| r.to_f64()).or_else(|| v.as_f64()))
    };
    let int = |tag| exif.get(tag).and_then(|v| v.as_u32().or_else(|| v.as_u16().map(u32::from)));
    let time = |tag, offset_tag| {
        let value = exif.get(tag)?.as_datetime()?;
        Some(match value {
            ExifDateTime::Aware(t) => capture_time(t.naive_local(), Some(t.offset().local_minus_utc())),
            ExifDateTime::Naive(t) => capture_time(t, text(offset_tag).and_then(|o| parse_offset(&o))),
        })
        .filter(|t| t.local_millis > 0)
    };
    let gps = exif.gps_info();
    let coordinate = |value: Option<f64>, max: f64| value.filter(|v| v.is_finite() && v.abs() <= max && *v != 0.0);
    Metadata {
        make: text(ExifTag::Make),
        model: text(ExifTag::Model),
        lens_model: text(ExifTag::LensModel),
        exposure_time: number(ExifTag::ExposureTime).filter(|v| *v > 0.0).map(format_exposure),
        f_number: number(ExifTag::FNumber),
        iso: int(ExifTag::ISOSpeedRatings).map(i64::from),
        focal_length: number(ExifTag::FocalLength),
        latitude: coordinate(
            gps.and_then(|g| Some(g.latitude.to_decimal_degrees()? * g.latitude_ref.sign())),
            90.0,
        ),
        longitude: coordinate(
            gps.and_then(|g| Some(g.longitude.to_decimal_degrees()? * g.longitude_ref.sign())),
            180.0,
        ),
        orientation: int(ExifTag::Orientation)
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
        width: int(ExifTag::ExifImageWidth).or_else(|| int(ExifTag::ImageWidth)).map(i64::from),
        height: int(ExifTag::ExifImageHeight).or_else(|| int(ExifTag::ImageHeight)).map(i64::from),
        taken: time(ExifTag::DateTimeOriginal, ExifTag::OffsetTimeOriginal)
            .or_else(|| time(ExifTag::CreateDate, ExifTag::OffsetTimeDigitized)),
        modified: time(ExifTag::ModifyDate, ExifTag::OffsetTime),
        description: text(ExifTag::ImageDescription),
        rating: None,
        live_photo_id: None,
    }
}

fn format_exposure(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("1/{}", (1.0 / seconds).round())
    } else {
        format!("{}", (seconds * 10.0).round() / 10.0)
    }
}

fn naive(local_millis: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(local_millis)
        .unwrap_or_default()
        .naive_utc()
}

fn capture_time(local: NaiveDateTime, offset_seconds: Option<i32>) -> CaptureTime {
    let local_millis = local.and_utc().timestamp_millis();
    let utc_millis = offset_seconds
        .and_then(FixedOffset::east_opt)
        .and_then(|off| off.from_local_datetime(&local).single())
        .map(|t| t.timestamp_millis());
    CaptureTime {
        local_millis,
        utc_millis,
        offset_seconds: utc_millis.and(offset_seconds),
    }
}

/// "2024:06:01 14:03:59" (EXIF) with an optional sub-second string.
fn parse_exif_datetime(s: &str, subsec: Option<&str>) -> Option<NaiveDateTime> {
    let s = s.trim();
    let head = s.get(..19)?;
    let base = NaiveDateTime::parse_from_str(head, "%Y:%m:%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(head, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    if base.and_utc().timestamp() <= 0 {
        return None; // "0000:00:00" placeholders and the epoch are not dates
    }
    let millis = subsec
        .map(|d| {
            d.trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .chain("000".chars())
                .take(3)
                .collect::<String>()
        })
        .and_then(|d| d.parse::<i64>().ok())
        .unwrap_or(0);
    Some(base + chrono::Duration::milliseconds(millis))
}

/// "+02:00", "-0530", "Z".
fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s == "Z" {
        return Some(0);
    }
    let sign = match s.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(char::is_ascii_digit).collect();
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

fn gps_time(exif: &Exif) -> Option<i64> {
    let date = NaiveDate::parse_from_str(&ascii(exif, Tag::GPSDateStamp)?, "%Y:%m:%d").ok()?;
    let Value::Rational(hms) = &exif.get_field(Tag::GPSTimeStamp, In::PRIMARY)?.value else {
        return None;
    };
    if hms.len() < 3 || hms.iter().any(|r| r.denom == 0) {
        return None;
    }
    let secs = hms[0].to_f64() * 3600.0 + hms[1].to_f64() * 60.0 + hms[2].to_f64();
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() + (secs * 1000.0) as i64)
}

/// The offset implied by wall-clock and GPS (UTC) time, rounded to the
/// quarter hour that real time zones use; implausible gaps mean no offset.
fn offset_from_gps(local_millis: i64, gps_utc_millis: i64) -> Option<i32> {
    let quarter = 15 * 60;
    let diff = (local_millis - gps_utc_millis) / 1000;
    let rounded = ((diff as f64 / quarter as f64).round() as i64 * quarter) as i32;
    ((diff - i64::from(rounded)).abs() < 5 * 60 && rounded.abs() <= 14 * 3600).then_some(rounded)
}

fn gps_coordinate(exif: &Exif, tag: Tag, ref_tag: Tag, negative: char, max: f64) -> Option<f64> {
    let Value::Rational(dms) = &exif.get_field(tag, In::PRIMARY)?.value else {
        return None;
    };
    if dms.len() < 3 || dms.iter().any(|r| r.denom == 0) {
        return None;
    }
    let mut value = dms[0].to_f64() + dms[1].to_f64() / 60.0 + dms[2].to_f64() / 3600.0;
    if ascii(exif, ref_tag).is_some_and(|r| r.starts_with(negative)) {
        value = -value;
    }
    (value.is_finite() && value.abs() <= max && value != 0.0).then_some(value)
}

/// The XMP packet embedded in a file, found by its `x:xmpmeta` element.
pub(crate) fn xmp_packet(bytes: &[u8]) -> Option<&str> {
    let start = find(bytes, b"<x:xmpmeta")?;
    let end = start + find(&bytes[start..], b"</x:xmpmeta>")? + "</x:xmpmeta>".len();
    std::str::from_utf8(&bytes[start..end]).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of an XMP property written either as an attribute
/// (`xmp:Rating="5"`) or as an element (`<xmp:Rating>5</xmp:Rating>`).
pub(crate) fn xmp_property<'a>(xmp: &'a str, name: &str) -> Option<&'a str> {
    let attr = format!("{name}=\"");
    if let Some(i) = xmp.find(&attr) {
        let rest = &xmp[i + attr.len()..];
        return rest.find('"').map(|j| &rest[..j]);
    }
    let open = format!("<{name}>");
    let i = xmp.find(&open)? + open.len();
    let rest = &xmp[i..];
    let value = &rest[..rest.find(&format!("</{name}>"))?];
    // dc:description wraps its text in rdf:Alt/rdf:li
    let text = match value.rfind("</rdf:li>") {
        Some(end) => value[..end].rsplit('>').next().unwrap_or(""),
        None => value,
    };
    Some(text.trim())
}

/// Applies an XMP sidecar (Lightroom, darktable, digiKam): where it speaks,
/// it wins over what the file itself says, since it holds later edits.
pub fn apply_sidecar(meta: &mut Metadata, sidecar: &Path) -> Result<()> {
    let bytes = std::fs::read(sidecar).map_err(|e| Error::io(sidecar, e))?;
    let xmp = xmp_packet(&bytes).ok_or_else(|| Error::Metadata("the XMP sidecar has no x:xmpmeta element".into()))?;
    let mut from_sidecar = Metadata::default();
    merge_xmp(&mut from_sidecar, xmp);
    meta.rating = from_sidecar.rating.or(meta.rating);
    meta.description = from_sidecar.description.or(meta.description.take());
    meta.taken = from_sidecar.taken.or(meta.taken);
    Ok(())
}

/// XMP fills what EXIF left empty; EXIF wins where both speak.
fn merge_xmp(meta: &mut Metadata, xmp: &str) {
    if meta.rating.is_none() {
        meta.rating = xmp_property(xmp, "xmp:Rating")
            .and_then(|r| r.parse::<f64>().ok())
            .map(|r| r.round() as i64)
            .filter(|r| (-1..=5).contains(r));
    }
    if meta.description.is_none() {
        meta.description = xmp_property(xmp, "dc:description").filter(|d| !d.is_empty()).map(unescape_xml);
    }
    if meta.taken.is_none() {
        meta.taken = ["exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate"]
            .iter()
            .find_map(|name| parse_xmp_date(xmp_property(xmp, name)?));
    }
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// ISO 8601 as XMP writes it: "2024-06-01T14:03:59.12+02:00" or without offset.
fn parse_xmp_date(s: &str) -> Option<CaptureTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(capture_time(t.naive_local(), Some(t.offset().local_minus_utc())));
    }
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    Some(capture_time(local, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_in_the_forms_cameras_write() {
        assert_eq!(parse_offset("+02:00"), Some(7200));
        assert_eq!(parse_offset("-05:30"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(parse_offset("+0100"), Some(3600));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("   :  "), None);
        assert_eq!(parse_offset("+99:00"), None);
    }

    #[test]
    fn exif_dates_reject_placeholders_and_keep_sub_seconds() {
        assert!(parse_exif_datetime("0000:00:00 00:00:00", None).is_none());
        assert!(parse_exif_datetime("garbage", None).is_none());
        let t = parse_exif_datetime("2019:07:04 12:30:15", Some("25")).unwrap();
        assert_eq!(t.and_utc().timestamp_millis() % 1000, 250);
    }

    #[test]
    fn a_known_offset_gives_the_instant_and_an_immich_zone_name() {
        let local = parse_exif_datetime("2020:01:01 12:00:00", None).unwrap();
        let t = capture_time(local, Some(2 * 3600));
        assert_eq!(t.local_millis - t.utc_millis.unwrap(), 2 * 3600 * 1000);
        assert_eq!(t.zone_name().as_deref(), Some("UTC+2"));
        let t = capture_time(local, Some(-(3 * 3600 + 1800)));
        assert_eq!(t.zone_name().as_deref(), Some("UTC-3:30"));
        assert_eq!(capture_time(local, None).instant_millis(), t.local_millis);
    }

    #[test]
    fn gps_time_implies_an_offset_only_when_plausible() {
        let local = 1_600_000_000_000;
        assert_eq!(offset_from_gps(local, local - 3_600_000 - 4_000), Some(3600));
        assert_eq!(offset_from_gps(local, local - 3_600_000 - 7 * 60_000), None);
        assert_eq!(offset_from_gps(local, local - 20 * 3_600_000), None);
    }

    #[test]
    fn xmp_fills_rating_description_and_date_in_both_syntaxes() {
        let xmp = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description xmp:Rating="4"
            photoshop:DateCreated="2018-03-04T05:06:07+01:00"><dc:description><rdf:Alt>
            <rdf:li xml:lang="x-default">Fish &amp; chips</rdf:li></rdf:Alt></dc:description>
            </rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let mut meta = Metadata::default();
        merge_xmp(&mut meta, xmp_packet(xmp.as_bytes()).unwrap());
        assert_eq!(meta.rating, Some(4));
        assert_eq!(meta.description.as_deref(), Some("Fish & chips"));
        assert_eq!(meta.taken.unwrap().offset_seconds, Some(3600));
    }

    #[test]
    fn a_file_without_metadata_reads_as_empty_and_garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.bin");
        std::fs::write(&plain, b"just some bytes, no container").unwrap();
        assert!(read(&plain).is_ok() || matches!(read(&plain), Err(Error::Metadata(_))));
        let hostile = dir.path().join("hostile.jpg");
        // A JPEG whose APP1 claims an Exif segment with a TIFF header pointing far outside it.
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x12];
        bytes.extend_from_slice(b"Exif\0\0II*\0\xff\xff\xff\x7f\0\0");
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        std::fs::write(&hostile, bytes).unwrap();
        assert!(matches!(read(&hostile), Err(Error::Metadata(_))), "{:?}", read(&hostile));
    }
}
