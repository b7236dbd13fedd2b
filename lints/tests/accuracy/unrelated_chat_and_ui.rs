//! Code that uses the same words without a broker: a websocket chat server
//! and a GUI event loop. `ack`, `commit`, `...Message` and `...Event` mean
//! nothing here; the one finding is a local clock reading sent to other
//! users inside a chat message.

use chrono::{DateTime, Local};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

#[derive(Serialize, Deserialize, Clone)]
#[serde(tag = "type")]
pub enum ClientMessage {
    Join { room: String, nick: String },
    Say { text: String },
}

#[derive(Serialize, Clone)]
pub struct ChatMessage {
    pub nick: String,
    pub text: String,
    pub sent_at: String,
}

#[derive(Debug, Serialize)]
pub struct KeyEvent {
    pub key: char,
    pub pressed: bool,
}

pub async fn room(mut incoming: mpsc::Receiver<ClientMessage>, outgoing: broadcast::Sender<ChatMessage>, mut nick: String) {
    while let Some(message) = incoming.recv().await {
        match message {
            ClientMessage::Join { nick: new_nick, .. } => nick = new_nick,
            ClientMessage::Say { text } => {
                let sent_at = Local::now().format("%H:%M").to_string(); //~ local-time
                let _ = outgoing.send(ChatMessage { nick: nick.clone(), text, sent_at });
            }
        }
    }
}

pub struct Editor {
    events: Vec<KeyEvent>,
    last_save: Option<DateTime<Local>>,
}

impl Editor {
    pub fn on_key(&mut self, key: char) {
        self.events.push(KeyEvent { key, pressed: true });
    }

    pub fn status_line(&self) -> String {
        match self.last_save {
            Some(at) => format!("saved at {}", at.format("%H:%M:%S")),
            None => "not saved".to_string(),
        }
    }

    pub fn ack(&mut self) {
        self.events.clear();
    }

    pub async fn commit(&mut self, tx: mpsc::Sender<Vec<char>>) {
        self.ack();
        let keys: Vec<char> = self.events.iter().map(|e| e.key).collect();
        let _ = tx.send(keys).await;
    }
}
