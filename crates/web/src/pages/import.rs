//! Import from CSV: upload a file → a preview of every row, what it creates or updates, and
//! every problem by row and column → commit, all or nothing.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::extract::multipart::Multipart;
use axum::response::{IntoResponse, Response};

use super::{Chrome, Refused as _};
use crate::auth::{Action, Caller};
use crate::error::WebError;
use crate::import::{self, Column, ImportPreview, ImportReport, MAX_IMPORT_BYTES};
use crate::state::AppState;

/// The largest upload taken: the file, or the preview's sealed copy of it (base64, with room
/// for the form's other fields).
pub(crate) const MAX_UPLOAD_BYTES: usize = MAX_IMPORT_BYTES / 3 * 4 + 64 * 1024;

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub(crate) struct ImportPage {
    chrome: Chrome,
    /// The columns, for the help.
    columns: Vec<&'static str>,
    /// The file's name as uploaded.
    file_name: String,
    /// The checked file.
    preview: Option<ImportPreview>,
    /// The file sealed for the commit form; empty when it cannot be committed.
    sealed: String,
    /// What a commit wrote.
    done: Option<ImportReport>,
    /// A sentence above the form.
    message: String,
}

impl ImportPage {
    fn new(caller: &Caller) -> ImportPage {
        ImportPage {
            chrome: Chrome::of(caller),
            columns: Column::ALL.iter().map(|c| c.name()).collect(),
            file_name: String::new(),
            preview: None,
            sealed: String::new(),
            done: None,
            message: String::new(),
        }
    }
}

pub(crate) async fn page(caller: Caller) -> Result<ImportPage, WebError> {
    caller.require(Action::Edit)?;
    Ok(ImportPage::new(&caller))
}

/// The named fields of a multipart form: file contents as bytes, with the file's name.
async fn fields(mut form: Multipart) -> Result<Vec<(String, String, Vec<u8>)>, WebError> {
    let mut fields = Vec::new();
    let bad = |_| WebError::Invalid("the upload was cut off or is not a form; try again".into());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(bad)?;
        fields.push((name, file_name, bytes.to_vec()));
    }
    Ok(fields)
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    form: Multipart,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let fields = fields(form).await?;
    let mut page = ImportPage::new(&caller);
    let file = fields
        .iter()
        .find(|(name, _, bytes)| name == "file" && !bytes.is_empty())
        .or_else(|| {
            fields.iter().find(|(name, _, bytes)| {
                name == "text" && !bytes.iter().all(u8::is_ascii_whitespace)
            })
        });
    let Some((_, file_name, bytes)) = file else {
        page.message = "Choose a CSV file, or paste its rows.".into();
        return Ok(page.refused());
    };
    page.file_name.clone_from(file_name);
    let report = import::run(&state.engine, &caller.tenant, bytes, true).await?;
    let refused = report.error.is_some();
    if let Some(error) = report.error {
        page.message = capitalised(&error);
    } else {
        page.sealed = import::seal(&state, &caller, bytes)?;
    }
    page.preview = Some(report.preview);
    Ok(if refused {
        page.refused()
    } else {
        page.into_response()
    })
}

pub(crate) async fn commit(
    State(state): State<AppState>,
    caller: Caller,
    form: Multipart,
) -> Result<Response, WebError> {
    caller.require(Action::Edit)?;
    let fields = fields(form).await?;
    let mut page = ImportPage::new(&caller);
    let sealed = fields
        .iter()
        .find(|(name, _, _)| name == "sealed")
        .map(|(_, _, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default();
    let bytes = match import::open_sealed(&state, &caller, &sealed) {
        Ok(bytes) => bytes,
        Err(err) => {
            page.message = err.to_string();
            return Ok(page.refused());
        }
    };
    match import::run(&state.engine, &caller.tenant, &bytes, false).await {
        Ok(report) if report.committed => {
            page.done = Some(report);
            Ok(page.into_response())
        }
        // The fleet changed since the preview (another user, another import): show it again.
        Ok(report) => {
            page.message = capitalised(report.error.as_deref().unwrap_or_default());
            page.preview = Some(report.preview);
            Ok(page.refused())
        }
        Err(WebError::Conflict(message) | WebError::Invalid(message)) => {
            page.message = format!("Nothing was imported: {message}");
            Ok(page.refused())
        }
        Err(err) => Err(err),
    }
}

/// A sentence for the top of the page.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>() + "."
    })
}
