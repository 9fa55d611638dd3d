/**
 * The secrets one run knows (passwords, access and refresh tokens, key-file contents, the bearer tokens it
 * obtained) and the mask applied wherever text leaves the process. A registry may quote what we sent it (our
 * Authorization header, a password) in an error body; that body reaches error messages, result files, JSON and
 * step summaries, so each of those is masked, not each place a message is made. Pure string work, in the lowest
 * layer because the transport learns the secrets and the views and files above it print them.
 */

export const MASK = 'REDACTED'

/**
 * Shorter values are not masked: a 3-character password would turn every `abc` of a report into the mask, and
 * it is no protection either way. (GitHub's own secret masking has the same blind spot.)
 */
export const MIN_SECRET_CHARS = 4

export class Secrets {
  private readonly values = new Set<string>()
  /** Longest first, so that a secret containing another is masked whole; rebuilt when one is added. */
  private sorted: string[] = []

  /** Remembers `secret` and the forms it travels in: JSON-escaped (in JSON text) and URL-encoded (in a query). */
  add(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS) return
    const forms = [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]
    const before = this.values.size
    for (const form of forms) this.values.add(form)
    if (this.values.size !== before) this.sorted = [...this.values].sort((a, b) => b.length - a.length)
  }

  /** `text` with every known secret, wherever it appears, replaced by `REDACTED`. */
  mask(text: string): string {
    let masked = text
    for (const secret of this.sorted) if (masked.includes(secret)) masked = masked.split(secret).join(MASK)
    return masked
  }

  /** A copy of `value` with every string in it masked: structured data, masked before it is serialised. */
  maskValue<T>(value: T): T {
    if (this.sorted.length === 0) return value
    return this.deep(value) as T
  }

  private deep(value: unknown): unknown {
    if (typeof value === 'string') return this.mask(value)
    if (Array.isArray(value)) return value.map((v) => this.deep(v))
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v)]))
    return value
  }
}
