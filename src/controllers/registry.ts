import type { ControllerDefinition } from '../runtime/manager.ts';
import type { KubeObject } from '../runtime/resource.ts';

/**
 * Every controller `phoenix controller` runs, one per Phoenix kind. Each entry names the kind and
 * resource it reconciles and builds its reconciler (see docs/runtime.md, "Writing a controller").
 */
// The element type is erased to KubeObject: each definition is typed where it is written
// (defineController<PhoenixVM>(...)), and the manager only needs the common object shape.
export const controllers: ReadonlyArray<ControllerDefinition<KubeObject>> = [];
