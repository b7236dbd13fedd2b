//! A notifications service: its message types, and where its timestamps go.

use chrono::{DateTime, Local, NaiveDate, Utc};
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Channel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct ReminderMessage { //~ missing-idempotency-key
    pub recipient: String,
    pub text: String,
    pub send_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DigestCommand {
    pub digest_id: String,
    pub day: NaiveDate,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChatMessage {
    pub message_id: String,
    pub sent_at: DateTime<Local>, //~ local-time
    pub body: String,
}

pub async fn remind(channel: &Channel, recipient: &str, text: &str) -> anyhow::Result<()> {
    let reminder = ReminderMessage { recipient: recipient.into(), text: text.into(), send_at: Utc::now() };
    let props = BasicProperties::default().with_message_id(format!("reminder-{recipient}-{}", reminder.send_at.timestamp()).into());
    channel
        .basic_publish("".into(), "reminders".into(), BasicPublishOptions::default(), &serde_json::to_vec(&reminder)?, props)
        .await?;
    Ok(())
}

pub async fn digest(channel: &Channel) -> anyhow::Result<()> {
    let day = Local::now().date_naive(); //~ local-time
    let command = DigestCommand { digest_id: format!("digest-{day}"), day };
    let props = BasicProperties::default().with_message_id(command.digest_id.clone().into());
    channel
        .basic_publish("".into(), "digests".into(), BasicPublishOptions::default(), &serde_json::to_vec(&command)?, props)
        .await?;
    Ok(())
}

pub fn banner() -> String {
    format!("Notifications service started at {}", Local::now().format("%H:%M:%S"))
}

pub fn is_quiet_hours() -> bool {
    let hour = chrono::Timelike::hour(&Local::now());
    !(8..22).contains(&hour)
}
