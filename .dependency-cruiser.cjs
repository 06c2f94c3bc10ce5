/** Import directions of ARCHITECTURE.md: imports point down the picture only. */
module.exports = {
  forbidden: [
    {
      name: "layers-import-only-config",
      comment: "src/layers is the bottom of the picture: it imports nothing of ours but other layers and config.",
      severity: "error",
      from: { path: "^src/layers/" },
      to: { path: "^src/(services|http|rpc|plugins|main\\.ts)" }
    },
    {
      name: "services-use-layer-interfaces-only",
      comment:
        "Services ask for a layer's Tag (src/layers/<name>.ts), never an implementation (src/layers/<name>/...); main.ts picks implementations.",
      severity: "error",
      from: { path: "^src/services/" },
      to: { path: "^src/layers/([^/]+/|index\\.ts$)" }
    },
    {
      name: "services-below-transports",
      comment: "Domain services do not know the transports or the plugins that sit above them.",
      severity: "error",
      from: { path: "^src/services/" },
      to: { path: "^src/(http|rpc|plugins|main\\.ts)" }
    },
    {
      name: "transports-use-layer-interfaces-only",
      comment:
        "src/http and src/rpc reach infrastructure only through services and layer Tags, never an implementation.",
      severity: "error",
      from: { path: "^src/(http|rpc)/" },
      to: { path: "^src/layers/([^/]+/|index\\.ts$)" }
    },
    {
      name: "transports-below-plugins",
      comment: "Transports do not import plugins or the composition root; modules are folded in by main.ts.",
      severity: "error",
      from: { path: "^src/(http|rpc)/" },
      to: { path: "^src/(plugins|main\\.ts)" }
    },
    {
      name: "contracts-are-client-safe",
      comment:
        "HttpApi and RPC group contracts are imported by typed clients: they may use shared schemas and errors from services (schema.ts, errors.ts) but no implementation.",
      severity: "error",
      from: { path: "^src/(http|rpc)/groups/|^src/plugins/[^/]+/rpc-group\\.ts$" },
      to: { path: "^src/(layers/|services/(?!.*(schema|errors|current-user)\\.ts$))" }
    },
    {
      name: "plugins-use-layer-interfaces-only",
      comment: "A plugin imports what a core module may import: services and layer Tags, never an implementation.",
      severity: "error",
      from: { path: "^(src/plugins|examples)/" },
      to: { path: "^src/layers/([^/]+/|index\\.ts$)" }
    },
    {
      name: "plugins-do-not-reach-into-each-other",
      comment:
        "A plugin sees the module contract and the core modules' exports (src/plugins/core), never another plugin's internals.",
      severity: "error",
      from: { path: "^src/plugins/([^/]+)/" },
      to: { path: "^src/plugins/([^/]+)/", pathNot: "^src/plugins/($1|core)/" }
    },
    {
      name: "plugins-are-reached-through-the-registry",
      comment:
        "A plugin's folder is imported by the registry (which main.ts folds) and, for its RPC contract, by the plugin client entry; by nothing else, so a disabled plugin leaves no trace.",
      severity: "error",
      from: { path: "^(src|examples)/", pathNot: "^src/plugins/([^/]+/|registry\\.ts$|client\\.ts$)" },
      to: { path: "^src/plugins/(?!core/)[^/]+/" }
    },
    {
      name: "plugin-client-is-client-safe",
      comment:
        "`plinth/client/plugins` carries the plugins' RPC contracts and their schemas, none of their implementation.",
      severity: "error",
      from: { path: "^src/plugins/client\\.ts$" },
      to: { path: "^src/(layers/|services/|plugins/)", pathNot: "^src/plugins/[^/]+/(rpc-group|schema)\\.ts$" }
    },
    {
      name: "example-plugins-are-plugins",
      comment:
        "An example plugin sees what any plugin sees: the module contract and core exports, no plugin's internals.",
      severity: "error",
      from: { path: "^examples/" },
      to: { path: "^src/plugins/", pathNot: "^src/plugins/(core/|module\\.ts$)" }
    },
    {
      name: "only-main-is-the-root",
      comment: "Nothing imports the composition root.",
      severity: "error",
      from: {},
      to: { path: "^src/main\\.ts$" }
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true }
    }
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] }
  }
}
