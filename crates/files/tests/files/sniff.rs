use files::{Category, Detected, SniffError, accepts, sniff_bytes, sniff_file};

use crate::TempDir;
use crate::samples::*;

/// Writes `bytes` to a file named `name` and sniffs it from disk (and from memory: the two
/// must agree).
fn sniff_as(name: &str, bytes: &[u8]) -> Result<Detected, SniffError> {
    let dir = TempDir::new();
    let path = dir.write(name, bytes);
    let from_file = sniff_file(&path);
    let from_memory = sniff_bytes(bytes);
    assert_eq!(format!("{from_file:?}"), format!("{from_memory:?}"), "{name}: file and memory disagree");
    from_file
}

fn kind_of(name: &str, bytes: &[u8]) -> &'static str {
    match sniff_as(name, bytes) {
        Ok(d) => d.kind,
        Err(e) => panic!("{name}: expected a supported kind, got {e}"),
    }
}

#[test]
fn supported_samples_are_detected_by_content() {
    let long_text = "Lorem ipsum dolor sit amet. 你好，世界。\n".repeat(3000);
    let long_csv: String = std::iter::once("id,name,amount\n".to_owned())
        .chain((0..5000).map(|i| format!("{i},\"item {i}, boxed\",{}.50\n", i * 3)))
        .collect();
    let split_utf8 = format!("{}é and more", "a".repeat(64 * 1024 - 1));
    // BOM + 32,766 units: the emoji's high surrogate is the last unit of the sample.
    let split_utf16 = utf16(&format!("{}😀 and more", "a".repeat(32_766)), true);
    assert_eq!(split_utf16[64 * 1024 - 2..64 * 1024], [0x3D, 0xD8]);
    let mut classic_wide = 8u32.to_be_bytes().to_vec();
    classic_wide.extend_from_slice(b"wide");
    classic_wide.extend_from_slice(&16u32.to_be_bytes());
    classic_wide.extend_from_slice(b"mdat\0\0\0\0\x01\x02\x03\x04");
    let mut classic_moov = 24u32.to_be_bytes().to_vec();
    classic_moov.extend_from_slice(b"moov");
    classic_moov.extend_from_slice(&16u32.to_be_bytes());
    classic_moov.extend_from_slice(b"mvhd\0\0\0\0\0\0\0\0");
    let cases: Vec<(&str, Vec<u8>, &str, &str, Category)> = vec![
        ("image.png", png(), "png", "image/png", Category::Image),
        ("photo.jpg", jpeg(), "jpeg", "image/jpeg", Category::Image),
        ("pic.webp", webp(), "webp", "image/webp", Category::Image),
        ("IMG_0001.HEIC", heic(), "heic", "image/heic", Category::Image),
        ("clip.mp4", mp4(), "mp4", "video/mp4", Category::Video),
        ("clip.mov", mov(), "mov", "video/quicktime", Category::Video),
        ("clip.avi", avi(), "avi", "video/x-msvideo", Category::Video),
        ("song.mp3", mp3_id3(), "mp3", "audio/mpeg", Category::Audio),
        ("bare.mp3", mp3_bare(), "mp3", "audio/mpeg", Category::Audio),
        ("voice.wav", wav(), "wav", "audio/wav", Category::Audio),
        ("voice.m4a", m4a(), "m4a", "audio/mp4", Category::Audio),
        ("voice.ogg", ogg(), "ogg", "audio/ogg", Category::Audio),
        ("doc.pdf", pdf(), "pdf", "application/pdf", Category::File),
        (
            "a.docx",
            docx(),
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Category::File,
        ),
        (
            "a.pptx",
            pptx(),
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Category::File,
        ),
        ("a.xlsx", xlsx(), "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Category::File),
        ("comma.csv", b"name,qty,price\nApple,3,1.20\nPear,5,0.90\n".to_vec(), "csv", "text/csv", Category::File),
        (
            "semicolon.csv",
            "naam;aantal\r\nAppel;3\r\nPeer;5\r\n".as_bytes().to_vec(),
            "csv",
            "text/csv",
            Category::File,
        ),
        ("tabs.tsv", b"a\tb\tc\n1\t2\t3".to_vec(), "csv", "text/csv", Category::File),
        ("pipes.txt", b"a|b\n1|2\n3|4\n".to_vec(), "csv", "text/csv", Category::File),
        (
            "quoted.csv",
            b"name,note\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\"\nDoe,ok\n".to_vec(),
            "csv",
            "text/csv",
            Category::File,
        ),
        ("large.csv", long_csv.into_bytes(), "csv", "text/csv", Category::File),
        (
            "notes.txt",
            "Meeting notes\nDiscuss Q3, budget and hiring.\nNo decisions yet.\n".as_bytes().to_vec(),
            "txt",
            "text/plain",
            Category::File,
        ),
        ("one-line.txt", b"Hello, world".to_vec(), "txt", "text/plain", Category::File),
        ("bom.txt", "\u{FEFF}Grüße aus Köln\n".as_bytes().to_vec(), "txt", "text/plain", Category::File),
        ("utf16le.txt", utf16("Hello 世界\r\nSecond line\r\n", true), "txt", "text/plain", Category::File),
        ("utf16be.csv", utf16("a;b\n1;2\n", false), "csv", "text/csv", Category::File),
        // Multibyte characters cross the 64 KiB sample boundary.
        ("long.txt", long_text.into_bytes(), "txt", "text/plain", Category::File),
        // Text that starts like a magic number is still text.
        ("wide.txt", b"The wide range of options.\nThe moov was made.\n".to_vec(), "txt", "text/plain", Category::File),
        ("id3.txt", b"ID3 tags hold metadata.\n".to_vec(), "txt", "text/plain", Category::File),
        ("oggs.txt", b"OggS is the capture pattern.\n".to_vec(), "txt", "text/plain", Category::File),
        // A character cut in two by the 64 KiB sample boundary.
        ("split-utf8.txt", split_utf8.into_bytes(), "txt", "text/plain", Category::File),
        ("split-utf16.txt", split_utf16, "txt", "text/plain", Category::File),
        ("classic-wide.mov", classic_wide, "mov", "video/quicktime", Category::Video),
        ("classic-moov.mov", classic_moov, "mov", "video/quicktime", Category::Video),
        // The name lies: content wins.
        (".pdf", png(), "png", "image/png", Category::Image),
        ("report.pdf", jpeg(), "jpeg", "image/jpeg", Category::Image),
        ("movie.mp4", m4a(), "m4a", "audio/mp4", Category::Audio),
    ];
    for (name, bytes, kind, mime, category) in cases {
        let d = sniff_as(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.kind, kind, "{name}");
        assert_eq!(d.mime, mime, "{name}");
        assert_eq!(d.category, category, "{name}");
        assert!(!d.extension.is_empty(), "{name}");
        assert_eq!(Detected::from_kind(kind), Some(d.clone()), "{name}");
    }
}

#[test]
fn iso_media_brands() {
    type Brands = Vec<&'static [u8; 4]>;
    let cases: Vec<(&[u8; 4], Brands, Option<&str>)> = vec![
        (b"heix", vec![b"mif1", b"heix"], Some("heic")),
        (b"mif1", vec![b"mif1", b"heic"], Some("heic")),
        (b"msf1", vec![b"msf1", b"hevc"], Some("heic")),
        (b"hevc", vec![b"msf1"], Some("heic")),
        (b"mif1", vec![b"mif1"], Some("heic")),
        (b"mp42", vec![b"mp42", b"isom"], Some("mp4")),
        (b"M4B ", vec![b"M4B ", b"mp42"], Some("m4a")),
        (b"qt  ", vec![], Some("mov")),
        // An unknown major brand decides by the compatible ones.
        (b"3gp5", vec![b"3gp5", b"isom"], Some("mp4")),
        (b"avif", vec![b"avif", b"mif1"], None),
        (b"mif1", vec![b"mif1", b"avif"], None),
        (b"M4P ", vec![b"M4P ", b"mp42"], None),
        (b"crx ", vec![b"crx "], None),
    ];
    for (major, compatible, expected) in cases {
        let bytes = iso(major, &compatible, &[0, 0, 0, 8, b'f', b'r', b'e', b'e']);
        let label = String::from_utf8_lossy(major).into_owned();
        match (sniff_bytes(&bytes), expected) {
            (Ok(d), Some(kind)) => assert_eq!(d.kind, kind, "{label}"),
            (Err(SniffError::Unsupported { .. }), None) => {}
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn unsupported_samples_are_refused() {
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("empty.pdf", Vec::new(), Some("empty file")),
        ("plain.zip", zip_of(&[("hello.txt", b"hello")]), Some("zip archive without an Office document")),
        (
            "no-content-types.docx",
            zip_of(&[("word/document.xml", b"<w/>")]),
            Some("zip archive without an Office document"),
        ),
        (
            "macro.docx",
            zip_of(&[
                ("[Content_Types].xml", b"<Types/>"),
                ("word/document.xml", b"<w/>"),
                ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
            ]),
            Some("macro-enabled Office document"),
        ),
        ("program.pdf", elf(), Some("application/x-executable")),
        ("setup.docx", exe(), Some("application/vnd.microsoft.portable-executable")),
        ("noise.bin", random_binary(4096), Some("binary data")),
        ("gif.png", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04".to_vec(), Some("image/gif")),
        ("broken.zip", [b"PK\x03\x04".as_slice(), &random_binary(200)].concat(), None),
        ("utf16-nul.txt", utf16("a\0b", true), None),
        ("nul.txt", b"hello\0world\n".to_vec(), None),
        ("latin1.txt", b"caf\xe9 cr\xe8me\n".to_vec(), None),
        ("cd.riff", riff(b"CDXA", b"fmt ", &[0; 16]), None),
        (
            "flac-with-id3.mp3",
            [b"ID3\x04\x00\x00\x00\x00\x00\x00".as_slice(), b"fLaC\x00\x00\x00\x22"].concat(),
            Some("audio/x-flac"),
        ),
        // An ADTS AAC frame header (layer bits 00) is not an MP3 frame.
        ("aac.mp3", [0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC].repeat(20), None),
    ];
    for (name, bytes, detected) in cases {
        match sniff_as(name, &bytes) {
            Err(SniffError::Unsupported { detected: got }) => {
                if let Some(want) = detected {
                    assert_eq!(got, want, "{name}");
                }
            }
            other => panic!("{name}: expected Unsupported, got {other:?}"),
        }
    }
}

#[test]
fn unsafe_zips_are_refused() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "traversal.docx",
            zip_of(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>"), ("../evil", b"x")]),
            "`..`",
        ),
        ("nested-traversal.zip", zip_of(&[("a/../../evil", b"x")]), "`..`"),
        ("absolute.zip", zip_of(&[("/etc/cron.d/evil", b"x")]), "absolute"),
        ("drive.zip", zip_of(&[("C:/evil", b"x")]), "absolute"),
        ("backslash.zip", zip_of(&[("word\\..\\evil", b"x")]), "backslash"),
        ("bomb.docx", zip_bomb(), ":1 (at most 100:1)"),
        ("big-total.xlsx", zip_too_big_in_total(), "200 MiB"),
        ("many.zip", zip_with_entries(10_001), "10001 entries"),
    ];
    for (name, bytes, needle) in cases {
        match sniff_as(name, &bytes) {
            Err(SniffError::Unsafe(msg)) => {
                assert!(msg.contains(needle), "{name}: {msg:?} should mention {needle:?}")
            }
            other => panic!("{name}: expected Unsafe, got {other:?}"),
        }
    }
}

#[test]
fn harmless_zips_near_the_limits_pass() {
    // Exactly 10,000 entries, with an Office layout.
    let mut entries: Vec<(String, Vec<u8>)> =
        vec![("[Content_Types].xml".into(), b"<Types/>".to_vec()), ("xl/workbook.xml".into(), b"<workbook/>".to_vec())];
    entries.extend((0..9_998).map(|i| (format!("xl/worksheets/sheet{i}.xml"), Vec::new())));
    let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    assert_eq!(kind_of("many.xlsx", &zip_of(&borrowed)), "xlsx");

    // A 1 MiB entry compresses far beyond 100:1 but is not over 1 MiB; `a..b` is a name, not
    // a `..` segment.
    let big_xml = vec![b' '; 1024 * 1024];
    let doc = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", &big_xml),
        ("word/media/a..b.png", &png()),
    ]);
    assert_eq!(kind_of("big.docx", &doc), "docx");
}

#[test]
fn accepts_matrix() {
    let samples = [
        ("png", png()),
        ("jpeg", jpeg()),
        ("heic", heic()),
        ("mp4", mp4()),
        ("mov", mov()),
        ("m4a", m4a()),
        ("mp3", mp3_id3()),
        ("pdf", pdf()),
        ("docx", docx()),
        ("csv", b"a,b\n1,2\n".to_vec()),
    ];
    for (kind, bytes) in samples {
        let d = sniff_bytes(&bytes).unwrap();
        assert_eq!(d.kind, kind);
        for category in Category::ALL {
            assert_eq!(accepts(category, &d), category == d.category, "{kind} in {category}");
        }
    }
    let expect = [
        (Category::Image, vec!["jpeg", "png", "webp", "heic"]),
        (Category::Video, vec!["mp4", "mov", "avi"]),
        (Category::Audio, vec!["mp3", "wav", "m4a", "ogg"]),
        (Category::File, vec!["pdf", "docx", "pptx", "xlsx", "csv", "txt"]),
    ];
    for (category, kinds) in expect {
        let got: Vec<&str> = category.kinds().map(|d| d.kind).collect();
        assert_eq!(got, kinds, "{category}");
        for d in Detected::all() {
            assert_eq!(accepts(category, d), kinds.contains(&d.kind));
        }
    }
}

#[test]
fn categories() {
    let mib = 1024 * 1024;
    let cases = [
        ("image", Some(Category::Image), 20 * mib),
        ("video", Some(Category::Video), 100 * mib),
        ("audio", Some(Category::Audio), 50 * mib),
        ("file", Some(Category::File), 20 * mib),
    ];
    for (input, category, max) in cases {
        let c = Category::parse(input).unwrap();
        assert_eq!(Some(c), category);
        assert_eq!(c.max_bytes(), max);
        assert_eq!(c.as_str(), input);
        assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{input}\""));
    }
    for bad in ["", "Image", "document", "images", " file"] {
        assert_eq!(Category::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = TempDir::new();
    let err = sniff_file(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, SniffError::Io(_)), "{err:?}");
}
