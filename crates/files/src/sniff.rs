//! What a file really is, judged by its bytes alone.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const MIB: u64 = 1024 * 1024;

/// How much of the start of a file is read for magic bytes and the text check.
pub const TEXT_SNIFF_BYTES: usize = 64 * 1024;
/// A zip container with more entries than this is refused.
pub const MAX_ZIP_ENTRIES: u64 = 10_000;
/// A zip container whose entries declare more than this in total is refused.
pub const MAX_ZIP_UNCOMPRESSED: u64 = 200 * MIB;
/// An entry larger than 1 MiB expanding more than this many times is refused.
pub const MAX_ZIP_ENTRY_RATIO: u64 = 100;
/// Entries up to this size are not held to [`MAX_ZIP_ENTRY_RATIO`] (XML compresses well).
const ZIP_RATIO_MIN_SIZE: u64 = MIB;
/// CSV detection looks at this many records at most.
const CSV_SAMPLE_RECORDS: usize = 20;

/// The four kinds of upload a client may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Image,
    Video,
    Audio,
    File,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 4] = [Category::Image, Category::Video, Category::Audio, Category::File];

    /// `"image"`, `"video"`, `"audio"` or `"file"` (exactly, lower case).
    pub fn parse(input_type: &str) -> Option<Category> {
        match input_type {
            "image" => Some(Category::Image),
            "video" => Some(Category::Video),
            "audio" => Some(Category::Audio),
            "file" => Some(Category::File),
            _ => None,
        }
    }

    /// The largest upload allowed for the category, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            Category::Image => 20 * MIB,
            Category::Video => 100 * MIB,
            Category::Audio => 50 * MIB,
            Category::File => 20 * MIB,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Image => "image",
            Category::Video => "video",
            Category::Audio => "audio",
            Category::File => "file",
        }
    }

    /// The kinds that belong to this category.
    pub fn kinds(self) -> impl Iterator<Item = &'static Detected> {
        ALL_KINDS.iter().filter(move |d| d.category == self)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recognised file type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Detected {
    /// Short name: jpeg png webp heic mp4 mov avi mp3 wav m4a ogg pdf docx pptx xlsx csv txt.
    pub kind: &'static str,
    /// The MIME type to store and to serve the file with.
    pub mime: &'static str,
    /// The extension (without dot) to store the file with.
    pub extension: &'static str,
    pub category: Category,
}

const fn kind(kind: &'static str, mime: &'static str, extension: &'static str, category: Category) -> Detected {
    Detected { kind, mime, extension, category }
}

const JPEG: Detected = kind("jpeg", "image/jpeg", "jpg", Category::Image);
const PNG: Detected = kind("png", "image/png", "png", Category::Image);
const WEBP: Detected = kind("webp", "image/webp", "webp", Category::Image);
const HEIC: Detected = kind("heic", "image/heic", "heic", Category::Image);
const MP4: Detected = kind("mp4", "video/mp4", "mp4", Category::Video);
const MOV: Detected = kind("mov", "video/quicktime", "mov", Category::Video);
const AVI: Detected = kind("avi", "video/x-msvideo", "avi", Category::Video);
const MP3: Detected = kind("mp3", "audio/mpeg", "mp3", Category::Audio);
const WAV: Detected = kind("wav", "audio/wav", "wav", Category::Audio);
const M4A: Detected = kind("m4a", "audio/mp4", "m4a", Category::Audio);
const OGG: Detected = kind("ogg", "audio/ogg", "ogg", Category::Audio);
const PDF: Detected = kind("pdf", "application/pdf", "pdf", Category::File);
const DOCX: Detected =
    kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", Category::File);
const PPTX: Detected =
    kind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", Category::File);
const XLSX: Detected =
    kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", Category::File);
const CSV: Detected = kind("csv", "text/csv", "csv", Category::File);
const TXT: Detected = kind("txt", "text/plain", "txt", Category::File);

static ALL_KINDS: [Detected; 17] =
    [JPEG, PNG, WEBP, HEIC, MP4, MOV, AVI, MP3, WAV, M4A, OGG, PDF, DOCX, PPTX, XLSX, CSV, TXT];

impl Detected {
    /// Every kind this crate recognises.
    pub fn all() -> &'static [Detected] {
        &ALL_KINDS
    }

    /// The kind named `kind` (as in [`Detected::kind`]), e.g. to rebuild one from a stored row.
    pub fn from_kind(kind: &str) -> Option<Detected> {
        ALL_KINDS.iter().find(|d| d.kind == kind).cloned()
    }
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SniffError {
    /// Not one of the supported kinds; `detected` says what it seems to be instead.
    #[error("unsupported file type: {detected}")]
    Unsupported { detected: String },
    /// A container that is dangerous to open (zip bomb, path traversal, too many entries).
    #[error("unsafe file: {0}")]
    Unsafe(String),
    #[error("cannot read the file: {0}")]
    Io(#[from] io::Error),
}

fn unsupported(detected: impl Into<String>) -> SniffError {
    SniffError::Unsupported { detected: detected.into() }
}

/// Does `d` belong to `category`?
pub fn accepts(category: Category, d: &Detected) -> bool {
    d.category == category
}

/// Reads the file at `path` (already fully written) and tells what it is by its content.
///
/// Magic bytes first; for zip containers the central directory only (nothing is
/// decompressed): more than [`MAX_ZIP_ENTRIES`] entries, more than [`MAX_ZIP_UNCOMPRESSED`]
/// declared in total, an entry over 1 MiB expanding more than [`MAX_ZIP_ENTRY_RATIO`]:1,
/// duplicate names, or names with a `..` segment, an absolute path, a drive letter or a
/// backslash make it [`SniffError::Unsafe`]. Declared sizes can lie: whoever decompresses an
/// entry later must still cap what it reads (`Read::take`).
///
/// Text is valid UTF-8 (optionally with a BOM) or UTF-16 with a BOM, with no NUL in the first
/// [`TEXT_SNIFF_BYTES`]: `csv` when at least two of its first 20 non-blank records hold the
/// same number (≥ 1) of one delimiter among `,` `;` tab `|` (outside double quotes), else `txt`.
///
/// Blocking: call it from `spawn_blocking` in async code.
pub fn sniff_file(path: &Path) -> Result<Detected, SniffError> {
    let file = std::fs::File::open(path)?;
    sniff_reader(&mut BufReader::new(file))
}

/// [`sniff_file`] for bytes already in memory.
pub fn sniff_bytes(bytes: &[u8]) -> Result<Detected, SniffError> {
    sniff_reader(&mut io::Cursor::new(bytes))
}

/// [`sniff_file`] for any seekable reader (read from its start).
pub fn sniff_reader<R: Read + Seek>(reader: &mut R) -> Result<Detected, SniffError> {
    let len = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(TEXT_SNIFF_BYTES.min(usize::try_from(len).unwrap_or(0)));
    reader.by_ref().take(TEXT_SNIFF_BYTES as u64).read_to_end(&mut head)?;
    if head.is_empty() {
        return Err(unsupported("empty file"));
    }
    let truncated = (head.len() as u64) < len;

    if let Some(d) = magic(&head, len)? {
        return Ok(d);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return inspect_zip(reader, len);
    }
    if let Some(d) = classify_text(&head, truncated) {
        return Ok(d);
    }
    match infer::get(&head) {
        Some(t) => Err(unsupported(t.mime_type())),
        None => Err(unsupported("binary data")),
    }
}

// ---------------------------------------------------------------- magic bytes

fn magic(h: &[u8], len: u64) -> Result<Option<Detected>, SniffError> {
    if h.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Some(JPEG));
    }
    if h.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Some(PNG));
    }
    if h.len() >= 12 && (h.starts_with(b"RIFF") || h.starts_with(b"RF64")) {
        return match (&h[0..4], &h[8..12]) {
            (b"RIFF", b"WEBP") => Ok(Some(WEBP)),
            (b"RIFF", b"AVI ") => Ok(Some(AVI)),
            (_, b"WAVE") => Ok(Some(WAV)),
            (_, form) => Err(unsupported(format!("RIFF container {:?}", String::from_utf8_lossy(form)))),
        };
    }
    if h.len() >= 12 && &h[4..8] == b"ftyp" {
        return iso_media(h).map(Some);
    }
    if is_classic_quicktime(h, len) {
        return Ok(Some(MOV));
    }
    if h.len() >= 5 && h.starts_with(b"OggS") && h[4] == 0 {
        return Ok(Some(OGG));
    }
    if let Some(after_tag) = id3v2_len(h) {
        return match h.get(after_tag..) {
            Some(rest) if rest.starts_with(b"fLaC") => Err(unsupported("audio/x-flac")),
            _ => Ok(Some(MP3)),
        };
    }
    if is_mp3_stream(h) {
        return Ok(Some(MP3));
    }
    if h.starts_with(b"%PDF-") {
        return Ok(Some(PDF));
    }
    Ok(None)
}

/// QuickTime from before `ftyp` boxes: a `wide` atom then `mdat`, or `moov` opening with
/// its `mvhd`/`cmov` header (strict enough that text never matches).
fn is_classic_quicktime(h: &[u8], len: u64) -> bool {
    if h.len() < 16 {
        return false;
    }
    let size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    match &h[4..8] {
        b"wide" => size == 8 && &h[12..16] == b"mdat",
        b"moov" => (16..=len).contains(&size) && matches!(&h[12..16], b"mvhd" | b"cmov"),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Brand {
    Heic,
    /// `mif1`/`msf1`: HEIF in general (HEIC or AVIF); compatible brands decide.
    Heif,
    Avif,
    M4a,
    M4p,
    Mov,
    Mp4,
}

fn brand(b: &[u8]) -> Option<Brand> {
    Some(match b {
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"hevm" | b"hevs" => Brand::Heic,
        b"mif1" | b"msf1" => Brand::Heif,
        b"avif" | b"avis" => Brand::Avif,
        b"M4A " | b"M4B " => Brand::M4a,
        b"M4P " => Brand::M4p,
        b"qt  " => Brand::Mov,
        b"isom" | b"iso2" | b"iso3" | b"iso4" | b"iso5" | b"iso6" | b"iso7" | b"iso8" | b"iso9" | b"mp41" | b"mp42"
        | b"mp71" | b"avc1" | b"dash" | b"M4V " | b"M4VH" | b"M4VP" | b"mmp4" | b"MSNV" | b"XAVC" | b"f4v " => {
            Brand::Mp4
        }
        _ => return None,
    })
}

/// An ISO base media file (`ftyp` box at offset 4): decided by its major brand, else by the
/// first compatible brand known here.
fn iso_media(h: &[u8]) -> Result<Detected, SniffError> {
    let major = &h[8..12];
    let box_size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let end = box_size.min(h.len());
    let compatible: Vec<Option<Brand>> = h.get(16..end).unwrap_or_default().chunks_exact(4).map(brand).collect();
    let has = |b: Brand| compatible.contains(&Some(b));

    let decided = match brand(major) {
        Some(Brand::Heif) if !has(Brand::Heic) && has(Brand::Avif) => Brand::Avif,
        Some(Brand::Heif) => Brand::Heic,
        Some(b) => b,
        None => match compatible.iter().flatten().next() {
            Some(Brand::Heif) if has(Brand::Avif) => Brand::Avif,
            Some(Brand::Heif) => Brand::Heic,
            Some(b) => *b,
            None => {
                return Err(unsupported(format!("ISO media with brand {:?}", String::from_utf8_lossy(major))));
            }
        },
    };
    match decided {
        Brand::Heic | Brand::Heif => Ok(HEIC),
        Brand::Avif => Err(unsupported("image/avif")),
        Brand::M4a => Ok(M4A),
        Brand::M4p => Err(unsupported("audio/mp4 (DRM-protected)")),
        Brand::Mov => Ok(MOV),
        Brand::Mp4 => Ok(MP4),
    }
}

/// The length of an ID3v2 tag at the start of `h`, if there is one.
fn id3v2_len(h: &[u8]) -> Option<usize> {
    if h.len() < 10 || !h.starts_with(b"ID3") || !(2..=4).contains(&h[3]) || h[4] == 0xFF {
        return None;
    }
    if h[6..10].iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    let size = h[6..10].iter().fold(0usize, |acc, b| (acc << 7) | usize::from(*b));
    let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// The length of the MPEG-1/2/2.5 Layer III frame whose header starts `h`.
fn mp3_frame_len(h: &[u8]) -> Option<usize> {
    const BITRATES_V1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
    const BITRATES_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let [b0, b1, b2, ..] = *h else { return None };
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b1 >> 3) & 0b11; // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer = (b1 >> 1) & 0b11; // 1: Layer III
    let bitrate_index = usize::from(b2 >> 4);
    let rate_index = usize::from((b2 >> 2) & 0b11);
    if version == 1 || layer != 1 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let padding = u32::from((b2 >> 1) & 1);
    let (bitrate, rate, factor) = match version {
        3 => (BITRATES_V1[bitrate_index], [44_100, 48_000, 32_000][rate_index], 144_000),
        2 => (BITRATES_V2[bitrate_index], [22_050, 24_000, 16_000][rate_index], 72_000),
        _ => (BITRATES_V2[bitrate_index], [11_025, 12_000, 8_000][rate_index], 72_000),
    };
    usize::try_from(factor * bitrate / rate + padding).ok()
}

/// A bare MP3 stream: a valid Layer III frame header, followed by another one when the data
/// goes on past the first frame.
fn is_mp3_stream(h: &[u8]) -> bool {
    match mp3_frame_len(h) {
        Some(len) if h.len() >= len + 4 => mp3_frame_len(&h[len..]).is_some(),
        Some(_) => true,
        None => false,
    }
}

// ---------------------------------------------------------------- zip containers

fn inspect_zip<R: Read + Seek>(reader: &mut R, len: u64) -> Result<Detected, SniffError> {
    if let Some(count) = declared_zip_entries(reader, len)?
        && count > MAX_ZIP_ENTRIES
    {
        return Err(SniffError::Unsafe(format!("zip archive with {count} entries (at most {MAX_ZIP_ENTRIES})")));
    }
    reader.seek(SeekFrom::Start(0))?;
    let archive = match zip::ZipArchive::new(&mut *reader) {
        Ok(a) => a,
        Err(zip::result::ZipError::Io(e)) if e.kind() != io::ErrorKind::UnexpectedEof => {
            return Err(SniffError::Io(e));
        }
        Err(e) => return Err(unsupported(format!("invalid zip archive ({e})"))),
    };
    if archive.len() as u64 > MAX_ZIP_ENTRIES {
        return Err(SniffError::Unsafe(format!(
            "zip archive with {} entries (at most {MAX_ZIP_ENTRIES})",
            archive.len()
        )));
    }
    if archive.has_duplicate_names() {
        return Err(SniffError::Unsafe("zip archive with duplicate entry names".into()));
    }

    let mut total: u64 = 0;
    let mut content_types = false;
    let mut macros = false;
    // (main part present, any part under the folder present) for word/, ppt/, xl/
    let mut office = [(false, false); 3];
    const FOLDERS: [(&[u8], &[u8]); 3] =
        [(b"word/", b"word/document.xml"), (b"ppt/", b"ppt/presentation.xml"), (b"xl/", b"xl/workbook.xml")];
    for i in 0..archive.len() {
        let entry = archive.by_index_data(i).map_err(|e| unsupported(format!("invalid zip archive ({e})")))?;
        let name = entry.name_raw();
        check_entry_name(name)?;
        let size = entry.size();
        let compressed = entry.compressed_size();
        total = total.saturating_add(size);
        if total > MAX_ZIP_UNCOMPRESSED {
            return Err(SniffError::Unsafe(format!(
                "zip archive expands to more than {} MiB",
                MAX_ZIP_UNCOMPRESSED / MIB
            )));
        }
        if size > ZIP_RATIO_MIN_SIZE && size > compressed.saturating_mul(MAX_ZIP_ENTRY_RATIO) {
            return Err(SniffError::Unsafe(format!(
                "zip entry {} expands {}:1 (at most {MAX_ZIP_ENTRY_RATIO}:1)",
                shown(name),
                size / compressed.max(1)
            )));
        }
        if name == b"[Content_Types].xml" {
            content_types = true;
        }
        for (slot, (folder, main)) in office.iter_mut().zip(FOLDERS) {
            if name.starts_with(folder) {
                slot.1 = true;
                slot.0 |= name == main;
                macros |= name.ends_with(b"/vbaProject.bin");
            }
        }
    }

    let kinds = [DOCX, PPTX, XLSX];
    let found = office.iter().position(|(main, _)| *main).or_else(|| office.iter().position(|(_, any)| *any));
    match found {
        Some(_) if !content_types => Err(unsupported("zip archive without an Office document")),
        Some(_) if macros => Err(unsupported("macro-enabled Office document")),
        Some(i) => Ok(kinds[i].clone()),
        None => Err(unsupported("zip archive without an Office document")),
    }
}

/// Refuses entry names that would escape a directory when extracted.
fn check_entry_name(name: &[u8]) -> Result<(), SniffError> {
    let problem = if name.is_empty() {
        Some("an empty name")
    } else if name.contains(&0) {
        Some("a NUL byte")
    } else if name.contains(&b'\\') {
        Some("a backslash")
    } else if name.starts_with(b"/") || (name.len() >= 2 && name[1] == b':') {
        Some("an absolute path")
    } else if name.split(|b| *b == b'/').any(|seg| seg == b"..") {
        Some("a `..` segment")
    } else {
        None
    };
    match problem {
        Some(p) => Err(SniffError::Unsafe(format!("zip entry {} has {p}", shown(name)))),
        None => Ok(()),
    }
}

fn shown(name: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(name);
    let short: String = lossy.chars().take(100).collect();
    format!("{short:?}")
}

/// The entry count the end-of-central-directory record declares (zip64 too), read before the
/// central directory itself is parsed; `None` when it cannot be found (the zip reader decides).
fn declared_zip_entries<R: Read + Seek>(reader: &mut R, len: u64) -> io::Result<Option<u64>> {
    const EOCD_LEN: u64 = 22;
    let tail_len = len.min(EOCD_LEN + u64::from(u16::MAX));
    let tail_start = len - tail_len;
    reader.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::new();
    reader.by_ref().take(tail_len).read_to_end(&mut tail)?;
    let Some(pos) = (0..tail.len().saturating_sub(21)).rev().find(|&p| tail[p..].starts_with(b"PK\x05\x06")) else {
        return Ok(None);
    };
    let entries = u16::from_le_bytes([tail[pos + 10], tail[pos + 11]]);
    if entries != u16::MAX {
        return Ok(Some(u64::from(entries)));
    }
    // zip64: the locator sits just before the classic record.
    let eocd_at = tail_start + pos as u64;
    let Some(locator_at) = eocd_at.checked_sub(20) else {
        return Ok(None);
    };
    let mut locator = [0u8; 20];
    reader.seek(SeekFrom::Start(locator_at))?;
    if read_exact_or_eof(reader, &mut locator)?.is_none() || !locator.starts_with(b"PK\x06\x07") {
        return Ok(None);
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&locator[8..16]);
    let record_at = u64::from_le_bytes(offset);
    if record_at >= len {
        return Ok(None);
    }
    let mut record = [0u8; 56];
    reader.seek(SeekFrom::Start(record_at))?;
    if read_exact_or_eof(reader, &mut record)?.is_none() || !record.starts_with(b"PK\x06\x06") {
        return Ok(None);
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&record[32..40]);
    Ok(Some(u64::from_le_bytes(count)))
}

fn read_exact_or_eof<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<Option<()>> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(Some(())),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- text

/// `head` as text (see [`sniff_file`]), classified as csv or txt.
fn classify_text(head: &[u8], truncated: bool) -> Option<Detected> {
    let text = decode_text(head, truncated)?;
    if text.contains('\0') {
        return None;
    }
    Some(if looks_like_csv(&text, truncated) { CSV } else { TXT })
}

fn decode_text(head: &[u8], truncated: bool) -> Option<String> {
    if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, truncated, u16::from_le_bytes);
    }
    if let Some(rest) = head.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, truncated, u16::from_be_bytes);
    }
    let bytes = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s.to_owned()),
        // A character cut in two by the end of the sample is fine.
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).ok().map(str::to_owned)
        }
        Err(_) => None,
    }
}

fn decode_utf16(bytes: &[u8], truncated: bool, unit: fn([u8; 2]) -> u16) -> Option<String> {
    if !bytes.len().is_multiple_of(2) && !truncated {
        return None;
    }
    let mut units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    // A surrogate pair cut by the end of the sample is fine.
    if truncated && units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
        units.pop();
    }
    char::decode_utf16(units).collect::<Result<String, _>>().ok()
}

/// At least two non-blank records among the first [`CSV_SAMPLE_RECORDS`] all hold the same
/// number (≥ 1) of one delimiter, counted outside double quotes.
fn looks_like_csv(text: &str, truncated: bool) -> bool {
    const DELIMITERS: [char; 4] = [',', ';', '\t', '|'];
    let mut records: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut blank = true;
    let mut in_quotes = false;
    for c in text.chars() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == '\n' && !in_quotes {
            if !blank {
                records.push(counts);
                if records.len() == CSV_SAMPLE_RECORDS {
                    break;
                }
            }
            counts = [0; 4];
            blank = true;
            continue;
        } else if !in_quotes && let Some(i) = DELIMITERS.iter().position(|d| *d == c) {
            counts[i] += 1;
        }
        if !c.is_whitespace() {
            blank = false;
        }
    }
    // A last record without a newline is whole only if the sample is the whole file.
    if records.len() < CSV_SAMPLE_RECORDS && !blank && !truncated && !in_quotes {
        records.push(counts);
    }
    if records.len() < 2 {
        return false;
    }
    (0..DELIMITERS.len()).any(|i| {
        let first = records[0][i];
        first >= 1 && records.iter().all(|r| r[i] == first)
    })
}
