//! Loading fonts, choosing a font per character and measuring text.

use std::path::{Path, PathBuf};

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

/// Raw font bytes, owned.
pub(crate) struct FontData {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl FontData {
    pub(crate) fn load(fonts: &Fonts) -> Result<Self, DocumentError> {
        let mut files = Vec::with_capacity(3);
        for path in [&fonts.latin, &fonts.latin_bold, &fonts.cjk] {
            let bytes = std::fs::read(path).map_err(|source| DocumentError::FontRead { path: path.clone(), source })?;
            files.push((path.clone(), bytes));
        }
        Ok(Self { files })
    }

    pub(crate) fn parse(&self) -> Result<FontSet<'_>, DocumentError> {
        let mut faces = Vec::with_capacity(3);
        for (path, bytes) in &self.files {
            // Face 0 of a collection (.ttc), or the only face of a .ttf.
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
