//! `GET /api/v1/openapi.json`: the API described for client generators and
//! readers; a test checks every path in it answers.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, written by hand beside the handlers (api.rs).
const DOCUMENT: &str = include_str!("openapi.json");

pub(super) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_json_naming_its_version() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"), "bump info.version with the package");
    }
}
