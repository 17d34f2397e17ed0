//! Loading fonts, choosing a font per character and measuring text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use ttf_parser::Face;

use crate::{DocumentError, Fonts};

/// Which of the three fonts a piece of text uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum FontId {
    Regular = 0,
    Bold = 1,
    Cjk = 2,
}

pub(crate) const ALL_FONTS: [FontId; 3] = [FontId::Regular, FontId::Bold, FontId::Cjk];

/// Raw font bytes, shared with the per-process cache.
pub(crate) struct FontData {
    files: Vec<(PathBuf, Arc<[u8]>)>,
}

/// A font file's bytes and the metadata they were read with.
struct CachedFile {
    len: u64,
    modified: Option<SystemTime>,
    bytes: Arc<[u8]>,
}

/// Most distinct font files kept; beyond that the cache starts over.
const CACHE_LIMIT: usize = 16;

fn cache() -> &'static Mutex<HashMap<PathBuf, CachedFile>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, CachedFile>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The bytes of `path`, from the cache while its size and modification time
/// are unchanged (one `stat` per call instead of reading megabytes).
fn read_cached(path: &Path) -> Result<Arc<[u8]>, DocumentError> {
    let read_err = |source| DocumentError::FontRead { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let (len, modified) = (meta.len(), meta.modified().ok());
    {
        let map = cache().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = map.get(path).filter(|c| c.len == len && c.modified == modified && modified.is_some()) {
            return Ok(Arc::clone(&c.bytes));
        }
    }
    let bytes: Arc<[u8]> = std::fs::read(path).map_err(read_err)?.into();
    let mut map = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= CACHE_LIMIT && !map.contains_key(path) {
        map.clear();
    }
    map.insert(path.to_path_buf(), CachedFile { len, modified, bytes: Arc::clone(&bytes) });
    Ok(bytes)
}

impl FontData {
    pub(crate) fn load(fonts: &Fonts) -> Result<Self, DocumentError> {
        let mut files = Vec::with_capacity(3);
        for path in [&fonts.latin, &fonts.latin_bold, &fonts.cjk] {
            files.push((path.clone(), read_cached(path)?));
        }
        Ok(Self { files })
    }

    pub(crate) fn parse(&self) -> Result<FontSet<'_>, DocumentError> {
        let mut faces = Vec::with_capacity(3);
        for (path, bytes) in &self.files {
            // Face 0 of a collection (.ttc), or the only face of a .ttf.
            let bytes: &[u8] = bytes;
            let face = Face::parse(bytes, 0)
                .map_err(|e| DocumentError::FontParse { path: path.clone(), reason: e.to_string() })?;
            if face.tables().glyf.is_none() && face.tables().cff.is_none() {
                return Err(DocumentError::FontParse { path: path.clone(), reason: "no glyph outlines".to_owned() });
            }
            faces.push(LoadedFace { path, data: bytes, upem: f32::from(face.units_per_em().max(1)), face });
        }
        Ok(FontSet { faces })
    }
}

pub(crate) struct LoadedFace<'a> {
    pub(crate) path: &'a Path,
    pub(crate) data: &'a [u8],
    pub(crate) face: Face<'a>,
    pub(crate) upem: f32,
}

impl LoadedFace<'_> {
    /// Advance of glyph `gid` in 1/1000 em.
    pub(crate) fn advance(&self, gid: u16) -> f32 {
        let adv = self.face.glyph_hor_advance(ttf_parser::GlyphId(gid)).unwrap_or(0);
        f32::from(adv) * 1000.0 / self.upem
    }

    pub(crate) fn gid(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    pub(crate) fn has(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }
}

/// The three parsed fonts.
pub(crate) struct FontSet<'a> {
    faces: Vec<LoadedFace<'a>>,
}

impl<'a> FontSet<'a> {
    pub(crate) fn face(&self, id: FontId) -> &LoadedFace<'a> {
        &self.faces[id as usize]
    }

    /// The font that draws `c`: the wanted one if it has the glyph, else the
    /// CJK font if it has it, else the wanted one (drawing `.notdef`).
    pub(crate) fn pick(&self, want: FontId, c: char) -> FontId {
        if self.face(want).has(c) || c.is_whitespace() {
            want
        } else if self.face(FontId::Cjk).has(c) {
            FontId::Cjk
        } else {
            want
        }
    }

    /// Width of `text` in points at `size`.
    pub(crate) fn measure(&self, want: FontId, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| {
                let f = self.pick(want, c);
                let face = self.face(f);
                face.advance(face.gid(c))
            })
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// Split `text` into runs of one font each.
    pub(crate) fn runs(&self, want: FontId, text: &str) -> Vec<(FontId, String)> {
        let mut out: Vec<(FontId, String)> = Vec::new();
        for c in text.chars() {
            let f = self.pick(want, c);
            match out.last_mut() {
                Some((last, s)) if *last == f => s.push(c),
                _ => out.push((f, c.to_string())),
            }
        }
        out
    }
}
