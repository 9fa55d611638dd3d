/** How this run uploads blobs to each registry: one monolithic PUT, or PATCH chunks (upload-chunks.ts). */

/**
 * Chunk size once a registry refused a monolithic PUT: well below the request-body limits of common fronts
 * (Cloud Run 32 MiB, Cloudflare 100 MB), large enough that a round trip per chunk costs little next to its
 * transfer, and small enough that the one buffered chunk stays a fraction of the memory budget.
 */
export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024

/** How this run uploads to each registry: --chunk-size for all, or chunks for those that refused a monolithic PUT. */
export class UploadModes {
  private readonly refusedMonolithic = new Set<string>()

  constructor(private readonly chunkSize: number | null) {}

  /** The chunk size for uploads to `registry`, or null for one monolithic PUT. */
  chunkSizeFor(registry: string): number | null {
    return this.chunkSize ?? (this.refusedMonolithic.has(registry) ? DEFAULT_CHUNK_SIZE : null)
  }

  /** `registry` answered a monolithic PUT with 413: chunks for the rest of the run. */
  noteRefusedMonolithic(registry: string): void {
    this.refusedMonolithic.add(registry)
  }
}
