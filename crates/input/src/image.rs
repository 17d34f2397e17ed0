//! Photos and screenshots: decoded under limits, turned upright, scaled down, stripped of
//! metadata, summarised and OCR'd.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::ocr::{Ocr, OcrText};
use crate::proc::run;
use crate::{InputError, blocking};

const MIB: u64 = 1024 * 1024;

/// What to hand to [`process_image`]: bytes in memory or a file.
#[derive(Debug, Clone, Copy)]
pub enum ImageInput<'a> {
    Bytes(&'a [u8]),
    Path(&'a Path),
}

impl<'a> From<&'a [u8]> for ImageInput<'a> {
    fn from(b: &'a [u8]) -> Self {
        ImageInput::Bytes(b)
    }
}
impl<'a> From<&'a Vec<u8>> for ImageInput<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        ImageInput::Bytes(b)
    }
}
impl<'a> From<&'a Path> for ImageInput<'a> {
    fn from(p: &'a Path) -> Self {
        ImageInput::Path(p)
    }
}
impl<'a> From<&'a PathBuf> for ImageInput<'a> {
    fn from(p: &'a PathBuf) -> Self {
        ImageInput::Path(p)
    }
}

/// The format of [`ImageExtract::normalized`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// JPEG for JPEG sources, PNG for everything else (keeps transparency, text stays sharp).
    #[default]
    Auto,
    Png,
    Jpeg,
}

/// Limits and choices for [`process_image`].
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// Larger inputs are refused before decoding (default 20 MiB, as for image uploads).
    pub max_input_bytes: u64,
    /// Decoded width and height limits (default 10 000 × 10 000).
    pub max_width: u32,
    pub max_height: u32,
    /// Most memory one decode may allocate (default 128 MiB).
    pub max_alloc: u64,
    /// The longer side of the normalized image (default 2048 px).
    pub max_side: u32,
    pub output: OutputFormat,
    /// JPEG quality of the normalized image (default 85).
    pub jpeg_quality: u8,
    /// OCR of the normalized image; `None` skips it.
    pub ocr: Option<Ocr>,
    /// `heif-convert` (Debian libheif-examples), for HEIC.
    pub heif_convert: PathBuf,
    /// How long `heif-convert` may run.
    pub convert_timeout: Duration,
}

impl Default for ImageOptions {
    fn default() -> Self {
        Self {
            max_input_bytes: 20 * MIB,
            max_width: 10_000,
            max_height: 10_000,
            max_alloc: 128 * MIB,
            max_side: 2048,
            output: OutputFormat::Auto,
            jpeg_quality: 85,
            ocr: Some(Ocr::default()),
            heif_convert: PathBuf::from("heif-convert"),
            convert_timeout: Duration::from_secs(60),
        }
    }
}

/// What EXIF says, without anything that locates the picture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExifSummary {
    pub make: Option<String>,
    pub model: Option<String>,
    pub software: Option<String>,
    /// `DateTimeOriginal` (else `DateTime`) as ISO 8601, with its offset when EXIF has one.
    pub taken_at: Option<String>,
    /// The EXIF orientation tag (1–8) as stored; the output is already upright.
    pub orientation: Option<u16>,
    /// The photo carried GPS data. The coordinates are never read out nor passed on.
    pub has_gps: bool,
}

/// A processed image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageExtract {
    /// `jpeg`, `png`, `webp` or `heic` (as detected from the bytes).
    pub format: &'static str,
    /// Size of the normalized (upright, scaled) image.
    pub width: u32,
    pub height: u32,
    /// Size as stored in the file (before orientation and scaling).
    pub original_width: u32,
    pub original_height: u32,
    pub exif: Option<ExifSummary>,
    pub ocr: Option<OcrText>,
    /// Things that did not work but did not stop the rest (e.g. OCR unavailable).
    pub warnings: Vec<String>,
    /// `image/png` or `image/jpeg`.
    pub normalized_mime: &'static str,
    /// The upright, scaled image re-encoded without any metadata (no EXIF, no GPS), for
    /// vision models.
    #[serde(skip)]
    pub normalized: Vec<u8>,
}

/// Decodes a JPEG, PNG, WebP or HEIC image (type from its bytes, via `files::sniff_bytes`),
/// turns it upright per EXIF, scales it so the longer side is at most
/// [`ImageOptions::max_side`], re-encodes it without metadata and OCRs it.
///
/// Refused: other types ([`InputError::Unsupported`]), more than `max_input_bytes`,
/// dimensions over the limits or a decode needing more than `max_alloc`
/// ([`InputError::TooLarge`], decided from the header before any pixel buffer exists),
/// undecodable data ([`InputError::Malformed`]). HEIC needs `heif-convert`.
pub async fn process_image<'a>(
    input: impl Into<ImageInput<'a>>,
    opts: &ImageOptions,
) -> Result<ImageExtract, InputError> {
    let bytes = match input.into() {
        ImageInput::Bytes(b) => {
            if b.len() as u64 > opts.max_input_bytes {
                return Err(too_big_input(b.len() as u64, opts));
            }
            b.to_vec()
        }
        ImageInput::Path(p) => read_capped(p, opts.max_input_bytes).await?,
    };
    let detected = files::sniff_bytes(&bytes)?;
    let format = match detected.kind {
        "jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "webp" => ImageFormat::WebP,
        "heic" => ImageFormat::Png, // after conversion
        _ => return Err(InputError::unsupported(detected.mime)),
    };
    let exif = exif_summary(&bytes);
    let (pixels, orientation) = if detected.kind == "heic" {
        // libheif already applies the HEIF rotation/mirror boxes (which win over EXIF).
        (heic_to_png(&bytes, opts).await?, None)
    } else {
        (bytes, exif.as_ref().and_then(|e| e.orientation))
    };

    let o = opts.clone();
    let decoded = blocking(move || normalize(&pixels, format, orientation, &o)).await?;

    let mut warnings = Vec::new();
    let ocr = match &opts.ocr {
        Some(ocr) => match ocr_bytes(ocr, &decoded.encoded, decoded.mime).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "image OCR skipped");
                warnings.push(format!("OCR not done: {e}"));
                None
            }
        },
        None => None,
    };
    Ok(ImageExtract {
        format: detected.kind,
        width: decoded.width,
        height: decoded.height,
        original_width: decoded.original.0,
        original_height: decoded.original.1,
        exif,
        ocr,
        warnings,
        normalized_mime: decoded.mime,
        normalized: decoded.encoded,
    })
}

fn too_big_input(len: u64, opts: &ImageOptions) -> InputError {
    InputError::TooLarge(format!("image file is {len} bytes; at most {} bytes", opts.max_input_bytes))
}

async fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, InputError> {
    let file = tokio::fs::File::open(path).await?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).await?;
    if bytes.len() as u64 > max {
        return Err(InputError::TooLarge(format!("file is larger than {max} bytes")));
    }
    Ok(bytes)
}

struct Normalized {
    original: (u32, u32),
    width: u32,
    height: u32,
    mime: &'static str,
    encoded: Vec<u8>,
}

fn limits(opts: &ImageOptions) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(opts.max_width);
    l.max_image_height = Some(opts.max_height);
    l.max_alloc = Some(opts.max_alloc);
    l
}

fn malformed(format: ImageFormat, e: image::ImageError) -> InputError {
    match e {
        image::ImageError::Limits(l) => InputError::TooLarge(format!("image exceeds decoding limits: {l}")),
        e => InputError::Malformed(format!("cannot decode the {format:?} image: {e}")),
    }
}

/// Header check, decode, orientation, scale, re-encode.
fn normalize(
    bytes: &[u8],
    format: ImageFormat,
    orientation: Option<u16>,
    opts: &ImageOptions,
) -> Result<Normalized, InputError> {
    // Header first, with no dimension limit, so the refusal can say how large it is.
    let mut probe_limits = Limits::default();
    probe_limits.max_alloc = Some(opts.max_alloc);
    let mut probe = ImageReader::with_format(Cursor::new(bytes), format);
    probe.limits(probe_limits);
    let decoder = probe.into_decoder().map_err(|e| malformed(format, e))?;
    let (w, h) = decoder.dimensions();
    let bytes_per_pixel = u64::from(decoder.color_type().bytes_per_pixel());
    drop(decoder);
    if w > opts.max_width || h > opts.max_height {
        return Err(InputError::TooLarge(format!(
            "image is {w}×{h} pixels; at most {}×{}",
            opts.max_width, opts.max_height
        )));
    }
    let need = u64::from(w) * u64::from(h) * bytes_per_pixel;
    if need > opts.max_alloc {
        return Err(InputError::TooLarge(format!(
            "image is {w}×{h} pixels and needs {} MiB to decode; at most {} MiB",
            need.div_ceil(MIB),
            opts.max_alloc / MIB
        )));
    }
    if w == 0 || h == 0 {
        return Err(InputError::Malformed("image has no pixels".into()));
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits(opts));
    let mut img = reader.decode().map_err(|e| malformed(format, e))?;
    if let Some(o) = orientation.and_then(|o| u8::try_from(o).ok()).and_then(Orientation::from_exif) {
        img.apply_orientation(o);
    }
    let max_side = opts.max_side.max(1);
    if img.width() > max_side || img.height() > max_side {
        img = img.resize(max_side, max_side, FilterType::Triangle);
    }

    let jpeg = match opts.output {
        OutputFormat::Auto => format == ImageFormat::Jpeg,
        OutputFormat::Png => false,
        OutputFormat::Jpeg => true,
    };
    let mut encoded = Vec::new();
    let mime = if jpeg {
        let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
        rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut encoded, opts.jpeg_quality.clamp(1, 100)))
            .map_err(|e| InputError::Malformed(format!("cannot encode JPEG: {e}")))?;
        "image/jpeg"
    } else {
        let eight_bit = if img.color().has_alpha() {
            DynamicImage::ImageRgba8(img.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(img.to_rgb8())
        };
        eight_bit
            .write_with_encoder(PngEncoder::new(&mut encoded))
            .map_err(|e| InputError::Malformed(format!("cannot encode PNG: {e}")))?;
        "image/png"
    };
    Ok(Normalized { original: (w, h), width: img.width(), height: img.height(), mime, encoded })
}

/// HEIC → PNG with `heif-convert` in a private temporary directory.
async fn heic_to_png(bytes: &[u8], opts: &ImageOptions) -> Result<Vec<u8>, InputError> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.heic");
    let output = dir.path().join("out.png");
    tokio::fs::write(&input, bytes).await?;
    let mut cmd = Command::new(&opts.heif_convert);
    cmd.arg(&input).arg(&output);
    let out = run("heif-convert", cmd, opts.convert_timeout, 64 * 1024).await?;
    if !out.status.success() {
        return Err(InputError::Malformed(format!("cannot decode the HEIC image: {}", out.stderr_line())));
    }
    // With several top-level images heif-convert numbers its outputs (out-1.png, ...).
    let produced = if tokio::fs::try_exists(&output).await? {
        output
    } else {
        let mut first: Option<PathBuf> = None;
        let mut entries = tokio::fs::read_dir(dir.path()).await?;
        while let Some(e) = entries.next_entry().await? {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "png") && first.as_ref().is_none_or(|f| p < *f) {
                first = Some(p);
            }
        }
        first.ok_or_else(|| InputError::Malformed("heif-convert produced no image".into()))?
    };
    // A PNG from a 10000² HEIC is well under this; more means something is off.
    read_capped(&produced, 4 * opts.max_alloc).await
}

async fn ocr_bytes(ocr: &Ocr, encoded: &[u8], mime: &str) -> Result<OcrText, InputError> {
    let suffix = if mime == "image/jpeg" { ".jpg" } else { ".png" };
    let file = tempfile::Builder::new().prefix("ocr-").suffix(suffix).tempfile()?;
    tokio::fs::write(file.path(), encoded).await?;
    ocr.recognize(file.path()).await
}

/// Make, model, software, time taken, orientation and whether GPS was present.
pub(crate) fn exif_summary(bytes: &[u8]) -> Option<ExifSummary> {
    let exif = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)).ok()?;
    let ascii = |tag: exif::Tag| -> Option<String> {
        let f = exif.get_field(tag, exif::In::PRIMARY)?;
        match &f.value {
            exif::Value::Ascii(v) => {
                let s = String::from_utf8_lossy(v.first()?)
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_owned();
                (!s.is_empty()).then_some(s)
            }
            _ => None,
        }
    };
    let taken_at =
        [(exif::Tag::DateTimeOriginal, exif::Tag::OffsetTimeOriginal), (exif::Tag::DateTime, exif::Tag::OffsetTime)]
            .into_iter()
            .find_map(|(tag, offset)| {
                let f = exif.get_field(tag, exif::In::PRIMARY)?;
                let exif::Value::Ascii(v) = &f.value else { return None };
                let dt = exif::DateTime::from_ascii(v.first()?).ok()?;
                let mut s = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
                );
                if let Some(off) = ascii(offset).filter(|o| o.len() == 6 && (o.starts_with('+') || o.starts_with('-')))
                {
                    s.push_str(&off);
                }
                Some(s)
            });
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    let has_gps = exif.fields().any(|f| f.tag == exif::Tag::GPSInfoIFDPointer || f.tag.context() == exif::Context::Gps);
    Some(ExifSummary {
        make: ascii(exif::Tag::Make),
        model: ascii(exif::Tag::Model),
        software: ascii(exif::Tag::Software),
        taken_at,
        orientation,
        has_gps,
    })
}
