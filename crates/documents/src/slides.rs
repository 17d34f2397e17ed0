//! Pitch decks as PowerPoint files (PPTX).
//!
//! There is no mature PPTX crate, so [`render_pptx`] writes a complete OOXML PresentationML
//! package from scratch: content types, package relationships, document properties, the
//! presentation part, a theme in the brand colours, one slide master with a title layout and
//! a title-and-content layout, one part per slide, and a notes master with one notes slide per
//! slide that has speaker notes. Tables are DrawingML tables (`a:tbl`) in a graphic frame.
//!
//! Every run names a Latin and an East Asian typeface ([`LATIN_FONT`], [`EA_FONT`]), so Chinese
//! text uses a CJK font; where that font is missing the viewer substitutes one (LibreOffice
//! through fontconfig, e.g. WenQuanYi Micro Hei).

use std::fmt::Write as _;
use std::io::Write as _;

use serde::{Deserialize, Serialize};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::Brand;

/// Latin typeface of every run (the brand's own fallback for Inter, present everywhere).
pub const LATIN_FONT: &str = "Arial";
/// East Asian typeface of every run; the file also says it is a GB2312 sans font, so a viewer
/// without it picks a similar Chinese font.
pub const EA_FONT: &str = "Microsoft YaHei";

/// One content slide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Slide {
    pub title: String,
    /// One bullet per entry; a `\n` inside an entry is a line break within the bullet.
    pub bullets: Vec<String>,
    /// Speaker notes.
    pub notes: Option<String>,
    /// A table below the bullets; the first row is the header row. Short rows are padded.
    pub table: Option<Vec<Vec<String>>>,
}

/// A slide deck: a title slide from `title`, `subtitle` and `company`, then `slides`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Deck {
    pub title: String,
    pub subtitle: Option<String>,
    /// The presenting company, shown on the title slide and in every footer.
    pub company: String,
    pub slides: Vec<Slide>,
}

/// One product offered in a pitch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PitchProduct {
    pub name: String,
    pub description: String,
    /// Shown as given, e.g. `"SGD 299 / month"`.
    pub price: String,
}

/// What a sales pitch is built from; every field may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PitchInput {
    /// The presenting company (default "Mezzofy").
    pub company: String,
    pub customer: String,
    pub industry: String,
    pub products: Vec<PitchProduct>,
    pub pain_points: Vec<String>,
    /// Results from a similar customer; one bullet per non-empty line.
    pub case_study: String,
    pub next_steps: Vec<String>,
}

/// Errors from [`render_pptx`].
#[derive(Debug, thiserror::Error)]
pub enum PptxError {
    #[error("cannot write the PowerPoint package: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("cannot write the PowerPoint package: {0}")]
    Io(#[from] std::io::Error),
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn lines_or(items: &[String], default: &[&str]) -> Vec<String> {
    let given: Vec<String> = items.iter().filter_map(|s| non_empty(s)).map(str::to_owned).collect();
    if given.is_empty() { default.iter().map(|s| (*s).to_owned()).collect() } else { given }
}

/// The sales pitch: title, problem, product, pricing (a table), case study and next steps,
/// with generic defaults wherever `input` is empty.
pub fn pitch_deck(input: &PitchInput) -> Deck {
    let company = non_empty(&input.company).unwrap_or("Mezzofy");
    let customer = non_empty(&input.customer);
    let industry = non_empty(&input.industry);
    let title = match customer {
        Some(c) => format!("{company} for {c}"),
        None => format!("{company} sales proposal"),
    };
    let subtitle = match (customer, industry) {
        (Some(c), Some(i)) => Some(format!("Prepared for {c} \u{b7} {i}")),
        (Some(c), None) => Some(format!("Prepared for {c}")),
        (None, Some(i)) => Some(format!("For {i} businesses")),
        (None, None) => None,
    };
    let who = customer.unwrap_or("the customer");

    let problem = Slide {
        title: industry.map_or_else(|| "The challenge".to_owned(), |i| format!("The challenge in {i}")),
        bullets: lines_or(
            &input.pain_points,
            &[
                "Customers buy once and do not come back",
                "Paper coupons and stamp cards are slow to run and easy to abuse",
                "It is hard to tell which promotions actually pay off",
            ],
        ),
        notes: Some(format!("Ask {who} which of these hurts most, and add what they name.")),
        table: None,
    };

    let products: Vec<&PitchProduct> = input.products.iter().filter(|p| non_empty(&p.name).is_some()).collect();
    let product_bullets: Vec<String> = products
        .iter()
        .map(|p| match non_empty(&p.description) {
            Some(d) => format!("{} \u{2013} {d}", p.name.trim()),
            None => p.name.trim().to_owned(),
        })
        .collect();
    let product = Slide {
        title: format!("How {company} works"),
        bullets: if product_bullets.is_empty() {
            vec![
                "Create digital coupons, e-vouchers and loyalty rewards in minutes".to_owned(),
                "Share them by link, QR code, WhatsApp, SMS or email".to_owned(),
                "Redeem at the counter and see every redemption in one dashboard".to_owned(),
            ]
        } else {
            product_bullets
        },
        notes: Some("Keep it to one message per product; demo if there is time.".to_owned()),
        table: None,
    };

    let mut rows = vec![vec!["Product".to_owned(), "Price".to_owned()]];
    rows.extend(
        products.iter().map(|p| vec![p.name.trim().to_owned(), non_empty(&p.price).unwrap_or("On request").to_owned()]),
    );
    if rows.len() == 1 {
        rows.push(vec![format!("{company} package tailored to {who}"), "On request".to_owned()]);
    }
    let pricing = Slide {
        title: "Products and pricing".to_owned(),
        bullets: Vec::new(),
        notes: Some("Confirm outlets and volumes before quoting a final price.".to_owned()),
        table: Some(rows),
    };

    let case_lines: Vec<String> = input.case_study.lines().filter_map(non_empty).map(str::to_owned).collect();
    let case_study = Slide {
        title: "Results from similar merchants".to_owned(),
        bullets: if case_lines.is_empty() {
            vec![format!("We will share a reference customer from {}", industry.unwrap_or("your industry"))]
        } else {
            case_lines
        },
        notes: None,
        table: None,
    };

    let next_steps = Slide {
        title: "Next steps".to_owned(),
        bullets: lines_or(
            &input.next_steps,
            &["Agree on goals and success measures", "Run a pilot campaign", "Review the results together"],
        ),
        notes: Some("Agree on an owner and a date for each step before leaving the room.".to_owned()),
        table: None,
    };

    Deck {
        title,
        subtitle,
        company: company.to_owned(),
        slides: vec![problem, product, pricing, case_study, next_steps],
    }
}

// ---------------------------------------------------------------------------------------------
// XML helpers

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const NS_A: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_P: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";
const CT: &str = "application/vnd.openxmlformats-officedocument.presentationml.";

/// `xmlns` attributes of the PresentationML parts.
fn ns() -> String {
    format!("xmlns:a=\"{NS_A}\" xmlns:r=\"{NS_R}\" xmlns:p=\"{NS_P}\"")
}

/// Drops what XML 1.0 cannot hold (control characters other than tab and newline, and the
/// non-characters U+FFFE/U+FFFF) and carriage returns.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| (!c.is_control() || matches!(c, '\t' | '\n')) && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .collect()
}

/// Escapes text for element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("{r:02X}{g:02X}{b:02X}")
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Run formatting: size in hundredths of a point, colour as `RRGGBB`.
#[derive(Clone)]
struct Font {
    size: u32,
    bold: bool,
    color: String,
}

impl Font {
    fn new(size: u32, bold: bool, color: impl Into<String>) -> Self {
        Self { size, bold, color: color.into() }
    }
}

fn typefaces() -> String {
    format!(
        "<a:latin typeface=\"{LATIN_FONT}\" pitchFamily=\"34\" charset=\"0\"/>\
         <a:ea typeface=\"{EA_FONT}\" pitchFamily=\"34\" charset=\"-122\"/>\
         <a:cs typeface=\"{LATIN_FONT}\" pitchFamily=\"34\" charset=\"0\"/>"
    )
}

fn rpr(tag: &str, text: &str, f: &Font) -> String {
    let lang = if text.chars().any(is_cjk) { "lang=\"zh-CN\" altLang=\"en-US\"" } else { "lang=\"en-US\"" };
    let b = if f.bold { " b=\"1\"" } else { "" };
    format!(
        "<{tag} {lang} sz=\"{}\"{b} dirty=\"0\"><a:solidFill><a:srgbClr val=\"{}\"/></a:solidFill>{}</{tag}>",
        f.size,
        f.color,
        typefaces()
    )
}

/// One paragraph; `\n` in `text` becomes a line break.
fn para(text: &str, f: &Font, ppr: &str) -> String {
    let text = clean(text);
    let mut out = format!("<a:p>{ppr}");
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str(&format!("<a:br>{}</a:br>", rpr("a:rPr", line, f)));
        }
        if !line.is_empty() {
            out.push_str(&format!("<a:r>{}<a:t>{}</a:t></a:r>", rpr("a:rPr", line, f), esc(line)));
        }
    }
    out.push_str(&rpr("a:endParaRPr", &text, f));
    out.push_str("</a:p>");
    out
}

fn xfrm(x: i64, y: i64, cx: i64, cy: i64) -> String {
    format!("<a:xfrm><a:off x=\"{x}\" y=\"{y}\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm>")
}

const RECT: &str = "<a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom>";

const TREE_START: &str = "<p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>\
    <p:grpSpPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"0\" cy=\"0\"/><a:chOff x=\"0\" y=\"0\"/>\
    <a:chExt cx=\"0\" cy=\"0\"/></a:xfrm></p:grpSpPr>";

/// A filled rectangle without text.
fn rect(id: u32, name: &str, (x, y, cx, cy): (i64, i64, i64, i64), fill: &str) -> String {
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/><p:cNvSpPr/><p:nvPr userDrawn=\"1\"/></p:nvSpPr>\
         <p:spPr>{}{RECT}<a:solidFill>{fill}</a:solidFill><a:ln><a:noFill/></a:ln></p:spPr></p:sp>",
        xfrm(x, y, cx, cy)
    )
}

/// A placeholder shape; `ph` holds the attributes of `p:ph`, `pos` the position (None: inherited).
fn placeholder(
    id: u32,
    name: &str,
    ph: &str,
    pos: Option<(i64, i64, i64, i64)>,
    body_pr: &str,
    lst_style: &str,
    paras: &str,
) -> String {
    let sp_pr = pos.map_or_else(String::new, |(x, y, cx, cy)| format!("{}{RECT}", xfrm(x, y, cx, cy)));
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/><p:cNvSpPr><a:spLocks noGrp=\"1\"/></p:cNvSpPr>\
         <p:nvPr><p:ph {ph}/></p:nvPr></p:nvSpPr><p:spPr>{sp_pr}</p:spPr>\
         <p:txBody>{body_pr}<a:lstStyle>{lst_style}</a:lstStyle>{paras}</p:txBody></p:sp>"
    )
}

/// A text box (not a placeholder).
fn text_box(id: u32, name: &str, (x, y, cx, cy): (i64, i64, i64, i64), anchor: &str, paras: &str) -> String {
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/><p:cNvSpPr txBox=\"1\"/><p:nvPr/></p:nvSpPr>\
         <p:spPr>{}{RECT}<a:noFill/></p:spPr><p:txBody><a:bodyPr wrap=\"square\" lIns=\"0\" tIns=\"0\" rIns=\"0\" \
         bIns=\"0\" rtlCol=\"0\" anchor=\"{anchor}\"><a:normAutofit/></a:bodyPr><a:lstStyle/>{paras}</p:txBody></p:sp>",
        xfrm(x, y, cx, cy)
    )
}

fn def_rpr(size: u32, bold: bool, color: &str, major: bool) -> String {
    let b = if bold { " b=\"1\"" } else { "" };
    let m = if major { "mj" } else { "mn" };
    format!(
        "<a:defRPr sz=\"{size}\"{b} kern=\"1200\"><a:solidFill>{color}</a:solidFill>\
         <a:latin typeface=\"+{m}-lt\"/><a:ea typeface=\"+{m}-ea\"/><a:cs typeface=\"+{m}-cs\"/></a:defRPr>"
    )
}

fn scheme(name: &str) -> String {
    format!("<a:schemeClr val=\"{name}\"/>")
}

fn relationships(rels: &[(&str, String)]) -> String {
    let mut out =
        format!("{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">");
    for (i, (kind, target)) in rels.iter().enumerate() {
        let kind = if kind.starts_with("http") { (*kind).to_owned() } else { format!("{REL}{kind}") };
        let _ = write!(out, "<Relationship Id=\"rId{}\" Type=\"{kind}\" Target=\"{}\"/>", i + 1, esc(target));
    }
    out.push_str("</Relationships>");
    out
}

// ---------------------------------------------------------------------------------------------
// Geometry (EMU; 914400 per inch). The slide is 13.333 × 7.5 inches (16:9).

const SLIDE_W: i64 = 12_192_000;
const SLIDE_H: i64 = 6_858_000;
const MARGIN: i64 = 609_600;
const CONTENT_W: i64 = SLIDE_W - 2 * MARGIN;
const BAR_H: i64 = 1_188_720;
const ACCENT_H: i64 = 64_008;
const TITLE_POS: (i64, i64, i64, i64) = (MARGIN, 91_440, CONTENT_W, BAR_H - 182_880);
const BODY_Y: i64 = 1_463_040;
const BODY_H: i64 = 4_663_440;
const BODY_POS: (i64, i64, i64, i64) = (MARGIN, BODY_Y, CONTENT_W, BODY_H);
const FOOTER_Y: i64 = 6_263_640;
const FOOTER_H: i64 = 365_760;
const STRIPE_Y: i64 = 6_766_560;
const TITLE_BLOCK_H: i64 = 4_114_800;
const ROW_H: i64 = 457_200;
const GAP: i64 = 182_880;

// ---------------------------------------------------------------------------------------------
// Parts

fn theme(name: &str, brand: &Brand) -> String {
    let srgb = |c: &str| format!("<a:srgbClr val=\"{c}\"/>");
    let fonts = format!(
        "<a:latin typeface=\"{LATIN_FONT}\" panose=\"020B0604020202020204\"/>\
         <a:ea typeface=\"{EA_FONT}\" panose=\"020B0503020204020204\" pitchFamily=\"34\" charset=\"-122\"/>\
         <a:cs typeface=\"\"/><a:font script=\"Hans\" typeface=\"{EA_FONT}\"/>\
         <a:font script=\"Hant\" typeface=\"Microsoft JhengHei\"/><a:font script=\"Jpan\" typeface=\"Yu Gothic\"/>\
         <a:font script=\"Hang\" typeface=\"Malgun Gothic\"/>"
    );
    let gs = |pos: u32, lum: u32, sat: u32, tint: u32| {
        format!(
            "<a:gs pos=\"{pos}\"><a:schemeClr val=\"phClr\"><a:lumMod val=\"{lum}\"/><a:satMod val=\"{sat}\"/>\
             <a:tint val=\"{tint}\"/></a:schemeClr></a:gs>"
        )
    };
    let grad = |a: String, b: String, c: String| {
        format!(
            "<a:gradFill rotWithShape=\"1\"><a:gsLst>{a}{b}{c}</a:gsLst><a:lin ang=\"5400000\" scaled=\"0\"/></a:gradFill>"
        )
    };
    let line = |w: u32| {
        format!(
            "<a:ln w=\"{w}\" cap=\"flat\" cmpd=\"sng\" algn=\"ctr\"><a:solidFill><a:schemeClr val=\"phClr\"/>\
             </a:solidFill><a:prstDash val=\"solid\"/><a:miter lim=\"800000\"/></a:ln>"
        )
    };
    let phclr = "<a:solidFill><a:schemeClr val=\"phClr\"/></a:solidFill>";
    format!(
        "{XML_DECL}<a:theme xmlns:a=\"{NS_A}\" name=\"{name}\"><a:themeElements>\
         <a:clrScheme name=\"{company}\">\
         <a:dk1>{text}</a:dk1><a:lt1>{white}</a:lt1><a:dk2>{muted}</a:dk2><a:lt2>{light}</a:lt2>\
         <a:accent1>{primary}</a:accent1><a:accent2>{text}</a:accent2><a:accent3>{amber}</a:accent3>\
         <a:accent4>{muted}</a:accent4><a:accent5>{green}</a:accent5><a:accent6>{blue}</a:accent6>\
         <a:hlink>{link}</a:hlink><a:folHlink>{fol_link}</a:folHlink></a:clrScheme>\
         <a:fontScheme name=\"{company}\"><a:majorFont>{fonts}</a:majorFont><a:minorFont>{fonts}</a:minorFont></a:fontScheme>\
         <a:fmtScheme name=\"{company}\">\
         <a:fillStyleLst>{phclr}{grad1}{grad2}</a:fillStyleLst>\
         <a:lnStyleLst>{ln1}{ln2}{ln3}</a:lnStyleLst>\
         <a:effectStyleLst><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle>\
         <a:effectStyle><a:effectLst><a:outerShdw blurRad=\"57150\" dist=\"19050\" dir=\"5400000\" algn=\"ctr\" \
         rotWithShape=\"0\"><a:srgbClr val=\"000000\"><a:alpha val=\"63000\"/></a:srgbClr></a:outerShdw></a:effectLst>\
         </a:effectStyle></a:effectStyleLst>\
         <a:bgFillStyleLst>{phclr}<a:solidFill><a:schemeClr val=\"phClr\"><a:tint val=\"95000\"/>\
         <a:satMod val=\"170000\"/></a:schemeClr></a:solidFill>{grad3}</a:bgFillStyleLst>\
         </a:fmtScheme></a:themeElements><a:objectDefaults/><a:extraClrSchemeLst/></a:theme>",
        company = esc(&brand.company),
        text = srgb(&hex(brand.text)),
        white = srgb("FFFFFF"),
        muted = srgb(&hex(brand.muted)),
        light = srgb("F3F4F6"),
        primary = srgb(&hex(brand.primary)),
        amber = srgb("FFB347"),
        green = srgb("2E9E5B"),
        blue = srgb("4472C4"),
        link = srgb("0563C1"),
        fol_link = srgb("954F72"),
        grad1 = grad(
            gs(0, 110_000, 105_000, 67_000),
            gs(50_000, 105_000, 103_000, 73_000),
            gs(100_000, 105_000, 109_000, 81_000)
        ),
        grad2 = grad(
            gs(0, 102_000, 103_000, 94_000),
            gs(50_000, 100_000, 110_000, 100_000),
            gs(100_000, 99_000, 120_000, 78_000)
        ),
        grad3 = grad(
            gs(0, 102_000, 150_000, 93_000),
            gs(50_000, 103_000, 130_000, 98_000),
            gs(100_000, 100_000, 130_000, 63_000)
        ),
        ln1 = line(6350),
        ln2 = line(12_700),
        ln3 = line(19_050),
    )
}

const CLR_MAP: &str = "<p:clrMap bg1=\"lt1\" tx1=\"dk1\" bg2=\"lt2\" tx2=\"dk2\" accent1=\"accent1\" \
    accent2=\"accent2\" accent3=\"accent3\" accent4=\"accent4\" accent5=\"accent5\" accent6=\"accent6\" \
    hlink=\"hlink\" folHlink=\"folHlink\"/>";

const BULLET_PPR: &str = "marL=\"342900\" indent=\"-342900\"";

fn bullet_ppr(brand: &Brand) -> String {
    format!(
        "<a:pPr {BULLET_PPR}><a:spcBef><a:spcPts val=\"1200\"/></a:spcBef><a:buClr><a:srgbClr val=\"{}\"/></a:buClr>\
         <a:buFont typeface=\"Arial\" panose=\"020B0604020202020204\"/><a:buChar char=\"&#8226;\"/></a:pPr>",
        hex(brand.primary)
    )
}

fn slide_master() -> String {
    let prompt = |s: &str| format!("<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{s}</a:t></a:r></a:p>");
    let title = placeholder(
        4,
        "Title Placeholder 1",
        "type=\"title\"",
        Some(TITLE_POS),
        "<a:bodyPr vert=\"horz\" lIns=\"0\" tIns=\"0\" rIns=\"0\" bIns=\"0\" rtlCol=\"0\" anchor=\"ctr\"><a:normAutofit/></a:bodyPr>",
        "",
        &prompt("Click to edit Master title style"),
    );
    let body = placeholder(
        5,
        "Text Placeholder 2",
        "type=\"body\" idx=\"1\"",
        Some(BODY_POS),
        "<a:bodyPr vert=\"horz\" lIns=\"91440\" tIns=\"45720\" rIns=\"91440\" bIns=\"45720\" rtlCol=\"0\"><a:normAutofit/></a:bodyPr>",
        "",
        &prompt("Click to edit Master text styles"),
    );
    let lvl = |n: u32, mar: u32, ind: i32, ch: &str, size: u32| {
        format!(
            "<a:lvl{n}pPr marL=\"{mar}\" indent=\"{ind}\" algn=\"l\" defTabSz=\"914400\" rtl=\"0\" eaLnBrk=\"1\" \
             latinLnBrk=\"0\" hangingPunct=\"1\"><a:lnSpc><a:spcPct val=\"100000\"/></a:lnSpc><a:spcBef>\
             <a:spcPts val=\"1200\"/></a:spcBef><a:buClr>{}</a:buClr><a:buFont typeface=\"Arial\" \
             panose=\"020B0604020202020204\"/><a:buChar char=\"{ch}\"/>{}</a:lvl{n}pPr>",
            scheme("accent1"),
            def_rpr(size, false, &scheme("tx1"), false)
        )
    };
    format!(
        "{XML_DECL}<p:sldMaster {ns}><p:cSld><p:bg><p:bgRef idx=\"1001\">{bg1}</p:bgRef></p:bg><p:spTree>{TREE_START}\
         {bar}{accent}{stripe}{title}{body}</p:spTree></p:cSld>{CLR_MAP}\
         <p:sldLayoutIdLst><p:sldLayoutId id=\"2147483649\" r:id=\"rId1\"/><p:sldLayoutId id=\"2147483650\" r:id=\"rId2\"/>\
         </p:sldLayoutIdLst><p:txStyles><p:titleStyle><a:lvl1pPr algn=\"l\" defTabSz=\"914400\" rtl=\"0\" eaLnBrk=\"1\" \
         latinLnBrk=\"0\" hangingPunct=\"1\"><a:lnSpc><a:spcPct val=\"90000\"/></a:lnSpc><a:spcBef><a:spcPct val=\"0\"/>\
         </a:spcBef><a:buNone/>{title_rpr}</a:lvl1pPr></p:titleStyle><p:bodyStyle>{lvl1}{lvl2}{lvl3}</p:bodyStyle>\
         <p:otherStyle><a:defPPr><a:defRPr lang=\"en-US\"/></a:defPPr><a:lvl1pPr marL=\"0\" algn=\"l\" \
         defTabSz=\"914400\" rtl=\"0\" eaLnBrk=\"1\" latinLnBrk=\"0\" hangingPunct=\"1\">{other_rpr}</a:lvl1pPr>\
         </p:otherStyle></p:txStyles></p:sldMaster>",
        ns = ns(),
        bg1 = scheme("bg1"),
        bar = rect(2, "Title Bar", (0, 0, SLIDE_W, BAR_H), &scheme("tx1")),
        accent = rect(3, "Title Accent", (0, BAR_H, SLIDE_W, ACCENT_H), &scheme("accent1")),
        stripe = rect(6, "Footer Stripe", (0, STRIPE_Y, SLIDE_W, SLIDE_H - STRIPE_Y), &scheme("accent1")),
        title_rpr = def_rpr(3200, true, &scheme("bg1"), true),
        lvl1 = lvl(1, 342_900, -342_900, "&#8226;", 2400),
        lvl2 = lvl(2, 742_950, -285_750, "&#8211;", 2000),
        lvl3 = lvl(3, 1_143_000, -228_600, "&#8226;", 1800),
        other_rpr = def_rpr(1800, false, &scheme("tx1"), false),
    )
}

fn title_layout() -> String {
    let prompt = |s: &str| format!("<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{s}</a:t></a:r></a:p>");
    let title = placeholder(
        4,
        "Title 1",
        "type=\"ctrTitle\"",
        Some(TITLE_SLIDE_TITLE),
        "<a:bodyPr anchor=\"b\"><a:normAutofit/></a:bodyPr>",
        &format!("<a:lvl1pPr algn=\"l\">{}</a:lvl1pPr>", def_rpr(4400, true, &scheme("bg1"), true)),
        &prompt("Click to edit Master title style"),
    );
    let subtitle = placeholder(
        5,
        "Subtitle 2",
        "type=\"subTitle\" idx=\"1\"",
        Some(TITLE_SLIDE_SUBTITLE),
        "<a:bodyPr><a:normAutofit/></a:bodyPr>",
        &format!(
            "<a:lvl1pPr marL=\"0\" indent=\"0\" algn=\"l\"><a:buNone/>{}</a:lvl1pPr>",
            def_rpr(2000, false, &scheme("tx2"), false)
        ),
        &prompt("Click to edit Master subtitle style"),
    );
    format!(
        "{XML_DECL}<p:sldLayout {ns} type=\"title\" preserve=\"1\" showMasterSp=\"0\"><p:cSld name=\"Title Slide\">\
         <p:spTree>{TREE_START}{block}{accent}{title}{subtitle}</p:spTree></p:cSld>\
         <p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>",
        ns = ns(),
        block = rect(2, "Title Block", (0, 0, SLIDE_W, TITLE_BLOCK_H), &scheme("tx1")),
        accent = rect(3, "Title Accent", (0, TITLE_BLOCK_H, SLIDE_W, ACCENT_H * 2), &scheme("accent1")),
    )
}

fn content_layout() -> String {
    let prompt = |s: &str| format!("<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>{s}</a:t></a:r></a:p>");
    let title = placeholder(
        2,
        "Title 1",
        "type=\"title\"",
        None,
        "<a:bodyPr/>",
        "",
        &prompt("Click to edit Master title style"),
    );
    let body = placeholder(
        3,
        "Content Placeholder 2",
        "idx=\"1\"",
        None,
        "<a:bodyPr/>",
        "",
        &prompt("Click to edit Master text styles"),
    );
    format!(
        "{XML_DECL}<p:sldLayout {ns} type=\"obj\" preserve=\"1\"><p:cSld name=\"Title and Content\"><p:spTree>\
         {TREE_START}{title}{body}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>",
        ns = ns()
    )
}

const TITLE_SLIDE_TITLE: (i64, i64, i64, i64) = (914_400, 1_005_840, SLIDE_W - 2 * 914_400, 2_743_200);
const TITLE_SLIDE_SUBTITLE: (i64, i64, i64, i64) = (914_400, 4_480_560, SLIDE_W - 2 * 914_400, 1_005_840);

fn title_slide(deck: &Deck, brand: &Brand) -> String {
    let title_size = if deck.title.chars().count() > 60 { 3600 } else { 4400 };
    let title = placeholder(
        2,
        "Title 1",
        "type=\"ctrTitle\"",
        Some(TITLE_SLIDE_TITLE),
        "<a:bodyPr anchor=\"b\"><a:normAutofit/></a:bodyPr>",
        "",
        &para(&deck.title, &Font::new(title_size, true, "FFFFFF"), "<a:pPr algn=\"l\"/>"),
    );
    let mut shapes = title;
    if let Some(sub) = deck.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        shapes.push_str(&placeholder(
            3,
            "Subtitle 2",
            "type=\"subTitle\" idx=\"1\"",
            Some(TITLE_SLIDE_SUBTITLE),
            "<a:bodyPr><a:normAutofit/></a:bodyPr>",
            "",
            &para(sub, &Font::new(2000, false, hex(brand.muted)), "<a:pPr marL=\"0\" indent=\"0\"><a:buNone/></a:pPr>"),
        ));
    }
    if !deck.company.trim().is_empty() {
        shapes.push_str(&text_box(
            4,
            "Company",
            (914_400, FOOTER_Y - 91_440, SLIDE_W - 2 * 914_400, FOOTER_H + 91_440),
            "ctr",
            &para(&deck.company, &Font::new(2000, true, hex(brand.primary)), ""),
        ));
    }
    slide_xml(&shapes)
}

fn slide_xml(shapes: &str) -> String {
    format!(
        "{XML_DECL}<p:sld {ns}><p:cSld><p:spTree>{TREE_START}{shapes}</p:spTree></p:cSld>\
         <p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>",
        ns = ns()
    )
}

/// Column widths in proportion to the longest cell text, summing to `CONTENT_W`.
fn column_widths(rows: &[Vec<String>], cols: usize) -> Vec<i64> {
    let weights: Vec<i64> = (0..cols)
        .map(|c| {
            let longest = rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0);
            longest.clamp(6, 40) as i64
        })
        .collect();
    let total: i64 = weights.iter().sum::<i64>().max(1);
    let mut widths: Vec<i64> = weights.iter().map(|w| CONTENT_W * w / total).collect();
    let used: i64 = widths.iter().sum();
    if let Some(last) = widths.last_mut() {
        *last += CONTENT_W - used;
    }
    widths
}

fn table_frame(id: u32, rows: &[Vec<String>], y: i64, max_h: i64, brand: &Brand) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let row_h = (max_h / rows.len().max(1) as i64).clamp(320_040, ROW_H);
    let size = if rows.len() > 8 {
        1200
    } else if rows.len() > 5 {
        1400
    } else {
        1600
    };
    let widths = column_widths(rows, cols);
    let mut tbl = String::from("<a:tbl><a:tblPr firstRow=\"1\" bandRow=\"1\"/><a:tblGrid>");
    for w in &widths {
        let _ = write!(tbl, "<a:gridCol w=\"{w}\"/>");
    }
    tbl.push_str("</a:tblGrid>");
    let line = "<a:solidFill><a:srgbClr val=\"D1D5DB\"/></a:solidFill>";
    let none = "<a:noFill/>";
    for (r, row) in rows.iter().enumerate() {
        let header = r == 0;
        let (font, fill) = if header {
            (Font::new(size, true, "FFFFFF"), hex(brand.text))
        } else if r % 2 == 0 {
            (Font::new(size, false, hex(brand.text)), "F3F4F6".to_owned())
        } else {
            (Font::new(size, false, hex(brand.text)), "FFFFFF".to_owned())
        };
        let _ = write!(tbl, "<a:tr h=\"{row_h}\">");
        for c in 0..cols {
            let text = row.get(c).map_or("", String::as_str);
            let _ = write!(
                tbl,
                "<a:tc><a:txBody><a:bodyPr/><a:lstStyle/>{}</a:txBody><a:tcPr marL=\"91440\" marR=\"91440\" \
                 marT=\"45720\" marB=\"45720\" anchor=\"ctr\"><a:lnL w=\"12700\">{none}</a:lnL>\
                 <a:lnR w=\"12700\">{none}</a:lnR><a:lnT w=\"12700\">{none}</a:lnT><a:lnB w=\"12700\">{line}</a:lnB>\
                 <a:solidFill><a:srgbClr val=\"{fill}\"/></a:solidFill></a:tcPr></a:tc>",
                para(text, &font, "")
            );
        }
        tbl.push_str("</a:tr>");
    }
    tbl.push_str("</a:tbl>");
    let h = row_h * rows.len() as i64;
    format!(
        "<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id=\"{id}\" name=\"Table {id}\"/><p:cNvGraphicFramePr>\
         <a:graphicFrameLocks noGrp=\"1\"/></p:cNvGraphicFramePr><p:nvPr/></p:nvGraphicFramePr>\
         <p:xfrm><a:off x=\"{MARGIN}\" y=\"{y}\"/><a:ext cx=\"{CONTENT_W}\" cy=\"{h}\"/></p:xfrm><a:graphic>\
         <a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/table\">{tbl}</a:graphicData>\
         </a:graphic></p:graphicFrame>"
    )
}

fn content_slide(slide: &Slide, number: usize, deck: &Deck, brand: &Brand) -> String {
    let title_size = if slide.title.chars().count() > 50 { 2800 } else { 3200 };
    let mut shapes = placeholder(
        2,
        "Title 1",
        "type=\"title\"",
        Some(TITLE_POS),
        "<a:bodyPr lIns=\"0\" tIns=\"0\" rIns=\"0\" bIns=\"0\" anchor=\"ctr\"><a:normAutofit/></a:bodyPr>",
        "",
        &para(&slide.title, &Font::new(title_size, true, "FFFFFF"), "<a:pPr algn=\"l\"/>"),
    );
    let table = slide.table.as_ref().filter(|t| t.iter().any(|r| !r.is_empty()));
    let mut table_y = BODY_Y;
    if !slide.bullets.is_empty() {
        let size = match slide.bullets.len() {
            0..=5 => 2400,
            6..=7 => 2000,
            _ => 1800,
        };
        let height = if table.is_some() {
            (slide.bullets.len() as i64 * (ROW_H + 91_440) + 91_440).min(BODY_H / 2)
        } else {
            BODY_H
        };
        table_y = BODY_Y + height + GAP;
        let font = Font::new(size, false, hex(brand.text));
        let ppr = bullet_ppr(brand);
        let paras: String = slide.bullets.iter().map(|b| para(b, &font, &ppr)).collect();
        shapes.push_str(&placeholder(
            3,
            "Content Placeholder 2",
            "idx=\"1\"",
            Some((MARGIN, BODY_Y, CONTENT_W, height)),
            "<a:bodyPr><a:normAutofit/></a:bodyPr>",
            "",
            &paras,
        ));
    }
    if let Some(rows) = table {
        shapes.push_str(&table_frame(4, rows, table_y, BODY_Y + BODY_H - table_y, brand));
    }
    let footer_font = Font::new(1200, false, hex(brand.muted));
    shapes.push_str(&text_box(
        5,
        "Footer",
        (MARGIN, FOOTER_Y, CONTENT_W / 2, FOOTER_H),
        "ctr",
        &para(&deck.company, &footer_font, ""),
    ));
    shapes.push_str(&text_box(
        6,
        "Slide Number",
        (MARGIN + CONTENT_W / 2, FOOTER_Y, CONTENT_W / 2, FOOTER_H),
        "ctr",
        &format!(
            "<a:p><a:pPr algn=\"r\"/><a:fld id=\"{{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}}\" type=\"slidenum\">\
             {}<a:t>{number}</a:t></a:fld>{}</a:p>",
            rpr("a:rPr", "", &footer_font),
            rpr("a:endParaRPr", "", &footer_font)
        ),
    ));
    slide_xml(&shapes)
}

fn notes_master() -> String {
    format!(
        "{XML_DECL}<p:notesMaster {ns}><p:cSld><p:bg><p:bgRef idx=\"1001\">{bg1}</p:bgRef></p:bg><p:spTree>{TREE_START}\
         <p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"Slide Image Placeholder 1\"/><p:cNvSpPr><a:spLocks noGrp=\"1\" \
         noRot=\"1\" noChangeAspect=\"1\"/></p:cNvSpPr><p:nvPr><p:ph type=\"sldImg\" idx=\"2\"/></p:nvPr></p:nvSpPr>\
         <p:spPr>{img}{RECT}<a:noFill/><a:ln w=\"12700\"><a:solidFill><a:prstClr val=\"black\"/></a:solidFill></a:ln>\
         </p:spPr></p:sp>{body}</p:spTree></p:cSld>{CLR_MAP}<p:notesStyle><a:lvl1pPr marL=\"0\" algn=\"l\" \
         defTabSz=\"914400\" rtl=\"0\" eaLnBrk=\"1\" latinLnBrk=\"0\" hangingPunct=\"1\">{rpr}</a:lvl1pPr></p:notesStyle>\
         </p:notesMaster>",
        ns = ns(),
        bg1 = scheme("bg1"),
        img = xfrm(685_800, 1_143_000, 5_486_400, 3_086_100),
        body = placeholder(
            3,
            "Notes Placeholder 2",
            "type=\"body\" sz=\"quarter\" idx=\"3\"",
            Some((685_800, 4_400_550, 5_486_400, 3_600_450)),
            "<a:bodyPr vert=\"horz\" lIns=\"91440\" tIns=\"45720\" rIns=\"91440\" bIns=\"45720\" rtlCol=\"0\"/>",
            "",
            "<a:p><a:r><a:rPr lang=\"en-US\"/><a:t>Click to edit Master text styles</a:t></a:r></a:p>",
        ),
        rpr = def_rpr(1200, false, &scheme("tx1"), false),
    )
}

fn notes_slide(notes: &str, brand: &Brand) -> String {
    let font = Font::new(1200, false, hex(brand.text));
    let paras: String = notes.split("\n\n").map(|p| para(p, &font, "")).collect();
    format!(
        "{XML_DECL}<p:notes {ns}><p:cSld><p:spTree>{TREE_START}\
         <p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"Slide Image Placeholder 1\"/><p:cNvSpPr><a:spLocks noGrp=\"1\" \
         noRot=\"1\" noChangeAspect=\"1\"/></p:cNvSpPr><p:nvPr><p:ph type=\"sldImg\"/></p:nvPr></p:nvSpPr><p:spPr/></p:sp>\
         {body}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:notes>",
        ns = ns(),
        body = placeholder(3, "Notes Placeholder 2", "type=\"body\" idx=\"1\"", None, "<a:bodyPr/>", "", &paras),
    )
}

/// Renders `deck` as a PPTX file (16:9) in the colours of `brand`.
pub fn render_pptx(deck: &Deck, brand: &Brand) -> Result<Vec<u8>, PptxError> {
    let has_notes = |s: &Slide| s.notes.as_deref().is_some_and(|n| !n.trim().is_empty());
    let any_notes = deck.slides.iter().any(has_notes);
    let slide_count = deck.slides.len() + 1;

    let mut parts: Vec<(String, String)> = Vec::new();
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut add = |parts: &mut Vec<(String, String)>, name: &str, ct: Option<String>, xml: String| {
        if let Some(ct) = ct {
            overrides.push((format!("/{name}"), ct));
        }
        parts.push((name.to_owned(), xml));
    };

    // Package relationships and document properties.
    add(
        &mut parts,
        "_rels/.rels",
        None,
        relationships(&[
            ("officeDocument", "ppt/presentation.xml".to_owned()),
            (
                "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
                "docProps/core.xml".to_owned(),
            ),
            ("extended-properties", "docProps/app.xml".to_owned()),
        ]),
    );
    add(
        &mut parts,
        "docProps/core.xml",
        Some("application/vnd.openxmlformats-package.core-properties+xml".to_owned()),
        format!(
            "{XML_DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
             xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
             xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
             <dc:title>{title}</dc:title><dc:creator>{creator}</dc:creator><cp:lastModifiedBy>{creator}</cp:lastModifiedBy>\
             <cp:revision>1</cp:revision></cp:coreProperties>",
            title = esc(&deck.title),
            creator = esc(&brand.company),
        ),
    );
    let notes_count = deck.slides.iter().filter(|s| has_notes(s)).count();
    add(
        &mut parts,
        "docProps/app.xml",
        Some("application/vnd.openxmlformats-officedocument.extended-properties+xml".to_owned()),
        format!(
            "{XML_DECL}<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\" \
             xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">\
             <Application>Microsoft Office PowerPoint</Application><PresentationFormat>Widescreen</PresentationFormat>\
             <Slides>{slide_count}</Slides><Notes>{notes_count}</Notes><HiddenSlides>0</HiddenSlides>\
             <Company>{}</Company><AppVersion>16.0000</AppVersion></Properties>",
            esc(&deck.company)
        ),
    );

    // The presentation and its relationships: master, slides, notes master, properties, theme.
    let mut pres_rels: Vec<(&str, String)> = vec![("slideMaster", "slideMasters/slideMaster1.xml".to_owned())];
    let mut sld_ids = String::new();
    for n in 1..=slide_count {
        pres_rels.push(("slide", format!("slides/slide{n}.xml")));
        let _ = write!(sld_ids, "<p:sldId id=\"{}\" r:id=\"rId{}\"/>", 255 + n, pres_rels.len());
    }
    let notes_master_id = if any_notes {
        pres_rels.push(("notesMaster", "notesMasters/notesMaster1.xml".to_owned()));
        format!("<p:notesMasterIdLst><p:notesMasterId r:id=\"rId{}\"/></p:notesMasterIdLst>", pres_rels.len())
    } else {
        String::new()
    };
    pres_rels.extend([
        ("presProps", "presProps.xml".to_owned()),
        ("viewProps", "viewProps.xml".to_owned()),
        ("theme", "theme/theme1.xml".to_owned()),
        ("tableStyles", "tableStyles.xml".to_owned()),
    ]);
    let lvl = |n: u32| {
        format!(
            "<a:lvl{n}pPr marL=\"{}\" algn=\"l\" defTabSz=\"914400\" rtl=\"0\" eaLnBrk=\"1\" latinLnBrk=\"0\" \
             hangingPunct=\"1\">{}</a:lvl{n}pPr>",
            (n - 1) * 457_200,
            def_rpr(1800, false, &scheme("tx1"), false)
        )
    };
    add(
        &mut parts,
        "ppt/presentation.xml",
        Some(format!("{CT}presentation.main+xml")),
        format!(
            "{XML_DECL}<p:presentation {ns} saveSubsetFonts=\"1\"><p:sldMasterIdLst><p:sldMasterId id=\"2147483648\" \
             r:id=\"rId1\"/></p:sldMasterIdLst>{notes_master_id}<p:sldIdLst>{sld_ids}</p:sldIdLst>\
             <p:sldSz cx=\"{SLIDE_W}\" cy=\"{SLIDE_H}\"/><p:notesSz cx=\"6858000\" cy=\"9144000\"/>\
             <p:defaultTextStyle><a:defPPr><a:defRPr lang=\"en-US\"/></a:defPPr>{l1}{l2}{l3}</p:defaultTextStyle>\
             </p:presentation>",
            ns = ns(),
            l1 = lvl(1),
            l2 = lvl(2),
            l3 = lvl(3),
        ),
    );
    add(&mut parts, "ppt/_rels/presentation.xml.rels", None, relationships(&pres_rels));
    add(
        &mut parts,
        "ppt/presProps.xml",
        Some(format!("{CT}presProps+xml")),
        format!("{XML_DECL}<p:presentationPr {}/>", ns()),
    );
    add(
        &mut parts,
        "ppt/viewProps.xml",
        Some(format!("{CT}viewProps+xml")),
        format!(
            "{XML_DECL}<p:viewPr {}><p:normalViewPr><p:restoredLeft sz=\"15620\"/><p:restoredTop sz=\"94660\"/>\
             </p:normalViewPr><p:gridSpacing cx=\"76200\" cy=\"76200\"/></p:viewPr>",
            ns()
        ),
    );
    add(
        &mut parts,
        "ppt/tableStyles.xml",
        Some(format!("{CT}tableStyles+xml")),
        format!("{XML_DECL}<a:tblStyleLst xmlns:a=\"{NS_A}\" def=\"{{5C22544A-7EE6-4342-B048-85BDC9FD1C3A}}\"/>"),
    );
    let theme_ct = "application/vnd.openxmlformats-officedocument.theme+xml".to_owned();
    add(&mut parts, "ppt/theme/theme1.xml", Some(theme_ct.clone()), theme(&brand.company, brand));

    // Master and layouts.
    add(&mut parts, "ppt/slideMasters/slideMaster1.xml", Some(format!("{CT}slideMaster+xml")), slide_master());
    add(
        &mut parts,
        "ppt/slideMasters/_rels/slideMaster1.xml.rels",
        None,
        relationships(&[
            ("slideLayout", "../slideLayouts/slideLayout1.xml".to_owned()),
            ("slideLayout", "../slideLayouts/slideLayout2.xml".to_owned()),
            ("theme", "../theme/theme1.xml".to_owned()),
        ]),
    );
    for (n, xml) in [(1, title_layout()), (2, content_layout())] {
        add(&mut parts, &format!("ppt/slideLayouts/slideLayout{n}.xml"), Some(format!("{CT}slideLayout+xml")), xml);
        add(
            &mut parts,
            &format!("ppt/slideLayouts/_rels/slideLayout{n}.xml.rels"),
            None,
            relationships(&[("slideMaster", "../slideMasters/slideMaster1.xml".to_owned())]),
        );
    }

    // Slides and their notes.
    add(&mut parts, "ppt/slides/slide1.xml", Some(format!("{CT}slide+xml")), title_slide(deck, brand));
    add(
        &mut parts,
        "ppt/slides/_rels/slide1.xml.rels",
        None,
        relationships(&[("slideLayout", "../slideLayouts/slideLayout1.xml".to_owned())]),
    );
    for (i, slide) in deck.slides.iter().enumerate() {
        let n = i + 2;
        add(
            &mut parts,
            &format!("ppt/slides/slide{n}.xml"),
            Some(format!("{CT}slide+xml")),
            content_slide(slide, n, deck, brand),
        );
        let mut rels = vec![("slideLayout", "../slideLayouts/slideLayout2.xml".to_owned())];
        if let Some(notes) = slide.notes.as_deref().filter(|_| has_notes(slide)) {
            rels.push(("notesSlide", format!("../notesSlides/notesSlide{n}.xml")));
            add(
                &mut parts,
                &format!("ppt/notesSlides/notesSlide{n}.xml"),
                Some(format!("{CT}notesSlide+xml")),
                notes_slide(notes, brand),
            );
            add(
                &mut parts,
                &format!("ppt/notesSlides/_rels/notesSlide{n}.xml.rels"),
                None,
                relationships(&[
                    ("notesMaster", "../notesMasters/notesMaster1.xml".to_owned()),
                    ("slide", format!("../slides/slide{n}.xml")),
                ]),
            );
        }
        add(&mut parts, &format!("ppt/slides/_rels/slide{n}.xml.rels"), None, relationships(&rels));
    }
    if any_notes {
        add(&mut parts, "ppt/notesMasters/notesMaster1.xml", Some(format!("{CT}notesMaster+xml")), notes_master());
        add(
            &mut parts,
            "ppt/notesMasters/_rels/notesMaster1.xml.rels",
            None,
            relationships(&[("theme", "../theme/theme2.xml".to_owned())]),
        );
        add(&mut parts, "ppt/theme/theme2.xml", Some(theme_ct), theme(&format!("{} Notes", brand.company), brand));
    }

    let mut types = format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>"
    );
    for (name, ct) in &overrides {
        let _ = write!(types, "<Override PartName=\"{name}\" ContentType=\"{ct}\"/>");
    }
    types.push_str("</Types>");

    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", options)?;
    zip.write_all(types.as_bytes())?;
    for (name, xml) in &parts {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(xml.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}
