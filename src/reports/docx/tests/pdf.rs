//! The .docx through LibreOffice: it converts to PDF with the expected pages
//! and text, and page 1 renders to PNG. Runs when `soffice`/`libreoffice` is
//! installed, and always under `CI=true` (.ci/run installs it).
//! `XUNJIAN_DOCX_PREVIEW=DIR` keeps the PDFs and page-1 PNGs for a look.

use super::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn office() -> Option<PathBuf> {
    let found = on_path("soffice").or_else(|| on_path("libreoffice"));
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but LibreOffice is not installed (.ci/run installs libreoffice-writer-nogui)"
        );
        eprintln!("note: LibreOffice not installed; the .docx → PDF check is skipped");
    }
    found
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the program runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn pages(pdf: &Path) -> usize {
    let info = run(Command::new("pdfinfo").arg(pdf));
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count")
}

#[test]
fn the_docx_converts_to_pdf_and_page_one_renders() {
    let Some(soffice) = office() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        ("month", month_report()),
        ("quarter", quarter_report()),
        ("empty", empty_report()),
    ];
    let mut inputs = Vec::new();
    for (name, report) in &cases {
        let (bytes, _) = write(report);
        let path = dir.path().join(format!("{name}.docx"));
        std::fs::write(&path, bytes).expect("written");
        inputs.push(path);
    }
    // Its own profile, so a running LibreOffice or a parallel test does not lock it.
    let profile = format!(
        "-env:UserInstallation=file://{}/profile",
        dir.path().display()
    );
    run(Command::new(&soffice)
        .args([
            profile.as_str(),
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(dir.path())
        .args(&inputs));
    for (name, report) in &cases {
        let pdf = dir.path().join(format!("{name}.pdf"));
        // The letter, then each of the three annexes on a page of its own.
        assert!(pages(&pdf) >= 4, "{name}: {} pages", pages(&pdf));
        let text = run(Command::new("pdftotext")
            .args(["-layout"])
            .arg(&pdf)
            .arg("-"));
        let flat: String = text.split_whitespace().collect();
        for expected in [
            "一、基本情况",
            "二、存在的主要问题",
            "三、整改要求",
            "附件1",
            "问题账号清单",
            "—1—",
            "—2—",
        ] {
            assert!(flat.contains(expected), "{name}: {expected} not in\n{text}");
        }
        assert!(
            flat.contains(&content::title(report, "全区")),
            "{name}: title\n{text}"
        );
        let png = dir.path().join(name);
        run(Command::new("pdftoppm")
            .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&pdf)
            .arg(&png));
        let image = image::open(png.with_extension("png")).expect("a PNG of page 1");
        // A4 at 60 dpi.
        assert!((495..=497).contains(&image.width()) && image.height() == 702);
        if let Some(keep) = std::env::var_os("XUNJIAN_DOCX_PREVIEW") {
            let keep = PathBuf::from(keep);
            std::fs::create_dir_all(&keep).expect("preview dir");
            for ext in ["pdf", "png"] {
                let file = format!("{name}.{ext}");
                std::fs::copy(dir.path().join(&file), keep.join(&file)).expect("kept");
            }
            std::fs::copy(
                inputs[0].with_file_name(format!("{name}.docx")),
                keep.join(format!("{name}.docx")),
            )
            .expect("kept");
        }
    }
}
