//! Asking Feishu for a long connection: the WebSocket URL (with its
//! `service_id`) and the connection's settings.
//!
//! In: the app's id and secret. Out: an [`Endpoint`], or why not.

use super::frame::ClientConfig;
use super::{ConnectionError, ENDPOINT_PATH};
use crate::config::Secret;
use serde::Deserialize;
use serde_json::json;

/// `POST /callback/ws/endpoint`'s answer.
#[derive(Deserialize)]
struct EndpointAnswer {
    #[serde(default = "unreadable")]
    code: i64,
    #[serde(default)]
    msg: String,
    data: Option<EndpointData>,
}

#[derive(Deserialize)]
struct EndpointData {
    #[serde(rename = "URL", default)]
    url: String,
    #[serde(rename = "ClientConfig")]
    client_config: Option<ClientConfig>,
}

fn unreadable() -> i64 {
    -1
}

/// A WebSocket URL and what the server said about it.
pub(super) struct Endpoint {
    pub url: url::Url,
    pub service_id: i32,
    pub config: ClientConfig,
}

/// `POST {base_url}/callback/ws/endpoint`: the WebSocket URL and its config.
pub(super) async fn open(
    http: &reqwest::Client,
    base_url: &str,
    app_id: &str,
    app_secret: &Secret,
) -> Result<Endpoint, ConnectionError> {
    let body = json!({ "AppID": app_id, "AppSecret": app_secret.expose() });
    let response = http
        .post(format!("{}{ENDPOINT_PATH}", base_url))
        .header("locale", "zh")
        .json(&body)
        .send()
        .await
        .map_err(|e| ConnectionError::Open(e.without_url().to_string()))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(ConnectionError::Refused {
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        });
    }
    let answer: EndpointAnswer =
        serde_json::from_str(&text).map_err(|_| ConnectionError::Endpoint("not JSON"))?;
    if answer.code != 0 {
        return Err(ConnectionError::Denied {
            code: answer.code,
            msg: answer.msg.chars().take(300).collect(),
        });
    }
    let data = answer.data.ok_or(ConnectionError::Endpoint("no data"))?;
    let url = url::Url::parse(&data.url).map_err(|_| ConnectionError::Endpoint("bad URL"))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(ConnectionError::Endpoint("not a ws:// or wss:// URL"));
    }
    let service_id = url
        .query_pairs()
        .find(|(key, _)| key == "service_id")
        .and_then(|(_, value)| value.parse::<i32>().ok())
        .ok_or(ConnectionError::Endpoint("no service_id"))?;
    Ok(Endpoint {
        url,
        service_id,
        config: data.client_config.unwrap_or_default(),
    })
}
