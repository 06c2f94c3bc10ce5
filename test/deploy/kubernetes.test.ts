import { describe, expect, it } from "@effect/vitest"
import * as apps from "kubernetes-models/apps/v1"
import * as autoscaling from "kubernetes-models/autoscaling/v2"
import * as networking from "kubernetes-models/networking.k8s.io/v1"
import * as policy from "kubernetes-models/policy/v1"
import * as core from "kubernetes-models/v1"
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler"
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment"
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy"
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget"
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap"
import type { INamespace } from "kubernetes-models/v1/Namespace"
import type { ISecret } from "kubernetes-models/v1/Secret"
import type { IService } from "kubernetes-models/v1/Service"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { parseAllDocuments } from "yaml"

/**
 * The manifests are checked offline: each object against the Kubernetes API's own schema (the OpenAPI
 * definitions that kubernetes-models compiles), then against what the restricted Pod Security Standard and a
 * working rollout need, which no schema can say.
 */
const root = join(import.meta.dirname, "..", "..")
const directory = join(root, "deploy", "kubernetes")
const secretTemplate = "secret.template.yaml"

interface Manifest {
  readonly file: string
  readonly object: { readonly apiVersion: string; readonly kind: string; readonly metadata: { readonly name: string } }
}

const files = readdirSync(directory).filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
const manifests: ReadonlyArray<Manifest> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(directory, file), "utf8")).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join("; ")}`)
    return { file, object: document.toJS() as Manifest["object"] }
  })
)
const ofKind = <A>(kind: string) => manifests.filter((m) => m.object.kind === kind).map((m) => m.object as A)

const deployments = ofKind<IDeployment>("Deployment")
const deployment = (name: string) => deployments.find((d) => d.metadata?.name === name)!
const podLabels = (d: IDeployment) => d.spec!.template.metadata!.labels!
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value)

const kustomization = parseAllDocuments(readFileSync(join(directory, "kustomization.yaml"), "utf8"))[0]!.toJS() as {
  readonly resources: ReadonlyArray<string>
}

/** The variables the README's configuration table documents, which are all that AppConfig reads. */
const documentedVariables = new Set(
  [...readFileSync(join(root, "README.md"), "utf8").matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((match) => match[1]!)
)

type ModelClass = new (data: unknown) => { validate(): void }
const apiGroups: Record<string, unknown> = {
  v1: core,
  "apps/v1": apps,
  "autoscaling/v2": autoscaling,
  "networking.k8s.io/v1": networking,
  "policy/v1": policy
}

/** Pod Security Standards, restricted profile: the volume types it allows. */
const restrictedVolumeTypes = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret"
]

describe("Kubernetes manifests", () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.object.kind} ${m.object.metadata.name}`, m] as const))(
    "%s is valid against the Kubernetes API schema",
    (_, { object }) => {
      const Model = (apiGroups[object.apiVersion] as Record<string, ModelClass> | undefined)?.[object.kind]
      expect(Model, `${object.apiVersion} ${object.kind} is not one of the API groups checked here`).toBeDefined()
      expect(() => new Model!(object).validate()).not.toThrow()
    }
  )

  it("are all tied together by kustomization.yaml, except the Secret template", () => {
    expect([...kustomization.resources].sort()).toEqual(files.filter((file) => file !== secretTemplate).sort())
  })

  it("run in a namespace that enforces the restricted Pod Security Standard", () => {
    const [namespace] = ofKind<INamespace>("Namespace")
    expect(namespace?.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted")
  })

  it("run a server and a worker Deployment, each in its MODE", () => {
    for (const mode of ["server", "worker"]) {
      const [container, ...others] = deployment(`plinth-${mode}`).spec!.template.spec!.containers
      expect(others).toEqual([])
      expect(container?.env).toContainEqual({ name: "MODE", value: mode })
    }
  })

  it.each(deployments.map((d) => [d.metadata!.name!, d] as const))(
    "%s meets the restricted Pod Security Standard with a read-only root filesystem",
    (_, d) => {
      const pod = d.spec!.template.spec!
      expect(pod.hostNetwork ?? false).toBe(false)
      expect(pod.hostPID ?? false).toBe(false)
      expect(pod.hostIPC ?? false).toBe(false)
      expect(pod.automountServiceAccountToken).toBe(false)
      expect(pod.securityContext?.runAsNonRoot).toBe(true)
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0)
      expect(pod.securityContext?.seccompProfile?.type).toBe("RuntimeDefault")
      for (const volume of pod.volumes ?? []) {
        expect(Object.keys(volume).filter((key) => key !== "name")).toEqual([
          expect.toSatisfy((type: string) => restrictedVolumeTypes.includes(type))
        ])
      }
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const context = container.securityContext
        expect(context?.privileged ?? false).toBe(false)
        expect(context?.allowPrivilegeEscalation).toBe(false)
        expect(context?.capabilities?.drop).toContain("ALL")
        expect(context?.capabilities?.add ?? []).toEqual([])
        expect(context?.runAsUser ?? pod.securityContext?.runAsUser).not.toBe(0)
        expect(context?.readOnlyRootFilesystem).toBe(true)
        expect((container.ports ?? []).every((port) => port.hostPort === undefined)).toBe(true)
        // Everything Plinth may write (DATA_DIR, and temporary files) is an emptyDir.
        const config = ofKind<IConfigMap>("ConfigMap")[0]!.data!
        const writable = (container.volumeMounts ?? []).map((mount) => {
          const volume = pod.volumes?.find((v) => v.name === mount.name)
          expect(volume?.emptyDir, `volume ${mount.name}`).toBeDefined()
          return mount.mountPath
        })
        expect(writable).toEqual(expect.arrayContaining([config["DATA_DIR"], "/tmp"]))
      }
    }
  )

  it.each(deployments.map((d) => [d.metadata!.name!, d] as const))(
    "%s requests and limits CPU and memory, which its autoscaler measures against",
    (_, d) => {
      for (const container of d.spec!.template.spec!.containers) {
        expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
        expect(container.resources?.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
      }
      const autoscaler = ofKind<IHorizontalPodAutoscaler>("HorizontalPodAutoscaler").find(
        (hpa) => hpa.spec?.scaleTargetRef.kind === "Deployment" && hpa.spec.scaleTargetRef.name === d.metadata!.name
      )
      expect(autoscaler?.spec?.minReplicas).toBeGreaterThanOrEqual(1)
      expect(autoscaler?.spec?.maxReplicas).toBeGreaterThan(autoscaler?.spec?.minReplicas ?? 1)
    }
  )

  it.each(["plinth-server", "plinth-worker"])(
    "probe %s's liveness on /health/live and readiness on /health/ready, on its HTTP port",
    (name) => {
      const [container] = deployment(name).spec!.template.spec!.containers
      const portNames = (container!.ports ?? []).map((port) => port.name)
      expect(container!.livenessProbe?.httpGet).toMatchObject({ path: "/health/live" })
      expect(container!.readinessProbe?.httpGet).toMatchObject({ path: "/health/ready" })
      expect(portNames).toContain(container!.livenessProbe?.httpGet?.port)
      expect(portNames).toContain(container!.readinessProbe?.httpGet?.port)
    }
  )

  it("give the server time to drain: preStop pause plus SHUTDOWN_TIMEOUT_SECONDS fit in the grace period", () => {
    const pod = deployment("plinth-server").spec!.template.spec!
    const config = ofKind<IConfigMap>("ConfigMap")[0]!.data!
    const pause = pod.containers[0]!.lifecycle?.preStop?.sleep?.seconds ?? 0
    expect(pause + Number(config["SHUTDOWN_TIMEOUT_SECONDS"])).toBeLessThan(pod.terminationGracePeriodSeconds ?? 30)
  })

  it("route the Service to the servers' HTTP port and never to the workers", () => {
    const [service] = ofKind<IService>("Service")
    expect(selects(service?.spec?.selector, podLabels(deployment("plinth-server")))).toBe(true)
    expect(selects(service?.spec?.selector, podLabels(deployment("plinth-worker")))).toBe(false)
    const containerPorts = deployment("plinth-server").spec!.template.spec!.containers[0]!.ports ?? []
    for (const port of service?.spec?.ports ?? []) {
      expect(containerPorts.map((p) => p.name)).toContain(port.targetPort)
    }
  })

  it("keep a server available through voluntary disruptions, and cover every Deployment with a budget", () => {
    const budgets = ofKind<IPodDisruptionBudget>("PodDisruptionBudget")
    for (const d of deployments) {
      expect(budgets.filter((b) => selects(b.spec?.selector?.matchLabels, podLabels(d)))).toHaveLength(1)
    }
    const server = budgets.find((b) => selects(b.spec?.selector?.matchLabels, podLabels(deployment("plinth-server"))))
    expect(server?.spec?.minAvailable).toBeLessThan(deployment("plinth-server").spec!.replicas!)
  })

  it("deny all traffic by default, then let HTTP in to servers only and DNS and the backends out", () => {
    const policies = ofKind<INetworkPolicy>("NetworkPolicy")
    const applying = (d: IDeployment) => policies.filter((p) => selects(p.spec!.podSelector.matchLabels, podLabels(d)))
    for (const d of deployments) {
      expect(applying(d).some((p) => p.spec!.policyTypes?.includes("Ingress") && p.spec!.ingress === undefined)).toBe(
        true
      )
      expect(applying(d).some((p) => p.spec!.policyTypes?.includes("Egress") && p.spec!.egress === undefined)).toBe(
        true
      )
      const egressPorts = applying(d).flatMap((p) => (p.spec!.egress ?? []).flatMap((rule) => rule.ports ?? []))
      for (const port of [53, 5432, 6379, 5672, 443]) {
        expect(egressPorts.map((p) => p.port)).toContain(port)
      }
    }
    const ingressRules = (d: IDeployment) => applying(d).flatMap((p) => p.spec!.ingress ?? [])
    // Each role takes connections on its own HTTP port and nothing else.
    for (const name of ["plinth-server", "plinth-worker"]) {
      const ports = deployment(name).spec!.template.spec!.containers[0]!.ports!
      expect(ingressRules(deployment(name)).flatMap((rule) => rule.ports ?? [])).toEqual(
        ports.map((port) => ({ port: port.containerPort, protocol: "TCP" }))
      )
    }
  })

  it("take their settings from a ConfigMap and a Secret that exist, with documented variables only", () => {
    const [config] = ofKind<IConfigMap>("ConfigMap")
    const [secret] = ofKind<ISecret>("Secret")
    for (const d of deployments) {
      const envFrom = d.spec!.template.spec!.containers[0]!.envFrom ?? []
      expect(envFrom.map((source) => source.configMapRef?.name ?? source.secretRef?.name)).toEqual([
        config?.metadata?.name,
        secret?.metadata?.name
      ])
    }
    const names = [...Object.keys(config?.data ?? {}), ...Object.keys(secret?.stringData ?? {}), "MODE"]
    expect(names.filter((name) => !documentedVariables.has(name))).toEqual([])
    // Each pod's DATA_DIR is its own, so generated keys would differ between pods.
    expect(Object.keys(secret?.stringData ?? {})).toEqual(
      expect.arrayContaining(["JWT_PRIVATE_KEYS", "ENCRYPTION_KEYS"])
    )
  })
})
