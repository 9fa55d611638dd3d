/**
 * Writing the files people review or hand on (a plan file, a shard's result file): atomically, through a
 * temporary file renamed into place, so an interrupted write never leaves half a file for the next command.
 * The temporary name is random and created exclusively (O_EXCL, which never follows a symlink): the output
 * directory may be shared (a results volume where every worker is pid 1), and a predictable name would let anyone
 * who can write there plant a symlink and have us overwrite the file it points to.
 */
import {randomUUID} from 'node:crypto'
import {mkdir, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`)
  const handle = await open(temporary, 'wx', 0o644)
  try {
    try {
      await handle.writeFile(text)
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
}
