import { connect } from "amqplib"
import { Duration } from "effect"

/**
 * Deletes what a suite declared on RabbitMQ under its own exchange: each consumer's queue, dead-letter queue
 * and delay queues (named by delay, as the AMQP layer names them), then the exchange.
 */
export const deleteAmqpTopology = async (
  url: string,
  exchange: string,
  consumers: Readonly<Record<string, number>>,
  retryBaseDelay: Duration.Duration
) => {
  const connection = await connect(url)
  const channel = await connection.createChannel()
  for (const [name, maxAttempts] of Object.entries(consumers)) {
    const queue = `${exchange}.${name}`
    const retries = Array.from(
      { length: maxAttempts - 1 },
      (_, level) => `${queue}.retry.${Duration.toMillis(retryBaseDelay) * 2 ** level}ms`
    )
    for (const queueName of [queue, `${queue}.dead`, ...retries]) await channel.deleteQueue(queueName)
  }
  await channel.deleteExchange(exchange)
  await connection.close()
}
