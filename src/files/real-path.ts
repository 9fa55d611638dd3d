/**
 * Where a directory really is, whether or not it exists yet: the deepest existing ancestor resolved through its
 * symlinks, and the rest as written. Comparing two such paths tells whether one directory lies inside another
 * on disk, which comparing the text does not (`mirror/evil/` is not inside `mirror/` when `evil` is a symlink).
 */
import {realpath} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

/** Null when a component cannot be resolved for another reason (a symlink loop, no permission). */
export async function realPathOf(path: string): Promise<string | null> {
  const absolute = resolve(path)
  const missing: string[] = []
  for (let current = absolute; ; current = dirname(current)) {
    try {
      return join(await realpath(current), ...missing.reverse())
    } catch (err) {
      const code = (err as {code?: unknown} | null)?.code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return null
      if (dirname(current) === current) return absolute
      missing.push(basename(current))
    }
  }
}
