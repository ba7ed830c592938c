export { compareLogicalKeys, treeWalkSortKey } from "./logical-key-order.js";
export {
  externalSort,
  externalSortBatches,
  defaultSizeOf,
  type ExternalSortOptions,
  type ExternalSortStats,
} from "./external-sort.js";
