/** Where bytes live: quilt3 physical keys, the `Storage` interface, local folders, lock files. */
export * from "./physical-key.js";
export type { ByteRange, ListItem, ListOptions, ObjectInfo, ReadOptions, Storage, WriteOptions } from "./types.js";
export { LocalStorage, storageKeyProblem, TEMP_PREFIX } from "./local.js";
export { withLock, type LockOptions, type LockOwner } from "./lock.js";
export { Remotes, DEFAULT_REGION, isS3Storage, type RemoteOptions } from "./remotes.js";
