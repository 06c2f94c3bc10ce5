import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "./settings.js"

const openssl = (args: ReadonlyArray<string>) => execFileSync("openssl", [...args], { stdio: "ignore" })

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

export interface Certificates {
  /** The certificate authority that signed `certFile`; what a client must trust. */
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
}

/** A private CA and a server certificate it signed for 127.0.0.1, made with the openssl command line. */
export const issueCertificates = (): Certificates => {
  const dir = tempDir("certificates")
  const path = (name: string) => join(dir, name)
  openssl([
    "req",
    "-x509",
    ...ecKey,
    "-days",
    "1",
    "-subj",
    "/CN=Plinth test CA",
    "-keyout",
    path("ca.key"),
    "-out",
    path("ca.pem")
  ])
  openssl(["req", ...ecKey, "-subj", "/CN=127.0.0.1", "-keyout", path("server.key"), "-out", path("server.csr")])
  writeFileSync(path("server.ext"), "subjectAltName=IP:127.0.0.1\n")
  openssl([
    "x509",
    "-req",
    "-in",
    path("server.csr"),
    "-CA",
    path("ca.pem"),
    "-CAkey",
    path("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    path("server.ext"),
    "-out",
    path("server.pem")
  ])
  return { caFile: path("ca.pem"), certFile: path("server.pem"), keyFile: path("server.key") }
}
