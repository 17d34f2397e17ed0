//! Measures word error rate and real-time factor of a Whisper server on speech synthesized
//! with espeak-ng (English, Malay, Mandarin), through this crate's ffmpeg conversion and client.
//!
//! `cargo run -p media --example whisper_measure -- [BASE_URL]` (default `$MEZZOFY_WHISPER_URL`
//! or `http://127.0.0.1:8178`); run by `scripts/whisper/measure.sh`.
//! Mandarin is scored by character error rate (no spaces between words).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use media::wer::{char_error_rate, word_error_rate};
use media::{Av, TranscribeOptions, Transcriber};

const ENGLISH: &[&str] = &[
    "Please send the quarterly sales report to the finance team before Friday.",
    "The meeting with the new client has been moved to Tuesday afternoon.",
    "Our marketing campaign increased website traffic by a significant margin.",
    "Could you book a table for four people at the Italian restaurant tonight?",
    "The warehouse will close early because of the public holiday next week.",
];
const MALAY: &[&str] = &[
    "Sila hantar laporan jualan bulanan kepada pasukan kewangan.",
    "Mesyuarat kita akan bermula pada pukul sepuluh pagi esok.",
    "Saya ingin membuat tempahan untuk dua orang malam ini.",
    "Terima kasih kerana menghubungi kami, kami akan membalas secepat mungkin.",
];
const MANDARIN: &[&str] = &[
    "请把这个月的销售报告发给财务部门。",
    "我们明天上午十点开会讨论新的营销计划。",
    "今天天气很好，我们去公园散步。",
    "客户希望下周收到报价单和产品目录。",
];

struct Run {
    model: &'static str,
    lang: &'static str,
    hint: Option<&'static str>,
    voice: &'static str,
    sentences: &'static [&'static str],
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("MEZZOFY_WHISPER_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8178".into());
    let dir = std::env::temp_dir().join(format!("whisper-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let av = Av::default();
    let runs = [
        Run { model: "tiny.en", lang: "en", hint: Some("en"), voice: "en-us", sentences: ENGLISH },
        Run { model: "base", lang: "en", hint: Some("en"), voice: "en-us", sentences: ENGLISH },
        Run { model: "base", lang: "ms", hint: Some("ms"), voice: "ms", sentences: MALAY },
        Run { model: "base", lang: "ms", hint: None, voice: "ms", sentences: MALAY },
        Run { model: "base", lang: "zh", hint: Some("zh"), voice: "cmn-latn-pinyin", sentences: MANDARIN },
    ];
    println!("server: {url}");
    println!("| model | language (hint) | metric | error rate (mean) | worst | audio s | RTF | languages reported |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut details = Vec::new();
    for run in &runs {
        let stt = Transcriber::new(&url, run.model).unwrap().with_timeout(Duration::from_secs(300));
        let (mut err_sum, mut worst, mut audio, mut spent) = (0.0, 0.0f64, 0.0, 0.0);
        let mut langs = Vec::new();
        for (i, text) in run.sentences.iter().enumerate() {
            let raw = dir.join(format!("{}-{i}-raw.wav", run.voice));
            speak(run.voice, text, &raw);
            let wav = dir.join(format!("{}-{i}.wav", run.voice));
            let w = av.to_wav(&raw, &wav).await.unwrap();
            let opts = TranscribeOptions { language: run.hint.map(str::to_owned), ..TranscribeOptions::default() };
            let started = Instant::now();
            let t = stt.transcribe_file(&wav, &opts).await.unwrap();
            let secs = started.elapsed().as_secs_f64();
            let err = if run.lang == "zh" { char_error_rate(text, &t.text) } else { word_error_rate(text, &t.text) };
            err_sum += err;
            worst = worst.max(err);
            audio += w.duration_secs;
            spent += secs;
            let lang = t.language.clone().unwrap_or_else(|| "?".into());
            if !langs.contains(&lang) {
                langs.push(lang);
            }
            details.push(format!(
                "{} {}({}) err {:.2} rtf {:.2}: {:?} -> {:?}",
                run.model,
                run.lang,
                run.hint.unwrap_or("auto"),
                err,
                secs / w.duration_secs,
                text,
                t.text
            ));
        }
        println!(
            "| {} | {} ({}) | {} | {:.1} % | {:.1} % | {:.1} | {:.2} | {} |",
            run.model,
            run.lang,
            run.hint.unwrap_or("auto"),
            if run.lang == "zh" { "CER" } else { "WER" },
            100.0 * err_sum / run.sentences.len() as f64,
            100.0 * worst,
            audio,
            spent / audio,
            langs.join(",")
        );
    }
    println!();
    for d in details {
        println!("{d}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn speak(voice: &str, text: &str, out: &Path) {
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(out)
        .arg(text)
        .status()
        .expect("espeak-ng must be installed")
        .success();
    assert!(ok, "espeak-ng -v {voice} failed");
}
