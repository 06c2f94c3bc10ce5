import type { SchemaAST } from "effect"

/**
 * Decoding options for every request body: report every failing field, not only the first, and reject
 * fields the schema does not know instead of silently dropping them.
 */
export const strictRequest: { readonly parseOptions: SchemaAST.ParseOptions } = {
  parseOptions: { errors: "all", onExcessProperty: "error" }
}
