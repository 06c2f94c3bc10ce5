/**
 * `plinth/client/plugins`: the RPC groups of the plugins, for `plinth/client`'s `makeClient({ plugins })`.
 * A server serves a plugin's RPCs only when its `PLUGINS` turns the plugin on, so a consumer lists the groups
 * of the plugins its server runs, and its client's type has exactly those.
 */
export { AuditRpcs } from "./audit/rpc-group.js"
export * from "./audit/schema.js"
export { WebhooksRpcs } from "./webhooks/rpc-group.js"
export * from "./webhooks/schema.js"
