//! The PPTX package read back with `zip` + `quick-xml`: complete, every relationship resolves,
//! every part parses and the slides hold exactly the input text. When LibreOffice is installed,
//! it converts the deck (and a DOCX report) to PDF and the text is checked with `pdftotext`;
//! set `DOCUMENTS_KEEP_OUTPUT=1` to keep the files (their folder is printed) and look at them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use documents::{
    Brand, Deck, EA_FONT, PitchInput, PitchProduct, Slide, pitch_deck, render_docx, render_pptx, text_report,
};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

// ---------------------------------------------------------------------------------------------
// A tiny DOM over quick-xml.

#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    El(El),
    Text(String),
}

impl El {
    fn elements(&self) -> impl Iterator<Item = &El> {
        self.children.iter().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Every descendant element called `name`, in document order.
    fn all<'a>(&'a self, name: &str, out: &mut Vec<&'a El>) {
        for e in self.elements() {
            if e.name == name {
                out.push(e);
            }
            e.all(name, out);
        }
    }

    fn find_all(&self, name: &str) -> Vec<&El> {
        let mut out = Vec::new();
        self.all(name, &mut out);
        out
    }

    fn find(&self, name: &str) -> &El {
        self.find_all(name).into_iter().next().unwrap_or_else(|| panic!("no <{name}> in <{}>", self.name))
    }

    fn text(&self) -> String {
        self.children
            .iter()
            .map(|n| match n {
                Node::El(e) => e.text(),
                Node::Text(t) => t.clone(),
            })
            .collect()
    }

    fn attr(&self, key: &str) -> &str {
        self.attrs.get(key).map_or_else(|| panic!("<{}> has no {key}", self.name), String::as_str)
    }
}

fn element(e: &BytesStart) -> El {
    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
    let mut attrs = BTreeMap::new();
    for a in e.attributes() {
        let a = a.unwrap();
        let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
        let value = a.normalized_value(XmlVersion::Explicit1_0).unwrap().into_owned();
        assert!(attrs.insert(key.clone(), value).is_none(), "duplicate attribute {key}");
    }
    El { name, attrs, children: Vec::new() }
}

fn push_text(el: &mut El, s: &str) {
    if let Some(Node::Text(t)) = el.children.last_mut() {
        t.push_str(s);
    } else {
        el.children.push(Node::Text(s.to_owned()));
    }
}

/// Parses one part; panics (naming the part) on any XML error.
fn parse(part: &str, xml: &str) -> El {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![El::default()];
    loop {
        let event = reader.read_event().unwrap_or_else(|e| panic!("{part}: {e} at {}", reader.buffer_position()));
        match event {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => {
                let el = element(&e);
                stack.last_mut().unwrap().children.push(Node::El(el));
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap_or_else(|| panic!("{part}: unbalanced")).children.push(Node::El(el));
            }
            Event::Text(t) => push_text(stack.last_mut().unwrap(), &t.xml10_content().unwrap()),
            Event::CData(t) => push_text(stack.last_mut().unwrap(), &t.decode().unwrap()),
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().unwrap();
                        resolve_predefined_entity(&name).unwrap_or_else(|| panic!("{part}: entity &{name};")).to_owned()
                    }
                };
                push_text(stack.last_mut().unwrap(), &s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "{part}: unclosed elements");
    let mut root = stack.pop().unwrap();
    let mut roots: Vec<El> = std::mem::take(&mut root.children)
        .into_iter()
        .filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(t) => {
                assert!(t.trim().is_empty(), "{part}: text outside the root element");
                None
            }
        })
        .collect();
    assert_eq!(roots.len(), 1, "{part}: one root element");
    roots.remove(0)
}

// ---------------------------------------------------------------------------------------------
// The package.

fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut parts = BTreeMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        let name = file.name().unwrap().into_owned();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert!(parts.insert(name.clone(), text).is_none(), "duplicate zip entry {name}");
    }
    parts
}

struct Package {
    parts: BTreeMap<String, El>,
    raw: BTreeMap<String, String>,
}

/// `ppt/slides/_rels/slide1.xml.rels` → `ppt/slides/slide1.xml`; `_rels/.rels` → `""`.
fn rels_source(rels: &str) -> String {
    let (dir, file) = rels.rsplit_once("_rels/").unwrap();
    format!("{dir}{}", file.strip_suffix(".rels").unwrap())
}

fn rels_path(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

fn resolve(source: &str, target: &str) -> String {
    let mut segs: Vec<&str> = match source.rsplit_once('/') {
        Some((dir, _)) => dir.split('/').collect(),
        None => Vec::new(),
    };
    for seg in target.split('/') {
        match seg {
            ".." => {
                segs.pop().expect("target escapes the package");
            }
            "." | "" => {}
            s => segs.push(s),
        }
    }
    segs.join("/")
}

impl Package {
    /// Reads and checks the whole package.
    fn read(bytes: &[u8]) -> Self {
        let raw = unzip(bytes);
        let parts: BTreeMap<String, El> = raw.iter().map(|(n, x)| (n.clone(), parse(n, x))).collect();

        // Content types: every override exists, every part has a type.
        let types = &parts["[Content_Types].xml"];
        let defaults: BTreeMap<String, String> = types
            .find_all("Default")
            .iter()
            .map(|d| (d.attr("Extension").to_owned(), d.attr("ContentType").to_owned()))
            .collect();
        let overrides: BTreeMap<String, String> = types
            .find_all("Override")
            .iter()
            .map(|o| (o.attr("PartName").strip_prefix('/').unwrap().to_owned(), o.attr("ContentType").to_owned()))
            .collect();
        for name in overrides.keys() {
            assert!(raw.contains_key(name), "content type for a missing part {name}");
        }
        for name in raw.keys().filter(|n| *n != "[Content_Types].xml") {
            let ext = name.rsplit('.').next().unwrap();
            assert!(overrides.contains_key(name) || defaults.contains_key(ext), "{name} has no content type");
        }

        // Relationships: each source exists, ids are unique, every target resolves.
        let mut reached = BTreeSet::new();
        for (name, el) in parts.iter().filter(|(n, _)| n.ends_with(".rels")) {
            let source = rels_source(name);
            assert!(source.is_empty() || raw.contains_key(&source), "{name} belongs to a missing part");
            let mut ids = BTreeSet::new();
            for rel in el.find_all("Relationship") {
                assert!(ids.insert(rel.attr("Id")), "{name}: duplicate id");
                let target = resolve(&source, rel.attr("Target"));
                assert!(raw.contains_key(&target), "{name}: target {target} missing");
                reached.insert(target);
            }
        }
        for name in raw.keys().filter(|n| !n.ends_with(".rels") && *n != "[Content_Types].xml") {
            assert!(reached.contains(name), "{name} is not the target of any relationship");
        }
        let package = Self { parts, raw };

        // Every r:id used in a part is one of its relationships.
        for (name, el) in &package.parts {
            let mut used = Vec::new();
            collect_rids(el, &mut used);
            for id in used {
                package.target(name, &id);
            }
        }
        assert_eq!(
            overrides[&package.target("", "rId1")],
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
        );
        package
    }

    /// The part that relationship `id` of `source` points to.
    fn target(&self, source: &str, id: &str) -> String {
        let rels = if source.is_empty() { "_rels/.rels".to_owned() } else { rels_path(source) };
        let rel = self.parts[&rels]
            .find_all("Relationship")
            .into_iter()
            .find(|r| r.attr("Id") == id)
            .unwrap_or_else(|| panic!("{source}: no relationship {id}"));
        resolve(source, rel.attr("Target"))
    }

    /// Targets of `source`'s relationships of type `.../kind`.
    fn targets_of_kind(&self, source: &str, kind: &str) -> Vec<String> {
        self.parts.get(&rels_path(source)).map_or_else(Vec::new, |rels| {
            rels.find_all("Relationship")
                .into_iter()
                .filter(|r| r.attr("Type").ends_with(&format!("/{kind}")))
                .map(|r| resolve(source, r.attr("Target")))
                .collect()
        })
    }

    /// Slide parts in presentation order.
    fn slides(&self) -> Vec<String> {
        let pres = "ppt/presentation.xml";
        self.parts[pres].find_all("p:sldId").iter().map(|s| self.target(pres, s.attr("r:id"))).collect()
    }
}

fn collect_rids(el: &El, out: &mut Vec<String>) {
    for (k, v) in &el.attrs {
        if k.starts_with("r:") {
            out.push(v.clone());
        }
    }
    for e in el.elements() {
        collect_rids(e, out);
    }
}

/// Text of a paragraph: runs and fields, `a:br` as `\n`.
fn para_text(p: &El) -> String {
    p.elements()
        .map(|e| match e.name.as_str() {
            "a:r" | "a:fld" => e.find("a:t").text(),
            "a:br" => "\n".to_owned(),
            _ => String::new(),
        })
        .collect()
}

/// Paragraph texts of each text shape, by shape name.
fn shape_texts(slide: &El) -> BTreeMap<String, Vec<String>> {
    slide
        .find_all("p:sp")
        .into_iter()
        .filter(|sp| !sp.find_all("p:txBody").is_empty())
        .map(|sp| {
            let name = sp.find("p:cNvPr").attr("name").to_owned();
            (name, sp.find("p:txBody").find_all("a:p").into_iter().map(para_text).collect())
        })
        .collect()
}

fn table_cells(slide: &El) -> Option<Vec<Vec<String>>> {
    let tbl = slide.find_all("a:tbl").into_iter().next()?;
    Some(
        tbl.find_all("a:tr")
            .into_iter()
            .map(|tr| {
                tr.find_all("a:tc")
                    .into_iter()
                    .map(|tc| tc.find_all("a:p").into_iter().map(para_text).collect::<Vec<_>>().join("\n"))
                    .collect()
            })
            .collect(),
    )
}

fn notes_text(pkg: &Package, slide: &str) -> Option<String> {
    let notes = pkg.targets_of_kind(slide, "notesSlide");
    let part = notes.first()?;
    let el = &pkg.parts[part];
    let body = el
        .find_all("p:sp")
        .into_iter()
        .find(|sp| sp.find("p:ph").attrs.get("type").map(String::as_str) == Some("body"))
        .expect("notes body placeholder");
    assert_eq!(pkg.targets_of_kind(part, "slide"), vec![slide.to_owned()], "notes point back at their slide");
    Some(body.find_all("a:p").into_iter().map(para_text).collect::<Vec<_>>().join("\n\n"))
}

fn tricky_deck() -> Deck {
    Deck {
        title: "Acme & Sons <Pitch> \"Q3\" '26".into(),
        subtitle: Some("会员积分 – 忠诚度计划".into()),
        company: "Mezzofy & Co".into(),
        slides: vec![
            Slide {
                title: "Problem: <tags> & \"quotes\"".into(),
                bullets: vec![
                    "顾客只来一次，不再回来".into(),
                    "A & B < C > D 'single' \"double\"".into(),
                    "Line one\nLine two".into(),
                    "bell\u{7}ring".into(),
                ],
                notes: Some("Say: 5 < 6 & \"why\"\n\n第二段：问客户".into()),
                table: None,
            },
            Slide {
                title: "定价 Pricing".into(),
                bullets: vec![],
                notes: None,
                table: Some(vec![
                    vec!["Product".into(), "Price".into()],
                    vec!["Coupon & Loyalty <Pro>".into(), "SGD 1,299.00".into()],
                    vec!["电子礼券".into()],
                ]),
            },
            Slide {
                title: "Both".into(),
                bullets: vec!["One".into()],
                notes: Some("   ".into()),
                table: Some(vec![vec!["A".into(), "B".into()], vec!["1".into(), "2".into()]]),
            },
        ],
    }
}

#[test]
fn the_package_is_complete_and_every_part_parses() {
    let brand = Brand::mezzofy();
    for deck in [tricky_deck(), pitch_deck(&PitchInput::default()), Deck::default()] {
        let bytes = render_pptx(&deck, &brand).unwrap();
        assert_eq!(files::sniff_bytes(&bytes).unwrap().kind, "pptx");
        let pkg = Package::read(&bytes);
        for part in [
            "docProps/core.xml",
            "docProps/app.xml",
            "ppt/presProps.xml",
            "ppt/viewProps.xml",
            "ppt/tableStyles.xml",
            "ppt/theme/theme1.xml",
            "ppt/slideMasters/slideMaster1.xml",
            "ppt/slideLayouts/slideLayout1.xml",
            "ppt/slideLayouts/slideLayout2.xml",
        ] {
            assert!(pkg.raw.contains_key(part), "{part} missing");
        }
        assert_eq!(pkg.slides().len(), deck.slides.len() + 1);
        let pres = &pkg.parts["ppt/presentation.xml"];
        assert_eq!(pres.find("p:sldSz").attr("cx"), "12192000");
        assert_eq!(pres.find("p:sldSz").attr("cy"), "6858000");
        assert_eq!(pres.find("p:notesSz").attr("cx"), "6858000");

        // The theme is complete and in the brand colours.
        let theme = &pkg.parts["ppt/theme/theme1.xml"];
        assert_eq!(theme.find("a:accent1").find("a:srgbClr").attr("val"), "F26A21");
        assert_eq!(theme.find("a:dk1").find("a:srgbClr").attr("val"), "1F2125");
        for list in ["a:fillStyleLst", "a:lnStyleLst", "a:effectStyleLst", "a:bgFillStyleLst"] {
            assert_eq!(theme.find(list).elements().count(), 3, "{list} needs three styles");
        }
        assert_eq!(theme.find("a:majorFont").find("a:ea").attr("typeface"), EA_FONT);

        // Layouts belong to the master and the master lists them.
        let master = "ppt/slideMasters/slideMaster1.xml";
        let layouts: Vec<String> =
            pkg.parts[master].find_all("p:sldLayoutId").iter().map(|l| pkg.target(master, l.attr("r:id"))).collect();
        assert_eq!(layouts, ["ppt/slideLayouts/slideLayout1.xml", "ppt/slideLayouts/slideLayout2.xml"]);
        for slide in pkg.slides() {
            assert_eq!(pkg.targets_of_kind(&slide, "slideLayout").len(), 1, "{slide} has one layout");
        }

        // The notes master exists exactly when some slide has notes.
        let any_notes = deck.slides.iter().any(|s| s.notes.as_deref().is_some_and(|n| !n.trim().is_empty()));
        assert_eq!(pkg.raw.contains_key("ppt/notesMasters/notesMaster1.xml"), any_notes);
        assert_eq!(pres.find_all("p:notesMasterId").len(), usize::from(any_notes));
    }
}

#[test]
fn slides_hold_the_input_text_escaped_and_in_chinese() {
    let deck = tricky_deck();
    let bytes = render_pptx(&deck, &Brand::mezzofy()).unwrap();
    let pkg = Package::read(&bytes);
    let slides = pkg.slides();
    assert_eq!(slides.len(), 4);

    let s = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let title = shape_texts(&pkg.parts[&slides[0]]);
    assert_eq!(title["Title 1"], s(&["Acme & Sons <Pitch> \"Q3\" '26"]));
    assert_eq!(title["Subtitle 2"], s(&["会员积分 – 忠诚度计划"]));
    assert_eq!(title["Company"], s(&["Mezzofy & Co"]));

    let problem = shape_texts(&pkg.parts[&slides[1]]);
    assert_eq!(problem["Title 1"], s(&["Problem: <tags> & \"quotes\""]));
    assert_eq!(
        problem["Content Placeholder 2"],
        s(&["顾客只来一次，不再回来", "A & B < C > D 'single' \"double\"", "Line one\nLine two", "bellring"])
    );
    assert_eq!(problem["Footer"], s(&["Mezzofy & Co"]));
    assert_eq!(problem["Slide Number"], s(&["2"]));
    assert_eq!(notes_text(&pkg, &slides[1]).as_deref(), Some("Say: 5 < 6 & \"why\"\n\n第二段：问客户"));

    let pricing = &pkg.parts[&slides[2]];
    assert_eq!(shape_texts(pricing)["Title 1"], s(&["定价 Pricing"]));
    assert!(!shape_texts(pricing).contains_key("Content Placeholder 2"), "no bullets, no body");
    assert_eq!(
        table_cells(pricing).unwrap(),
        vec![s(&["Product", "Price"]), s(&["Coupon & Loyalty <Pro>", "SGD 1,299.00"]), s(&["电子礼券", ""])]
    );
    assert_eq!(shape_texts(pricing)["Slide Number"], s(&["3"]));
    assert_eq!(notes_text(&pkg, &slides[2]), None);

    let both = &pkg.parts[&slides[3]];
    assert_eq!(shape_texts(both)["Content Placeholder 2"], s(&["One"]));
    assert_eq!(table_cells(both).unwrap(), vec![s(&["A", "B"]), s(&["1", "2"])]);
    assert_eq!(notes_text(&pkg, &slides[3]), None, "blank notes are left out");

    // The raw XML escapes what it must and keeps no control character.
    let raw = &pkg.raw[&slides[1]];
    assert!(raw.contains("Problem: &lt;tags&gt; &amp; &quot;quotes&quot;"));
    assert!(!raw.contains('\u{7}'));
    // Every run names the CJK typeface; Chinese runs are tagged as Chinese.
    for slide in &slides {
        for rpr in pkg.parts[slide].find_all("a:rPr") {
            assert_eq!(rpr.find("a:ea").attr("typeface"), EA_FONT);
        }
    }
    assert!(pkg.raw[&slides[1]].contains("lang=\"zh-CN\""));

    let app = &pkg.parts["docProps/app.xml"];
    assert_eq!(app.find("Slides").text(), "4");
    assert_eq!(app.find("Notes").text(), "1");
    assert_eq!(pkg.parts["docProps/core.xml"].find("dc:title").text(), deck.title);
}

#[test]
fn the_pitch_deck_follows_the_sales_structure() {
    let input = PitchInput {
        company: String::new(),
        customer: "Kopi & Co".into(),
        industry: "F&B".into(),
        products: vec![
            PitchProduct {
                name: "Mezzofy Coupon – Starter".into(),
                description: "Digital coupons for up to 3 outlets".into(),
                price: "SGD 299 / month".into(),
            },
            PitchProduct { name: "Loyalty".into(), description: String::new(), price: String::new() },
            PitchProduct { name: "  ".into(), description: "ignored".into(), price: "1".into() },
        ],
        pain_points: vec!["Regulars drift to the café next door".into(), " ".into()],
        case_study: "Bean Bar: +18% repeat visits in 3 months\n\nRedemptions tracked per outlet".into(),
        next_steps: vec!["Pilot at two outlets".into()],
    };
    let deck = pitch_deck(&input);
    assert_eq!(deck.title, "Mezzofy for Kopi & Co");
    assert_eq!(deck.subtitle.as_deref(), Some("Prepared for Kopi & Co \u{b7} F&B"));
    assert_eq!(deck.company, "Mezzofy");
    let titles: Vec<&str> = deck.slides.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "The challenge in F&B",
            "How Mezzofy works",
            "Products and pricing",
            "Results from similar merchants",
            "Next steps"
        ]
    );
    assert_eq!(deck.slides[0].bullets, ["Regulars drift to the café next door"]);
    assert_eq!(deck.slides[1].bullets, ["Mezzofy Coupon – Starter – Digital coupons for up to 3 outlets", "Loyalty"]);
    assert_eq!(
        deck.slides[2].table.as_deref().unwrap(),
        [
            vec!["Product".to_owned(), "Price".to_owned()],
            vec!["Mezzofy Coupon – Starter".to_owned(), "SGD 299 / month".to_owned()],
            vec!["Loyalty".to_owned(), "On request".to_owned()],
        ]
    );
    assert_eq!(deck.slides[3].bullets, ["Bean Bar: +18% repeat visits in 3 months", "Redemptions tracked per outlet"]);
    assert_eq!(deck.slides[4].bullets, ["Pilot at two outlets"]);

    // Everything empty: still five full slides.
    let empty = pitch_deck(&PitchInput::default());
    assert_eq!(empty.title, "Mezzofy sales proposal");
    assert_eq!(empty.subtitle, None);
    assert_eq!(empty.slides.len(), 5);
    for slide in &empty.slides {
        assert!(!slide.bullets.is_empty() || slide.table.as_ref().is_some_and(|t| t.len() >= 2), "{slide:?}");
    }

    // The input deserialises from JSON with missing fields defaulted.
    let from_json: PitchInput =
        serde_json::from_value(serde_json::json!({"customer": "Kopi & Co", "products": [{"name": "Loyalty"}]}))
            .unwrap();
    assert_eq!(from_json.products[0].price, "");
}

// ---------------------------------------------------------------------------------------------
// LibreOffice

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file()))
}

fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn libreoffice_converts_the_deck_and_a_word_report_to_pdf() {
    let Some(soffice) = on_path(&["soffice", "libreoffice"]) else {
        eprintln!("SKIPPED: LibreOffice (soffice) is not on PATH; install libreoffice-impress and libreoffice-writer");
        return;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("documents-lo-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let deck = pitch_deck(&PitchInput {
        customer: "星巴克 & Co".into(),
        industry: "零售".into(),
        products: vec![PitchProduct {
            name: "积分会员 <Loyalty>".into(),
            description: "Points & rewards".into(),
            price: "SGD 499".into(),
        }],
        ..PitchInput::default()
    });
    std::fs::write(dir.join("deck.pptx"), render_pptx(&deck, &Brand::mezzofy()).unwrap()).unwrap();
    let report = text_report("Loyalty launch – 会员积分", "# Why now\nMerchants want repeat visits.\n\n## 下一步");
    std::fs::write(dir.join("report.docx"), render_docx(&report, &Brand::mezzofy()).unwrap()).unwrap();

    let start = Instant::now();
    let log = std::fs::File::create(dir.join("soffice.log")).unwrap();
    let mut child = Command::new(&soffice)
        .arg(format!("-env:UserInstallation=file://{}", dir.join("profile").display()))
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(&dir)
        .arg(dir.join("deck.pptx"))
        .arg(dir.join("report.docx"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(300) {
            child.kill().ok();
            child.wait().ok();
            panic!("soffice did not finish in 300 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = start.elapsed();
    let log = std::fs::read_to_string(dir.join("soffice.log")).unwrap_or_default();
    assert!(status.success(), "soffice failed ({status}): {log}");
    eprintln!("LibreOffice converted the PPTX and the DOCX to PDF in {elapsed:.1?}");

    let deck_pdf = pdf_text(&dir.join("deck.pdf"));
    assert_eq!(deck_pdf.matches('\u{c}').count(), deck.slides.len() + 1, "one page per slide:\n{deck_pdf}");
    let squashed = squash(&deck_pdf);
    for title in std::iter::once(&deck.title).chain(deck.slides.iter().map(|s| &s.title)) {
        assert!(squashed.contains(&squash(title)), "{title} missing from the PDF:\n{deck_pdf}");
    }
    for text in ["积分会员<Loyalty>", "SGD499", "零售"] {
        assert!(squashed.contains(text), "{text} missing from the PDF:\n{deck_pdf}");
    }

    let report_pdf = squash(&pdf_text(&dir.join("report.pdf")));
    for text in ["Loyalty launch – 会员积分", "Why now", "下一步"] {
        assert!(report_pdf.contains(&squash(text)), "{text} missing from the DOCX's PDF:\n{report_pdf}");
    }
    if std::env::var_os("DOCUMENTS_KEEP_OUTPUT").is_some() {
        eprintln!("kept the files in {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
}
