import {describe, expect, test} from 'bun:test'
import {type Digest, digestOf, streamingDigest} from './digest.ts'

describe('streamingDigest', () => {
  const bytes = new TextEncoder().encode('a blob that arrives in pieces')
  test("chunks hash to what the whole bytes hash to, with the expected digest's algorithm", () => {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const hasher = streamingDigest(`${algorithm}:${'0'.repeat(algorithm === 'sha256' ? 64 : 128)}` as Digest)
      hasher.update(bytes.subarray(0, 7))
      hasher.update(bytes.subarray(7))
      expect(hasher.digest()).toBe(digestOf(bytes, algorithm))
    }
  })
})
