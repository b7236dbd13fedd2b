use amqprs::channel::{BasicConsumeArguments, BasicPublishArguments, Channel};
use amqprs::BasicProperties;

pub async fn consume_invoices(channel: &Channel) -> Result<(), amqprs::error::Error> {
    let args = BasicConsumeArguments::new("invoices", "mailer")
        .manual_ack(false)
        .finish();
    let (_tag, _deliveries) = channel.basic_consume_rx(args).await?;
    Ok(())
}

pub async fn announce(channel: &Channel, invoice: Vec<u8>) -> Result<(), amqprs::error::Error> {
    let args = BasicPublishArguments::new("billing", "invoice.sent");
    channel
        .basic_publish(BasicProperties::default(), invoice, args)
        .await
}
