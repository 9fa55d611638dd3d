/**
 * Content digests (`algorithm:hex`). Only sha256 and sha512 are accepted, as in the OCI image spec's
 * registered algorithms; anything else could not be verified by us.
 */
export type Digest = `sha256:${string}` | `sha512:${string}`

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/

export function isDigest(value: string): value is Digest {
  return DIGEST_RE.test(value)
}

/** Why a string is not a digest, in a sentence; null when it is one. */
export function digestProblem(value: string): string | null {
  if (isDigest(value)) return null
  const [algorithm, hex] = value.split(':', 2)
  if (hex === undefined) return `"${value}" is not a digest (expected algorithm:hex)`
  if (algorithm === 'sha256' && !/^[a-f0-9]*$/.test(hex)) return `digest "${value}" must be lower-case hex`
  if (algorithm === 'sha256') return `sha256 digest must have 64 hex characters, "${value}" has ${hex.length}`
  if (algorithm === 'sha512' && !/^[a-f0-9]*$/.test(hex)) return `digest "${value}" must be lower-case hex`
  if (algorithm === 'sha512') return `sha512 digest must have 128 hex characters, "${value}" has ${hex.length}`
  return `unsupported digest algorithm "${algorithm}" in "${value}" (sha256 or sha512)`
}

export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`
}

/** Hashes bytes with the algorithm of `expected`, so a sha512-pinned manifest is checked with sha512. */
export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${new Bun.CryptoHasher(algorithm).update(bytes).digest('hex')}` as Digest
}

/**
 * Hashes bytes as they stream past with the algorithm of the digest they must match: a blob is verified while
 * it moves, never buffered whole to be hashed.
 */
export function streamingDigest(expected: Digest): {update(chunk: Uint8Array): void; digest(): Digest} {
  const algorithm = digestAlgorithm(expected)
  const hasher = new Bun.CryptoHasher(algorithm)
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => `${algorithm}:${hasher.digest('hex')}` as Digest,
  }
}

export function digestAlgorithm(digest: Digest): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256'
}

/** `sha256:0123456789ab` — enough to recognise a digest in a table. */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return '-'
  const [algorithm, hex = ''] = digest.split(':')
  return `${algorithm}:${hex.slice(0, 12)}`
}
