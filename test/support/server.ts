import { Context, Effect, Layer } from "effect"
import { createServer } from "node:net"
import { AppConfig, type AppSettings } from "../../src/layers/config.js"
import { PlinthLive } from "../../src/main.js"
import { testSettings } from "./settings.js"

export const freePort = () =>
  Effect.async<number>((resume) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resume(Effect.succeed(port)))
    })
  })

export interface RunningServer {
  readonly url: string
  readonly settings: AppSettings
}

/** The whole program, as `npm start` composes it, listening on loopback until the scope closes. */
export const startServer = (overrides: Partial<AppSettings> = {}) =>
  Effect.gen(function* () {
    const port = yield* freePort()
    const settings = testSettings({ port, ...overrides })
    yield* Layer.build(PlinthLive.pipe(Layer.provide(Layer.succeed(AppConfig, settings))))
    return { url: `http://127.0.0.1:${port}`, settings } satisfies RunningServer
  })

export class TestServer extends Context.Tag("test/TestServer")<TestServer, RunningServer>() {
  static readonly layer = (overrides: Partial<AppSettings> = {}) => Layer.scoped(TestServer, startServer(overrides))
}

export interface RawResponse {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
}

/** A plain request, for what typed clients cannot send: malformed bodies, odd headers. */
export const raw = (url: string, init: RequestInit = {}) =>
  Effect.promise(async (): Promise<RawResponse> => {
    const response = await fetch(url, init)
    const text = await response.text()
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json }
  })
