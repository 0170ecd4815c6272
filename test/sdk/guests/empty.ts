// The smallest module built with the SDK: a root context and nothing else. The benchmark uses it as the
// SDK's floor (every stream still enters the VM for each callback).
import { RootContext, registerRootContext } from "../../../assembly";
export * from "../../../assembly/exports";

registerRootContext((contextId: u32): RootContext => new RootContext(contextId), "empty");
