//! `/register` (admins): the 台账 as an XLSX download; a workbook uploaded,
//! read with the same checks as `import`, shown as a dry run (what would be
//! added, changed, removed, and the chat changes it would undo), then
//! imported on confirmation through the same import code as the CLI.

use super::layout::{self, csrf};
use super::{Console, MAX_UPLOAD_BYTES, PageResult, Viewer, WebError, actor};
use crate::app::{self, App, ImportOptions};
use crate::storage::Upload;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use std::sync::Arc;

pub async fn page(State(console): State<Arc<Console>>, viewer: Viewer) -> PageResult {
    viewer.require_admin()?;
    let register = console.store.load_register().await?;
    let last = console.store.meta("register_file_path").await?;
    let body = html! {
        h1 { "台账导入导出" }
        p { "数据库中现有 " (register.units.len()) " 个单位、" (register.accounts.len()) " 个账号。"
            @if let Some(last) = last.filter(|l| !l.is_empty()) { span.muted { "上次导入的文件：" (last) } } }
        h2 { "导出" }
        p { a #export href="/register/export" { "下载台账工作簿（.xlsx）" } span.muted { "：在 Excel 或 WPS 中修改后，可在下方上传导入。" } }
        h2 { "导入" }
        form #upload method="post" action="/register/upload" enctype="multipart/form-data" {
            (csrf(&viewer))
            p { input type="file" name="file" accept=".xlsx,.xlsm" required aria-label="台账工作簿"; }
            p { label { input type="checkbox" name="prune" value="1"; " 删除工作簿中已没有的账号和单位" } }
            p { button type="submit" { "上传并预览变更" } span.muted { " 先显示将发生的变更，确认后才导入（最大 " (MAX_UPLOAD_BYTES / 1024 / 1024) " MB）。" } }
        }
    };
    Ok(layout::page(&viewer, "/register", "台账导入导出", body))
}

pub async fn export(State(console): State<Arc<Console>>, viewer: Viewer) -> PageResult {
    viewer.require_admin()?;
    let register = console.store.load_register().await?;
    let bytes =
        tokio::task::spawn_blocking(move || crate::registry::workbook::write::workbook(&register))
            .await??;
    let day = crate::calendar::local_date(console.now());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"xunjian-register-{day}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A file name safe to keep: its last component, printable, not too long.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | ':' | '*' | '?'))
        .take(80)
        .collect();
    if kept.trim().is_empty() || kept.starts_with('.') {
        "台账.xlsx".to_string()
    } else {
        kept
    }
}

pub async fn upload(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    mut multipart: Multipart,
) -> PageResult {
    viewer.require_admin()?;
    let mut sent_csrf = String::new();
    let mut is_pruning = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    let too_big = || {
        WebError::BadRequest(format!(
            "文件过大：最多 {} MB。",
            MAX_UPLOAD_BYTES / 1024 / 1024
        ))
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("上传未完成或过大（{}）。", e.body_text())))?
    {
        match field.name().unwrap_or("") {
            "csrf" => sent_csrf = field.text().await.unwrap_or_default(),
            "prune" => is_pruning = true,
            "file" => {
                let name = clean_name(field.file_name().unwrap_or(""));
                let bytes = field.bytes().await.map_err(|_| too_big())?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    viewer.check_csrf(&sent_csrf)?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(WebError::BadRequest(
            "请选择要上传的台账工作簿（.xlsx）。".into(),
        ));
    };
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(too_big());
    }
    if !matches!(
        app::extension(std::path::Path::new(&name)).as_str(),
        "xlsx" | "xlsm"
    ) {
        return Err(WebError::BadRequest(format!(
            "「{name}」不是 .xlsx 工作簿：请在 Excel 或 WPS 中另存为 .xlsx 后再上传（也可先下载导出的台账在其上修改）。"
        )));
    }
    // Read it now, so a bad workbook is refused before it is kept.
    dry_run_of(&console, &viewer, &name, &bytes, is_pruning).await?;
    let id = console
        .store
        .save_upload(&viewer.session, &name, &bytes, is_pruning, console.now())
        .await?;
    Ok(Redirect::to(&format!("/register/uploads/{id}")).into_response())
}

/// The import of an uploaded workbook as a dry run: (plan text, conflicts text, changes).
async fn dry_run_of(
    console: &Console,
    viewer: &Viewer,
    name: &str,
    bytes: &[u8],
    is_pruning: bool,
) -> Result<(String, String, usize, usize), WebError> {
    let dir = tempfile_dir()?;
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    let app = app_for(console, viewer, path.clone());
    let options = ImportOptions {
        is_pruning,
        is_dry_run: true,
        is_forced: false,
    };
    let read = app.import_checked(&options, console.now()).await;
    let _ = std::fs::remove_dir_all(&dir);
    let import = read.map_err(|e| {
        WebError::BadRequest(format!(
            "无法导入此工作簿：{}",
            format!("{e:#}").replace(&format!("{}/", dir.display()), "")
        ))
    })?;
    Ok((
        app::describe_plan(&import.plan, true),
        app::describe_conflicts(&import.conflicts, true, import.previous_file.as_deref()),
        import.plan.changes.len(),
        import.conflicts.len(),
    ))
}

/// What a preview showed, as a short digest: applying checks the import
/// would still do exactly that.
fn digest(plan: &str, conflicts: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(format!("{plan}\n--\n{conflicts}").as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Keeps the workbook in `server.upload_dir` and imports it from there
/// (forced: the clerk confirmed the preview, chat changes it undoes included).
async fn import_upload(
    console: &Console,
    viewer: &Viewer,
    upload: &Upload,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<app::Import, WebError> {
    let dir = &console.settings.server.upload_dir;
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!("cannot create the upload directory {}: {e}", dir.display())
    })?;
    let stamp = crate::calendar::to_local(now).format("%Y%m%d-%H%M%S");
    let name = &upload.file_name;
    let stem = match name.rfind('.') {
        Some(dot) => name.get(..dot).unwrap_or(name),
        None => name,
    };
    let path = dir.join(format!("{stem}-网页导入-{stamp}.xlsx"));
    std::fs::write(&path, &upload.bytes)?;
    let app = app_for(console, viewer, path);
    let options = ImportOptions {
        is_pruning: upload.is_pruning,
        is_dry_run: false,
        is_forced: true,
    };
    app.import_checked(&options, now)
        .await
        .map_err(|e| WebError::BadRequest(format!("导入失败：{e:#}。请修正后重新上传。")))
}

/// A fresh private directory for one workbook.
fn tempfile_dir() -> Result<std::path::PathBuf, WebError> {
    let dir = std::env::temp_dir().join(format!(
        "xunjian-upload-{}",
        &super::links::new_token()?[..16]
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn app_for(console: &Console, viewer: &Viewer, path: std::path::PathBuf) -> App {
    App {
        settings: console.settings.clone(),
        store: console.store.clone(),
        accounts_path: path,
        actor: actor(&viewer.signin),
    }
}

async fn upload_of(console: &Console, viewer: &Viewer, id: i64) -> Result<Upload, WebError> {
    viewer.require_admin()?;
    console
        .store
        .upload(id, &viewer.session)
        .await?
        .ok_or(WebError::NotFound)
}

#[derive(serde::Deserialize, Default)]
pub struct Said {
    /// Why the preview is shown again (`changed`: the register moved since).
    #[serde(default)]
    said: String,
}

pub async fn dry_run(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::extract::Query(said): axum::extract::Query<Said>,
) -> PageResult {
    let upload = upload_of(&console, &viewer, id).await?;
    if upload.applied_at.is_some() {
        return Ok(layout::page(
            &viewer,
            "/register",
            "已导入",
            html! { h1 { "已导入" } p #applied { "「" (upload.file_name) "」已导入。" } p { a href="/history" { "查看变更记录" } } },
        ));
    }
    let (plan, conflicts, changes, undone) = dry_run_of(
        &console,
        &viewer,
        &upload.file_name,
        &upload.bytes,
        upload.is_pruning,
    )
    .await?;
    let preview = digest(&plan, &conflicts);
    let body = html! {
        h1 { "导入预览：" (upload.file_name) }
        @if said.said == "changed" {
            div.note #changed { "预览之后，数据库中的台账已有变化（聊天、命令行或他人导入），以下是按现在的台账重新生成的预览，请再次核对后确认。" }
        }
        p.muted { @if upload.is_pruning { "将删除工作簿中已没有的账号和单位。" } @else { "不删除工作簿中没有的账号和单位（上传时未勾选）。" } }
        pre.report #plan { (plan) }
        @if undone > 0 {
            div.note { p { strong { "注意：" } "导入将撤销以下在聊天中或由其他文件所做的变更：" } pre.report #conflicts { (conflicts) } }
        }
        @if changes == 0 {
            p #nothing { "工作簿与数据库中的台账一致，无需导入。" }
        } @else {
            form method="post" action={ "/register/uploads/" (upload.id) "/apply" } {
                (csrf(&viewer))
                input type="hidden" name="preview" value=(preview);
                button type="submit" #apply { "确认导入（" (changes) " 项变更）" }
                " " a href="/register" { "取消" }
            }
        }
    };
    Ok(layout::page(&viewer, "/register", "导入预览", body))
}

#[derive(serde::Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    /// The digest of the preview the clerk confirmed.
    #[serde(default)]
    preview: String,
}

pub async fn apply(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ApplyForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let upload = upload_of(&console, &viewer, id).await?;
    let now = console.now();
    if upload.applied_at.is_some() {
        return Ok(Redirect::to(&format!("/register/uploads/{id}")).into_response());
    }
    // The register may have moved since the preview: then show it again.
    let (plan, conflicts, ..) = dry_run_of(
        &console,
        &viewer,
        &upload.file_name,
        &upload.bytes,
        upload.is_pruning,
    )
    .await?;
    if digest(&plan, &conflicts) != form.preview {
        return Ok(Redirect::to(&format!("/register/uploads/{id}?said=changed")).into_response());
    }
    if !console.store.mark_upload_applied(upload.id, now).await? {
        return Ok(Redirect::to(&format!("/register/uploads/{id}")).into_response());
    }
    let imported = import_upload(&console, &viewer, &upload, now).await;
    let import = match imported {
        Ok(import) => import,
        Err(err) => {
            console.store.unmark_upload(upload.id).await?;
            return Err(err);
        }
    };
    console.changed();
    let body = html! {
        h1 { "已导入" }
        p #applied { "「" (upload.file_name) "」已导入，" (import.plan.changes.len()) " 项变更，记入变更记录（" (actor(&viewer.signin)) "）。" }
        pre.report { (app::describe_plan(&import.plan, false)) }
        p { a href="/history" { "查看变更记录" } " · " a href="/accounts" { "查看台账" } }
    };
    Ok(layout::page(&viewer, "/register", "已导入", body))
}
