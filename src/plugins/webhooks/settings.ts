import { Config, Duration } from "effect"

const positiveDuration = (name: string, fallback: Duration.Duration) =>
  Config.duration(name).pipe(
    Config.validate({
      message: 'Expected a positive duration such as "20 seconds"',
      validation: (duration) => Duration.greaterThan(duration, Duration.zero)
    }),
    Config.withDefault(fallback)
  )

/**
 * Read under PLUGIN_WEBHOOKS_. The defaults retry 13 times from 20 seconds, doubling: the last attempt comes
 * about 23 hours after the first, and the message is dead-lettered when it fails too.
 */
export const webhooksConfig = Config.all({
  allowPrivate: Config.boolean("ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  maxAttempts: Config.integer("MAX_ATTEMPTS").pipe(
    Config.validate({ message: "Expected an integer from 1 to 30", validation: (n) => n >= 1 && n <= 30 }),
    Config.withDefault(13)
  ),
  retryBaseDelay: positiveDuration("RETRY_BASE_DELAY", Duration.seconds(20)),
  timeout: positiveDuration("TIMEOUT", Duration.seconds(10))
})

export type WebhooksSettings = Config.Config.Success<typeof webhooksConfig>
