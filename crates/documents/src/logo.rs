//! The brand logo: a small subset of SVG, parsed once and drawn as vector
//! graphics (a PDF form XObject) in the header band.
//!
//! Supported: `svg` (with `viewBox` or `width`/`height`), `g`, `path`
//! (every path command, arcs included), `rect` (with `rx`/`ry`), `circle`,
//! `ellipse`, `line`, `polyline`, `polygon` and `text`/`tspan`; the
//! presentation attributes (or `style` declarations) `fill`, `fill-rule`,
//! `stroke`, `stroke-width`, `stroke-linecap`, `stroke-linejoin`,
//! `stroke-miterlimit`, `stroke-dasharray`, `stroke-dashoffset`,
//! `font-size`, `font-weight`, `letter-spacing`, `text-anchor`, `display`
//! and `transform`. Colours are `#RGB`, `#RRGGBB`, `rgb(r, g, b)` or a few
//! names. Text is drawn as glyph outlines of the report's own fonts (bold
//! for weights of 600 and more), so no font is embedded for it. Anything
//! else (images, gradients, `use`, opacity below 1, ...) is an error rather
//! than a silently different logo.

use std::f32::consts::PI;
use std::path::Path;

use pdf_writer::Content;
use pdf_writer::types::{LineCapStyle, LineJoinStyle};

use crate::fonts::{FontId, FontSet};

/// A logo that cannot be read or uses SVG features outside the subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("logo {origin}: {message}")]
pub struct LogoError {
    /// The SVG file (or "svg" for text).
    pub origin: String,
    pub message: String,
}

/// A parsed SVG logo.
#[derive(Debug, Clone, PartialEq)]
pub struct Logo {
    /// min x, min y, width, height in user units.
    view_box: [f32; 4],
    items: Vec<Item>,
}

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

#[derive(Debug, Clone, PartialEq)]
struct Item {
    matrix: Matrix,
    shape: Shape,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Path { segs: Vec<Seg>, fill: Option<[u8; 3]>, even_odd: bool, stroke: Option<Stroke> },
    Text(Text),
}

#[derive(Debug, Clone, PartialEq)]
struct Text {
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    letter_spacing: f32,
    anchor: Anchor,
    fill: [u8; 3],
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Seg {
    Move(f32, f32),
    Line(f32, f32),
    Cubic([f32; 6]),
    Close,
}

#[derive(Debug, Clone, PartialEq)]
struct Stroke {
    color: [u8; 3],
    width: f32,
    cap: LineCapStyle,
    join: LineJoinStyle,
    miter: f32,
    dash: Vec<f32>,
    dash_offset: f32,
}

/// Inherited presentation properties.
#[derive(Debug, Clone)]
struct Style {
    fill: Option<[u8; 3]>,
    even_odd: bool,
    stroke: Option<[u8; 3]>,
    stroke_width: f32,
    cap: LineCapStyle,
    join: LineJoinStyle,
    miter: f32,
    dash: Vec<f32>,
    dash_offset: f32,
    font_size: f32,
    bold: bool,
    letter_spacing: f32,
    anchor: Anchor,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            fill: Some([0, 0, 0]),
            even_odd: false,
            stroke: None,
            stroke_width: 1.0,
            cap: LineCapStyle::ButtCap,
            join: LineJoinStyle::MiterJoin,
            miter: 4.0,
            dash: Vec::new(),
            dash_offset: 0.0,
            font_size: 16.0,
            bold: false,
            letter_spacing: 0.0,
            anchor: Anchor::Start,
        }
    }
}

const SVG_NS: &str = "http://www.w3.org/2000/svg";

impl Logo {
    /// Reads and parses an SVG file.
    pub fn from_svg_file(path: &Path) -> Result<Self, LogoError> {
        let origin = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| LogoError { origin: origin.clone(), message: e.to_string() })?;
        Self::parse(&text).map_err(|message| LogoError { origin, message })
    }

    /// Parses SVG text.
    pub fn from_svg(svg: &str) -> Result<Self, LogoError> {
        Self::parse(svg).map_err(|message| LogoError { origin: "svg".to_owned(), message })
    }

    /// Width divided by height.
    pub fn aspect_ratio(&self) -> f32 {
        self.view_box[2] / self.view_box[3]
    }

    /// The logo for a band of colour `background`: on a dark background the
    /// wordmark (the text) turns white and the mark stays unchanged, as the
    /// brand guidelines ask.
    pub(crate) fn on_background(&self, background: [u8; 3]) -> Self {
        let mut logo = self.clone();
        if luminance(background) < 0.4 {
            for item in &mut logo.items {
                if let Shape::Text(t) = &mut item.shape {
                    t.fill = [0xFF, 0xFF, 0xFF];
                }
            }
        }
        logo
    }

    pub(crate) fn view_box(&self) -> [f32; 4] {
        self.view_box
    }

    fn parse(svg: &str) -> Result<Self, String> {
        let doc = roxmltree::Document::parse(svg).map_err(|e| format!("not valid XML: {e}"))?;
        let root = doc.root_element();
        if root.tag_name().name() != "svg" || !matches!(root.tag_name().namespace(), None | Some(SVG_NS)) {
            return Err("the root element is not <svg>".to_owned());
        }
        let view_box = match root.attribute("viewBox") {
            Some(vb) => {
                let n = numbers(vb).map_err(|e| format!("viewBox: {e}"))?;
                match n[..] {
                    [x, y, w, h] => [x, y, w, h],
                    _ => return Err(format!("viewBox '{vb}' needs four numbers")),
                }
            }
            None => {
                let w = root.attribute("width").map(length).transpose()?;
                let h = root.attribute("height").map(length).transpose()?;
                match (w, h) {
                    (Some(w), Some(h)) => [0.0, 0.0, w, h],
                    _ => return Err("needs a viewBox or both width and height".to_owned()),
                }
            }
        };
        if !(view_box[2] > 0.0 && view_box[3] > 0.0 && view_box.iter().all(|v| v.is_finite())) {
            return Err("the viewBox must have a positive width and height".to_owned());
        }
        let mut items = Vec::new();
        let style = apply_style(root, Style::default())?;
        children(root, &style, IDENTITY, &mut items)?;
        if items.is_empty() {
            return Err("draws nothing".to_owned());
        }
        Ok(Self { view_box, items })
    }

    /// The form XObject content: SVG user space (y down) inside the box
    /// `[0, 0, width, height]` of the view box.
    pub(crate) fn content(&self, set: &FontSet<'_>) -> Vec<u8> {
        let [vx, vy, _, vh] = self.view_box;
        let mut c = Content::new();
        c.transform([1.0, 0.0, 0.0, -1.0, -vx, vy + vh]);
        for item in &self.items {
            c.save_state();
            if item.matrix != IDENTITY {
                c.transform(item.matrix);
            }
            match &item.shape {
                Shape::Path { segs, fill, even_odd, stroke } => {
                    draw_path(&mut c, segs, *fill, *even_odd, stroke.as_ref())
                }
                Shape::Text(t) => draw_text(&mut c, t, set),
            }
            c.restore_state();
        }
        c.finish().to_vec()
    }
}

fn luminance([r, g, b]: [u8; 3]) -> f32 {
    (0.2126 * f32::from(r) + 0.7152 * f32::from(g) + 0.0722 * f32::from(b)) / 255.0
}

fn rgb(c: [u8; 3]) -> (f32, f32, f32) {
    (f32::from(c[0]) / 255.0, f32::from(c[1]) / 255.0, f32::from(c[2]) / 255.0)
}

fn draw_path(c: &mut Content, segs: &[Seg], fill: Option<[u8; 3]>, even_odd: bool, stroke: Option<&Stroke>) {
    if fill.is_none() && stroke.is_none() {
        return;
    }
    if let Some(f) = fill {
        let (r, g, b) = rgb(f);
        c.set_fill_rgb(r, g, b);
    }
    if let Some(s) = stroke {
        let (r, g, b) = rgb(s.color);
        c.set_stroke_rgb(r, g, b);
        c.set_line_width(s.width);
        c.set_line_cap(s.cap);
        c.set_line_join(s.join);
        c.set_miter_limit(s.miter);
        if !s.dash.is_empty() {
            c.set_dash_pattern(s.dash.iter().copied(), s.dash_offset);
        }
    }
    for seg in segs {
        match *seg {
            Seg::Move(x, y) => {
                c.move_to(x, y);
            }
            Seg::Line(x, y) => {
                c.line_to(x, y);
            }
            Seg::Cubic([x1, y1, x2, y2, x, y]) => {
                c.cubic_to(x1, y1, x2, y2, x, y);
            }
            Seg::Close => {
                c.close_path();
            }
        }
    }
    match (fill.is_some(), stroke.is_some(), even_odd) {
        (true, true, false) => c.fill_nonzero_and_stroke(),
        (true, true, true) => c.fill_even_odd_and_stroke(),
        (true, false, false) => c.fill_nonzero(),
        (true, false, true) => c.fill_even_odd(),
        _ => c.stroke(),
    };
}

/// Glyph outlines into the content, in SVG space (y down).
struct Outline<'c> {
    c: &'c mut Content,
    x: f32,
    y: f32,
    scale: f32,
    last: (f32, f32),
}

impl Outline<'_> {
    fn map(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.scale, self.y - y * self.scale)
    }
}

impl ttf_parser::OutlineBuilder for Outline<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        let p = self.map(x, y);
        self.c.move_to(p.0, p.1);
        self.last = p;
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let p = self.map(x, y);
        self.c.line_to(p.0, p.1);
        self.last = p;
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (q, p, s) = (self.map(x1, y1), self.map(x, y), self.last);
        let c1 = (s.0 + 2.0 / 3.0 * (q.0 - s.0), s.1 + 2.0 / 3.0 * (q.1 - s.1));
        let c2 = (p.0 + 2.0 / 3.0 * (q.0 - p.0), p.1 + 2.0 / 3.0 * (q.1 - p.1));
        self.c.cubic_to(c1.0, c1.1, c2.0, c2.1, p.0, p.1);
        self.last = p;
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (a, b, p) = (self.map(x1, y1), self.map(x2, y2), self.map(x, y));
        self.c.cubic_to(a.0, a.1, b.0, b.1, p.0, p.1);
        self.last = p;
    }

    fn close(&mut self) {
        self.c.close_path();
    }
}

fn draw_text(c: &mut Content, t: &Text, set: &FontSet<'_>) {
    let want = if t.bold { FontId::Bold } else { FontId::Regular };
    let glyphs: Vec<(FontId, u16)> = t
        .text
        .chars()
        .map(|ch| {
            let f = set.pick(want, ch);
            (f, set.face(f).gid(ch))
        })
        .collect();
    let advance = |(f, g): (FontId, u16)| set.face(f).advance(g) * t.size / 1000.0;
    let width: f32 = glyphs.iter().map(|g| advance(*g) + t.letter_spacing).sum::<f32>()
        - if glyphs.is_empty() { 0.0 } else { t.letter_spacing };
    let mut x = match t.anchor {
        Anchor::Start => t.x,
        Anchor::Middle => t.x - width / 2.0,
        Anchor::End => t.x - width,
    };
    let (r, g, b) = rgb(t.fill);
    c.set_fill_rgb(r, g, b);
    let mut any = false;
    for (f, gid) in glyphs {
        let face = set.face(f);
        let mut o = Outline { c: &mut *c, x, y: t.y, scale: t.size / face.upem, last: (x, t.y) };
        any |= face.face.outline_glyph(ttf_parser::GlyphId(gid), &mut o).is_some();
        x += advance((f, gid)) + t.letter_spacing;
    }
    if any {
        c.fill_nonzero();
    }
}

fn element_error(node: roxmltree::Node<'_, '_>, message: &str) -> String {
    let pos = node.document().text_pos_at(node.range().start);
    format!("<{}> at line {}: {message}", node.tag_name().name(), pos.row)
}

fn children(
    parent: roxmltree::Node<'_, '_>,
    style: &Style,
    matrix: Matrix,
    items: &mut Vec<Item>,
) -> Result<(), String> {
    for node in parent.children().filter(roxmltree::Node::is_element) {
        // Editor metadata in other namespaces (Inkscape, Sketch, ...).
        if !matches!(node.tag_name().namespace(), None | Some(SVG_NS)) {
            continue;
        }
        element(node, style, matrix, items).map_err(
            |e| {
                if e.starts_with('<') { e } else { element_error(node, &e) }
            },
        )?;
    }
    Ok(())
}

fn element(node: roxmltree::Node<'_, '_>, parent: &Style, matrix: Matrix, items: &mut Vec<Item>) -> Result<(), String> {
    let name = node.tag_name().name();
    if matches!(name, "title" | "desc" | "metadata" | "defs" | "style") {
        // <defs> content only matters when referenced (url(#...)), which is
        // rejected as an unsupported paint.
        return Ok(());
    }
    if property(node, "display").as_deref() == Some("none") || property(node, "visibility").as_deref() == Some("hidden")
    {
        return Ok(());
    }
    let style = apply_style(node, parent.clone())?;
    let matrix = match node.attribute("transform") {
        Some(t) => multiply(matrix, transform(t).map_err(|e| format!("transform: {e}"))?),
        None => matrix,
    };
    let num = |attr: &str| -> Result<f32, String> {
        node.attribute(attr).map_or(Ok(0.0), |v| length(v).map_err(|e| format!("{attr}: {e}")))
    };
    let segs = match name {
        "g" => return children(node, &style, matrix, items),
        "text" => {
            let text = text_content(node);
            if !text.is_empty() {
                let first = |attr: &str| -> Result<f32, String> {
                    match node.attribute(attr) {
                        Some(v) => {
                            numbers(v).map(|n| n.first().copied().unwrap_or(0.0)).map_err(|e| format!("{attr}: {e}"))
                        }
                        None => Ok(0.0),
                    }
                };
                let fill = style.fill.ok_or("text without a fill is not supported")?;
                items.push(Item {
                    matrix,
                    shape: Shape::Text(Text {
                        x: first("x")?,
                        y: first("y")?,
                        size: style.font_size,
                        bold: style.bold,
                        letter_spacing: style.letter_spacing,
                        anchor: style.anchor,
                        fill,
                        text,
                    }),
                });
            }
            return Ok(());
        }
        "path" => path_data(node.attribute("d").unwrap_or_default()).map_err(|e| format!("d: {e}"))?,
        "rect" => {
            let (x, y, w, h) = (num("x")?, num("y")?, num("width")?, num("height")?);
            let (rx, ry) = match (node.attribute("rx"), node.attribute("ry")) {
                (None, None) => (0.0, 0.0),
                (Some(_), None) => (num("rx")?, num("rx")?),
                (None, Some(_)) => (num("ry")?, num("ry")?),
                (Some(_), Some(_)) => (num("rx")?, num("ry")?),
            };
            rect(x, y, w, h, rx.min(w / 2.0), ry.min(h / 2.0))
        }
        "circle" => ellipse(num("cx")?, num("cy")?, num("r")?, num("r")?),
        "ellipse" => ellipse(num("cx")?, num("cy")?, num("rx")?, num("ry")?),
        "line" => vec![Seg::Move(num("x1")?, num("y1")?), Seg::Line(num("x2")?, num("y2")?)],
        "polyline" | "polygon" => {
            let n = numbers(node.attribute("points").unwrap_or_default()).map_err(|e| format!("points: {e}"))?;
            let mut segs: Vec<Seg> = n
                .chunks_exact(2)
                .enumerate()
                .map(|(i, p)| if i == 0 { Seg::Move(p[0], p[1]) } else { Seg::Line(p[0], p[1]) })
                .collect();
            if name == "polygon" && !segs.is_empty() {
                segs.push(Seg::Close);
            }
            segs
        }
        other => return Err(format!("the element <{other}> is not supported in logos")),
    };
    if segs.is_empty() {
        return Ok(());
    }
    let stroke = style.stroke.filter(|_| style.stroke_width > 0.0).map(|color| Stroke {
        color,
        width: style.stroke_width,
        cap: style.cap,
        join: style.join,
        miter: style.miter,
        dash: style.dash.clone(),
        dash_offset: style.dash_offset,
    });
    // SVG never fills a line.
    let fill = if name == "line" { None } else { style.fill };
    items.push(Item { matrix, shape: Shape::Path { segs, fill, even_odd: style.even_odd, stroke } });
    Ok(())
}

/// The element's text, whitespace collapsed (as `xml:space="default"`).
fn text_content(node: roxmltree::Node<'_, '_>) -> String {
    let raw: String = node.descendants().filter(roxmltree::Node::is_text).filter_map(|n| n.text()).collect();
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A property from the `style` attribute (which wins) or the presentation attribute.
fn property(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    let from_style = node.attribute("style").and_then(|s| {
        s.split(';')
            .filter_map(|decl| decl.split_once(':'))
            .find_map(|(k, v)| (k.trim() == name).then(|| v.trim().trim_end_matches("!important").trim().to_owned()))
    });
    from_style.or_else(|| node.attribute(name).map(|v| v.trim().to_owned()))
}

fn apply_style(node: roxmltree::Node<'_, '_>, mut s: Style) -> Result<Style, String> {
    let get = |name: &str| property(node, name).filter(|v| v != "inherit");
    if let Some(v) = get("fill") {
        s.fill = paint(&v).map_err(|e| format!("fill: {e}"))?;
    }
    if let Some(v) = get("fill-rule") {
        s.even_odd = match v.as_str() {
            "evenodd" => true,
            "nonzero" => false,
            other => return Err(format!("fill-rule: '{other}' is not nonzero or evenodd")),
        };
    }
    if let Some(v) = get("stroke") {
        s.stroke = paint(&v).map_err(|e| format!("stroke: {e}"))?;
    }
    if let Some(v) = get("stroke-width") {
        s.stroke_width = length(&v).map_err(|e| format!("stroke-width: {e}"))?;
    }
    if let Some(v) = get("stroke-linecap") {
        s.cap = match v.as_str() {
            "butt" => LineCapStyle::ButtCap,
            "round" => LineCapStyle::RoundCap,
            "square" => LineCapStyle::ProjectingSquareCap,
            other => return Err(format!("stroke-linecap: '{other}' is not butt, round or square")),
        };
    }
    if let Some(v) = get("stroke-linejoin") {
        s.join = match v.as_str() {
            "miter" => LineJoinStyle::MiterJoin,
            "round" => LineJoinStyle::RoundJoin,
            "bevel" => LineJoinStyle::BevelJoin,
            other => return Err(format!("stroke-linejoin: '{other}' is not miter, round or bevel")),
        };
    }
    if let Some(v) = get("stroke-miterlimit") {
        s.miter = length(&v).map_err(|e| format!("stroke-miterlimit: {e}"))?.max(1.0);
    }
    if let Some(v) = get("stroke-dasharray") {
        s.dash = if v == "none" {
            Vec::new()
        } else {
            let mut d = numbers(&v).map_err(|e| format!("stroke-dasharray: {e}"))?;
            if d.iter().any(|x| *x < 0.0) {
                return Err("stroke-dasharray: negative length".to_owned());
            }
            if d.len() % 2 == 1 {
                d.extend_from_within(..);
            }
            if d.iter().sum::<f32>() > 0.0 { d } else { Vec::new() }
        };
    }
    if let Some(v) = get("stroke-dashoffset") {
        s.dash_offset = length(&v).map_err(|e| format!("stroke-dashoffset: {e}"))?;
    }
    if let Some(v) = get("font-size") {
        s.font_size = length(&v).map_err(|e| format!("font-size: {e}"))?;
    }
    if let Some(v) = get("font-weight") {
        s.bold = match v.as_str() {
            "bold" | "bolder" => true,
            "normal" | "lighter" => false,
            n => n.parse::<u16>().map_err(|_| format!("font-weight: '{n}' is not a weight"))? >= 600,
        };
    }
    if let Some(v) = get("letter-spacing") {
        s.letter_spacing = if v == "normal" { 0.0 } else { length(&v).map_err(|e| format!("letter-spacing: {e}"))? };
    }
    if let Some(v) = get("text-anchor") {
        s.anchor = match v.as_str() {
            "start" => Anchor::Start,
            "middle" => Anchor::Middle,
            "end" => Anchor::End,
            other => return Err(format!("text-anchor: '{other}' is not start, middle or end")),
        };
    }
    for name in ["opacity", "fill-opacity", "stroke-opacity"] {
        if let Some(v) = get(name)
            && v.parse::<f32>().ok() != Some(1.0)
        {
            return Err(format!("{name} other than 1 is not supported"));
        }
    }
    for name in ["clip-path", "mask", "filter"] {
        if get(name).is_some_and(|v| v != "none") {
            return Err(format!("{name} is not supported"));
        }
    }
    Ok(s)
}

/// `none` → None; a colour → Some.
fn paint(v: &str) -> Result<Option<[u8; 3]>, String> {
    let v = v.trim();
    if v == "none" || v == "transparent" {
        return Ok(None);
    }
    if let Some(c) = crate::parse_hex(v) {
        return Ok(Some(c));
    }
    if let Some(inner) = v.strip_prefix("rgb(").and_then(|r| r.strip_suffix(')')) {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        if let [r, g, b] = parts[..] {
            let channel = |s: &str| -> Option<u8> {
                match s.strip_suffix('%') {
                    Some(p) => p.parse::<f32>().ok().map(|p| (p.clamp(0.0, 100.0) * 2.55).round() as u8),
                    None => s.parse::<f32>().ok().map(|n| n.clamp(0.0, 255.0).round() as u8),
                }
            };
            if let (Some(r), Some(g), Some(b)) = (channel(r), channel(g), channel(b)) {
                return Ok(Some([r, g, b]));
            }
        }
    }
    let named = match v.to_ascii_lowercase().as_str() {
        "black" => [0, 0, 0],
        "white" => [255, 255, 255],
        "red" => [255, 0, 0],
        "green" => [0, 128, 0],
        "blue" => [0, 0, 255],
        "gray" | "grey" => [128, 128, 128],
        "orange" => [255, 165, 0],
        _ => return Err(format!("'{v}' is not a supported colour (use #RRGGBB)")),
    };
    Ok(Some(named))
}

/// A length in user units (`px` allowed).
fn length(v: &str) -> Result<f32, String> {
    let t = v.trim();
    let t = t.strip_suffix("px").unwrap_or(t).trim();
    t.parse::<f32>().ok().filter(|n| n.is_finite()).ok_or_else(|| format!("'{v}' is not a length in user units"))
}

/// Numbers separated by commas and/or whitespace.
fn numbers(v: &str) -> Result<Vec<f32>, String> {
    let mut p = PathParser { s: v.as_bytes(), i: 0 };
    let mut out = Vec::new();
    loop {
        p.skip_separators();
        if p.done() {
            return Ok(out);
        }
        out.push(p.number()?);
    }
}

fn multiply(a: Matrix, b: Matrix) -> Matrix {
    [
        a[0] * b[0] + a[2] * b[1],
        a[1] * b[0] + a[3] * b[1],
        a[0] * b[2] + a[2] * b[3],
        a[1] * b[2] + a[3] * b[3],
        a[0] * b[4] + a[2] * b[5] + a[4],
        a[1] * b[4] + a[3] * b[5] + a[5],
    ]
}

/// An SVG transform list.
fn transform(v: &str) -> Result<Matrix, String> {
    let mut m = IDENTITY;
    let mut rest = v.trim();
    while !rest.is_empty() {
        let open = rest.find('(').ok_or_else(|| format!("'{rest}' is not a transform"))?;
        let close = rest.find(')').ok_or_else(|| format!("'{rest}' lacks ')'"))?;
        let name = rest.get(..open).unwrap_or_default().trim().trim_start_matches(',').trim();
        let args = numbers(rest.get(open + 1..close).unwrap_or_default())?;
        let t = match (name, &args[..]) {
            ("matrix", [a, b, c, d, e, f]) => [*a, *b, *c, *d, *e, *f],
            ("translate", [x]) => [1.0, 0.0, 0.0, 1.0, *x, 0.0],
            ("translate", [x, y]) => [1.0, 0.0, 0.0, 1.0, *x, *y],
            ("scale", [s]) => [*s, 0.0, 0.0, *s, 0.0, 0.0],
            ("scale", [x, y]) => [*x, 0.0, 0.0, *y, 0.0, 0.0],
            ("rotate", [a, rest @ ..]) if matches!(rest.len(), 0 | 2) => {
                let (s, c) = (a.to_radians().sin(), a.to_radians().cos());
                let r = [c, s, -s, c, 0.0, 0.0];
                match rest {
                    [cx, cy] => multiply(multiply([1.0, 0.0, 0.0, 1.0, *cx, *cy], r), [1.0, 0.0, 0.0, 1.0, -cx, -cy]),
                    _ => r,
                }
            }
            ("skewX", [a]) => [1.0, 0.0, a.to_radians().tan(), 1.0, 0.0, 0.0],
            ("skewY", [a]) => [1.0, a.to_radians().tan(), 0.0, 1.0, 0.0, 0.0],
            _ => return Err(format!("'{name}' with {} arguments is not a transform", args.len())),
        };
        m = multiply(m, t);
        rest = rest.get(close + 1..).unwrap_or_default().trim();
    }
    Ok(m)
}

fn rect(x: f32, y: f32, w: f32, h: f32, rx: f32, ry: f32) -> Vec<Seg> {
    if w <= 0.0 || h <= 0.0 {
        return Vec::new();
    }
    if rx <= 0.0 || ry <= 0.0 {
        return vec![Seg::Move(x, y), Seg::Line(x + w, y), Seg::Line(x + w, y + h), Seg::Line(x, y + h), Seg::Close];
    }
    let mut segs = vec![Seg::Move(x + rx, y), Seg::Line(x + w - rx, y)];
    let corner = |segs: &mut Vec<Seg>, from: (f32, f32), to: (f32, f32)| {
        segs.extend(arc(from, rx, ry, 0.0, false, true, to).into_iter().map(Seg::Cubic));
    };
    corner(&mut segs, (x + w - rx, y), (x + w, y + ry));
    segs.push(Seg::Line(x + w, y + h - ry));
    corner(&mut segs, (x + w, y + h - ry), (x + w - rx, y + h));
    segs.push(Seg::Line(x + rx, y + h));
    corner(&mut segs, (x + rx, y + h), (x, y + h - ry));
    segs.push(Seg::Line(x, y + ry));
    corner(&mut segs, (x, y + ry), (x + rx, y));
    segs.push(Seg::Close);
    segs
}

fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Vec<Seg> {
    if rx <= 0.0 || ry <= 0.0 {
        return Vec::new();
    }
    let mut segs = vec![Seg::Move(cx + rx, cy)];
    segs.extend(arc((cx + rx, cy), rx, ry, 0.0, false, true, (cx - rx, cy)).into_iter().map(Seg::Cubic));
    segs.extend(arc((cx - rx, cy), rx, ry, 0.0, false, true, (cx + rx, cy)).into_iter().map(Seg::Cubic));
    segs.push(Seg::Close);
    segs
}

/// An elliptical arc (SVG endpoint parameters) as cubic Béziers of at most
/// 90° each (SVG 1.1 implementation notes, F.6.5).
fn arc(from: (f32, f32), rx: f32, ry: f32, angle: f32, large: bool, sweep: bool, to: (f32, f32)) -> Vec<[f32; 6]> {
    let ((x1, y1), (x2, y2)) = (from, to);
    if (x1 - x2).abs() < 1e-6 && (y1 - y2).abs() < 1e-6 {
        return Vec::new();
    }
    let (mut rx, mut ry) = (rx.abs(), ry.abs());
    if rx < 1e-6 || ry < 1e-6 {
        return vec![[x1, y1, x2, y2, x2, y2]];
    }
    let (sin, cos) = angle.to_radians().sin_cos();
    let (dx, dy) = ((x1 - x2) / 2.0, (y1 - y2) / 2.0);
    let (x1p, y1p) = (cos * dx + sin * dy, -sin * dx + cos * dy);
    let lambda = x1p * x1p / (rx * rx) + y1p * y1p / (ry * ry);
    if lambda > 1.0 {
        rx *= lambda.sqrt();
        ry *= lambda.sqrt();
    }
    let num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p;
    let den = rx * rx * y1p * y1p + ry * ry * x1p * x1p;
    let sign = if large == sweep { -1.0 } else { 1.0 };
    let coef = sign * (num / den).max(0.0).sqrt();
    let (cxp, cyp) = (coef * rx * y1p / ry, -coef * ry * x1p / rx);
    let (cx, cy) = (cos * cxp - sin * cyp + (x1 + x2) / 2.0, sin * cxp + cos * cyp + (y1 + y2) / 2.0);
    let vec_angle = |ux: f32, uy: f32, vx: f32, vy: f32| (ux * vy - uy * vx).atan2(ux * vx + uy * vy);
    let (ux, uy) = ((x1p - cxp) / rx, (y1p - cyp) / ry);
    let (vx, vy) = ((-x1p - cxp) / rx, (-y1p - cyp) / ry);
    let theta1 = vec_angle(1.0, 0.0, ux, uy);
    let mut delta = vec_angle(ux, uy, vx, vy);
    if !sweep && delta > 0.0 {
        delta -= 2.0 * PI;
    } else if sweep && delta < 0.0 {
        delta += 2.0 * PI;
    }
    let n = (delta.abs() / (PI / 2.0) - 1e-4).ceil().max(1.0);
    let step = delta / n;
    let t = 4.0 / 3.0 * (step / 4.0).tan();
    let map = |ux: f32, uy: f32| (cx + rx * ux * cos - ry * uy * sin, cy + rx * ux * sin + ry * uy * cos);
    let mut out = Vec::new();
    let mut a1 = theta1;
    for i in 0..n as usize {
        let a2 = if i + 1 == n as usize { theta1 + delta } else { a1 + step };
        let (s1, c1) = a1.sin_cos();
        let (s2, c2) = a2.sin_cos();
        let p1 = map(c1 - t * s1, s1 + t * c1);
        let p2 = map(c2 + t * s2, s2 - t * c2);
        let p = if i + 1 == n as usize { (x2, y2) } else { map(c2, s2) };
        out.push([p1.0, p1.1, p2.0, p2.1, p.0, p.1]);
        a1 = a2;
    }
    out
}

struct PathParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl PathParser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_separators(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r' | b',') = self.peek() {
            self.i += 1;
        }
    }

    fn at_number(&mut self) -> bool {
        self.skip_separators();
        matches!(self.peek(), Some(b'0'..=b'9' | b'.' | b'-' | b'+'))
    }

    fn number(&mut self) -> Result<f32, String> {
        self.skip_separators();
        let start = self.i;
        if let Some(b'-' | b'+') = self.peek() {
            self.i += 1;
        }
        let mut digits = false;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
            digits = true;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
                digits = true;
            }
        }
        if digits && matches!(self.peek(), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if let Some(b'-' | b'+') = self.peek() {
                self.i += 1;
            }
            let exp_start = self.i;
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
            if self.i == exp_start {
                self.i = save;
            }
        }
        let text = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()).unwrap_or_default();
        match text.parse::<f32>() {
            Ok(n) if digits && n.is_finite() => Ok(n),
            _ => Err(format!("expected a number at byte {start}")),
        }
    }

    fn flag(&mut self) -> Result<bool, String> {
        self.skip_separators();
        let f = match self.peek() {
            Some(b'0') => false,
            Some(b'1') => true,
            _ => return Err(format!("expected an arc flag (0 or 1) at byte {}", self.i)),
        };
        self.i += 1;
        Ok(f)
    }
}

/// Path data → absolute segments (quadratics and arcs become cubics).
fn path_data(d: &str) -> Result<Vec<Seg>, String> {
    let mut p = PathParser { s: d.as_bytes(), i: 0 };
    let mut segs = Vec::new();
    let (mut cur, mut start) = ((0.0_f32, 0.0_f32), (0.0_f32, 0.0_f32));
    // The last control point of a cubic / quadratic, for S and T.
    let mut last_cubic: Option<(f32, f32)> = None;
    let mut last_quad: Option<(f32, f32)> = None;
    let mut cmd: Option<u8> = None;
    loop {
        p.skip_separators();
        let Some(b) = p.peek() else { break };
        let c = if b.is_ascii_alphabetic() {
            p.i += 1;
            b
        } else {
            match cmd {
                // Extra coordinates after M/m are implicit L/l.
                Some(b'M') => b'L',
                Some(b'm') => b'l',
                Some(c) if !matches!(c, b'Z' | b'z') => c,
                _ => return Err(format!("expected a command at byte {}", p.i)),
            }
        };
        if cmd.is_none() && !matches!(c, b'M' | b'm') {
            return Err("path data must start with M".to_owned());
        }
        let rel = c.is_ascii_lowercase();
        let base = if rel { cur } else { (0.0, 0.0) };
        let point = |p: &mut PathParser<'_>| -> Result<(f32, f32), String> {
            let x = p.number()?;
            let y = p.number()?;
            Ok((base.0 + x, base.1 + y))
        };
        let (mut next_cubic, mut next_quad) = (None, None);
        match c.to_ascii_uppercase() {
            b'M' => {
                cur = point(&mut p)?;
                start = cur;
                segs.push(Seg::Move(cur.0, cur.1));
            }
            b'L' => {
                cur = point(&mut p)?;
                segs.push(Seg::Line(cur.0, cur.1));
            }
            b'H' => {
                let x = p.number()?;
                cur.0 = if rel { cur.0 + x } else { x };
                segs.push(Seg::Line(cur.0, cur.1));
            }
            b'V' => {
                let y = p.number()?;
                cur.1 = if rel { cur.1 + y } else { y };
                segs.push(Seg::Line(cur.0, cur.1));
            }
            b'C' => {
                let (c1, c2, end) = (point(&mut p)?, point(&mut p)?, point(&mut p)?);
                segs.push(Seg::Cubic([c1.0, c1.1, c2.0, c2.1, end.0, end.1]));
                next_cubic = Some(c2);
                cur = end;
            }
            b'S' => {
                let c1 = last_cubic.map_or(cur, |(x, y)| (2.0 * cur.0 - x, 2.0 * cur.1 - y));
                let (c2, end) = (point(&mut p)?, point(&mut p)?);
                segs.push(Seg::Cubic([c1.0, c1.1, c2.0, c2.1, end.0, end.1]));
                next_cubic = Some(c2);
                cur = end;
            }
            b'Q' | b'T' => {
                let q = if c.eq_ignore_ascii_case(&b'Q') {
                    point(&mut p)?
                } else {
                    last_quad.map_or(cur, |(x, y)| (2.0 * cur.0 - x, 2.0 * cur.1 - y))
                };
                let end = point(&mut p)?;
                let c1 = (cur.0 + 2.0 / 3.0 * (q.0 - cur.0), cur.1 + 2.0 / 3.0 * (q.1 - cur.1));
                let c2 = (end.0 + 2.0 / 3.0 * (q.0 - end.0), end.1 + 2.0 / 3.0 * (q.1 - end.1));
                segs.push(Seg::Cubic([c1.0, c1.1, c2.0, c2.1, end.0, end.1]));
                next_quad = Some(q);
                cur = end;
            }
            b'A' => {
                let (rx, ry, angle) = (p.number()?, p.number()?, p.number()?);
                let (large, sweep) = (p.flag()?, p.flag()?);
                let end = point(&mut p)?;
                segs.extend(arc(cur, rx, ry, angle, large, sweep, end).into_iter().map(Seg::Cubic));
                cur = end;
            }
            b'Z' => {
                segs.push(Seg::Close);
                cur = start;
            }
            _ => return Err(format!("unknown path command '{}'", char::from(c))),
        }
        last_cubic = next_cubic;
        last_quad = next_quad;
        cmd = Some(c);
        if matches!(c, b'Z' | b'z') && p.at_number() {
            return Err(format!("numbers after Z at byte {}", p.i));
        }
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_commands_parse() {
        let segs = path_data("M12 16 h60 a8 8 0 0 1 8 8 v14 a10 10 0 0 0 0 20 z").unwrap();
        assert_eq!(segs[0], Seg::Move(12.0, 16.0));
        assert_eq!(segs[1], Seg::Line(72.0, 16.0));
        // The 90° corner is one cubic ending exactly at (80, 24).
        assert!(matches!(segs[2], Seg::Cubic([.., x, y]) if (x - 80.0).abs() < 1e-4 && (y - 24.0).abs() < 1e-4));
        assert_eq!(segs[3], Seg::Line(80.0, 38.0));
        // The notch: a half circle (two cubics) to (80, 58).
        assert!(matches!(segs[5], Seg::Cubic([.., x, y]) if (x - 80.0).abs() < 1e-4 && (y - 58.0).abs() < 1e-4));
        assert_eq!(segs.last(), Some(&Seg::Close));
        // Compact forms: implicit commands, signs as separators, packed flags.
        let segs = path_data("m1-2.5.5.5l3 3 4 4a5,5 0 011 1").unwrap();
        assert_eq!(segs[0], Seg::Move(1.0, -2.5));
        assert_eq!(segs[1], Seg::Line(1.5, -2.0));
        assert_eq!(segs[2], Seg::Line(4.5, 1.0));
        assert_eq!(segs[3], Seg::Line(8.5, 5.0));
        assert!(path_data("L 1 2").is_err());
        assert!(path_data("M 1 x").is_err());
    }

    #[test]
    fn unsupported_features_are_errors() {
        let svg = |body: &str| format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">{body}</svg>"#);
        assert!(Logo::from_svg(&svg(r#"<rect width="5" height="5" fill="red"/>"#)).is_ok());
        let err = Logo::from_svg(&svg(r#"<image href="x.png"/>"#)).unwrap_err();
        assert!(err.to_string().contains("<image>"), "{err}");
        let err = Logo::from_svg(&svg(r#"<rect width="5" height="5" fill="url(#g)"/>"#)).unwrap_err();
        assert!(err.to_string().contains("fill"), "{err}");
        assert!(Logo::from_svg(&svg(r#"<g opacity="0.5"><circle r="2"/></g>"#)).is_err());
        assert!(Logo::from_svg(&svg("")).is_err());
        assert!(Logo::from_svg("<html/>").is_err());
    }

    #[test]
    fn transforms_compose() {
        let m = transform("translate(10 20) scale(2)").unwrap();
        assert_eq!(m, [2.0, 0.0, 0.0, 2.0, 10.0, 20.0]);
        let r = transform("rotate(90)").unwrap();
        assert!((r[1] - 1.0).abs() < 1e-6 && (r[2] + 1.0).abs() < 1e-6);
    }
}
