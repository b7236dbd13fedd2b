//! Dual writes with diesel, sea-orm and mongodb; Kafka as the broker.

use diesel::prelude::*;
use mongodb::bson::doc;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set, TransactionTrait};
use std::time::Duration;

pub async fn register_user(conn: &mut PgConnection, producer: &FutureProducer, new_user: NewUser) -> anyhow::Result<()> {
    let user: User = diesel::insert_into(users::table).values(&new_user).get_result(conn)?;
    let payload = serde_json::to_string(&user)?;
    producer
        .send(FutureRecord::to("users").key(&user.id.to_string()).payload(&payload), Duration::from_secs(5)) //~ dual-write
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

pub async fn rename_user(conn: &mut PgConnection, id: i32, name: &str) -> anyhow::Result<()> {
    conn.transaction(|conn| {
        diesel::update(users::table.find(id)).set(users::name.eq(name)).execute(conn)?;
        diesel::insert_into(outbox::table).values(outbox::payload.eq(name)).execute(conn)?;
        diesel::QueryResult::Ok(())
    })?;
    Ok(())
}

pub async fn close_account(db: &DatabaseConnection, producer: &FutureProducer, id: i32) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    let account = account::ActiveModel { id: Set(id), closed: Set(true), ..Default::default() };
    account.update(&txn).await?;
    txn.commit().await?;
    producer
        .send(FutureRecord::to("accounts").key(&id.to_string()).payload("closed"), Duration::from_secs(5)) //~ dual-write
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

pub async fn archive(db: &mongodb::Database, producer: &FutureProducer, id: &str) -> anyhow::Result<()> {
    db.collection::<mongodb::bson::Document>("documents")
        .update_one(doc! { "_id": id }, doc! { "$set": { "archived": true } })
        .await?;
    producer
        .send(FutureRecord::to("documents").key(id).payload("archived"), Duration::from_secs(5)) //~ dual-write
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
}

pub async fn read_only(db: &DatabaseConnection, producer: &FutureProducer, id: i32) -> anyhow::Result<()> {
    let found = account::Entity::find_by_id(id).one(db).await?;
    if let Some(account) = found {
        producer
            .send(FutureRecord::to("accounts.audit").key(&account.id.to_string()).payload("viewed"), Duration::from_secs(5))
            .await
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}
