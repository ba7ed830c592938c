/**
 * The storage a registry and its data live in: a local folder (`LocalStorage`) or an S3 bucket.
 * Keys are relative to the storage's root and `/`-separated, like S3 keys: no leading `/`, no empty,
 * `.` or `..` segment, no NUL. Every implementation keeps the semantics written here, so code above
 * this interface (the registry, push, install) never asks which one it has.
 */

/** What is known about one stored object. */
export interface ObjectInfo {
  /** The key relative to the storage root. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** S3 version id of a versioned bucket; absent for local folders and unversioned buckets. */
  readonly versionId?: string;
  /** S3 ETag as S3 returns it (with its quotes); absent for local folders. */
  readonly etag?: string;
  readonly lastModified?: Date;
}

/** A byte range: `start` inclusive, `end` exclusive (`{start: 0, end: 10}` is the first 10 bytes). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface ReadOptions {
  /**
   * Read only these bytes. The range is clipped to the object: a range that runs past the end
   * yields the bytes up to the end, and one that starts at or past the end yields nothing.
   */
  readonly range?: ByteRange;
  /** A specific version (S3 only; a local folder refuses it with a `UsageError`). */
  readonly versionId?: string;
  readonly signal?: AbortSignal;
}

export interface WriteOptions {
  /**
   * Create only: fail with `ConflictError` code `OBJECT_EXISTS` if the key already exists. The check
   * and the creation are one atomic step (no check-then-write race).
   */
  readonly ifNoneMatch?: true;
  /**
   * S3 only: overwrite only if the object's ETag is still this one (as `stat` gave it, quotes
   * included), else fail with `ConflictError` code `OBJECT_CHANGED` (also when it was deleted);
   * atomic on the server, for moving pointers such as `latest`. Not with `ifNoneMatch`.
   * `LocalStorage` ignores it: local writes are serialized by `withLock` instead.
   */
  readonly ifMatch?: string;
  readonly signal?: AbortSignal;
}

export interface ListOptions {
  /**
   * `"/"`: stop at the next `/` after the prefix, reporting each such "folder" once as a
   * `prefix` item (like S3 CommonPrefixes; a folder with no object under it is not reported).
   * Absent: every object under the prefix, at any depth. No other delimiter is supported.
   */
  readonly delimiter?: "/";
}

export type ListItem =
  | ({ readonly kind: "object" } & ObjectInfo)
  /** A "folder" under the prefix, ending in the delimiter, e.g. `.quilt/named_packages/user/`. */
  | { readonly kind: "prefix"; readonly prefix: string };

export interface Storage {
  /** Where this storage is (`file:///…` or `s3://bucket`), for messages. */
  readonly url: string;

  /**
   * The object's bytes as a stream of chunks (each chunk a fresh buffer the caller may keep). A
   * missing key fails with `NotFoundError` code `OBJECT_NOT_FOUND` when iteration starts.
   */
  read(key: string, options?: ReadOptions): AsyncIterable<Uint8Array>;

  /** The object's bytes in one buffer; for small objects (pointers, configs). */
  readAll(key: string, options?: ReadOptions): Promise<Buffer>;

  /** The object's info, or `undefined` if there is no object with this key. */
  stat(key: string): Promise<ObjectInfo | undefined>;

  /**
   * Store an object. Atomic: readers see the previous object or the whole new one, never part of
   * it, and a failed or aborted write leaves nothing behind. Missing parent "folders" are created.
   */
  write(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: WriteOptions): Promise<ObjectInfo>;

  /**
   * The objects (and, with a delimiter, the folders) whose keys start with `prefix`, a plain string
   * prefix (`.quilt/packages/ab` matches `.quilt/packages/abc…`), in lexicographic order of the keys'
   * UTF-8 bytes (S3's order; the same as code-point order). Streamed: never collected in memory.
   */
  list(prefix: string, options?: ListOptions): AsyncIterable<ListItem>;

  /** Remove an object. Removing a key that does not exist is not an error (as on S3). */
  delete(key: string): Promise<void>;
}
