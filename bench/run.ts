/**
 * `npm run bench`: starts the server itself on loopback, measures, stops it, and prints medians.
 *   npm run bench                       every scenario
 *   npm run bench -- startup identity   chosen scenarios
 * BENCH_DATABASE_URL, BENCH_REDIS_URL and BENCH_AMQP_URL run the server on those backends instead of the
 * embedded ones (a fresh database per server start); BENCH_S3=s3rver stores the projects scenario's files in S3.
 * The reference scenario (creation against a Fastify + pg server) needs BENCH_DATABASE_URL.
 */
import { execFileSync } from "node:child_process"
import { events } from "./events.js"
import { identity } from "./identity.js"
import { operations, startup } from "./operations.js"
import { projects } from "./projects.js"
import { reference } from "./reference.js"
import { rpc } from "./rpc.js"
import { backendLabel } from "./support.js"

const scenarios: Record<string, () => Promise<void>> = {
  startup,
  operations,
  identity,
  events,
  projects,
  reference,
  rpc
}

const chosen = process.argv.slice(2).filter((name) => name !== "--")
const unknown = chosen.filter((name) => !(name in scenarios))
if (unknown.length > 0) {
  console.error(`unknown scenario: ${unknown.join(", ")} (known: ${Object.keys(scenarios).join(", ")})`)
  process.exit(2)
}
// The server runs as `npm start` runs it: the bundle, built once here.
execFileSync("npm", ["run", "build", "--silent"], { stdio: "inherit" })
console.log(`# Plinth benchmark (${backendLabel()}; node ${process.version})`)
for (const name of chosen.length === 0 ? Object.keys(scenarios) : chosen) await scenarios[name]!()
