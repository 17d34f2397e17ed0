//! Serialising laid-out pages to PDF with subset, embedded TrueType fonts.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

use crate::fonts::{ALL_FONTS, FontId, FontSet};
use crate::layout::{Op, PAGE_H, PAGE_W, Page};
use crate::{DocumentError, Logo};

const FONT_NAMES: [&[u8]; 3] = [b"F0", b"F1", b"F2"];
const SUBSET_TAGS: [&str; 3] = ["MZFAAA", "MZFAAB", "MZFAAC"];
/// Resource name of the logo form XObject.
const LOGO_NAME: &[u8] = b"Logo";

/// Glyphs used from one font.
#[derive(Default)]
struct Used {
    remapper: GlyphRemapper,
    /// new gid → (char, advance in 1/1000 em)
    glyphs: BTreeMap<u16, (char, f32)>,
}

fn rgb(c: [u8; 3]) -> (f32, f32, f32) {
    (f32::from(c[0]) / 255.0, f32::from(c[1]) / 255.0, f32::from(c[2]) / 255.0)
}

pub(crate) fn write(pages: &[Page], set: &FontSet<'_>, logo: Option<&Logo>) -> Result<Vec<u8>, DocumentError> {
    let mut used: Vec<Used> = ALL_FONTS.iter().map(|_| Used::default()).collect();
    let mut contents = Vec::with_capacity(pages.len());
    for page in pages {
        contents.push(page_content(page, set, &mut used, logo));
    }
    let logo = logo.filter(|_| pages.iter().flatten().any(|op| matches!(op, Op::Logo { .. })));

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    let font_refs: Vec<Ref> = ALL_FONTS.iter().map(|_| alloc()).collect();
    let mut font_parts: Vec<[Ref; 4]> = Vec::new();
    for _ in ALL_FONTS {
        font_parts.push([alloc(), alloc(), alloc(), alloc()]);
    }
    let logo_ref = logo.map(|_| alloc());

    pdf.catalog(catalog).pages(tree);
    pdf.document_info(info).producer(TextStr("Mezzofy AI Assistant"));
    pdf.pages(tree).kids(page_refs.iter().map(|(p, _)| *p)).count(i32::try_from(pages.len()).unwrap_or(i32::MAX));

    let active: Vec<FontId> = ALL_FONTS.iter().copied().filter(|f| !used[*f as usize].glyphs.is_empty()).collect();

    for ((page_ref, content_ref), content) in page_refs.iter().zip(contents) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(*content_ref);
        {
            let mut res = page.resources();
            let mut fonts = res.fonts();
            for f in &active {
                fonts.pair(Name(FONT_NAMES[*f as usize]), font_refs[*f as usize]);
            }
            fonts.finish();
            if let Some(r) = logo_ref {
                res.x_objects().pair(Name(LOGO_NAME), r);
            }
        }
        page.finish();
        pdf.stream(*content_ref, &content);
    }

    if let (Some(logo), Some(r)) = (logo, logo_ref) {
        // One form XObject, drawn on every page: vector paths only (the
        // wordmark's glyphs are outlines), so it needs no resources.
        let content = logo.content(set);
        let [_, _, w, h] = logo.view_box();
        pdf.form_xobject(r, &content).bbox(Rect::new(0.0, 0.0, w, h));
    }

    for f in active {
        let i = f as usize;
        write_font(&mut pdf, set, f, &used[i], font_refs[i], font_parts[i])?;
    }
    Ok(pdf.finish())
}

fn page_content(page: &Page, set: &FontSet<'_>, used: &mut [Used], logo: Option<&Logo>) -> Vec<u8> {
    let mut c = Content::new();
    for op in page {
        match op {
            Op::Logo { x, y, w, h } => {
                if let Some(logo) = logo {
                    let [_, _, vw, vh] = logo.view_box();
                    c.save_state();
                    c.transform([w / vw, 0.0, 0.0, h / vh, *x, *y]);
                    c.x_object(Name(LOGO_NAME));
                    c.restore_state();
                }
            }
            Op::Rect { x, y, w, h, color } => {
                let (r, g, b) = rgb(*color);
                c.set_fill_rgb(r, g, b);
                c.rect(*x, *y, *w, *h);
                c.fill_nonzero();
            }
            Op::Line { x1, y1, x2, y2, width, color } => {
                let (r, g, b) = rgb(*color);
                c.set_stroke_rgb(r, g, b);
                c.set_line_width(*width);
                c.move_to(*x1, *y1);
                c.line_to(*x2, *y2);
                c.stroke();
            }
            Op::Text { x, y, size, color, font, text } => {
                let (r, g, b) = rgb(*color);
                c.set_fill_rgb(r, g, b);
                c.begin_text();
                c.next_line(*x, *y);
                for (f, run) in set.runs(*font, text) {
                    let face = set.face(f);
                    let u = &mut used[f as usize];
                    let mut bytes = Vec::with_capacity(run.len() * 2);
                    for ch in run.chars() {
                        let old = face.gid(ch);
                        let new = u.remapper.remap(old);
                        u.glyphs.entry(new).or_insert((ch, face.advance(old)));
                        bytes.extend_from_slice(&new.to_be_bytes());
                    }
                    c.set_font(Name(FONT_NAMES[f as usize]), *size);
                    c.show(Str(&bytes));
                }
                c.end_text();
            }
        }
    }
    c.finish().to_vec()
}

fn write_font(
    pdf: &mut Pdf,
    set: &FontSet<'_>,
    f: FontId,
    used: &Used,
    type0: Ref,
    [cid, descriptor, cmap_ref, file]: [Ref; 4],
) -> Result<(), DocumentError> {
    let face = set.face(f);
    let i = f as usize;
    let ps_name = face
        .face
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| n.to_string())
        .or_else(|| face.path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| format!("Font{i}"));
    let ps_name: String = ps_name.chars().filter(char::is_ascii_alphanumeric).collect();
    let base = format!("{}+{}", SUBSET_TAGS[i], ps_name);
    let base = Name(base.as_bytes());

    let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

    pdf.type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_ref);

    {
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut widths = cid_font.widths();
        for (gid, (_, adv)) in &used.glyphs {
            widths.consecutive(*gid, [*adv]);
        }
    }

    let scale = 1000.0 / face.upem;
    let bbox = face.face.global_bounding_box();
    let ascent = f32::from(face.face.ascender()) * scale;
    let descent = f32::from(face.face.descender()) * scale;
    let cap = face.face.capital_height().map_or(ascent * 0.7, |c| f32::from(c) * scale);
    let mut flags = FontFlags::NON_SYMBOLIC;
    if f == FontId::Bold {
        flags |= FontFlags::FORCE_BOLD;
    }
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(flags)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(ascent)
        .descent(descent)
        .cap_height(cap)
        .stem_v(if f == FontId::Bold { 120.0 } else { 80.0 })
        .font_file2(file);

    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), system);
    for (gid, (ch, _)) in &used.glyphs {
        if *gid != 0 {
            cmap.pair(*gid, *ch);
        }
    }
    pdf.cmap(cmap_ref, &cmap.finish()).finish();

    let subset = subsetter::subset(face.data, 0, &used.remapper)
        .map_err(|e| DocumentError::FontSubset { path: face.path.to_path_buf(), reason: e.to_string() })?;
    pdf.stream(file, &subset);
    Ok(())
}
