import { Layer } from "effect"
import { OperationsGroup } from "../../http/groups/operations.js"
import { OperationsHandlers } from "../../http/handlers/operations.js"
import { Readiness } from "../../services/operations/readiness.js"
import { defineModule } from "../module.js"

export const OperationsModule = defineModule({
  name: "operations",
  migrations: {},
  groups: [OperationsGroup],
  http: OperationsHandlers.pipe(Layer.provide(Readiness.layer)),
  consumers: []
})
