/**
 * The real backends a suite may run against. A URL that is absent skips that implementation,
 * except under REQUIRE_SERVICES=1, where its absence fails the suite instead of hiding it.
 */
export type ServiceVariable = "TEST_DATABASE_URL" | "TEST_REDIS_URL" | "TEST_AMQP_URL"

export const requireServices = process.env["REQUIRE_SERVICES"] === "1"

export const serviceUrl = (variable: ServiceVariable): string | undefined => {
  const url = process.env[variable]
  if ((url === undefined || url === "") && requireServices) {
    throw new Error(`${variable} must be set when REQUIRE_SERVICES=1: this suite would otherwise skip the real backend`)
  }
  return url === "" ? undefined : url
}
