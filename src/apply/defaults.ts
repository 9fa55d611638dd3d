/**
 * apply's defaults, apart from the engine: the copy flags show them in help (src/commands/copy-flags.ts), which
 * must not load the engine to do so.
 */

/**
 * Entries copied at once. An entry is a chain of ~12 dependent round trips (tag look, manifests, blobs, tag), so
 * with small images the run is bound by round trips, not bytes: 16 keeps a registry 20 ms away busy
 * (test/bench/small-images.ts --latency) while the transfer and per-registry limits bound the load.
 */
export const DEFAULT_CONCURRENCY = 16
/** Blob transfers at once across all entries: what bounds bytes in flight and open streams. */
export const DEFAULT_TRANSFERS = 16
