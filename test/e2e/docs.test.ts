import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { chromium, type Page } from "playwright-core"
import { freshPostgresDatabase } from "../support/postgres.js"
import { raw, startServer } from "../support/server.js"
import { requireServices, serviceUrl } from "../support/services.js"

/**
 * A person reading the API reference at /docs registers an account from the page itself, as they would on a
 * deployed server. Playwright drives the system's Chromium (Debian's `chromium` package; .ci/run installs it),
 * since Playwright's own browser download cannot reach the internet here.
 */
const chromiumPath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const artifacts = join(import.meta.dirname, "..", "..", "artifacts", "e2e")
const screenshot = join(artifacts, "docs-register.png")

/**
 * Without these Chromium reaches for the network at start-up (updates, sync, QUIC probes) and, on a closed
 * network, hangs there. Playwright gives every launch a fresh temporary profile (--user-data-dir) itself.
 */
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

const launchPage = Effect.acquireRelease(
  Effect.promise(async () => {
    const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000 })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    return { browser, page }
  }),
  // The screenshot is taken whether the test passed or not: on a failure it shows where the page stood.
  ({ browser, page }) =>
    Effect.tryPromise(async () => {
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: screenshot })
    }).pipe(Effect.ignore, Effect.zipRight(Effect.promise(() => browser.close())))
)

const step =
  <A>(run: (page: Page) => Promise<A>) =>
  (page: Page) =>
    Effect.promise(() => run(page))

describe("The API reference at /docs", () => {
  it.scopedLive(
    "registers an account from the page: Test Request on POST /auth/register answers 201 Created",
    (context) =>
      Effect.gen(function* () {
        if (!existsSync(chromiumPath)) {
          const reason = `no Chromium at ${chromiumPath}: install Debian's chromium package or set CHROMIUM_PATH`
          if (requireServices) return yield* Effect.die(new Error(`${reason} (REQUIRE_SERVICES=1 forbids skipping)`))
          return context.skip(reason)
        }
        // On PostgreSQL when there is one, as a deployed server runs; on PGlite otherwise.
        const adminUrl = serviceUrl("TEST_DATABASE_URL")
        const databaseUrl =
          adminUrl === undefined ? Option.none() : Option.some(Redacted.make(yield* freshPostgresDatabase(adminUrl)))
        const { url } = yield* startServer({ databaseUrl })
        const { page } = yield* launchPage
        const account = { email: "docs-reader@example.com", password: "correct horse battery", name: "Docs Reader" }

        yield* step((page) => page.goto(`${url}/docs`, { waitUntil: "load" }))(page)
        // The reference's sidebar lists the endpoints by group; the path text carries zero-width spaces.
        yield* step((page) => page.getByRole("button", { name: "Authentication" }).first().click())(page)
        yield* step((page) =>
          page
            .getByRole("button")
            .filter({ hasText: /\/auth\W*\/register/ })
            .first()
            .click()
        )(page)
        yield* step((page) => page.getByRole("button", { name: "Test Request (post /auth/register)" }).click())(page)

        const client = page.getByRole("dialog")
        const body = client.locator(".cm-content").filter({ hasText: "email" })
        yield* step(() => body.click())(page)
        yield* step((page) => page.keyboard.press("ControlOrMeta+A"))(page)
        // insertText types no keys, so the editor's bracket and quote completion leaves the JSON as it is.
        yield* step((page) => page.keyboard.insertText(JSON.stringify(account, null, 2)))(page)

        const [response] = yield* step((page) =>
          Promise.all([
            page.waitForResponse(
              (response) => response.url() === `${url}/auth/register` && response.request().method() === "POST"
            ),
            client.getByRole("button", { name: /^Send post request/ }).click()
          ])
        )(page)
        expect(response.status()).toBe(201)
        const shown = client.getByText("201 Created")
        yield* step(() => shown.waitFor({ state: "visible" }))(page)
        expect(yield* step(() => shown.count())(page)).toBe(1)

        // The account exists: its owner can log in with what they typed into the page.
        const login = yield* raw(`${url}/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: account.email, password: account.password })
        })
        expect(login.status).toBe(200)
        expect(login.json).toMatchObject({ user: { email: account.email, name: account.name } })
      }),
    { timeout: 90_000 }
  )
})
