use files::{content_disposition, safe_name};

#[test]
fn safe_names() {
    let long_stem = "a".repeat(500);
    let long = format!("{long_stem}.pdf");
    let cases: Vec<(&str, String)> = vec![
        ("report.pdf", "report.pdf".into()),
        ("../../etc/passwd", "passwd".into()),
        ("/var/tmp/x.docx", "x.docx".into()),
        ("a\\b.pdf", "b.pdf".into()),
        ("C:\\Users\\me\\Desktop\\cv.docx", "cv.docx".into()),
        ("in\u{0}voice\n\r\t.pdf", "invoice.pdf".into()),
        ("bell\u{7}\u{1b}[31m.txt", "bell[31m.txt".into()),
        ("invoice\u{202E}fdp.exe", "invoicefdp.exe".into()),
        ("zero\u{200B}width.png", "zerowidth.png".into()),
        ("\"quote\".pdf", "'quote'.pdf".into()),
        ("a<b>c:d|e?f*.txt", "a_b_c_d_e_f_.txt".into()),
        ("  spaced name.pdf  ", "spaced name.pdf".into()),
        (".hidden", "hidden".into()),
        ("trailing dots...", "trailing dots".into()),
        ("..", "file".into()),
        ("...", "file".into()),
        ("dir/", "file".into()),
        ("", "file".into()),
        ("   ", "file".into()),
        ("\u{1}\u{2}", "file".into()),
        ("résumé 2026.pdf", "résumé 2026.pdf".into()),
        ("报告 第三季度.xlsx", "报告 第三季度.xlsx".into()),
        (long.as_str(), format!("{}.pdf", "a".repeat(196))),
    ];
    for (input, want) in cases {
        let got = safe_name(input);
        assert_eq!(got, want, "{input:?}");
        assert!(got.chars().count() <= 200, "{input:?}");
        assert_eq!(safe_name(&got), got, "safe_name is idempotent for {input:?}");
    }
}

#[test]
fn long_names_keep_their_extension() {
    let cjk = format!("{}.docx", "报".repeat(300));
    let got = safe_name(&cjk);
    assert_eq!(got.chars().count(), 200);
    assert!(got.ends_with(".docx"));

    // A "suffix" too long to be an extension is simply cut.
    let odd = format!("name.{}", "x".repeat(300));
    let got = safe_name(&odd);
    assert_eq!(got.chars().count(), 200);
    assert!(got.starts_with("name."));
}

#[test]
fn content_dispositions() {
    let cases = [
        (
            "résumé \"2026\".pdf",
            "attachment; filename=\"resume '2026'.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%272026%27.pdf",
        ),
        ("报告.pdf", "attachment; filename=\"file.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"),
        (
            "Q3 报告 v2.xlsx",
            "attachment; filename=\"Q3 _ v2.xlsx\"; filename*=UTF-8''Q3%20%E6%8A%A5%E5%91%8A%20v2.xlsx",
        ),
        ("back\\slash%20.txt", "attachment; filename=\"slash_20.txt\"; filename*=UTF-8''slash%2520.txt"),
        ("plain.csv", "attachment; filename=\"plain.csv\"; filename*=UTF-8''plain.csv"),
        ("", "attachment; filename=\"file\"; filename*=UTF-8''file"),
    ];
    for (name, want) in cases {
        let got = content_disposition(name);
        assert_eq!(got, want, "{name:?}");
        assert!(got.is_ascii(), "{name:?}");
        // Only the two quotes delimiting the fallback; no backslash at all.
        assert_eq!(got.matches('"').count(), 2, "{name:?}");
        assert!(!got.contains('\\'), "{name:?}");
    }
}
