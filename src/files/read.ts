/**
 * Reading the files a user names (definition, plan, keys, trusted root, docker config, JSON key file) with a
 * bound. Without one, `keys: [/dev/zero]` reads forever and a FIFO blocks forever; a user file is small, so a
 * bigger one is a mistake (or an attack) to refuse in one sentence, not to buffer.
 */
import {createHash} from 'node:crypto'
import {constants, type FileHandle, open} from 'node:fs/promises'
import {SyncerError} from '../ref/errors.ts'

export type FileReadErrorCode = 'NOT_FOUND' | 'NOT_A_FILE' | 'TOO_LARGE' | 'UNREADABLE'

/**
 * The files layer's error. `message` is one sentence naming what the file is for and its path; `reason` is the
 * part after the colon, for callers that already name the file (a definition problem carries the path).
 */
export class FileReadError extends SyncerError {
  override readonly name = 'FileReadError'
  readonly category = 'input' as const
  constructor(
    readonly code: FileReadErrorCode,
    readonly path: string,
    readonly reason: string,
    what: string,
  ) {
    super(`cannot read ${what} ${path}: ${reason}`)
  }
}

export interface FileLimits {
  /** What the file is, for the message: `the definition file`, `key file`, `trusted root`. */
  what: string
  /** The most bytes the file may have. */
  maxBytes: number
}

/** Bytes read per call: large enough for few syscalls, small enough not to overshoot a small limit by much. */
const CHUNK_BYTES = 256 * 1024

/**
 * The bytes of a regular file of at most `maxBytes`. The file is opened first and its handle checked (no race
 * between a check and the read), non-blocking so opening a FIFO does not wait for a writer, and read with a
 * bound even when its size says it fits, since a file can grow and /proc files report size 0.
 */
export async function readUserFile(path: string, limits: FileLimits): Promise<Buffer> {
  return withUserFile(path, limits, (handle, tooLargeError) => readOpenFile(handle, limits.maxBytes, tooLargeError))
}

/**
 * The `algorithm` digest of a regular file of at most `maxBytes`, read in chunks: a file that is only hashed
 * (verify-blob's release binary) need not fit in memory.
 */
export async function hashUserFile(path: string, algorithm: string, limits: FileLimits): Promise<Buffer> {
  return withUserFile(path, limits, async (handle, tooLargeError) => {
    const hash = createHash(algorithm)
    const chunk = Buffer.allocUnsafe(HASH_CHUNK_BYTES)
    let total = 0
    for (;;) {
      const {bytesRead} = await handle.read(chunk, 0, chunk.length, null)
      if (bytesRead === 0) return hash.digest()
      total += bytesRead
      if (total > limits.maxBytes) throw tooLargeError()
      hash.update(chunk.subarray(0, bytesRead))
    }
  })
}

/** Hashing reads big files: bigger chunks mean fewer syscalls, and there is one buffer, reused. */
const HASH_CHUNK_BYTES = 1024 * 1024

async function withUserFile<T>(path: string, limits: FileLimits, use: (handle: FileHandle, tooLargeError: () => FileReadError) => Promise<T>): Promise<T> {
  const fail = (code: FileReadErrorCode, reason: string) => new FileReadError(code, path, reason, limits.what)
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    throw fromErrno(error, fail)
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw fail('NOT_A_FILE', `it is ${kindOf(stat)}, not a regular file`)
    if (stat.size > limits.maxBytes) throw fail('TOO_LARGE', tooLarge(stat.size, limits.maxBytes))
    return await use(handle, () => fail('TOO_LARGE', tooLarge(null, limits.maxBytes)))
  } catch (error) {
    throw error instanceof FileReadError ? error : fromErrno(error, fail)
  } finally {
    await handle.close().catch(() => {})
  }
}

/**
 * Reads an open file to its end, refusing it once more than `maxBytes` arrived: the size a stat gave is not
 * trusted, since a file can grow while it is read and /proc files report 0.
 */
export async function readOpenFile(handle: FileHandle, maxBytes: number, tooLargeError: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total))
    const {bytesRead} = await handle.read(chunk, 0, chunk.length, null)
    if (bytesRead === 0) break
    chunks.push(chunk.subarray(0, bytesRead))
    total += bytesRead
    if (total > maxBytes) throw tooLargeError()
  }
  return Buffer.concat(chunks, total)
}

function fromErrno(error: unknown, fail: (code: FileReadErrorCode, reason: string) => FileReadError): FileReadError {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return fail('NOT_FOUND', 'no such file')
  if (code === 'EISDIR') return fail('NOT_A_FILE', 'it is a directory, not a regular file')
  if (code === 'EACCES' || code === 'EPERM') return fail('UNREADABLE', 'permission denied')
  return fail('UNREADABLE', `read failed (${code ?? 'unknown error'})`)
}

function kindOf(stat: {isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean}): string {
  if (stat.isDirectory()) return 'a directory'
  if (stat.isFIFO()) return 'a named pipe (FIFO)'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device'
  return 'a special file'
}

function tooLarge(size: number | null, maxBytes: number): string {
  return `it is ${size === null ? '' : `${size} bytes, `}more than the ${formatLimit(maxBytes)} allowed`
}

/** `64 KiB`, `4 MiB`: limits are powers of two, so binary units read exactly. */
function formatLimit(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}
