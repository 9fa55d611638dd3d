/** Reading response bodies we must hold in memory (manifests, tokens, listings) with an upper bound. */

/** Reads a body, refusing (and cancelling) one longer than `limit`, declared or actual. */
export async function readLimited(response: Response, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (declared > limit) {
    await response.body?.cancel()
    throw tooLarge()
  }
  // Within the limit by its length (HTTP framing holds the body to it), unless encoded: read at once.
  if (declared <= limit && !response.headers.has('content-encoding')) return response.bytes()
  const reader = response.body?.getReader()
  if (!reader) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const {done, value} = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  return new Uint8Array(Buffer.concat(chunks))
}
