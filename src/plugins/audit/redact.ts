import { createHash } from "node:crypto"

const SECRET_KEY = /(password|secret|token|credential|private_?key|api_?key)/i
const EMAIL_KEY = /email/i

/** A stable pseudonym: the same address always maps to the same value, which does not reveal it. */
const pseudonym = (email: string) =>
  `sha256:${createHash("sha256").update(email.trim().toLowerCase()).digest("hex").slice(0, 24)}`

/** Secrets become `[redacted]` and email addresses pseudonyms, at any depth. */
export const redact = (value: unknown, key = ""): unknown => {
  if (SECRET_KEY.test(key)) return "[redacted]"
  if (EMAIL_KEY.test(key) && typeof value === "string") return pseudonym(value)
  if (Array.isArray(value)) return value.map((item) => redact(item))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]))
  }
  return value
}

/** JSON with object keys sorted at every depth: the same value always hashes the same, whatever jsonb did to it. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
  }
  return JSON.stringify(value ?? null)
}
