import { createConnection, createServer, type Socket } from "node:net"

/** A TCP forwarder whose link a test can cut and restore, to simulate a network outage or a broker restart. */
export interface TcpProxy {
  readonly port: number
  /** Destroys every open connection and stops listening, so new connections are refused. */
  readonly cut: () => Promise<void>
  /** Listens again on the same port. */
  readonly restore: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startTcpProxy = async (targetHost: string, targetPort: number): Promise<TcpProxy> => {
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  }

  const server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort })
    track(client)
    track(upstream)
    const teardown = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on("error", teardown).on("close", teardown)
    upstream.on("error", teardown).on("close", teardown)
    client.pipe(upstream)
    upstream.pipe(client)
  })

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject)
        const address = server.address()
        if (address === null || typeof address === "string") reject(new Error("the proxy has no TCP address"))
        else resolve(address.port)
      })
    })

  const port = await listen(0)

  const cut = async () => {
    for (const socket of sockets) socket.destroy()
    if (!server.listening) return
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
  }

  const restore = async () => {
    if (!server.listening) await listen(port)
  }

  return { port, cut, restore, close: cut }
}
