import { load, median, newDataDir, printLoadTable, rssMiB, start, stop } from "./support.js"

const STARTS = 5

/** Start-up to a ready /health/ready: first start on an empty DATA_DIR, then a restart on it; idle memory. */
export const startup = async () => {
  const cold: Array<number> = []
  const warm: Array<number> = []
  const rss: Array<number> = []
  for (let run = 0; run < STARTS; run++) {
    const dataDir = newDataDir()
    const first = await start({ dataDir })
    cold.push(first.readyAfterMs)
    await stop(first)
    const second = await start({ dataDir })
    warm.push(second.readyAfterMs)
    await new Promise((resolve) => setTimeout(resolve, 5000))
    rss.push(rssMiB(second.child.pid ?? 0))
    await stop(second)
  }
  const runs = (values: ReadonlyArray<number>, digits = 0) => values.map((v) => v.toFixed(digits)).join(", ")
  console.log(`\n## Start-up to a ready /health/ready (median of ${STARTS})\n`)
  console.log("| measure | median | runs |")
  console.log("| --- | --- | --- |")
  console.log(`| first start, empty DATA_DIR | ${median(cold).toFixed(0)} ms | ${runs(cold)} |`)
  console.log(`| restart, existing DATA_DIR | ${median(warm).toFixed(0)} ms | ${runs(warm)} |`)
  console.log(`| idle RSS, 5 s after ready | ${median(rss).toFixed(1)} MiB | ${runs(rss, 1)} |`)
}

export const operations = async () => {
  const server = await start()
  try {
    const row = printLoadTable("Operations endpoints")
    for (const path of ["/health/live", "/health/ready"]) {
      row(`GET ${path}`, 50, await load(() => ({ url: `${server.url}${path}`, connections: 50 })))
    }
  } finally {
    await stop(server)
  }
}
