/** Where the server answers RPCs, relative to its base URL: one POST per batch of calls, NDJSON both ways. */
export const RPC_HTTP_PATH = "/rpc"

/** The WebSocket endpoint: NDJSON frames, many calls and streams over one connection. */
export const RPC_WEBSOCKET_PATH = "/rpc/ws"
