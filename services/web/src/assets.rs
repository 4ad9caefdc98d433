//! The app's static files, compiled into the binary and served under `/assets/` with their
//! content hash in the name (`/assets/app-1a2b3c4d5e6f.css`), so they can be cached for a
//! year: a new build with other bytes has another name. There is nothing else to fetch: no
//! CDN, no web fonts (the system's fonts render Chinese), no images but the page icon (an SVG).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One compiled-in file.
#[derive(Debug)]
pub struct Asset {
    /// The name it is served under, with its content hash.
    pub name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let digest = Sha256::digest(bytes);
        let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Asset {
            name: format!("{stem}-{hash}.{extension}"),
            content_type,
            bytes,
        }
    }

    /// Its path, as pages link it.
    pub fn path(&self) -> String {
        format!("/assets/{}", self.name)
    }
}

pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    )
});

pub static JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    )
});

/// The page icon (so the browser does not ask for a `/favicon.ico` that is not there).
pub static ICON: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "icon",
        "svg",
        "image/svg+xml",
        include_bytes!("../assets/icon.svg"),
    )
});

/// The dossier: pilot pages printed on A4 (linked with `media="print"`).
pub static PRINT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "print",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/print.css"),
    )
});

/// How long a browser may keep an asset: a year, never revalidated (its name changes with it).
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// `GET /assets/{name}`: the asset of that exact name, or 404.
pub async fn serve(Path(name): Path<String>) -> Response {
    for asset in [&*CSS, &*JS, &*PRINT, &*ICON] {
        if asset.name == name {
            return (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(asset.content_type),
                    ),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static(CACHE_FOREVER),
                    ),
                ],
                asset.bytes,
            )
                .into_response();
        }
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such asset",
    )
        .into_response()
}
