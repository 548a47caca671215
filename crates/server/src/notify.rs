//! Sending alerts on: by email (SMTP, through lettre) and to a webhook (a
//! JSON POST, with a `text` field that Slack-style receivers show as is).
//! Where they go is the admin's setting `alerts.delivery`, a JSON object in
//! the catalog; a delivery that fails is logged and never blocks the alert,
//! which stays in the UI either way.

use std::time::Duration;

use futures_util::future::OptionFuture;
use lettre::message::{Mailbox, Mailboxes, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shoebox_catalog::Alert;

use crate::dto::iso;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The settings key the delivery channels are stored under.
const SETTING: &str = "alerts.delivery";
/// One slow mail server or webhook must not hold up the next check.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delivery {
    pub email: Option<Email>,
    pub webhook: Option<Webhook>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Email {
    pub host: String,
    pub port: u16,
    /// `none` (plain SMTP, for a relay on the LAN), `starttls` or `tls`.
    pub security: Security,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    pub from: String,
    /// One address or several, separated by commas.
    pub to: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
}

impl Delivery {
    /// Refuses settings that could never deliver, saying which field is wrong.
    pub fn check(&self) -> ApiResult<()> {
        if let Some(email) = &self.email {
            if email.host.trim().is_empty() {
                return Err(ApiError::bad_request("Name the mail server (SMTP host) that sends alert emails"));
            }
            email
                .from
                .parse::<Mailbox>()
                .map_err(|e| ApiError::bad_request(format!("The sender {:?} is not an email address ({e})", email.from)))?;
            recipients(&email.to)?;
        }
        if let Some(webhook) = &self.webhook {
            let url = reqwest13::Url::parse(&webhook.url)
                .map_err(|e| ApiError::bad_request(format!("The webhook address {:?} is not a URL ({e})", webhook.url)))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ApiError::bad_request("The webhook address must start with http:// or https://"));
            }
        }
        Ok(())
    }

    /// The settings as the UI sees them: the mail password is never sent back.
    pub fn without_secrets(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("settings serialise");
        if let Some(email) = value.get_mut("email").and_then(|e| e.as_object_mut()) {
            let set = email.get("password").and_then(|p| p.as_str()).is_some_and(|p| !p.is_empty());
            email.insert("password".into(), json!(""));
            email.insert("passwordSet".into(), json!(set));
        }
        value
    }
}

fn recipients(to: &str) -> ApiResult<Mailboxes> {
    let list: Mailboxes = to
        .parse()
        .map_err(|e| ApiError::bad_request(format!("The recipients {to:?} are not email addresses ({e})")))?;
    if list.iter().next().is_none() {
        return Err(ApiError::bad_request("Name at least one recipient for alert emails"));
    }
    Ok(list)
}

pub async fn delivery(state: &AppState) -> ApiResult<Delivery> {
    Ok(state.json_setting(SETTING).await?.unwrap_or_default())
}

/// Stores new settings; an empty mail password keeps the one stored for the
/// same server and account, so the UI never has to hold it.
pub async fn set_delivery(state: &AppState, mut new: Delivery) -> ApiResult<Delivery> {
    new.check()?;
    let old = delivery(state).await?;
    if let (Some(email), Some(previous)) = (new.email.as_mut(), old.email)
        && email.password.is_empty()
        && email.host == previous.host
        && email.username == previous.username
    {
        email.password = previous.password;
    }
    state.set_json_setting(SETTING, &new).await?;
    Ok(new)
}

/// What became of one alert's delivery, per channel: `None` where the
/// channel is not set up, else the error or success.
#[derive(Debug, Default)]
pub struct Sent {
    pub email: Option<Result<(), String>>,
    pub webhook: Option<Result<(), String>>,
}

/// Sends `alert` through every channel set up, each failure logged.
pub async fn send(state: &AppState, alert: &Alert) -> Sent {
    let settings = match delivery(state).await {
        Ok(settings) => settings,
        Err(e) => {
            tracing::warn!(error = e.message, "could not read the alert delivery settings");
            return Sent::default();
        }
    };
    let name = box_name(state).await;
    let (email, webhook) = tokio::join!(
        OptionFuture::from(settings.email.as_ref().map(|email| send_email(email, &name, alert))),
        OptionFuture::from(settings.webhook.as_ref().map(|webhook| send_webhook(webhook, &name, alert))),
    );
    for (channel, result) in [("email", &email), ("webhook", &webhook)] {
        if let Some(Err(e)) = result {
            tracing::warn!(channel, alert = alert.key, error = e, "could not send an alert");
        }
    }
    Sent { email, webhook }
}

/// The name the owner gave the box in the setup wizard, "shoebox" if none.
pub async fn box_name(state: &AppState) -> String {
    match state.db(|c| c.setting(crate::routes::HOSTNAME_SETTING)).await {
        Ok(Some(name)) => name,
        _ => "shoebox".to_string(),
    }
}

async fn send_email(email: &Email, box_name: &str, alert: &Alert) -> Result<(), String> {
    let from: Mailbox = email.from.parse().map_err(|e| format!("sender: {e}"))?;
    let to = recipients(&email.to).map_err(|e| e.message)?;
    let body = format!(
        "{}\n\n{}\n\nRaised {} on {box_name}. Open the box's web page to see every alert.\n",
        alert.title,
        alert.message,
        iso(alert.raised_at)
    );
    let message = Message::builder()
        .from(from)
        .mailbox(lettre::message::header::To::from(to))
        .subject(format!("[{box_name}] {}", alert.title))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())?;
    let builder = match email.security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&email.host),
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&email.host).map_err(|e| e.to_string())?,
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&email.host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder.port(email.port).timeout(Some(TIMEOUT));
    if !email.username.is_empty() {
        builder = builder.credentials(Credentials::new(email.username.clone(), email.password.clone()));
    }
    builder
        .build()
        .send(message)
        .await
        .map(drop)
        .map_err(|e| format!("the mail server {}:{} refused or did not answer: {e}", email.host, email.port))
}

async fn send_webhook(webhook: &Webhook, box_name: &str, alert: &Alert) -> Result<(), String> {
    let body = json!({
        "event": "alert",
        "box": box_name,
        "text": format!("[{box_name}] {}: {}", alert.title, alert.message),
        "alert": {
            "key": alert.key, "level": alert.level, "title": alert.title,
            "message": alert.message, "raisedAt": iso(alert.raised_at),
        },
    });
    let client = reqwest13::Client::builder().timeout(TIMEOUT).build().map_err(|e| e.to_string())?;
    let response = client
        .post(&webhook.url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("the webhook {} did not answer: {e}", webhook.url))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the webhook {} answered {}", webhook.url, response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            host: "mail.example".into(),
            port: 587,
            security: Security::Starttls,
            username: "box".into(),
            password: "secret".into(),
            from: "Shoebox <box@example.org>".into(),
            to: "a@example.org, b@example.org".into(),
        }
    }

    #[test]
    fn settings_that_could_never_deliver_are_refused_by_field() {
        let ok = Delivery {
            email: Some(email()),
            webhook: Some(Webhook {
                url: "https://hooks.example/abc".into(),
            }),
        };
        ok.check().unwrap();
        let bad_to = Delivery {
            email: Some(Email {
                to: "nobody".into(),
                ..email()
            }),
            webhook: None,
        };
        assert!(bad_to.check().unwrap_err().message.contains("recipients"));
        let bad_url = Delivery {
            email: None,
            webhook: Some(Webhook { url: "ftp://x".into() }),
        };
        assert!(bad_url.check().unwrap_err().message.contains("http"));
    }

    #[test]
    fn the_mail_password_is_never_shown() {
        let shown = Delivery {
            email: Some(email()),
            webhook: None,
        }
        .without_secrets();
        assert_eq!(shown["email"]["password"], "");
        assert_eq!(shown["email"]["passwordSet"], true);
        assert_eq!(shown["email"]["host"], "mail.example");
    }
}
