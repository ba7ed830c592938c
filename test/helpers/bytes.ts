import { createCipheriv, createHash } from "node:crypto";

/**
 * `size` pseudo-random bytes, the same every run for the same seed and non-repeating (so swapped
 * or repeated parts would show): AES-256-CTR over zeros, keyed by SHA-256 of the seed. Fast for
 * hundreds of MiB.
 */
export function deterministicBytes(size: number, seed: string | number = 1): Buffer {
  const key = createHash("sha256").update(`seed-${seed}`).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}
