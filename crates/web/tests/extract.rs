//! Extraction from realistic pages.

#![allow(clippy::unwrap_used)]

use url::Url;
use web::{Link, extract, extract_text_plain};

const COMPANY_PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>  Mezzofy | Loyalty &amp; Coupon Platform
  </title>
  <meta name="Description" content="Mezzofy builds   digital coupon and loyalty solutions for retailers.">
  <meta property="og:title" content="Mezzofy (OG)">
  <link rel="stylesheet" href="/styles.css">
  <style>body { font-family: sans-serif } .hero { color: red }</style>
  <script>window.dataLayer = [{"event": "pageview", "phone": "+65 9999 0000"}];</script>
  <base href="https://www.mezzofy.com/en/">
</head>
<body class="home has-sidebar">
  <div class="cookie-banner">We use cookies. <button>Accept</button></div>
  <header class="site-header">
    <a href="/"><img src="/logo.png" alt="Mezzofy home"></a>
    <nav>
      <ul>
        <li><a href="about">About us</a></li>
        <li><a href="products/coupons">Coupons</a></li>
        <li><a href="https://blog.mezzofy.com/">Blog</a></li>
        <li><a href="contact#form">Contact</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <section class="hero">
      <h1>Digital coupons that   just work</h1>
      <p>Mezzofy helps   retailers in <strong>Singapore</strong>, Hong Kong and Malaysia
         issue, distribute and redeem digital coupons.</p>
      <p style="display:none">Hidden promo text</p>
    </section>
    <section>
      <h2>Why Mezzofy</h2>
      <ul>
        <li>Omnichannel redemption</li>
        <li>Real-time <em>analytics</em></li>
      </ul>
      <p>Since 2019 - 2024 we served 1,200 merchants. Plans from S$ 1299.00 per month;
         our 2024-03-15 release added 12 features. Order 20240115123 shipped.</p>
    </section>
    <section>
      <h2>Pricing</h2>
      <table class="pricing">
        <thead><tr><th>Plan</th><th>Coupons / month</th><th>Price</th></tr></thead>
        <tbody>
          <tr><td>Starter</td><td>1,000</td><td>S$ 99</td></tr>
          <tr><td>Business</td><td>10,000</td><td>S$ 499</td></tr>
          <tr><td>Enterprise<br>(custom)</td><td>Unlimited</td><td><a href="contact">Ask us</a></td></tr>
        </tbody>
      </table>
    </section>
    <section>
      <h2>Contact</h2>
      <p>Sales: <a href="mailto:Sales@Mezzofy.com?subject=Hello">Sales@Mezzofy.com</a><br>
         Phone: +65 6123 4567 / (65) 6123-4567<br>
         US office: +1-415-555-0100</p>
      <p><a href="tel:+85221234567">Call Hong Kong</a></p>
      <p>Write to support&#64;mezzofy.com or visit <a href="../careers/?ref=home#jobs">our careers page</a>.</p>
    </section>
  </main>
  <aside class="sidebar"><h3>Latest news</h3><p>Sidebar story</p></aside>
  <footer>
    <p>&copy; 2024 Mezzofy Pte Ltd. 10 Anson Road, Singapore 079903. Tel: +65 6222 3333</p>
    <a href="https://www.linkedin.com/company/mezzofy">LinkedIn</a>
    <a href="mailto:privacy@mezzofy.com">privacy@mezzofy.com</a>
    <a href="javascript:void(0)">Back</a>
    <a href="#top">Top</a>
  </footer>
  <script src="/app.js"></script>
</body>
</html>"##;

fn base() -> Url {
    Url::parse("https://mezzofy.com/en/home").unwrap()
}

#[test]
fn company_page_title_description_and_main_text() {
    let ex = extract(COMPANY_PAGE, &base());
    assert_eq!(ex.title.as_deref(), Some("Mezzofy | Loyalty & Coupon Platform"));
    assert_eq!(ex.description.as_deref(), Some("Mezzofy builds digital coupon and loyalty solutions for retailers."));
    let expected = "Digital coupons that just work\n\n\
        Mezzofy helps retailers in Singapore, Hong Kong and Malaysia issue, distribute and redeem digital coupons.\n\n\
        Why Mezzofy\n\n\
        - Omnichannel redemption\n\n\
        - Real-time analytics\n\n\
        Since 2019 - 2024 we served 1,200 merchants. Plans from S$ 1299.00 per month; our 2024-03-15 release added 12 \
        features. Order 20240115123 shipped.\n\n\
        Pricing\n\n\
        Plan | Coupons / month | Price\n\n\
        Starter | 1,000 | S$ 99\n\n\
        Business | 10,000 | S$ 499\n\n\
        Enterprise (custom) | Unlimited | Ask us\n\n\
        Contact\n\n\
        Sales: Sales@Mezzofy.com\n\
        Phone: +65 6123 4567 / (65) 6123-4567\n\
        US office: +1-415-555-0100\n\n\
        Call Hong Kong\n\n\
        Write to support@mezzofy.com or visit our careers page.";
    assert_eq!(ex.text, expected);
    for absent in ["cookies", "About us", "Sidebar", "Anson", "dataLayer", "font-family", "Hidden promo"] {
        assert!(!ex.text.contains(absent), "{absent} leaked into the text");
    }
}

#[test]
fn company_page_links_are_absolute_and_deduplicated() {
    let ex = extract(COMPANY_PAGE, &base());
    let link = |text: &str, url: &str| Link { text: text.into(), url: url.into() };
    assert_eq!(
        ex.links,
        vec![
            link("Mezzofy home", "https://www.mezzofy.com/"),
            link("About us", "https://www.mezzofy.com/en/about"),
            link("Coupons", "https://www.mezzofy.com/en/products/coupons"),
            link("Blog", "https://blog.mezzofy.com/"),
            link("Contact", "https://www.mezzofy.com/en/contact"),
            link("our careers page", "https://www.mezzofy.com/careers/?ref=home"),
            link("LinkedIn", "https://www.linkedin.com/company/mezzofy"),
        ]
    );
}

#[test]
fn company_page_contacts() {
    let ex = extract(COMPANY_PAGE, &base());
    assert_eq!(ex.emails, ["Sales@mezzofy.com", "support@mezzofy.com", "privacy@mezzofy.com"]);
    // The number in the <script> is not page text; dates, years, prices and order numbers are not phones.
    assert_eq!(ex.phones, ["+65 6123 4567", "+1-415-555-0100", "+65 6222 3333", "+85221234567"]);
}

#[test]
fn tables_are_rows_of_cells() {
    let html = r##"<html><body>
      <table id="outer">
        <caption>Offices</caption>
        <tr><th>City</th><th>Phone</th><th>Notes</th></tr>
        <tr><td> Singapore </td><td>+65 6123 4567</td><td><p>HQ</p><p>since 2015</p></td></tr>
        <tr><td>Hong Kong</td><td>+852 2123 4567</td>
            <td><table><tr><td>inner</td><td>cell</td></tr></table></td></tr>
        <tr><td></td><td></td><td></td></tr>
      </table>
      <table><tr><td>   </td></tr></table>
    </body></html>"##;
    let ex = extract(html, &base());
    assert_eq!(
        ex.tables,
        vec![
            vec![
                vec!["City", "Phone", "Notes"],
                vec!["Singapore", "+65 6123 4567", "HQ since 2015"],
                vec!["Hong Kong", "+852 2123 4567", "inner cell"],
            ],
            vec![vec!["inner", "cell"]],
        ]
    );
    assert_eq!(ex.phones, ["+65 6123 4567", "+852 2123 4567"]);
}

#[test]
fn chinese_utf8_page() {
    let html = r##"<!DOCTYPE html><html lang="zh-CN"><head>
        <meta charset="utf-8"><title>美食科技有限公司 - 关于我们</title>
        <meta name="description" content="我们提供数字优惠券和会员忠诚度解决方案。">
      </head><body>
        <nav><a href="/zh/">首页</a> <a href="/zh/about">关于我们</a></nav>
        <article>
          <h1>关于我们</h1>
          <p>美食科技成立于二〇一五年，总部位于新加坡。</p>
          <p>联系电话：+86 10 1234 5678，邮箱：<a href="mailto:hello@meishi.cn">hello@meishi.cn</a></p>
          <p>地址：北京市朝阳区建国路88号</p>
        </article>
        <footer>版权所有 © 2024 美食科技</footer>
      </body></html>"##;
    let ex = extract(html, &Url::parse("https://www.meishi.cn/zh/about").unwrap());
    assert_eq!(ex.title.as_deref(), Some("美食科技有限公司 - 关于我们"));
    assert_eq!(ex.description.as_deref(), Some("我们提供数字优惠券和会员忠诚度解决方案。"));
    assert_eq!(
        ex.text,
        "关于我们\n\n美食科技成立于二〇一五年，总部位于新加坡。\n\n联系电话：+86 10 1234 5678，邮箱：hello@meishi.cn\n\n地址：北京市朝阳区建国路88号"
    );
    assert_eq!(ex.phones, ["+86 10 1234 5678"]);
    assert_eq!(ex.emails, ["hello@meishi.cn"]);
    let urls: Vec<_> = ex.links.iter().map(|l| l.url.as_str()).collect();
    assert_eq!(urls, ["https://www.meishi.cn/zh/", "https://www.meishi.cn/zh/about"]);
}

#[test]
fn page_without_main_uses_body_minus_chrome() {
    let html = r##"<html><body>
        <div id="navbar"><a href="/a">A</a> <a href="/b">B</a></div>
        <div class="content">
          <h2>Opening hours</h2>
          <p>Mon&ndash;Fri 9:00&nbsp;&ndash;&nbsp;18:00</p>
          <p>Closed on 25.12.2024 and 01/01/2025.</p>
        </div>
        <div role="contentinfo">Footer words</div>
      </body></html>"##;
    let ex = extract(html, &Url::parse("http://shop.example/").unwrap());
    assert_eq!(ex.title, None);
    assert_eq!(ex.text, "Opening hours\n\nMon–Fri 9:00 – 18:00\n\nClosed on 25.12.2024 and 01/01/2025.");
    assert!(ex.phones.is_empty(), "{:?}", ex.phones);
    assert_eq!(ex.links.len(), 2);
}

#[test]
fn title_falls_back_to_og_title_then_h1() {
    let og = r##"<html><head><meta property="og:title" content="From OG"></head><body><h1>Heading</h1></body></html>"##;
    assert_eq!(extract(og, &base()).title.as_deref(), Some("From OG"));
    let h1 = r##"<html><body><h1> The  <em>Heading</em> </h1></body></html>"##;
    assert_eq!(extract(h1, &base()).title.as_deref(), Some("The Heading"));
}

#[test]
fn links_are_capped_and_only_http() {
    let mut html = String::from("<html><body>");
    html.push_str(r##"<a href="ftp://files.example/x">ftp</a><a href="mailto:a@b.example">mail</a><a href="data:text/plain,x">d</a>"##);
    for i in 0..300 {
        html.push_str(&format!(r##"<a href="/p/{i}">Page {i}</a><a href="/p/{i}#dup">dup</a>"##));
    }
    html.push_str("</body></html>");
    let ex = extract(&html, &base());
    assert_eq!(ex.links.len(), 200);
    assert_eq!(ex.links[0], Link { text: "Page 0".into(), url: "https://mezzofy.com/p/0".into() });
    assert_eq!(ex.links[199].url, "https://mezzofy.com/p/199");
    assert_eq!(ex.emails, ["a@b.example"]);
}

#[test]
fn plain_text_extraction() {
    let ex =
        extract_text_plain("Contact\tus:\n\n\n sales@acme.example  |  +44 20 7946 0958\nhttps://acme.example/contact.");
    assert_eq!(ex.text, "Contact us:\n\nsales@acme.example | +44 20 7946 0958\nhttps://acme.example/contact.");
    assert_eq!(ex.emails, ["sales@acme.example"]);
    assert_eq!(ex.phones, ["+44 20 7946 0958"]);
    assert_eq!(ex.links[0].url, "https://acme.example/contact");
    assert!(ex.tables.is_empty());
}

#[test]
fn extracted_serializes_to_json() {
    let ex = extract("<title>T</title><p>x</p>", &base());
    let json = serde_json::to_value(&ex).unwrap();
    assert_eq!(json["title"], "T");
    assert_eq!(json["text"], "x");
}

#[test]
fn hostile_nesting_is_cut_short() {
    // A small stack on purpose: unbounded recursion would abort the process. Content
    // past 512 levels of nesting is dropped; the page around it is still read.
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let depth = 100_000;
            let html = format!(
                "<html><head><title>Deep</title></head><body><p>top +65 6123 4567</p>{}deep text{}</body></html>",
                "<div><span>".repeat(depth),
                "</span></div>".repeat(depth)
            );
            let ex = extract(&html, &base());
            assert_eq!(ex.title.as_deref(), Some("Deep"));
            assert_eq!(ex.text, "top +65 6123 4567");
            assert_eq!(ex.phones, ["+65 6123 4567"]);
            let nested_tables = "<table><tr><td>x".repeat(5_000);
            let ex = extract(&nested_tables, &base());
            assert_eq!(ex.tables.len(), 50);
            assert!(ex.tables[0][0][0].starts_with("x x x"));
        })
        .unwrap()
        .join()
        .unwrap();
}
