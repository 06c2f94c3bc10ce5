import { Schema, type SchemaAST } from "effect"

/**
 * Decoding options for every request body: report every failing field, not only the first, and reject
 * fields the schema does not know instead of silently dropping them.
 */
export const strictRequest: { readonly parseOptions: SchemaAST.ParseOptions } = {
  parseOptions: { errors: "all", onExcessProperty: "error" }
}

/**
 * An optional request field that, when present, must be valid: `exact` keeps a bad value from also being
 * reported as "expected undefined".
 */
export const optionalField = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * Constructor options for a response built from database rows. The columns' types and constraints already
 * hold what the schema would check, and checking again costs a full validation per row on every list page.
 */
export const fromRows = { disableValidation: true } as const
