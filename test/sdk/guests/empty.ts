// The smallest module built with the SDK: a root context and nothing else. The benchmark uses it as the
// SDK's floor (every stream still enters the VM for each callback).
import { RootContext, registerRootContext } from "../../../assembly";
// Only the lifecycle and request headers, like hello: the floor of a header filter.
export * from "../../../assembly/exports/base";
export * from "../../../assembly/exports/request-headers";

registerRootContext((contextId: u32): RootContext => new RootContext(contextId), "empty");
