//! Times `render_pdf` for a one-page Latin report, with the per-process font cache hit and with
//! it missed on every call (the font files' modification time bumped before each render, which
//! makes every call read the ~6.5 MB of fonts again, as before the cache existed):
//! `cargo run --release -p documents --example render_timing`.
use std::time::{Duration, Instant, SystemTime};

use documents::{Brand, Fonts, generic_report, render_pdf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = serde_json::json!({"store": "Central", "visits": 1200, "ratio": 0.25,
        "top_items": [{"sku": "A-1", "qty": 3, "price": 9.5}, {"sku": "B-2", "qty": 10, "price": 4.0}]});
    let report = generic_report(&data, "Store snapshot");
    let brand = Brand::mezzofy();
    let n: u32 = 50;

    let fonts = Fonts::debian_default();
    let start = Instant::now();
    let first = render_pdf(&report, &brand, &fonts)?;
    let first_ms = start.elapsed().as_secs_f64() * 1000.0;
    let start = Instant::now();
    for _ in 0..n {
        render_pdf(&report, &brand, &fonts)?;
    }
    let cached_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);

    let dir = std::env::temp_dir().join(format!("render-timing-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let copy = |p: &std::path::Path| -> std::io::Result<std::path::PathBuf> {
        let to = dir.join(p.file_name().unwrap_or_default());
        std::fs::copy(p, &to)?;
        Ok(to)
    };
    let copies = Fonts { latin: copy(&fonts.latin)?, latin_bold: copy(&fonts.latin_bold)?, cjk: copy(&fonts.cjk)? };
    render_pdf(&report, &brand, &copies)?;
    let mut uncached = Duration::ZERO;
    for i in 0..n {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + u64::from(i));
        for p in [&copies.latin, &copies.latin_bold, &copies.cjk] {
            std::fs::File::options().write(true).open(p)?.set_modified(t)?;
        }
        let start = Instant::now();
        render_pdf(&report, &brand, &copies)?;
        uncached += start.elapsed();
    }
    std::fs::remove_dir_all(&dir)?;
    let uncached_ms = uncached.as_secs_f64() * 1000.0 / f64::from(n);
    println!(
        "{} bytes; first render {first_ms:.2} ms; then per render: {cached_ms:.2} ms with the font cache, \
         {uncached_ms:.2} ms reading the fonts each time (mean of {n})",
        first.len()
    );
    Ok(())
}
