//! Small real samples of every kind, built from bytes.

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// A valid 1×1 RGBA PNG.
pub fn png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00,
        0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D,
        0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

/// SOI, a JFIF APP0 segment, some entropy-coded-looking data, EOI.
pub fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend_from_slice(b"JFIF\0");
    v.extend_from_slice(&[0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
    v.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    v.extend((0..64u8).map(|i| i.wrapping_mul(7)));
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

/// A RIFF container of `form` with one chunk.
pub fn riff(form: &[u8; 4], chunk: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(form);
    body.extend_from_slice(chunk);
    body.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    body.extend_from_slice(data);
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    v.extend_from_slice(&body);
    v
}

pub fn webp() -> Vec<u8> {
    riff(b"WEBP", b"VP8 ", &[0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x01, 0x00, 0x01, 0x00])
}

pub fn wav() -> Vec<u8> {
    // PCM, mono, 8000 Hz, 16-bit; then a short data chunk.
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&16000u32.to_le_bytes());
    fmt.extend_from_slice(&2u16.to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    let mut v = riff(b"WAVE", b"fmt ", &fmt);
    v.extend_from_slice(b"data");
    v.extend_from_slice(&8u32.to_le_bytes());
    v.extend_from_slice(&[0, 0, 1, 0, 2, 0, 1, 0]);
    v
}

pub fn avi() -> Vec<u8> {
    let mut hdrl = b"hdrl".to_vec();
    hdrl.extend_from_slice(b"avih");
    hdrl.extend_from_slice(&56u32.to_le_bytes());
    hdrl.extend_from_slice(&[0; 56]);
    riff(b"AVI ", b"LIST", &hdrl)
}

/// An ISO base media file: an `ftyp` box with `major` and `compatible` brands, then `rest`.
pub fn iso(major: &[u8; 4], compatible: &[&[u8; 4]], rest: &[u8]) -> Vec<u8> {
    let size = 16 + 4 * compatible.len();
    let mut v = u32::try_from(size).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(b"ftyp");
    v.extend_from_slice(major);
    v.extend_from_slice(&0u32.to_be_bytes());
    for b in compatible {
        v.extend_from_slice(*b);
    }
    v.extend_from_slice(rest);
    v
}

fn free_and_mdat() -> Vec<u8> {
    let mut v = 8u32.to_be_bytes().to_vec();
    v.extend_from_slice(b"free");
    v.extend_from_slice(&16u32.to_be_bytes());
    v.extend_from_slice(b"mdat");
    v.extend_from_slice(&[0, 0, 0, 0, 1, 2, 3, 4]);
    v
}

pub fn mp4() -> Vec<u8> {
    iso(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"], &free_and_mdat())
}

pub fn mov() -> Vec<u8> {
    iso(b"qt  ", &[b"qt  "], &free_and_mdat())
}

pub fn m4a() -> Vec<u8> {
    iso(b"M4A ", &[b"M4A ", b"mp42", b"isom"], &free_and_mdat())
}

pub fn heic() -> Vec<u8> {
    let mut meta = 12u32.to_be_bytes().to_vec();
    meta.extend_from_slice(b"meta");
    meta.extend_from_slice(&[0, 0, 0, 0]);
    iso(b"heic", &[b"mif1", b"heic"], &meta)
}

pub fn ogg() -> Vec<u8> {
    let mut v = b"OggS".to_vec();
    v.extend_from_slice(&[0x00, 0x02]);
    v.extend_from_slice(&[0; 8]); // granule position
    v.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]); // serial
    v.extend_from_slice(&[0; 4]); // sequence
    v.extend_from_slice(&[0; 4]); // checksum (not checked)
    v.push(1);
    v.push(19);
    v.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00");
    v
}

/// One MPEG-1 Layer III frame: 128 kbit/s, 44.1 kHz, no padding → 417 bytes.
pub fn mp3_frame() -> Vec<u8> {
    let mut v = vec![0xFF, 0xFB, 0x90, 0x64];
    v.resize(417, 0);
    v
}

/// An ID3v2.4 tag (one TIT2 frame) followed by two frames.
pub fn mp3_id3() -> Vec<u8> {
    let mut frame = b"TIT2".to_vec();
    frame.extend_from_slice(&[0, 0, 0, 6, 0, 0, 3]);
    frame.extend_from_slice(b"Hello");
    let mut v = b"ID3\x04\x00\x00".to_vec();
    let size = u8::try_from(frame.len()).unwrap();
    v.extend_from_slice(&[0, 0, 0, size]);
    v.extend_from_slice(&frame);
    v.extend(mp3_frame());
    v.extend(mp3_frame());
    v
}

/// A bare MP3 stream: three frames, no tag.
pub fn mp3_bare() -> Vec<u8> {
    [mp3_frame(), mp3_frame(), mp3_frame()].concat()
}

pub fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
      2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        .to_vec()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A deflated zip holding `entries` (name, content).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, deflated()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
const RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#;

/// A minimal Office Open XML package with its main part at `main`.
pub fn office(main: &str) -> Vec<u8> {
    zip_of(&[("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", RELS), (main, b"<?xml version=\"1.0\"?><root/>")])
}

pub fn docx() -> Vec<u8> {
    office("word/document.xml")
}

pub fn pptx() -> Vec<u8> {
    office("ppt/presentation.xml")
}

pub fn xlsx() -> Vec<u8> {
    office("xl/workbook.xml")
}

/// One entry of 50 MiB of zeros: compresses about 1000:1.
pub fn zip_bomb() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("bomb.bin", deflated().compression_level(Some(1)).large_file(false)).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..50 {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// 201 entries of exactly 1 MiB of zeros each (none trips the ratio check on its own), made
/// by compressing once and copying the compressed entry.
pub fn zip_too_big_in_total() -> Vec<u8> {
    let one = zip_of(&[("0.bin", &vec![0u8; 1024 * 1024])]);
    let mut src = zip::ZipArchive::new(Cursor::new(one)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..201 {
        let entry = src.by_index_raw(0).unwrap();
        w.raw_copy_file_rename(entry, format!("{i}.bin")).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// `count` empty stored entries.
pub fn zip_with_entries(count: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..count {
        w.start_file(format!("{i}.txt"), stored).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The start of a 64-bit ELF executable.
pub fn elf() -> Vec<u8> {
    let mut v = vec![0x7F, b'E', b'L', b'F', 2, 1, 1, 0];
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&[2, 0, 0x3E, 0, 1, 0, 0, 0]);
    v.resize(128, 0);
    v
}

/// The start of a Windows PE executable (DOS stub header).
pub fn exe() -> Vec<u8> {
    let mut v = vec![b'M', b'Z', 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00];
    v.resize(0x3C, 0);
    v.extend_from_slice(&0x80u32.to_le_bytes());
    v.resize(0x80, 0);
    v.extend_from_slice(b"PE\0\0");
    v.extend_from_slice(&[0x64, 0x86]);
    v.resize(256, 0);
    v
}

/// Deterministic pseudo-random bytes (xorshift).
pub fn random_binary(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `text` as UTF-16 with a byte-order mark.
pub fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut v = if little_endian { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
    for unit in text.encode_utf16() {
        let bytes = if little_endian { unit.to_le_bytes() } else { unit.to_be_bytes() };
        v.extend_from_slice(&bytes);
    }
    v
}
