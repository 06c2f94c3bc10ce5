/**
 * The yardstick the projects issue measures creation against: `POST /projects` as a hand-rolled Fastify + pg
 * server would write it. It verifies an EdDSA access token with jose and inserts one row into Plinth's own
 * `projects` table (same columns and indexes), with no outbox event, cache or tracing. It signs one token for
 * OWNER_ID at start and prints it as its only line of output.
 */
import Fastify from "fastify"
import { generateKeyPair, jwtVerify, SignJWT } from "jose"
import { randomUUID } from "node:crypto"
import pg from "pg"

const setting = (name: string) => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is required`)
  return value
}

interface ProjectRow {
  readonly id: string
  readonly name: string
  readonly description: string | null
  readonly owner_id: string
  readonly created_at: Date
  readonly updated_at: Date
}

const pool = new pg.Pool({ connectionString: setting("DATABASE_URL"), max: 10 })
const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" })
const token = await new SignJWT({ role: "user" })
  .setProtectedHeader({ alg: "EdDSA" })
  .setSubject(setting("OWNER_ID"))
  .setIssuedAt()
  .setExpirationTime("1h")
  .sign(privateKey)

const app = Fastify({ logger: false })
const createBody = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, maxLength: 200 },
    description: { type: ["string", "null"], maxLength: 2000 }
  }
} as const

app.post<{ Body: { name: string; description?: string | null } }>(
  "/projects",
  { schema: { body: createBody } },
  async (request, reply) => {
    const bearer = request.headers.authorization
    const subject = bearer?.startsWith("Bearer ")
      ? await jwtVerify(bearer.slice(7), publicKey).then(
          ({ payload }) => payload.sub,
          () => undefined
        )
      : undefined
    if (subject === undefined) return reply.code(401).send({ title: "Unauthorized" })
    const { rows } = await pool.query<ProjectRow>(
      "insert into projects (id, name, description, owner_id) values ($1, $2, $3, $4) returning *",
      [randomUUID(), request.body.name, request.body.description ?? null, subject]
    )
    const row = rows[0]!
    return reply.code(201).send({
      id: row.id,
      name: row.name,
      description: row.description,
      ownerId: row.owner_id,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString()
    })
  }
)

await app.listen({ port: Number(setting("PORT")), host: "127.0.0.1" })
console.log(token)
